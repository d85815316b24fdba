# The nubfs-pack tool and its JSON spec reader. Included from
# src/CMakeLists.txt, after host.cmake (nubsign).
set(NUB_PACK_DIR ${CMAKE_CURRENT_LIST_DIR})

# The JSON spec reader and file helpers, a library so unit tests link it.
add_library(nubpackspec STATIC ${NUB_PACK_DIR}/spec.c ${NUB_PACK_DIR}/util.c)
target_include_directories(nubpackspec PUBLIC ${NUB_PACK_DIR})
target_link_libraries(nubpackspec PUBLIC nub_host_flags nubrvf nubutil PkgConfig::JANSSON)

add_executable(nubfs-pack
  ${NUB_PACK_DIR}/main.c
  ${NUB_PACK_DIR}/load.c
  ${NUB_PACK_DIR}/keygen.c
  ${NUB_PACK_DIR}/build.c
  ${NUB_PACK_DIR}/inspect.c
  ${NUB_PACK_DIR}/verify.c)
target_compile_definitions(nubfs-pack PRIVATE NUB_VERSION="${PROJECT_VERSION}")
# nubguest: the guest's own mount limits (nub_mount_limits_clamp), so
# verify checks with exactly what the guest checks.
target_link_libraries(nubfs-pack PRIVATE nubpackspec nubsign nubrvf nubguest nub_host_flags)
install(TARGETS nubfs-pack RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
