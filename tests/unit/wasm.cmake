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

# unit.guest_wasm: the same interpreter inside the real guest
# (NUB_OP_TEST_WASM) against the host build, on guest_wasm.wat.
set(_guest_wasm ${CMAKE_CURRENT_BINARY_DIR}/guest_wasm.wasm)
add_custom_command(OUTPUT ${_guest_wasm}
  COMMAND ${NUB_WAT2WASM} ${CMAKE_CURRENT_LIST_DIR}/guest_wasm.wat -o ${_guest_wasm}
  DEPENDS ${CMAKE_CURRENT_LIST_DIR}/guest_wasm.wat
  COMMENT "wat2wasm guest_wasm.wat")
add_custom_target(guest_wasm_wasm DEPENDS ${_guest_wasm})
add_executable(test_guest_wasm ${CMAKE_CURRENT_LIST_DIR}/test_guest_wasm.c)
add_dependencies(test_guest_wasm guest_wasm_wasm)
target_compile_definitions(test_guest_wasm PRIVATE NUB_TEST_GUEST_WASM="${_guest_wasm}")
target_link_libraries(test_guest_wasm PRIVATE nubvm nubwasm PkgConfig::CMOCKA)
add_test(NAME unit.guest_wasm COMMAND test_guest_wasm)
set_tests_properties(unit.guest_wasm PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
