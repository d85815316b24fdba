/* -o trust=DIR: the trusted Ed25519 public keys (one "*.pub" file each,
 * src/sign.h format). A malformed or unreadable key file is logged by
 * name and skipped; the others are still trusted. Without trust= nothing
 * is trusted, so every signed package is EKEYREJECTED. */
#include "nubfs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void report(void *ctx, const char *path, const char *reason)
{
    (void)ctx;
    (void)path; /* the reason names the file */
    nubfs_warn("trust: ignoring a key file: %s", reason);
}

int nubfs_trust_load(struct nubfs *fs)
{
    nub_trust_init(&fs->trust);
    if (fs->opts.trust == NULL) {
        nubfs_warn("trust: no trust= directory: signed packages are refused (EKEYREJECTED)%s",
                  fs->opts.allow_unsigned ? "; unsigned ones are allowed" : "");
        return 0;
    }
    if (nub_sign_init() != 0) {
        fprintf(stderr, "nubfs: libsodium cannot start\n");
        return -EIO;
    }
    char err[NUB_SIGN_ERR_MAX] = "";
    int rc = nub_trust_load_dir(&fs->trust, fs->opts.trust, report, NULL, err, sizeof(err));
    if (rc != 0 && rc != -EINVAL) {
        /* err is "DIR: reason", the one line that says why. */
        if (err[0])
            fprintf(stderr, "nubfs: trust=%s\n", err);
        else
            fprintf(stderr, "nubfs: trust=%s: %s\n", fs->opts.trust, strerror(-rc));
        return rc;
    }
    nubfs_log("trust: %zu key%s from %s", fs->trust.count, fs->trust.count == 1 ? "" : "s",
              fs->opts.trust);
    for (size_t i = 0; i < fs->trust.count; i++) {
        char id[NUB_KEYID_HEX];
        nub_key_id_hex(fs->trust.keys[i].id, id);
        nubfs_log("trust: key %s", id);
    }
    if (fs->trust.count == 0)
        nubfs_warn("trust: warning: %s holds no usable *.pub key", fs->opts.trust);
    return 0;
}
