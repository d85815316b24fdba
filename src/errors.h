/* The errnos a user sees (nubfs(8) ERRORS, docs/ARCHITECTURE.md "Errors")
 * and the one place
 * each internal status becomes one. Convention everywhere in the host
 * code: 0 or a NEGATIVE errno, so a result goes up unchanged and only
 * the FUSE reply flips its sign (fuse_reply_err(req, -rc)).
 *
 * tests/unit/test_errors.c checks nub_user_errors row by row against the
 * mappings below, strerror() and the ERRORS table of man/nubfs.8. */
#ifndef NUB_ERRORS_H
#define NUB_ERRORS_H

#include <stddef.h>
#include <stdint.h>

#include "rvf.h"
#include "sign.h"

/* One row of the table a refused mount answers with. */
struct nub_user_error {
    int err;             /* positive errno value, e.g. ENOKEY */
    const char *name;    /* "ENOKEY" */
    const char *failure; /* what went wrong, as nubfs(8) ERRORS says it */
    const char *message; /* what cp prints: strerror(err) */
};
extern const struct nub_user_error nub_user_errors[];
extern const size_t nub_user_errors_count;

/* A guest call's status (abi.h NUB_ST_*): OK 0, NOMEM -ENOSPC, EXISTS
 * -EEXIST, NOENT -ENOENT, BADMSG -EBADMSG, QUOTA -EDQUOT, OVERFLOW
 * -EOVERFLOW, INVAL and STATE -EINVAL, anything else -EIO. */
int nub_errno_guest(uint32_t status);
/* A refused MOUNT: as nub_errno_guest, but OVERFLOW (a size the guest
 * cannot hold) is a quota like the other size limits: -EDQUOT. */
int nub_errno_mount(uint32_t status);
/* An RVF parser status: -EBADMSG for malformed bytes, -EUCLEAN hash
 * mismatch, -EDQUOT over a count limit, -EFBIG too large, -ENOKEY not
 * signed, -ENOSPC output buffer too small, -EINVAL bad argument. */
int nub_errno_rvf(enum rvf_status st);
/* A signature check: -ENOKEY unsigned, -EKEYREJECTED bad or untrusted,
 * -EBADMSG malformed signature segment. */
int nub_errno_sig(enum nub_sig_status st);

#endif /* NUB_ERRORS_H */
