/* Poison recovery (DESIGN §3): when a guest call crashed the guest, log
 * why, boot a fresh guest, publish the preloaded files again and re-mount
 * every package ctl/ holds (the daemon keeps their bytes), so the tree
 * keeps its content. Also the guest heap level shown by `stats`. */
#include "ctl.h"

#include "guest_calls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A package that crashes every fresh guest is dropped by the re-mount;
 * this bounds the reboots one recovery may take. */
#define RECOVER_ATTEMPTS 3

void nubfs_heap_refresh(struct nubfs *fs)
{
    uint64_t ret[NUB_MAILBOX_ARGS];
    if (nub_call_stats(fs->sb, ret) == 0) {
        __atomic_store_n(&fs->heap_used, ret[NUB_STAT_HEAP_USED], __ATOMIC_RELAXED);
        __atomic_store_n(&fs->heap_total, ret[NUB_STAT_HEAP_TOTAL], __ATOMIC_RELAXED);
        __atomic_store_n(&fs->heap_gen, ret[NUB_STAT_GENERATION], __ATOMIC_RELAXED);
    }
}

/* A fresh guest may lack caps the old one had (a package that no longer
 * mounts, a preloaded file that changed): the kernel caches cap entries
 * for a day, so forget every cap it holds that is not back. */
static void forget_lost_caps(struct nubfs *fs)
{
    uint8_t(*held)[16] = NULL;
    size_t n = 0;
    if (nubfs_inodes_hashes(&held, &n) != 0) {
        nubfs_warn("after recovery: no memory to check the kernel's cached caps");
        return;
    }
    size_t lost = 0;
    struct nub_reader r;
    bool ok = nubfs_reader_begin(fs, &r) == 0;
    for (size_t i = 0; i < n; i++)
        if (!ok || !nub_reader_contains(&r, held[i]))
            memcpy(held[lost++], held[i], 16);
    nubfs_reader_end(fs);
    if (lost > 0) {
        nubfs_log("after recovery: %zu cap%s did not come back", lost, lost == 1 ? "" : "s");
        nubfs_notify_caps(fs, (const uint8_t(*)[16])held, lost);
    }
    free(held);
}

int nubfs_recover_locked(struct nubfs *fs)
{
    pthread_mutex_lock(&fs->recover_mu);
    int rc = 0;
    for (int attempt = 0; attempt < RECOVER_ATTEMPTS && nub_sandbox_poisoned(fs->sb); attempt++) {
        nubfs_warn("guest poisoned: %s; rebooting", nub_sandbox_poison_reason(fs->sb));
        char err[256] = "";
        rc = nub_sandbox_reboot(fs->sb, err, sizeof(err));
        if (rc != 0) {
            nubfs_warn("reboot failed: %s", err[0] ? err : strerror(-rc));
            break;
        }
        nubfs_log("guest rebooted");
        rc = nubfs_republish(fs);
        if (nub_sandbox_poisoned(fs->sb))
            continue;
        nubfs_remount_all(fs);
    }
    if (!nub_sandbox_poisoned(fs->sb))
        forget_lost_caps(fs);
    if (nub_sandbox_poisoned(fs->sb)) {
        nubfs_log("guest still poisoned after recovery: %s", nub_sandbox_poison_reason(fs->sb));
        rc = -EIO;
    }
    pthread_mutex_unlock(&fs->recover_mu);
    nubfs_heap_refresh(fs);
    return rc;
}

int nubfs_recover(struct nubfs *fs)
{
    pthread_mutex_lock(&fs->change_mu);
    int rc = nubfs_recover_locked(fs);
    pthread_mutex_unlock(&fs->change_mu);
    return rc;
}
