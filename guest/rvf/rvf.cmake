# RVF package format: container parser, manifest codec, WASM validator.
# nubrvf is the host build (tests, fuzzers, nubfs, nubfs-pack link it): the
# parsers, plus the manifest encoder and payload hashing, which only the
# host needs; the guest kernel compiles ${NUB_RVF_GUEST_SOURCES} itself.
include(${CMAKE_CURRENT_LIST_DIR}/sources.cmake)

add_library(nubrvf STATIC ${NUB_RVF_GUEST_SOURCES} ${NUB_RVF_DIR}/rvf_encode.c
  ${NUB_RVF_DIR}/rvf_host.c)
target_include_directories(nubrvf PUBLIC ${NUB_RVF_DIR})
# nubutil (src/host.cmake): the host's hex codec, for rvf_host.c's messages.
target_link_libraries(nubrvf PUBLIC nub_host_flags PkgConfig::XXHASH nubutil)
