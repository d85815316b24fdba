# wasm.spec: every .wast of ../shared/wasm-testsuite through wast2json
# and nubwasm, every assertion counted (tests/wasm/spec_runner.c).
# Included from tests/CMakeLists.txt.
find_program(NUB_WAST2JSON wast2json)
add_executable(wasm_spec_runner ${CMAKE_CURRENT_LIST_DIR}/spec_runner.c
  ${CMAKE_CURRENT_LIST_DIR}/spec_exec.c)
target_link_libraries(wasm_spec_runner PRIVATE nubwasm PkgConfig::JANSSON)
set(NUB_WASM_SUITE ${CMAKE_SOURCE_DIR}/../shared/wasm-testsuite CACHE PATH
  "The WebAssembly spec test suite (.wast files)")
if(NUB_WAST2JSON)
  add_test(NAME wasm.spec COMMAND wasm_spec_runner ${NUB_WAST2JSON} ${NUB_WASM_SUITE})
  set_tests_properties(wasm.spec PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
endif()

# nubwasm_run: one export of a module, timed (the benchmark's runner).
add_executable(nubwasm_run ${CMAKE_CURRENT_LIST_DIR}/nubwasm_run.c)
target_link_libraries(nubwasm_run PRIVATE nubwasm)
