# The plain-C RVF sources that also build into the freestanding guest
# kernel. Include this from any CMake scope that needs the list
# (guest/kernel.cmake, before or after guest/rvf/rvf.cmake).
set(NUB_RVF_DIR ${CMAKE_CURRENT_LIST_DIR})
set(NUB_RVF_GUEST_SOURCES
  ${NUB_RVF_DIR}/rvf_result.c
  ${NUB_RVF_DIR}/rvf_container.c
  ${NUB_RVF_DIR}/rvf_manifest.c
  ${NUB_RVF_DIR}/rvf_encode.c
  ${NUB_RVF_DIR}/rvf_wasm.c)
