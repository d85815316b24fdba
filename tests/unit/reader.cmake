# Unit tests of the directory reader (src/reader.c) over hand-built and
# corrupted guest memory. Built from the two sources it needs rather than
# from nubhost, so it does not depend on the sandbox being buildable.
add_executable(test_reader
  ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_reader.c
  ${CMAKE_SOURCE_DIR}/src/reader.c
  ${CMAKE_SOURCE_DIR}/src/guest_mem.c)
target_link_libraries(test_reader PRIVATE nub_host_flags PkgConfig::CMOCKA PkgConfig::XXHASH)
add_test(NAME unit.reader COMMAND test_reader)

# The daemon's pure parts (inode map, option parsing), built from fs/.
if(TARGET nubfs)
  add_executable(test_fs_units
    ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_fs_units.c
    ${CMAKE_SOURCE_DIR}/fs/inodes.c
    ${CMAKE_SOURCE_DIR}/fs/options.c)
  target_link_libraries(test_fs_units PRIVATE nub_host_flags PkgConfig::CMOCKA PkgConfig::FUSE3)
  add_test(NAME unit.fs COMMAND test_fs_units)
endif()
