# libFuzzer targets for the RVF parsers (container, manifest, WASM), their
# seed corpora, and a short ctest run of each over its seeds. Only
# included with -DNUB_FUZZ=ON and CC=clang:
#   CC=clang cmake -DNUB_FUZZ=ON -B build-fuzz && cmake --build build-fuzz
#   build-fuzz/tests/fuzz_rvf_container -max_total_time=180 \
#       build-fuzz/tests/fuzz-work/container build-fuzz/tests/rvf-seeds/container
# The libraries they link are the ordinary ones: with NUB_FUZZ every host
# library is built with coverage and ASan+UBSan (CMakeLists.txt).
set(_fuzz_link -fsanitize=fuzzer,address,undefined)
# Seed generators run at build time: leaks there are not findings.
set(_no_leaks ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=0)

set(_rvf_seeds ${CMAKE_CURRENT_BINARY_DIR}/rvf-seeds)
set(_rvf_work ${CMAKE_CURRENT_BINARY_DIR}/fuzz-work)
foreach(t container manifest wasm)
  add_executable(fuzz_rvf_${t} ${CMAKE_CURRENT_LIST_DIR}/fuzz_rvf_${t}.c)
  target_link_options(fuzz_rvf_${t} PRIVATE ${_fuzz_link})
  target_link_libraries(fuzz_rvf_${t} PRIVATE rvf_testbuild)
  # A few seconds over the seeds (new inputs go to a scratch dir, never
  # into the seeds).
  add_test(NAME fuzz.rvf_${t}
    COMMAND sh -c "mkdir -p '${_rvf_work}/${t}' && exec '$<TARGET_FILE:fuzz_rvf_${t}>' -max_total_time=5 -timeout=10 -rss_limit_mb=1024 '${_rvf_work}/${t}' '${_rvf_seeds}/${t}'")
endforeach()

# Seed generator: a host program run at build time (no fuzzer main).
add_executable(rvf_seedgen ${CMAKE_CURRENT_LIST_DIR}/rvf_seedgen.c)
target_link_libraries(rvf_seedgen PRIVATE rvf_testbuild)

# Extra seeds: the wat2wasm test module and, when the examples are built,
# the example packages (NUB_FUZZ_EXTRA_SEEDS: a list of .rvf/.wasm files).
set(_rvf_extra ${NUB_FUZZ_EXTRA_SEEDS})
set(_rvf_deps)
foreach(pkg ${NUB_EXAMPLES})
  list(APPEND _rvf_extra ${NUB_EXAMPLES_DIR}/${pkg}.rvf)
endforeach()
list(APPEND _rvf_deps examples)
list(APPEND _rvf_extra ${CMAKE_CURRENT_BINARY_DIR}/rvf_sample.wasm)
list(APPEND _rvf_deps rvf_sample_wasm ${CMAKE_CURRENT_BINARY_DIR}/rvf_sample.wasm)
add_custom_command(OUTPUT ${_rvf_seeds}/container/sample_unsigned.rvf
  COMMAND ${CMAKE_COMMAND} -E make_directory ${_rvf_seeds}
  COMMAND ${_no_leaks} $<TARGET_FILE:rvf_seedgen> ${_rvf_seeds} ${_rvf_extra}
  DEPENDS rvf_seedgen ${_rvf_deps} ${NUB_FUZZ_EXTRA_SEEDS}
  COMMENT "RVF fuzz seed corpora")
add_custom_target(rvf_fuzz_seeds ALL DEPENDS ${_rvf_seeds}/container/sample_unsigned.rvf)

# ---- Host parsers and the readers over hostile guest memory -------------
# fuzz.reader / fuzz.mount_reader: the directory and mount-table readers
# over a guest memory made of the input (fuzz_gm.h); fuzz.elf: the guest
# kernel ELF check and load; fuzz.pack_spec: the nubfs-pack JSON spec
# reader; fuzz.keyfile: the key-file parsers (nubfs and OpenSSH).
set(_fz_seeds ${CMAKE_CURRENT_BINARY_DIR}/fuzz-seeds)
set(_fz_lib_reader nubmem)
set(_fz_lib_mount_reader nubmem)
set(_fz_lib_elf nubvm)
set(_fz_lib_pack_spec nubpackspec)
set(_fz_lib_keyfile nubsign)

