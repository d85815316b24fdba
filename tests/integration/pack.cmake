# nubfs-pack round trip over the example packages (no KVM or FUSE needed).
# Included from tests/CMakeLists.txt; needs contrib/examples/examples.cmake.
add_test(NAME integration.pack_roundtrip
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/pack_roundtrip.sh
          $<TARGET_FILE:nubfs-pack> ${NUB_EXAMPLES_DIR} ${NUB_EXAMPLES})
set_tests_properties(integration.pack_roundtrip PROPERTIES SKIP_RETURN_CODE 77)

# OpenSSH keys (ssh-keygen output): signing and trust with nubfs-pack, and
# a real mount that trusts them (skipped without KVM or FUSE).
set(_ssh ${CMAKE_CURRENT_LIST_DIR}/ssh_keys.sh)
add_test(NAME integration.ssh_keys_pack
  COMMAND ${_ssh} pack $<TARGET_FILE:nubfs-pack> ${NUB_EXAMPLES_DIR})
set_tests_properties(integration.ssh_keys_pack PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
add_test(NAME integration.ssh_keys_mount
  COMMAND ${_ssh} mount $<TARGET_FILE:nubfs-pack> ${NUB_EXAMPLES_DIR} $<TARGET_FILE:nubfs>)
set_tests_properties(integration.ssh_keys_mount PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120
                     RUN_SERIAL TRUE)
