# unit.wasm_api: nubwasm's embedding API (tests/unit/test_wasm_api.c) on
# a module wat2wasm builds from wasm_api.wat. Included from
# tests/CMakeLists.txt.
set(_wasm_api ${CMAKE_CURRENT_BINARY_DIR}/wasm_api.wasm)
add_custom_command(OUTPUT ${_wasm_api}
  COMMAND ${NUB_WAT2WASM} ${CMAKE_CURRENT_LIST_DIR}/wasm_api.wat -o ${_wasm_api}
  DEPENDS ${CMAKE_CURRENT_LIST_DIR}/wasm_api.wat
  COMMENT "wat2wasm wasm_api.wat")
add_custom_target(wasm_api_wasm DEPENDS ${_wasm_api})
add_executable(test_wasm_api ${CMAKE_CURRENT_LIST_DIR}/test_wasm_api.c)
add_dependencies(test_wasm_api wasm_api_wasm)
target_compile_definitions(test_wasm_api PRIVATE NUB_TEST_WASM_API="${_wasm_api}")
target_link_libraries(test_wasm_api PRIVATE nubwasm PkgConfig::CMOCKA)
add_test(NAME unit.wasm_api COMMAND test_wasm_api)
