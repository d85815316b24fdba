# nubfs-pack round trip over the example packages (no KVM or FUSE needed).
# Included from tests/CMakeLists.txt; needs contrib/examples/examples.cmake.
add_test(NAME integration.pack_roundtrip
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/pack_roundtrip.sh
          $<TARGET_FILE:nubfs-pack> ${NUB_EXAMPLES_DIR} ${NUB_EXAMPLES})
set_tests_properties(integration.pack_roundtrip PROPERTIES SKIP_RETURN_CODE 77)
