# Unit tests of the guest's mount pipeline (host build: nubguest + nubrvf).
add_executable(test_mount ${CMAKE_CURRENT_LIST_DIR}/test_mount.c)
target_link_libraries(test_mount PRIVATE nubguest nubrvf PkgConfig::CMOCKA nub_host_flags)
add_test(NAME unit.mount COMMAND test_mount)
