/* Test-only boot actions (hidden, need -o test_ops).
 *
 * test_forge_cap=HEX publishes a few junk bytes under a cap hash that is
 * not theirs. nub_sandbox_put hashes what it publishes, so this uses the
 * raw calls (ALLOC, write, PUT with the claimed hash): the guest trusts
 * the host's hash, which leaves exactly the state an XXH3-128 collision
 * would. A package with a segment of that hash must then be refused with
 * EEXIST (DESIGN §4, §6), which ctl_errors.sh checks through cp and rsync.
 *
 * After a guest reboot the forged blob is deliberately published again
 * (nubfs_republish, like the preloaded files): the kernel caches caps/
 * entries and pages for a day because a cap never changes, so for the
 * daemon's lifetime the hash must keep naming the same bytes; dropping it
 * would let a later mount publish other bytes under a name the kernel
 * still holds stale attributes and pages for. */
#include "nubfs.h"

#include "errors.h"

#include <errno.h>
#include <string.h>

static const char forged_bytes[] = "forged cap\n";

int nubfs_test_forge_cap(struct nubfs *fs)
{
    const size_t len = sizeof(forged_bytes) - 1;
    const char *hex = fs->opts.test_forge_cap;
    struct nub_call c = {.op = NUB_OP_PUT};
    nub_gpa gpa = 0;
    char msg[NUB_MAILBOX_MSG] = "";
    if (nub_hash_from_hex(hex, c.hash) != 0)
        return -EINVAL; /* options.c checked the syntax */

    nub_sandbox_lock(fs->sb);
    int rc = nub_sandbox_alloc_locked(fs->sb, len, 0, &gpa, msg);
    if (rc == 0 && nub_gm_write(nub_sandbox_mem(fs->sb), gpa, forged_bytes, len) != 0)
        rc = -EIO; /* ALLOC checked the block lies in guest memory */
    if (rc == 0) {
        c.args[0] = gpa;
        c.args[1] = len;
        c.args[2] = NUB_CAP_BLOB;
        rc = nub_sandbox_call_locked(fs->sb, &c);
        if (rc == 0 && c.status != NUB_ST_OK) {
            rc = nub_errno_guest(c.status);
            struct nub_call f = {.op = NUB_OP_FREE, .args = {gpa}}; /* still ours */
            nub_sandbox_call_locked(fs->sb, &f);
        } else if (rc == 0 && c.ret[1] != 0) {
            rc = -EEXIST; /* the hash was there already: nothing forged */
        }
    }
    nub_sandbox_unlock(fs->sb);
    if (rc != 0) {
        nubfs_warn("test_forge_cap=%s: %s%s%s", hex,
                   rc == -EEXIST ? "the cap already exists" : strerror(-rc), msg[0] ? ": " : "",
                   msg);
        return rc;
    }
    nubfs_warn("test_forge_cap: %spublished %zu junk bytes under cap %s (a forged hash, "
               "test only)",
               fs->test_forged ? "re-" : "", len, hex);
    fs->test_forged = true;
    return 0;
}
