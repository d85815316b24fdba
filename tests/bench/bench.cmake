# Benchmarks built here and never run by ctest (bench_publish and
# bench_mount are in tests/unit/intake.cmake, next to what they link).
# Softfloat cost per operation next to the native instruction (host only).
add_executable(bench_softfloat ${CMAKE_CURRENT_LIST_DIR}/bench_softfloat.c)
target_link_libraries(bench_softfloat PRIVATE nubsoftfloat m)
# The FUSE round-trip floor next to nubfs (tests/bench/fuse_floor.sh).
add_executable(fuse_floor ${CMAKE_CURRENT_LIST_DIR}/fuse_floor.c)
target_link_libraries(fuse_floor PRIVATE nub_host_flags PkgConfig::FUSE3)
