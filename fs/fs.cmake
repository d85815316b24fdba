# The FUSE daemon nubfs (libfuse3 low-level API): its parts as a library
# (the unit tests link it), and main.c.
add_library(nubfsd STATIC
  ${CMAKE_CURRENT_LIST_DIR}/options.c
  ${CMAKE_CURRENT_LIST_DIR}/paths.c
  ${CMAKE_CURRENT_LIST_DIR}/state.c
  ${CMAKE_CURRENT_LIST_DIR}/state_pkgs.c
  ${CMAKE_CURRENT_LIST_DIR}/state_kept.c
  ${CMAKE_CURRENT_LIST_DIR}/frame.c
  ${CMAKE_CURRENT_LIST_DIR}/preflight.c
  ${CMAKE_CURRENT_LIST_DIR}/stacked.c
  ${CMAKE_CURRENT_LIST_DIR}/daemon.c
  ${CMAKE_CURRENT_LIST_DIR}/eventlog.c
  ${CMAKE_CURRENT_LIST_DIR}/utc.c
  ${CMAKE_CURRENT_LIST_DIR}/inodes.c
  ${CMAKE_CURRENT_LIST_DIR}/tree.c
  ${CMAKE_CURRENT_LIST_DIR}/guest_read.c
  ${CMAKE_CURRENT_LIST_DIR}/caps_ops.c
  ${CMAKE_CURRENT_LIST_DIR}/snapshot.c
  ${CMAKE_CURRENT_LIST_DIR}/files_ops.c
  ${CMAKE_CURRENT_LIST_DIR}/stats.c
  ${CMAKE_CURRENT_LIST_DIR}/put_file.c
  ${CMAKE_CURRENT_LIST_DIR}/store.c
  ${CMAKE_CURRENT_LIST_DIR}/passthrough.c
  ${CMAKE_CURRENT_LIST_DIR}/turn.c
  ${CMAKE_CURRENT_LIST_DIR}/region_pt.c
  ${CMAKE_CURRENT_LIST_DIR}/region_open.c
  ${CMAKE_CURRENT_LIST_DIR}/preload.c
  ${CMAKE_CURRENT_LIST_DIR}/test_knobs.c
  ${CMAKE_CURRENT_LIST_DIR}/recover.c
  ${CMAKE_CURRENT_LIST_DIR}/scheduler.c
  ${CMAKE_CURRENT_LIST_DIR}/gate.c
  ${CMAKE_CURRENT_LIST_DIR}/trust.c
  ${CMAKE_CURRENT_LIST_DIR}/reload.c
  ${CMAKE_CURRENT_LIST_DIR}/notify.c
  ${CMAKE_CURRENT_LIST_DIR}/ctl_table.c
  ${CMAKE_CURRENT_LIST_DIR}/ctl_ops.c
  ${CMAKE_CURRENT_LIST_DIR}/perm.c
  ${CMAKE_CURRENT_LIST_DIR}/held.c
  ${CMAKE_CURRENT_LIST_DIR}/mounter.c
  ${CMAKE_CURRENT_LIST_DIR}/mounts_ops.c
  ${CMAKE_CURRENT_LIST_DIR}/mnt_names.c
  ${CMAKE_CURRENT_LIST_DIR}/mounts_json.c)
target_include_directories(nubfsd PUBLIC ${CMAKE_CURRENT_LIST_DIR})
# libsystemd: its header only; daemon.c opens the library when systemd asks.
target_include_directories(nubfsd PRIVATE ${LIBSYSTEMD_INCLUDE_DIRS})
target_link_libraries(nubfsd PUBLIC nub_host_flags nubintake PkgConfig::FUSE3 PkgConfig::JANSSON
                      ${CMAKE_DL_LIBS})

add_executable(nubfs ${CMAKE_CURRENT_LIST_DIR}/main.c)
target_compile_definitions(nubfs PRIVATE NUBFS_VERSION="${PROJECT_VERSION}")
target_link_libraries(nubfs PRIVATE nubfsd)
install(TARGETS nubfs DESTINATION ${CMAKE_INSTALL_BINDIR})
