# Unit tests of the host core: guest memory, ELF loading, the KVM sandbox.

# A tiny nubfs-shaped kernel (not the real guest) for the ELF tests and
# for bringing up KVM without the real kernel.
add_executable(nub-test-kernel ${CMAKE_CURRENT_LIST_DIR}/fixtures/tiny_kernel.S)
set_target_properties(nub-test-kernel PROPERTIES LINKER_LANGUAGE C
  LINK_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/fixtures/tiny_kernel.ld)
target_link_options(nub-test-kernel PRIVATE -nostdlib -static -no-pie
  -Wl,-T,${CMAKE_CURRENT_LIST_DIR}/fixtures/tiny_kernel.ld -Wl,--build-id=none
  -Wl,-z,noexecstack $<$<C_COMPILER_ID:Clang>:-Wno-unused-command-line-argument>)

add_executable(test_guest_mem ${CMAKE_CURRENT_LIST_DIR}/test_guest_mem.c)
target_link_libraries(test_guest_mem PRIVATE nubmem PkgConfig::CMOCKA)
add_test(NAME unit.guest_mem COMMAND test_guest_mem)

add_executable(test_elf ${CMAKE_CURRENT_LIST_DIR}/test_elf.c)
target_link_libraries(test_elf PRIVATE nubvm PkgConfig::CMOCKA)
target_compile_definitions(test_elf PRIVATE
  NUB_TEST_KERNEL="$<TARGET_FILE:nub-test-kernel>")
add_dependencies(test_elf nub-test-kernel)
add_test(NAME unit.elf COMMAND test_elf)

add_executable(test_sandbox ${CMAKE_CURRENT_LIST_DIR}/test_sandbox.c)
target_link_libraries(test_sandbox PRIVATE nubvm PkgConfig::CMOCKA)
target_compile_definitions(test_sandbox PRIVATE
  NUB_TEST_KERNEL="$<TARGET_FILE:nub-test-kernel>")
add_dependencies(test_sandbox nub-test-kernel)
add_test(NAME unit.sandbox COMMAND test_sandbox)
set_tests_properties(unit.sandbox PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)

# The user-facing errno table against its mappings, strerror and nubfs(8).
add_executable(test_errors ${CMAKE_CURRENT_LIST_DIR}/test_errors.c)
target_link_libraries(test_errors PRIVATE nubutil nubrvf PkgConfig::CMOCKA)
target_compile_definitions(test_errors PRIVATE NUB_MAN_DIR="${CMAKE_SOURCE_DIR}/man")
add_test(NAME unit.errors COMMAND test_errors)

add_executable(test_cap_store ${CMAKE_CURRENT_LIST_DIR}/test_cap_store.c)
target_link_libraries(test_cap_store PRIVATE nubstore PkgConfig::CMOCKA)
add_test(NAME unit.cap_store COMMAND test_cap_store)

# The one hex codec (src/hex.c), and a check that it stays the only one.
add_executable(test_hex ${CMAKE_CURRENT_LIST_DIR}/test_hex.c)
target_link_libraries(test_hex PRIVATE nubutil PkgConfig::CMOCKA nub_host_flags)
add_test(NAME unit.hex COMMAND test_hex)
add_test(NAME unit.one_hex_codec
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/one_hex_codec.sh ${CMAKE_SOURCE_DIR})

# bash completion (contrib/completion/nubfs.bash), sourced and called as
# bash calls it; also installs the build into a scratch prefix.
add_test(NAME unit.completion
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/completion.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}
          $<TARGET_FILE:nubfs> $<TARGET_FILE:nubfs-pack>)
