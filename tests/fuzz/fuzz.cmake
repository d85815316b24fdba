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

# ---- Host parsers and the readers over hostile guest memory -------------
# fuzz.reader / fuzz.mount_reader: the directory and mount-table readers
# over a guest memory made of the input (fuzz_gm.h); fuzz.elf: the guest
# kernel ELF check and load; fuzz.pack_spec: the nubfs-pack JSON spec
# reader; fuzz.keyfile: the key-file parsers. The sources are compiled
# again here with ASan+UBSan and coverage on every file.
set(_nub_src ${CMAKE_SOURCE_DIR}/src)
set(_fz_seeds ${CMAKE_CURRENT_BINARY_DIR}/fuzz-seeds)
add_library(nubhost_fuzz STATIC ${_nub_src}/guest_mem.c ${_nub_src}/reader.c
  ${_nub_src}/mount_reader.c ${_nub_src}/elf_load.c ${_nub_src}/sign.c
  ${_nub_src}/sign_trust.c ${_nub_src}/errbuf.c ${_nub_src}/file_util.c)
target_include_directories(nubhost_fuzz PUBLIC ${_nub_src} ${CMAKE_SOURCE_DIR}/guest/include)
target_compile_definitions(nubhost_fuzz PUBLIC _GNU_SOURCE)
target_compile_options(nubhost_fuzz PRIVATE ${_fuzz_flags} -Wall -Wextra -Werror)
target_link_libraries(nubhost_fuzz PUBLIC PkgConfig::LIBELF PkgConfig::XXHASH PkgConfig::SODIUM)

add_library(nubpack_fuzz STATIC ${_nub_src}/pack/spec.c ${_nub_src}/pack/util.c
  ${_nub_src}/errbuf.c ${_nub_src}/file_util.c)
target_include_directories(nubpack_fuzz PUBLIC ${_nub_src}/pack ${_nub_src})
target_compile_definitions(nubpack_fuzz PUBLIC _GNU_SOURCE)
target_compile_options(nubpack_fuzz PRIVATE ${_fuzz_flags} -Wall -Wextra -Werror)
target_link_libraries(nubpack_fuzz PUBLIC nubrvf_fuzz PkgConfig::JANSSON)

foreach(t reader mount_reader elf pack_spec keyfile)
  add_executable(fuzz_${t} ${CMAKE_CURRENT_LIST_DIR}/fuzz_${t}.c)
  target_compile_options(fuzz_${t} PRIVATE ${_fuzz_flags} -Wall -Wextra -Werror)
  target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_${t} PRIVATE nubhost_fuzz)
  set(_dict)
  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/${t}.dict)
    set(_dict "-dict=${CMAKE_CURRENT_LIST_DIR}/${t}.dict")
  endif()
  add_test(NAME fuzz.${t}
    COMMAND sh -c "mkdir -p '${_rvf_work}/${t}' && exec '$<TARGET_FILE:fuzz_${t}>' -max_total_time=5 -timeout=10 -rss_limit_mb=1024 ${_dict} '${_rvf_work}/${t}' '${_fz_seeds}/${t}'")
endforeach()
target_link_libraries(fuzz_pack_spec PRIVATE nubpack_fuzz)

# Seeds of the memory readers: valid directories and mount tables.
add_executable(mem_seedgen ${CMAKE_CURRENT_LIST_DIR}/mem_seedgen.c ${_nub_src}/guest_mem.c
  ${CMAKE_SOURCE_DIR}/tests/common/mount_table_fixture.c)
target_include_directories(mem_seedgen PRIVATE ${_nub_src} ${CMAKE_SOURCE_DIR}/guest/include
  ${CMAKE_SOURCE_DIR}/tests/common)
target_compile_definitions(mem_seedgen PRIVATE _GNU_SOURCE)
target_compile_options(mem_seedgen PRIVATE -Wall -Wextra -Werror)
target_link_libraries(mem_seedgen PRIVATE PkgConfig::XXHASH)
add_custom_command(OUTPUT ${_fz_seeds}/reader/small64 ${_fz_seeds}/mount_reader/table8
  COMMAND ${CMAKE_COMMAND} -E make_directory ${_fz_seeds}
  COMMAND mem_seedgen ${_fz_seeds}
  DEPENDS mem_seedgen
  COMMENT "Guest-memory fuzz seed corpora")
set(_fz_seed_outputs ${_fz_seeds}/reader/small64 ${_fz_seeds}/mount_reader/table8)

# ELF seeds: the real guest kernel (whole and without debug sections, which
# keeps .symtab and is a tenth of the size) and the tiny test kernel.
set(_fz_elf_cmds COMMAND ${CMAKE_COMMAND} -E make_directory ${_fz_seeds}/elf)
set(_fz_elf_deps)
if(TARGET nub-guest)
  list(APPEND _fz_elf_cmds
    COMMAND ${CMAKE_COMMAND} -E copy $<TARGET_FILE:nub-guest> ${_fz_seeds}/elf/nub-guest.elf)
  if(CMAKE_OBJCOPY)
    list(APPEND _fz_elf_cmds COMMAND ${CMAKE_OBJCOPY} --strip-debug $<TARGET_FILE:nub-guest>
      ${_fz_seeds}/elf/nub-guest-nodebug.elf)
  endif()
  list(APPEND _fz_elf_deps nub-guest)
