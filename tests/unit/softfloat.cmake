# The softfloat library against the host CPU's IEEE arithmetic (edge
# values crossed, seeded random patterns, spec cases, NaN propagation).
# Included from tests/CMakeLists.txt.
add_executable(test_softfloat ${CMAKE_CURRENT_LIST_DIR}/test_softfloat.c)
target_link_libraries(test_softfloat PRIVATE nubsoftfloat PkgConfig::CMOCKA m)
add_test(NAME unit.softfloat COMMAND test_softfloat)
