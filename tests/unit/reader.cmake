# Unit tests of the directory reader (src/reader.c, nubmem) over hand-built
# and corrupted guest memory, and of the daemon's pure parts (inode map,
# option parsing, open region files) from nubfsd.
add_executable(test_reader ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_reader.c)
target_link_libraries(test_reader PRIVATE nubmem PkgConfig::CMOCKA)
add_test(NAME unit.reader COMMAND test_reader)

add_executable(test_fs_units ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_fs_units.c)
target_link_libraries(test_fs_units PRIVATE nubfsd PkgConfig::CMOCKA)
add_test(NAME unit.fs COMMAND test_fs_units)
# fs/turn.c: which daemon thread reads /dev/fuse next.
add_executable(test_turn ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_turn.c)
target_link_libraries(test_turn PRIVATE nubfsd PkgConfig::CMOCKA)
add_test(NAME unit.turn COMMAND test_turn)

add_executable(test_region_open ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_region_open.c)
target_link_libraries(test_region_open PRIVATE nubfsd PkgConfig::CMOCKA)
add_test(NAME unit.region_open COMMAND test_region_open)
