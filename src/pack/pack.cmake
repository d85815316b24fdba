# Package signatures (nubsign, also linked by the daemon) and the
# nubfs-pack tool. Included from src/CMakeLists.txt.
set(NUB_PACK_DIR ${CMAKE_CURRENT_LIST_DIR})

# nubsign checks a parsed package's CRYPTO segment, so it needs the shared
# RVF parser (nubrvf, guest/rvf/rvf.cmake, included before this file).
add_library(nubsign STATIC
  ${CMAKE_SOURCE_DIR}/src/sign.c
  ${CMAKE_SOURCE_DIR}/src/sign_trust.c
  ${CMAKE_SOURCE_DIR}/src/sign_pkg.c)
target_include_directories(nubsign PUBLIC ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(nubsign PUBLIC PkgConfig::SODIUM nubrvf nubutil PRIVATE nub_host_flags)

# The JSON spec reader and file helpers, a library so unit tests link it.
add_library(nubpackspec STATIC ${NUB_PACK_DIR}/spec.c ${NUB_PACK_DIR}/util.c)
target_include_directories(nubpackspec PUBLIC ${NUB_PACK_DIR})
target_link_libraries(nubpackspec PUBLIC nubrvf nubutil PkgConfig::JANSSON PRIVATE nub_host_flags)

add_executable(nubfs-pack
  ${NUB_PACK_DIR}/main.c
  ${NUB_PACK_DIR}/load.c
  ${NUB_PACK_DIR}/keygen.c
  ${NUB_PACK_DIR}/build.c
  ${NUB_PACK_DIR}/inspect.c
  ${NUB_PACK_DIR}/verify.c)
target_compile_definitions(nubfs-pack PRIVATE NUB_VERSION="${PROJECT_VERSION}")
target_link_libraries(nubfs-pack PRIVATE nubpackspec nubsign nubrvf nub_host_flags)
install(TARGETS nubfs-pack RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
