/* -o trust=DIR: the trusted Ed25519 public keys (one "*.pub" file each,
 * src/sign.h format). A malformed or unreadable key file is logged by
 * name and skipped; the others are still trusted. Without trust= nothing
 * is trusted, so every signed package is EKEYREJECTED.
 *
 * SIGHUP (reload.c) reads the directory again: the new set decides every
 * later mount, and what is mounted stays. Recovery re-mounts packages
 * that were accepted already, so it checks them against every key trusted
 * since start (fs->trust_ever), not only today's: a key removed by a
 * reload never drops a package that is mounted. */
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

/* The keys of fs->opts.trust into t (initialised). 0, or -errno with the
 * one line that says why in err. */
static int load_set(struct nubfs *fs, struct nub_trust *t, char *err, size_t errlen)
{
    if (nub_sign_init() != 0) {
        snprintf(err, errlen, "libsodium cannot start");
        return -EIO;
    }
    char e[NUB_SIGN_ERR_MAX] = "";
    int rc = nub_trust_load_dir(t, fs->opts.trust, report, NULL, e, sizeof(e));
    if (rc == 0 || rc == -EINVAL)
        return 0; /* bad files were reported one by one */
    /* e is "DIR: reason", the one line that says why. */
    if (e[0])
        snprintf(err, errlen, "trust=%s", e);
    else
        snprintf(err, errlen, "trust=%s: %s", fs->opts.trust, strerror(-rc));
    return rc;
}

static void log_key(const char *what, const struct nub_pubkey *k)
{
    char id[NUB_KEYID_HEX];
    nub_key_id_hex(k->id, id);
    nubfs_log("trust: %s %s", what, id);
}

/* Adds every key of t to fs->trust_ever (recovery's set). */
static void remember(struct nubfs *fs, const struct nub_trust *t)
{
    for (size_t i = 0; i < t->count; i++)
        if (nub_trust_add(&fs->trust_ever, &t->keys[i]) != 0)
            nubfs_warn("trust: cannot remember key %zu for recovery", i);
}

int nubfs_trust_load(struct nubfs *fs)
{
    nub_trust_init(&fs->trust);
    nub_trust_init(&fs->trust_ever);
    if (fs->opts.trust == NULL) {
        nubfs_warn("trust: no trust= directory: signed packages are refused (EKEYREJECTED)%s",
                   fs->opts.allow_unsigned ? "; unsigned ones are allowed" : "");
        return 0;
    }
    char err[NUB_SIGN_ERR_MAX + 64];
    int rc = load_set(fs, &fs->trust, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "nubfs: %s\n", err);
        return rc;
    }
    remember(fs, &fs->trust);
    nubfs_log("trust: %zu key%s from %s", fs->trust.count, fs->trust.count == 1 ? "" : "s",
              fs->opts.trust);
    for (size_t i = 0; i < fs->trust.count; i++)
        log_key("key", &fs->trust.keys[i]);
    if (fs->trust.count == 0)
        nubfs_warn("trust: warning: %s holds no usable *.pub key", fs->opts.trust);
    return 0;
}

int nubfs_trust_reload(struct nubfs *fs)
{
    if (fs->opts.trust == NULL) {
        nubfs_log("trust: SIGHUP: no trust= directory to read again; nothing is trusted");
        return 0;
    }
    struct nub_trust next;
    nub_trust_init(&next);
    char err[NUB_SIGN_ERR_MAX + 64];
    int rc = load_set(fs, &next, err, sizeof(err));
    if (rc != 0) {
        nub_trust_free(&next);
        nubfs_warn("trust: SIGHUP: %s; keeping the %zu key%s trusted before", err,
                   fs->trust.count, fs->trust.count == 1 ? "" : "s");
        return rc;
    }
    /* Mounts and recovery read the set under change_mu. */
    pthread_mutex_lock(&fs->change_mu);
    struct nub_trust old = fs->trust;
    fs->trust = next;
    remember(fs, &fs->trust);
    pthread_mutex_unlock(&fs->change_mu);
    size_t added = 0, removed = 0;
    for (size_t i = 0; i < fs->trust.count; i++)
        if (nub_trust_find(&old, fs->trust.keys[i].pk) == NULL) {
            log_key("added key", &fs->trust.keys[i]);
            added++;
        }
    for (size_t i = 0; i < old.count; i++)
        if (nub_trust_find(&fs->trust, old.keys[i].pk) == NULL) {
            log_key("removed key (mounted packages stay)", &old.keys[i]);
            removed++;
        }
    nubfs_log("trust: SIGHUP: %zu key%s from %s (%zu added, %zu removed)", fs->trust.count,
              fs->trust.count == 1 ? "" : "s", fs->opts.trust, added, removed);
    nub_trust_free(&old);
    return 0;
}
