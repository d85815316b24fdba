# The softfloat library against the host CPU's IEEE arithmetic (edge
# values crossed, seeded random patterns, spec cases, NaN propagation).
# Included from tests/CMakeLists.txt.
add_executable(test_softfloat ${CMAKE_CURRENT_LIST_DIR}/test_softfloat.c)
target_link_libraries(test_softfloat PRIVATE nubsoftfloat PkgConfig::CMOCKA m)
add_test(NAME unit.softfloat COMMAND test_softfloat)

# All 2^32 inputs of the one-operand 32-bit operations: built, not run by
# ctest (about half an hour): build/tests/softfloat_exhaustive [sqrt].
add_executable(softfloat_exhaustive ${CMAKE_CURRENT_LIST_DIR}/softfloat_exhaustive.c)
target_link_libraries(softfloat_exhaustive PRIVATE nubsoftfloat m)
