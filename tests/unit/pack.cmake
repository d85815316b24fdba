# Unit tests for signatures (nubsign) and the nubfs-pack
# JSON spec validator. Included from tests/CMakeLists.txt.
add_executable(test_sign ${CMAKE_CURRENT_LIST_DIR}/test_sign.c)
target_link_libraries(test_sign PRIVATE nubsign rvf_testbuild PkgConfig::CMOCKA nub_host_flags)
add_test(NAME unit.sign COMMAND test_sign)

add_executable(test_pack_spec ${CMAKE_CURRENT_LIST_DIR}/test_pack_spec.c)
target_link_libraries(test_pack_spec PRIVATE nubpackspec PkgConfig::CMOCKA nub_host_flags)
add_test(NAME unit.pack_spec COMMAND test_pack_spec)

# verify and the guest's mount pipeline agree on a catalog of packages.
add_executable(test_pack_verify ${CMAKE_CURRENT_LIST_DIR}/test_pack_verify.c)
target_link_libraries(test_pack_verify PRIVATE rvf_testbuild nubguest nubsign PkgConfig::CMOCKA
  nub_host_flags)
add_test(NAME unit.pack_verify COMMAND test_pack_verify $<TARGET_FILE:nubfs-pack>)
