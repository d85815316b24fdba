# Unit tests of the host side of mounting: the mount-table reader over
# hand-built and corrupted guest memory (no KVM), and nub_intake /
# nub_call_unmount against the REAL guest kernel (skipped without
# /dev/kvm). Included from tests/CMakeLists.txt, after unit/rvf.cmake.
add_executable(test_mount_reader ${CMAKE_CURRENT_LIST_DIR}/test_mount_reader.c)
target_link_libraries(test_mount_reader PRIVATE nub_test_fixtures PkgConfig::CMOCKA)
add_test(NAME unit.mount_reader COMMAND test_mount_reader)

# Against the real guest: packages are built in the test (rvf_testbuild)
# and signed with fresh keys (nubsign, via nubintake).
add_executable(test_intake ${CMAKE_CURRENT_LIST_DIR}/test_intake.c)
target_link_libraries(test_intake PRIVATE nubintake rvf_testbuild PkgConfig::CMOCKA)
add_test(NAME unit.intake COMMAND test_intake)
set_tests_properties(unit.intake PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)

# Benchmark of the mount path per phase (tests/bench/bench_mount.c); built,
# never run by ctest.
add_executable(bench_mount ${CMAKE_SOURCE_DIR}/tests/bench/bench_mount.c)
target_link_libraries(bench_mount PRIVATE nubintake rvf_testbuild)

# Guest instructions per published cap, preload (PUT_CAPS) and package
# mount, at 1k and 100k caps (tests/bench/bench_publish.c); built, never
# run by ctest.
add_executable(bench_publish ${CMAKE_SOURCE_DIR}/tests/bench/bench_publish.c)
target_link_libraries(bench_publish PRIVATE nubintake rvf_testbuild)
