# The WebAssembly interpreter (docs/wasm.md). NUB_WASM_SOURCES are plain
# freestanding C: they go into the guest kernel (nub-guest, built with
# -mgeneral-regs-only: proof that they build there, and guest_no_simd
# checks them) and into nubwasm, the host library for the spec runner,
# the unit test, the fuzz target and the benchmark runner. Included from
# guest/CMakeLists.txt after softfloat.cmake.
set(NUB_WASM_DIR ${CMAKE_CURRENT_LIST_DIR})
set(NUB_WASM_SOURCES
  ${NUB_WASM_DIR}/wasm_decode.c
  ${NUB_WASM_DIR}/wasm_compile.c
  ${NUB_WASM_DIR}/wasm_exec.c
  ${NUB_WASM_DIR}/wasm_inst.c)

add_library(nubwasm STATIC ${NUB_WASM_SOURCES} ${NUB_WASM_DIR}/wasm_host.c)
target_include_directories(nubwasm PUBLIC ${NUB_WASM_DIR})
target_link_libraries(nubwasm PUBLIC nub_host_flags nubsoftfloat)

target_sources(nub-guest PRIVATE ${NUB_WASM_SOURCES})
