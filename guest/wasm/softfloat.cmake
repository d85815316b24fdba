# Software IEEE 754 binary32/binary64 arithmetic for the WebAssembly
# interpreter, in integer code only (the guest is built without FPU/SSE).
# NUB_SOFTFLOAT_SOURCES go into the guest kernel (nub-guest: proof that
# they build freestanding, and guest_no_simd checks them) and into
# nubsoftfloat, the host library for the interpreter's host build, the
# tests, the fuzz target and the benchmark. Included from
# guest/CMakeLists.txt after kernel.cmake.
set(NUB_SOFTFLOAT_DIR ${CMAKE_CURRENT_LIST_DIR})
set(NUB_SOFTFLOAT_SOURCES
  ${NUB_SOFTFLOAT_DIR}/softfloat_f32.c
  ${NUB_SOFTFLOAT_DIR}/softfloat_f64.c
  ${NUB_SOFTFLOAT_DIR}/softfloat_sqrt.c
  ${NUB_SOFTFLOAT_DIR}/softfloat_conv.c)

add_library(nubsoftfloat STATIC ${NUB_SOFTFLOAT_SOURCES})
target_include_directories(nubsoftfloat PUBLIC ${NUB_SOFTFLOAT_DIR})
target_link_libraries(nubsoftfloat PUBLIC nub_host_flags)

target_sources(nub-guest PRIVATE ${NUB_SOFTFLOAT_SOURCES})