endif()
if(TARGET nub-test-kernel)
  list(APPEND _fz_elf_cmds COMMAND ${CMAKE_COMMAND} -E copy $<TARGET_FILE:nub-test-kernel>
    ${_fz_seeds}/elf/tiny-kernel.elf)
  list(APPEND _fz_elf_deps nub-test-kernel)
endif()
add_custom_command(OUTPUT ${_fz_seeds}/elf.stamp ${_fz_elf_cmds}
  COMMAND ${CMAKE_COMMAND} -E touch ${_fz_seeds}/elf.stamp
  DEPENDS ${_fz_elf_deps}
  COMMENT "ELF fuzz seed corpus")
list(APPEND _fz_seed_outputs ${_fz_seeds}/elf.stamp)

# Spec seeds: the example specs. The files they name (modules compiled
# with wat2wasm, data files) go to fuzz-pack-files/PKG/ and, all together,
# to fuzz-pack-files/all/, the directory the target resolves paths in (so
# fanout's "../pipeline/consumer.wasm" resolves too).
set(_fz_pack ${CMAKE_CURRENT_BINARY_DIR}/fuzz-pack-files)
target_compile_definitions(fuzz_pack_spec PRIVATE NUB_FUZZ_PACK_DIR="${_fz_pack}/all")
file(GLOB _fz_specs ${CMAKE_SOURCE_DIR}/contrib/examples/*/*.json)
set(_fz_pack_outputs)
foreach(spec ${_fz_specs})
  get_filename_component(dir ${spec} DIRECTORY)
  get_filename_component(pkg ${dir} NAME)
  get_filename_component(name ${spec} NAME)
  add_custom_command(OUTPUT ${_fz_seeds}/pack_spec/${name}
    COMMAND ${CMAKE_COMMAND} -E copy ${spec} ${_fz_seeds}/pack_spec/${name}
    DEPENDS ${spec})
  list(APPEND _fz_pack_outputs ${_fz_seeds}/pack_spec/${name})
  file(GLOB files ${dir}/*)
  foreach(f ${files})
    get_filename_component(ext ${f} LAST_EXT)
    get_filename_component(stem ${f} NAME_WE)
    get_filename_component(fname ${f} NAME)
    if(ext STREQUAL ".json")
      continue()
    elseif(ext STREQUAL ".wat")
      if(NOT NUB_WAT2WASM)
        continue()
      endif()
      set(out ${_fz_pack}/${pkg}/${stem}.wasm)
      add_custom_command(OUTPUT ${out} ${_fz_pack}/all/${stem}.wasm
        COMMAND ${CMAKE_COMMAND} -E make_directory ${_fz_pack}/${pkg} ${_fz_pack}/all
        COMMAND ${NUB_WAT2WASM} ${f} -o ${out}
        COMMAND ${CMAKE_COMMAND} -E copy ${out} ${_fz_pack}/all/${stem}.wasm
        DEPENDS ${f})
      list(APPEND _fz_pack_outputs ${out})
    else()
      add_custom_command(OUTPUT ${_fz_pack}/${pkg}/${fname} ${_fz_pack}/all/${fname}
        COMMAND ${CMAKE_COMMAND} -E copy ${f} ${_fz_pack}/${pkg}/${fname}
        COMMAND ${CMAKE_COMMAND} -E copy ${f} ${_fz_pack}/all/${fname}
        DEPENDS ${f})
      list(APPEND _fz_pack_outputs ${_fz_pack}/${pkg}/${fname})
    endif()
  endforeach()
endforeach()
list(APPEND _fz_seed_outputs ${_fz_pack_outputs})

# Key-file seeds: well-formed public and secret key files (test values,
# no real key), with and without the final newline.
set(_fz_hex 3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c)
file(MAKE_DIRECTORY ${_fz_seeds}/keyfile)
file(WRITE ${_fz_seeds}/keyfile/pub "nubfs-ed25519-public ${_fz_hex}\n")
file(WRITE ${_fz_seeds}/keyfile/pub_nonl "nubfs-ed25519-public ${_fz_hex}")
file(WRITE ${_fz_seeds}/keyfile/sec "nubfs-ed25519-secret ${_fz_hex}\n")
file(WRITE ${_fz_seeds}/keyfile/sec_upper "nubfs-ed25519-secret 3D4017C3E843895A92B70AA74D1B7EBC9C982CCF2EC4968CC0CD55F12AF4660C\n")

add_custom_target(host_fuzz_seeds ALL DEPENDS ${_fz_seed_outputs})