foreach(t reader mount_reader elf pack_spec keyfile)
  add_executable(fuzz_${t} ${CMAKE_CURRENT_LIST_DIR}/fuzz_${t}.c)
  target_link_options(fuzz_${t} PRIVATE ${_fuzz_link})
  target_link_libraries(fuzz_${t} PRIVATE ${_fz_lib_${t}})
  set(_dict)
  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/${t}.dict)
    set(_dict "-dict=${CMAKE_CURRENT_LIST_DIR}/${t}.dict")
  endif()
  add_test(NAME fuzz.${t}
    COMMAND sh -c "mkdir -p '${_rvf_work}/${t}' && exec '$<TARGET_FILE:fuzz_${t}>' -max_total_time=5 -timeout=10 -rss_limit_mb=1024 ${_dict} '${_rvf_work}/${t}' '${_fz_seeds}/${t}'")
endforeach()

# Seeds of the memory readers: valid directories and mount tables.
add_executable(mem_seedgen ${CMAKE_CURRENT_LIST_DIR}/mem_seedgen.c)
target_link_libraries(mem_seedgen PRIVATE nub_test_fixtures)
add_custom_command(OUTPUT ${_fz_seeds}/reader/small64 ${_fz_seeds}/mount_reader/table8
  COMMAND ${CMAKE_COMMAND} -E make_directory ${_fz_seeds}
  COMMAND ${_no_leaks} $<TARGET_FILE:mem_seedgen> ${_fz_seeds}
  DEPENDS mem_seedgen
  COMMENT "Guest-memory fuzz seed corpora")
set(_fz_seed_outputs ${_fz_seeds}/reader/small64 ${_fz_seeds}/mount_reader/table8)

# ELF seeds: the real guest kernel (whole and without debug sections, which
# keeps .symtab and is a tenth of the size) and the tiny test kernel.
set(_fz_elf_cmds COMMAND ${CMAKE_COMMAND} -E make_directory ${_fz_seeds}/elf)
set(_fz_elf_deps)
list(APPEND _fz_elf_cmds
  COMMAND ${CMAKE_COMMAND} -E copy $<TARGET_FILE:nub-guest> ${_fz_seeds}/elf/nub-guest.elf)
if(CMAKE_OBJCOPY)
  list(APPEND _fz_elf_cmds COMMAND ${CMAKE_OBJCOPY} --strip-debug $<TARGET_FILE:nub-guest>
    ${_fz_seeds}/elf/nub-guest-nodebug.elf)
endif()
list(APPEND _fz_elf_deps nub-guest)
list(APPEND _fz_elf_cmds COMMAND ${CMAKE_COMMAND} -E copy $<TARGET_FILE:nub-test-kernel>
  ${_fz_seeds}/elf/tiny-kernel.elf)
list(APPEND _fz_elf_deps nub-test-kernel)
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
# OpenSSH forms (sign_ssh.c): a .pub line (a throwaway key's public half),
# allowed_signers lines, and a private key ssh-keygen makes here if found.
set(_fz_ssh "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID+BJ53juLxmAi9lg352lDZhwHlaFrMtkpW0MsllAGCj")
file(WRITE ${_fz_seeds}/keyfile/ssh_pub "${_fz_ssh} me@host\n")
file(WRITE ${_fz_seeds}/keyfile/allowed_signers
  "# team\nme@example.com namespaces=\"git,nubfs\" ${_fz_ssh}\n\"a b\" ${_fz_ssh} c\n")
find_program(NUB_SSH_KEYGEN ssh-keygen)
if(NUB_SSH_KEYGEN AND NOT EXISTS ${_fz_seeds}/keyfile/ssh_private)
  execute_process(COMMAND ${NUB_SSH_KEYGEN} -q -t ed25519 -N "" -C fuzz-seed
                          -f ${_fz_seeds}/keyfile/ssh_private RESULT_VARIABLE _fz_rc)
  file(REMOVE ${_fz_seeds}/keyfile/ssh_private.pub)
endif()

