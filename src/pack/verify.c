/* nubfs-pack verify: the checks nubfs makes before it mounts a package,
 * with the same code: container structure, every payload against its cap
 * hash, the signature against the trusted keys, then what the guest checks
 * (manifest; modules and entry points, rvf_check_components) with the
 * limits the guest uses. What is left to a mount is only what depends on
 * the daemon's options and the guest's state (memory, existing caps, the
 * mount table). Exit 0 only when all pass. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "nub/guest_mount.h"
#include "pack.h"
#include "sign.h"
#include "sign_pkg.h"
#include "spec.h"

static void on_report(void *ctx, const char *path, const char *reason)
{
    (void)path;
    (void)ctx;
    pack_err("%s", reason);
}

/* Loads every --trust DIR / --pub FILE; any bad key file is an error, so
 * a typo never silently narrows (or empties) the trust set. */
static int load_trust(struct nub_trust *t, int argc, char **argv)
{
    static const struct option opts[] = {
        {"trust", required_argument, NULL, 't'},
        {"pub", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    char err[NUB_SIGN_ERR_MAX];
    int c, bad = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 't') {
            size_t before = t->count;
            int r = nub_trust_load_dir(t, optarg, on_report, NULL, err, sizeof err);
            if (r < 0 && r != -EINVAL) /* the directory itself; key files were reported */
                pack_err("--trust %s", err);
            if (r < 0)
                bad = 1;
            else if (t->count == before)
                pack_err("warning: %s: no *.pub key files", optarg);
        } else if (c == 'p') {
            if (nub_trust_add_file(t, optarg, err, sizeof err) < 0) {
                pack_err("%s", err);
                bad = 1;
            }
        }
    }
    return bad ? -1 : 0;
}

int pack_cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"trust", required_argument, NULL, 't'},
        {"pub", required_argument, NULL, 'p'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, nkeysrc = 0;
    bool quiet = false;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case 't':
        case 'p': nkeysrc++; break;
        case 'q': quiet = true; break;
        case 'h':
            puts("Usage: " PACK_PROG " verify PKG.rvf (--trust DIR | --pub FILE)... [--quiet]\n"
                 "Exit 0 only for a well-formed package whose every segment matches its\n"
                 "hash and which is signed by a trusted key.");
            return PACK_EXIT_OK;
        default:
            return pack_usage_err("verify: unknown option or missing argument '%s'",
                                  argv[optind - 1]);
        }
    }
    if (optind + 1 != argc)
        return pack_usage_err("verify: expected exactly one PKG.rvf");
    if (nkeysrc == 0)
        return pack_usage_err("verify: give the trusted keys with --trust DIR or --pub FILE");
    const char *path = argv[optind];

    struct nub_trust trust;
    nub_trust_init(&trust);
    if (load_trust(&trust, argc, argv) < 0) {
        nub_trust_free(&trust);
        return PACK_EXIT_FAIL;
    }

    /* The limits a mount with the defaults gets, clamped as the guest does. */
    struct rvf_limits lim;
    rvf_limits_default(&lim);
    nub_mount_limits_clamp(&lim);
    struct pack_pkg p;
    int ret = PACK_EXIT_FAIL;
    if (pack_pkg_load(path, &lim, &p) < 0)
        goto out;
    if (!p.parsed) {
        pack_err("%s: not a valid package: %s", path, p.res.msg);
        goto out;
    }
    /* Hashes first: a damaged byte is reported as the damage it is. */
    struct rvf_result res;
    if (rvf_check_hashes(&p.pkg, &res) != RVF_OK) {
        pack_err("%s: %s", path, res.msg);
        goto out;
    }
    uint8_t id[NUB_KEYID_BYTES];
    char kid[NUB_KEYID_HEX];
    enum nub_sig_status st = nub_sig_check_package(&trust, &p.pkg, id);
    nub_key_id_hex(id, kid);
    switch (st) {
    case NUB_SIG_OK:
        break;
    case NUB_SIG_NO_SIGNATURE:
        pack_err("%s: package is not signed", path);
        goto out;
    case NUB_SIG_UNTRUSTED_KEY:
        pack_err("%s: signed by key %s, which is not trusted", path, kid);
        goto out;
    case NUB_SIG_BAD_SIGNATURE:
        pack_err("%s: BAD signature (claims key %s): the package was modified or forged", path,
                 kid);
        goto out;
    case NUB_SIG_MALFORMED:
        pack_err("%s: %s", path, nub_sig_status_str(st));
        goto out;
    }
    /* What the guest checks at mount, so verify 0 means mountable. */
    if (!pack_pkg_manifest(&p, &lim)) {
        pack_err("%s: bad manifest: %s", path, p.res.msg);
        goto out;
    }
    if (rvf_check_components(&p.pkg, &p.m, &lim, &res) != RVF_OK) {
        pack_err("%s: %s", path, res.msg);
        goto out;
    }
    if (!quiet)
        printf("%s: OK: %s %s, %u segments, signed by trusted key %s\n", path, p.m.name,
               p.m.pkg_version, p.pkg.nsegs, kid);
    ret = PACK_EXIT_OK;
out:
    pack_pkg_free(&p);
    nub_trust_free(&trust);
    return ret;
}
