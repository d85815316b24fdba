# libFuzzer targets for the RVF parsers (container, manifest, WASM), their
# seed corpora, and a short ctest run of each over its seeds. Only
# included with -DNUB_FUZZ=ON and CC=clang:
#   CC=clang cmake -DNUB_FUZZ=ON -B build-fuzz && cmake --build build-fuzz
#   build-fuzz/tests/fuzz_rvf_container -max_total_time=180 \
#       build-fuzz/tests/fuzz-work/container build-fuzz/tests/rvf-seeds/container
include(${CMAKE_CURRENT_LIST_DIR}/../../guest/rvf/sources.cmake)

# The parsers again, with ASan+UBSan and fuzzer coverage on every file.
set(_fuzz_flags -fsanitize=fuzzer-no-link,address,undefined
  -fno-sanitize-recover=all -fno-omit-frame-pointer -g)
add_library(nubrvf_fuzz STATIC ${NUB_RVF_GUEST_SOURCES} ${NUB_RVF_DIR}/rvf_host.c
  ${CMAKE_CURRENT_LIST_DIR}/../unit/rvf_build.c)
target_include_directories(nubrvf_fuzz PUBLIC ${NUB_RVF_DIR} ${CMAKE_CURRENT_LIST_DIR}/../unit)
target_compile_options(nubrvf_fuzz PRIVATE ${_fuzz_flags} -Wall -Wextra -Werror)
target_link_libraries(nubrvf_fuzz PUBLIC PkgConfig::XXHASH)

set(_rvf_seeds ${CMAKE_CURRENT_BINARY_DIR}/rvf-seeds)
set(_rvf_work ${CMAKE_CURRENT_BINARY_DIR}/fuzz-work)
foreach(t container manifest wasm)
  add_executable(fuzz_rvf_${t} ${CMAKE_CURRENT_LIST_DIR}/fuzz_rvf_${t}.c)
  target_compile_options(fuzz_rvf_${t} PRIVATE ${_fuzz_flags} -Wall -Wextra -Werror)
  target_link_options(fuzz_rvf_${t} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_rvf_${t} PRIVATE nubrvf_fuzz)
  # A few seconds over the seeds (new inputs go to a scratch dir, never
  # into the seeds).
  add_test(NAME fuzz.rvf_${t}
    COMMAND sh -c "mkdir -p '${_rvf_work}/${t}' && exec '$<TARGET_FILE:fuzz_rvf_${t}>' -max_total_time=5 -timeout=10 -rss_limit_mb=1024 '${_rvf_work}/${t}' '${_rvf_seeds}/${t}'")
endforeach()

# Seed generator: a plain host program (no fuzzer runtime).
add_executable(rvf_seedgen ${CMAKE_CURRENT_LIST_DIR}/rvf_seedgen.c
  ${NUB_RVF_GUEST_SOURCES} ${NUB_RVF_DIR}/rvf_host.c ${CMAKE_CURRENT_LIST_DIR}/../unit/rvf_build.c)
target_include_directories(rvf_seedgen PRIVATE ${NUB_RVF_DIR} ${CMAKE_CURRENT_LIST_DIR}/../unit)
target_compile_options(rvf_seedgen PRIVATE -Wall -Wextra -Werror)
target_link_libraries(rvf_seedgen PRIVATE PkgConfig::XXHASH)

# Extra seeds: the wat2wasm test module and, when the examples are built,
# the example packages (NUB_FUZZ_EXTRA_SEEDS: a list of .rvf/.wasm files).
set(_rvf_extra ${NUB_FUZZ_EXTRA_SEEDS})
set(_rvf_deps)
if(TARGET examples AND NUB_EXAMPLES_DIR)
  foreach(pkg ${NUB_EXAMPLES})
    list(APPEND _rvf_extra ${NUB_EXAMPLES_DIR}/${pkg}.rvf)
  endforeach()
  list(APPEND _rvf_deps examples)
endif()
if(TARGET rvf_sample_wasm)
  list(APPEND _rvf_extra ${CMAKE_CURRENT_BINARY_DIR}/rvf_sample.wasm)
  list(APPEND _rvf_deps rvf_sample_wasm ${CMAKE_CURRENT_BINARY_DIR}/rvf_sample.wasm)
endif()
add_custom_command(OUTPUT ${_rvf_seeds}/container/sample_unsigned.rvf
  COMMAND ${CMAKE_COMMAND} -E make_directory ${_rvf_seeds}
  COMMAND rvf_seedgen ${_rvf_seeds} ${_rvf_extra}
  DEPENDS rvf_seedgen ${_rvf_deps} ${NUB_FUZZ_EXTRA_SEEDS}
  COMMENT "RVF fuzz seed corpora")
add_custom_target(rvf_fuzz_seeds ALL DEPENDS ${_rvf_seeds}/container/sample_unsigned.rvf)
