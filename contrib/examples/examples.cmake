# Example packages: WAT components compiled with wat2wasm, packed and
# signed by nubfs-pack, all inside the build tree:
#   ${NUB_EXAMPLES_DIR}/<pkg>/      the spec, its data files and .wasm modules
#   ${NUB_EXAMPLES_DIR}/<pkg>.rvf   the signed package
#   ${NUB_EXAMPLES_DIR}/keys/       example.key + example.pub, generated at
#                                   build time (never commit a secret key);
#                                   use this directory as a trust dir
# Included from contrib/CMakeLists.txt, after src/ (nubfs-pack exists).
# wabt is a build dependency (contrib/deps.sh): without it the examples,
# and the integration tests that mount them, would vanish from the build.
find_program(NUB_WAT2WASM wat2wasm REQUIRED)

set(NUB_EXAMPLES_SRC ${CMAKE_CURRENT_LIST_DIR})
# Cached (internal) so tests/integration/pack.cmake, another directory
# scope, sees them.
set(NUB_EXAMPLES_DIR ${CMAKE_BINARY_DIR}/examples CACHE INTERNAL "example packages")
set(NUB_EXAMPLES_KEY ${NUB_EXAMPLES_DIR}/keys/example.key)
# Names of the example packages, for the integration tests.
set(NUB_EXAMPLES hello pipeline fanout CACHE INTERNAL "example package names")

# The key is made once per build tree; nubfs-pack keygen refuses to
# overwrite it, so it stays stable across rebuilds.
add_custom_command(
  OUTPUT ${NUB_EXAMPLES_KEY} ${NUB_EXAMPLES_DIR}/keys/example.pub
  COMMAND ${CMAKE_COMMAND} -E make_directory ${NUB_EXAMPLES_DIR}/keys
  COMMAND ${CMAKE_COMMAND} -E rm -f ${NUB_EXAMPLES_KEY} ${NUB_EXAMPLES_DIR}/keys/example.pub
  COMMAND nubfs-pack keygen ${NUB_EXAMPLES_DIR}/keys/example
  COMMENT "Generating the example signing key (build tree only)"
  VERBATIM)

set(nub_example_outputs ${NUB_EXAMPLES_KEY})

# nub_example(PKG WAT a.wat... DATA file...): sources live in
# contrib/examples/PKG/, the spec is PKG/PKG.json.
function(nub_example pkg)
  cmake_parse_arguments(EX "" "" "WAT;DATA" ${ARGN})
  set(src ${NUB_EXAMPLES_SRC}/${pkg})
  set(out ${NUB_EXAMPLES_DIR}/${pkg})
  set(deps)
  foreach(w ${EX_WAT})
    get_filename_component(stem ${w} NAME_WE)
    add_custom_command(
      OUTPUT ${out}/${stem}.wasm
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
      COMMAND ${NUB_WAT2WASM} ${src}/${w} -o ${out}/${stem}.wasm
      DEPENDS ${src}/${w}
      COMMENT "wat2wasm ${pkg}/${w}"
      VERBATIM)
    list(APPEND deps ${out}/${stem}.wasm)
  endforeach()
  foreach(f ${pkg}.json ${EX_DATA})
    add_custom_command(
      OUTPUT ${out}/${f}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
      COMMAND ${CMAKE_COMMAND} -E copy ${src}/${f} ${out}/${f}
      DEPENDS ${src}/${f}
      VERBATIM)
    list(APPEND deps ${out}/${f})
  endforeach()
  set(NUB_EXAMPLE_${pkg}_DEPS ${deps} PARENT_SCOPE)
endfunction()

nub_example(hello WAT hello.wat)
nub_example(pipeline WAT producer.wat consumer.wat DATA banner.txt)
nub_example(fanout WAT splitter.wat)

foreach(pkg ${NUB_EXAMPLES})
  set(deps ${NUB_EXAMPLE_${pkg}_DEPS})
  if(pkg STREQUAL "fanout")
    # fanout reuses pipeline's consumer module and banner (one cap, twice)
    list(APPEND deps ${NUB_EXAMPLE_pipeline_DEPS})
  endif()
  add_custom_command(
    OUTPUT ${NUB_EXAMPLES_DIR}/${pkg}.rvf
    COMMAND nubfs-pack build ${NUB_EXAMPLES_DIR}/${pkg}/${pkg}.json
            -o ${NUB_EXAMPLES_DIR}/${pkg}.rvf --key ${NUB_EXAMPLES_KEY}
    DEPENDS ${deps} ${NUB_EXAMPLES_KEY} nubfs-pack
    COMMENT "nubfs-pack build ${pkg}.rvf"
    VERBATIM)
  list(APPEND nub_example_outputs ${NUB_EXAMPLES_DIR}/${pkg}.rvf)
endforeach()

add_custom_target(examples ALL DEPENDS ${nub_example_outputs})
