# The plain-C RVF parsers that also build into the freestanding guest
# kernel (the manifest encoder, rvf_encode.c, is host-only: nubrvf).
# Include this from any CMake scope that needs the list
# (guest/kernel.cmake, before or after guest/rvf/rvf.cmake).
set(NUB_RVF_DIR ${CMAKE_CURRENT_LIST_DIR})
set(NUB_RVF_GUEST_SOURCES
  ${NUB_RVF_DIR}/rvf_result.c
  ${NUB_RVF_DIR}/rvf_container.c
  ${NUB_RVF_DIR}/rvf_manifest.c
  ${NUB_RVF_DIR}/rvf_names.c
  ${NUB_RVF_DIR}/rvf_wasm.c
  ${NUB_RVF_DIR}/rvf_components.c)
