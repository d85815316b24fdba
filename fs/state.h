/* The state directory (state.c). */
#ifndef NUBFS_STATE_H
#define NUBFS_STATE_H

#include <stddef.h>

#include "nubfs.h"

/* The format version this nubfs writes and reads (nubfs(8)). */
#define NUBFS_STATE_FORMAT 1u

/* Opens the state directory for the absolute mountpoint (nothing with
 * -o ephemeral): creates it 0700, checks it is writable, locks it, and
 * reads (or, new, writes) its format file. 0, or -errno with the one line
 * for the user in err (the caller exits 1): -EBUSY another daemon holds
 * it, -EPROTONOSUPPORT a newer format, -ENOTEMPTY not a state directory,
 * -EROFS/-EACCES not writable. */
int nubfs_state_open(struct nubfs *fs, const char *mountpoint, char *err, size_t errlen);
/* The directory in use, or NULL (ephemeral, or not open). */
const char *nubfs_state_dir(const struct nubfs *fs);
/* Releases the lock. */
void nubfs_state_close(struct nubfs *fs);

#endif
