/* The state directory (state.c). */
#ifndef NUBFS_STATE_H
#define NUBFS_STATE_H

#include <stddef.h>

#include "nubfs.h"

/* The format version this nubfs writes and reads (nubfs(8)). */
#define NUBFS_STATE_FORMAT 2u

/* Opens the state directory for the absolute mountpoint (nothing with
 * -o ephemeral): creates it 0700, checks it is writable, locks it, and
 * reads (or, new, writes) its format file. 0, or -errno with the one line
 * for the user in err (the caller exits 1): -EBUSY another daemon holds
 * it, -EPROTONOSUPPORT a newer format, -ENOTEMPTY not a state directory,
 * -EROFS/-EACCES not writable. */
int nubfs_state_open(struct nubfs *fs, const char *mountpoint, char *err, size_t errlen);
/* The directory in use, or NULL (ephemeral, or not open). */
const char *nubfs_state_dir(const struct nubfs *fs);
/* caps/ and pkgs/ of the directory in use, or -1. */
int nubfs_state_caps_fd(const struct nubfs *fs);
int nubfs_state_pkgs_fd(const struct nubfs *fs);
/* state_pkgs.c: package frames (nothing without a state directory).
 * Write: pkgs/.tmp-<order> -> fsync -> rename to <order>.<name>.frame ->
 * fsync pkgs/. Remove: unlink -> fsync pkgs/. Rename: to a new order and
 * name -> fsync pkgs/. 0 or -errno. */
int nubfs_state_pkg_write(struct nubfs *fs, uint64_t order, const char *ctlname,
                          const uint8_t *blob, size_t len);
int nubfs_state_pkg_remove(struct nubfs *fs, uint64_t order, const char *ctlname);
int nubfs_state_pkg_rename(struct nubfs *fs, uint64_t order, const char *ctlname,
                           uint64_t new_order, const char *newname);
/* At start, after the store and the preloads, before the mount is
 * reported ready: every frame mounted again in order; what cannot be is
 * removed and logged, then the cap files no package holds. */
int nubfs_state_replay(struct nubfs *fs);
/* Releases the lock. */
void nubfs_state_close(struct nubfs *fs);

#endif
