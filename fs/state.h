/* The state directory (state.c). */
#ifndef NUBFS_STATE_H
#define NUBFS_STATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
/* The frame of a new mount in two steps (mounter.c): stage writes
 * pkgs/.tmp-<order> and fsyncs it (before MOUNT); commit renames it to
 * <order>.<name>.frame and fsyncs pkgs/ (after MOUNT succeeded, before
 * the reply), so a package the guest refused never has a frame under
 * its name; discard unlinks the .tmp (a refusal). 0 or -errno. */
int nubfs_state_pkg_stage(struct nubfs *fs, uint64_t order, const uint8_t *blob, size_t len);
int nubfs_state_pkg_commit(struct nubfs *fs, uint64_t order, const char *ctlname);
void nubfs_state_pkg_discard(struct nubfs *fs, uint64_t order);
/* A mounted package that did not re-mount after a guest crash
 * (recover.c): its frame (blob, the entry's) becomes a kept frame, its
 * file stays, logged with why. Call before its store references go, so
 * its cap files stay. False: no state directory or no frame (ephemeral),
 * or no memory; the caller drops it. change_mu held. */
bool nubfs_state_pkg_keep(struct nubfs *fs, uint64_t order, const char *ctlname,
                          const uint8_t *blob, size_t len, const char *why);
/* SIGHUP (reload.c, after trust= is read again): every kept frame is
 * tried again, in order (change_mu NOT held: it takes it). */
void nubfs_state_retry_kept(struct nubfs *fs);

/* state_kept.c: kept frames, packages of the state directory that the
 * options refuse now (nubfs_kept_errno): not mounted, not deleted. */
struct nubfs_frame;
int nubfs_kept_init(struct nubfs *fs);
void nubfs_kept_free(struct nubfs *fs);
/* A refusal that depends on the daemon's options, not on the package. */
bool nubfs_kept_errno(int err);
/* Adds (or updates) the kept frame of this order with its caps and why. */
int nubfs_kept_put(struct nubfs *fs, uint64_t order, const char *file, const char *ctlname,
                   const struct nubfs_frame *f, const char *why);
void nubfs_kept_drop(struct nubfs *fs, uint64_t order);
bool nubfs_kept_has(struct nubfs *fs, uint64_t order);
/* The store's hook (ctx: fs): a kept frame names this cap. */
bool nubfs_kept_wants(void *ctx, const uint8_t hash[16]);
/* A package of this ctl/ name was made durable with this order: older
 * kept frames of the name go (frame unlinked, logged). */
void nubfs_kept_superseded(struct nubfs *fs, const char *ctlname, uint64_t order);
struct nubfs_kept_item {
    uint64_t order;
    char file[NAME_MAX + 1];
    char ctlname[NAME_MAX + 1];
};
/* A copy of the list (malloc'd, by no order); its length. */
size_t nubfs_kept_list(struct nubfs *fs, struct nubfs_kept_item **out);
/* `stats` "kept": [{name, frame, reason}] (a json_t *). */
void *nubfs_kept_json(struct nubfs *fs);

/* Releases the lock. */
void nubfs_state_close(struct nubfs *fs);

#endif
