/* The user-facing errno table and the status -> errno mappings (see
 * errors.h). Keep the table in step with man/nubfs.8 ERRORS: the unit
 * test compares them row by row. */
#include "errors.h"

#include <errno.h>

#include "nub/abi.h"

const struct nub_user_error nub_user_errors[] = {
    {ENOKEY, "ENOKEY", "unsigned (no allow_unsigned)", "Required key not available"},
    {EKEYREJECTED, "EKEYREJECTED", "bad signature, untrusted key", "Key was rejected by service"},
    {EBADMSG, "EBADMSG", "malformed package or WASM", "Bad message"},
    {EUCLEAN, "EUCLEAN", "content does not match hash", "Structure needs cleaning"},
    {ENOSPC, "ENOSPC", "guest out of memory", "No space left on device"},
    {EDQUOT, "EDQUOT", "over a count limit", "Disk quota exceeded"},
    {EFBIG, "EFBIG", "larger than max_package", "File too large"},
    {EEXIST, "EEXIST", "other blob, same cap hash", "File exists"},
    {EIO, "EIO", "guest crashed in the mount", "Input/output error"},
};
const size_t nub_user_errors_count = sizeof(nub_user_errors) / sizeof(nub_user_errors[0]);

int nub_errno_guest(uint32_t status)
{
    switch (status) {
    case NUB_ST_OK: return 0;
    case NUB_ST_INVAL: return -EINVAL;
    case NUB_ST_NOMEM: return -ENOSPC;
    case NUB_ST_EXISTS: return -EEXIST;
    case NUB_ST_NOENT: return -ENOENT;
    case NUB_ST_BADMSG: return -EBADMSG;
    case NUB_ST_QUOTA: return -EDQUOT;
    case NUB_ST_STATE: return -EINVAL;
    case NUB_ST_OVERFLOW: return -EOVERFLOW;
    default: return -EIO; /* PENDING after DONE, or an unknown status */
    }
}

int nub_errno_mount(uint32_t status)
{
    return status == NUB_ST_OVERFLOW ? -EDQUOT : nub_errno_guest(status);
}

int nub_errno_rvf(enum rvf_status st)
{
    switch (st) {
    case RVF_OK: return 0;
    case RVF_E_INVAL: return -EINVAL;
    case RVF_E_HASH: return -EUCLEAN;
    case RVF_E_LIMIT: return -EDQUOT;
    case RVF_E_TOO_BIG: return -EFBIG;
    case RVF_E_NO_SIGNATURE: return -ENOKEY;
    case RVF_E_NOSPACE: return -ENOSPC;
    default: return -EBADMSG;
    }
}

int nub_errno_sig(enum nub_sig_status st)
{
    switch (st) {
    case NUB_SIG_OK: return 0;
    case NUB_SIG_NO_SIGNATURE: return -ENOKEY;
    case NUB_SIG_BAD_SIGNATURE:
    case NUB_SIG_UNTRUSTED_KEY: return -EKEYREJECTED;
    case NUB_SIG_MALFORMED: return -EBADMSG;
    }
    return -EINVAL;
}
