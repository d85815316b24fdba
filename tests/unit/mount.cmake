# Unit tests of the guest's mount pipeline (host build: nubguest + nubrvf).
add_executable(test_mount ${CMAKE_CURRENT_LIST_DIR}/test_mount.c)
target_link_libraries(test_mount PRIVATE nubguest nubrvf PkgConfig::CMOCKA nub_host_flags)
add_test(NAME unit.mount COMMAND test_mount)
# The producer module of test_run_imports (every nub import).
set(_run_imports ${CMAKE_CURRENT_BINARY_DIR}/run_imports.wasm)
add_custom_command(OUTPUT ${_run_imports}
  COMMAND ${NUB_WAT2WASM} ${CMAKE_CURRENT_LIST_DIR}/run_imports.wat -o ${_run_imports}
  DEPENDS ${CMAKE_CURRENT_LIST_DIR}/run_imports.wat
  COMMENT "wat2wasm run_imports.wat")
add_custom_target(run_imports_wasm DEPENDS ${_run_imports})
add_dependencies(test_mount run_imports_wasm)
target_compile_definitions(test_mount PRIVATE NUB_TEST_RUN_IMPORTS="${_run_imports}")
