# Benchmarks that run against the real guest; built (target `bench_put`),
# never run by ctest. Included from tests/CMakeLists.txt.
add_executable(bench_put ${CMAKE_CURRENT_LIST_DIR}/bench_put.c)
target_link_libraries(bench_put PRIVATE nubvm)

# Softfloat cost per operation next to the native instruction (host only).
add_executable(bench_softfloat ${CMAKE_CURRENT_LIST_DIR}/bench_softfloat.c)
target_link_libraries(bench_softfloat PRIVATE nubsoftfloat m)
