# Benchmarks that run against the real guest; built (target `bench_put`),
# never run by ctest. Included from tests/CMakeLists.txt.
add_executable(bench_put ${CMAKE_CURRENT_LIST_DIR}/bench_put.c)
target_link_libraries(bench_put PRIVATE nubvm)
