# Unit tests for the RVF container parser, manifest codec and WASM
# validator (nubrvf): the malformed-package catalog. Included from
# tests/CMakeLists.txt.
add_library(rvf_testbuild STATIC ${CMAKE_CURRENT_LIST_DIR}/rvf_build.c)
target_include_directories(rvf_testbuild PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(rvf_testbuild PUBLIC nubrvf nub_host_flags)

foreach(t rvf_container rvf_manifest rvf_wasm)
  add_executable(test_${t} ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c)
  target_link_libraries(test_${t} PRIVATE rvf_testbuild nubrvf nubutil PkgConfig::CMOCKA nub_host_flags)
  add_test(NAME unit.${t} COMMAND test_${t})
endforeach()

# Real Ed25519 checks (untrusted key, bad signature) with nubsign.
target_compile_definitions(test_rvf_container PRIVATE RVF_TEST_SIGN)
target_link_libraries(test_rvf_container PRIVATE nubsign)

# A real module from wat2wasm for the WASM validator (wabt is required,
# contrib/examples/examples.cmake finds it).
set(_rvf_wasm ${CMAKE_CURRENT_BINARY_DIR}/rvf_sample.wasm)
add_custom_command(OUTPUT ${_rvf_wasm}
  COMMAND ${NUB_WAT2WASM} ${CMAKE_CURRENT_LIST_DIR}/rvf_sample.wat -o ${_rvf_wasm}
  DEPENDS ${CMAKE_CURRENT_LIST_DIR}/rvf_sample.wat
  COMMENT "wat2wasm rvf_sample.wat")
add_custom_target(rvf_sample_wasm DEPENDS ${_rvf_wasm})
add_dependencies(test_rvf_wasm rvf_sample_wasm)
target_compile_definitions(test_rvf_wasm PRIVATE RVF_TEST_WASM="${_rvf_wasm}")
