# The mount pipeline (plain C): built into the guest kernel and into the
# host library nubguest. Include from any scope that needs the list.
set(NUB_MOUNT_DIR ${CMAKE_CURRENT_LIST_DIR})
set(NUB_MOUNT_SOURCES
  ${NUB_MOUNT_DIR}/mount.c
  ${NUB_MOUNT_DIR}/parse.c
  ${NUB_MOUNT_DIR}/regions.c
  ${NUB_MOUNT_DIR}/components.c
  ${NUB_MOUNT_DIR}/caps.c
  ${NUB_MOUNT_DIR}/cap_list.c
  ${NUB_MOUNT_DIR}/put_caps.c
  ${NUB_MOUNT_DIR}/dir_undo.c
  ${NUB_MOUNT_DIR}/grants.c
  ${NUB_MOUNT_DIR}/queues.c
  ${NUB_MOUNT_DIR}/tasks.c
  ${NUB_MOUNT_DIR}/mount_table.c
  ${NUB_MOUNT_DIR}/unmount.c)
