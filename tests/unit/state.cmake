# Unit tests of the daemon's state and service plumbing (issue 9): paths
# (`~` expansion, systemd-escape, the default state directory).
add_executable(test_paths ${CMAKE_CURRENT_LIST_DIR}/test_paths.c)
target_link_libraries(test_paths PRIVATE nubfsd PkgConfig::CMOCKA)
add_test(NAME unit.paths COMMAND test_paths)

# Package frames (fs/frame.c): round trip, every damaged byte refused.
add_executable(test_frame ${CMAKE_CURRENT_LIST_DIR}/test_frame.c)
target_link_libraries(test_frame PRIVATE nubfsd PkgConfig::CMOCKA)
add_test(NAME unit.frame COMMAND test_frame)
