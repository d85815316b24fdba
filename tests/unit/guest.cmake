# Unit tests of the guest's plain-C logic (host build: nubguest), plus
# superficial checks of the kernel ELF itself (it only runs under KVM).
set(NUB_GUEST_UNIT_DIR ${CMAKE_CURRENT_LIST_DIR})

foreach(t alloc dir guest_core guest_log)
  add_executable(test_${t} ${NUB_GUEST_UNIT_DIR}/test_${t}.c)
  target_link_libraries(test_${t} PRIVATE nubguest PkgConfig::CMOCKA)
  string(REGEX REPLACE "^guest_" "" n ${t})
  add_test(NAME unit.guest_${n} COMMAND test_${t})
endforeach()
# The slot test compares against the system library's XXH3.
target_link_libraries(test_dir PRIVATE PkgConfig::XXHASH)
# The growth tests also walk the guest's directory with the host reader.
target_link_libraries(test_dir PRIVATE nubmem)

# The ELF as the host loader will see it: type, entry, segments, symbols, note.
add_executable(test_guest_elf ${NUB_GUEST_UNIT_DIR}/test_guest_elf.c)
target_link_libraries(test_guest_elf PRIVATE nub_host_flags PkgConfig::LIBELF PkgConfig::CMOCKA)
add_dependencies(test_guest_elf nub-guest)
add_test(NAME unit.guest_elf COMMAND test_guest_elf $<TARGET_FILE:nub-guest>)

# No SIMD/x87 instruction may reach the guest (kvm-pvm cannot run them).
find_program(NUB_OBJDUMP NAMES objdump llvm-objdump)
add_test(NAME unit.guest_no_simd
  COMMAND ${CMAKE_COMMAND} -DOBJDUMP=${NUB_OBJDUMP} -DELF=$<TARGET_FILE:nub-guest>
          -P ${NUB_GUEST_UNIT_DIR}/../../guest/check_no_simd.cmake)
set_tests_properties(unit.guest_no_simd PROPERTIES SKIP_REGULAR_EXPRESSION "SKIPPED:")