add_custom_target(host_fuzz_seeds ALL DEPENDS ${_fz_seed_outputs})

# fuzz.softfloat: the softfloat library against native IEEE arithmetic on
# fuzzer-chosen bits (no seeds needed: any 16 bytes are two operands).
add_executable(fuzz_softfloat ${CMAKE_CURRENT_LIST_DIR}/fuzz_softfloat.c)
target_include_directories(fuzz_softfloat PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../unit)
target_link_options(fuzz_softfloat PRIVATE ${_fuzz_link})
target_link_libraries(fuzz_softfloat PRIVATE nubsoftfloat m)
add_test(NAME fuzz.softfloat
  COMMAND sh -c "mkdir -p '${_rvf_work}/softfloat' && exec '$<TARGET_FILE:fuzz_softfloat>' -max_total_time=5 -timeout=10 -rss_limit_mb=1024 '${_rvf_work}/softfloat'")

# fuzz.wasm: the WebAssembly interpreter (decode, validate, instantiate,
# run with fuel). Seeds: every module of the spec suite, converted by
# wast2json at build time (nothing committed).
add_executable(fuzz_wasm ${CMAKE_CURRENT_LIST_DIR}/fuzz_wasm.c)
target_link_options(fuzz_wasm PRIVATE ${_fuzz_link})
target_link_libraries(fuzz_wasm PRIVATE nubwasm)
set(_wasm_seeds ${CMAKE_CURRENT_BINARY_DIR}/fuzz-seeds/wasm)
if(NUB_WAST2JSON)
  add_custom_command(OUTPUT ${_wasm_seeds}/.stamp
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/wasm_seeds.sh ${NUB_WAST2JSON} ${NUB_WASM_SUITE} ${_wasm_seeds}
    DEPENDS ${CMAKE_CURRENT_LIST_DIR}/wasm_seeds.sh
    COMMENT "WASM fuzz seeds from the spec suite")
  add_custom_target(wasm_fuzz_seeds ALL DEPENDS ${_wasm_seeds}/.stamp)
endif()
add_test(NAME fuzz.wasm
  COMMAND sh -c "mkdir -p '${_rvf_work}/wasm' '${_wasm_seeds}' && exec '$<TARGET_FILE:fuzz_wasm>' -max_total_time=10 -timeout=10 -rss_limit_mb=2048 '${_rvf_work}/wasm' '${_wasm_seeds}'")

# fuzz.frame: the state directory's package frames (fs/frame.c), whose
# files are untrusted. Seeds: frames frame_seedgen encodes.
add_executable(fuzz_frame ${CMAKE_CURRENT_LIST_DIR}/fuzz_frame.c ${CMAKE_SOURCE_DIR}/fs/frame.c)
target_include_directories(fuzz_frame PRIVATE ${CMAKE_SOURCE_DIR}/fs)
target_link_options(fuzz_frame PRIVATE ${_fuzz_link})
target_link_libraries(fuzz_frame PRIVATE nubrvf)
add_executable(frame_seedgen ${CMAKE_CURRENT_LIST_DIR}/frame_seedgen.c ${CMAKE_SOURCE_DIR}/fs/frame.c)
target_include_directories(frame_seedgen PRIVATE ${CMAKE_SOURCE_DIR}/fs)
target_link_libraries(frame_seedgen PRIVATE nubrvf)
add_custom_command(OUTPUT ${_fz_seeds}/frame/three_caps
  COMMAND ${CMAKE_COMMAND} -E make_directory ${_fz_seeds}/frame
  COMMAND ${_no_leaks} $<TARGET_FILE:frame_seedgen> ${_fz_seeds}/frame
  DEPENDS frame_seedgen
  COMMENT "Frame fuzz seed corpus")
add_custom_target(frame_fuzz_seeds ALL DEPENDS ${_fz_seeds}/frame/three_caps)
add_test(NAME fuzz.frame
  COMMAND sh -c "mkdir -p '${_rvf_work}/frame' && exec '$<TARGET_FILE:fuzz_frame>' -max_total_time=5 -timeout=10 -rss_limit_mb=1024 '${_rvf_work}/frame' '${_fz_seeds}/frame'")
