/* Recovery, all of it (docs/ARCHITECTURE.md "Recovery"): when a guest call crashed the guest,
 * log why, boot a fresh guest, publish the preloaded files (and a forged
 * test cap) again and re-mount every package ctl/ holds (the daemon keeps
 * their bytes) in their mount order, so the tree keeps its content (one
 * that does not mount again leaves ctl/, its frame in the state directory
 * stays: a kept frame); then the kernel forgets the caps that did not come
 * back. Mounting, preload
 * and the test knobs only call nubfs_recover / nubfs_recover_locked. */
#include "ctl.h"
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A package that crashes every fresh guest is not re-mounted (its frame
 * is kept, state_pkgs.c); this bounds the reboots one recovery may take. */
#define RECOVER_ATTEMPTS 3

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

struct held {
    struct nubfs_ctl_entry *e;
    struct nubfs_buf *buf;
    uint64_t order;
    char name[NAME_MAX + 1];
};

static int by_order(const void *a, const void *b)
{
    uint64_t x = ((const struct held *)a)->order, y = ((const struct held *)b)->order;
    return x < y ? -1 : x > y;
}

/* Every mounted entry of ctl/ into a fresh guest, in mount order,
 * against every key trusted since start (trust.c says why). */
static void remount_all(struct nubfs *fs)
{
    if (fs->ctl == NULL)
        return;
    nubfs_ctl_lock(fs);
    size_t n = 0;
    struct held *v = calloc(fs->ctl->n ? fs->ctl->n : 1, sizeof(*v));
    for (size_t i = 0; v != NULL && i < fs->ctl->n; i++) {
        struct nubfs_ctl_entry *e = fs->ctl->v[i];
        if (!e->linked || e->handle == 0)
            continue;
        v[n].e = e;
        v[n].buf = nubfs_buf_ref(e->pkg);
        v[n].order = e->order;
        snprintf(v[n].name, sizeof(v[n].name), "%s", e->name);
        n++;
    }
    nubfs_ctl_unlock(fs);
    if (v == NULL) {
        nubfs_log("re-mount: out of memory");
        return;
    }
    qsort(v, n, sizeof(*v), by_order); /* shared caps live where they first did */
    size_t ok = 0;
    struct nub_intake_result *res = malloc(sizeof(*res));
    for (size_t i = 0; i < n; i++) {
        struct nub_intake_opts o;
        nubfs_mount_opts(fs, v[i].name, false, &o);
        int r = res == NULL ? -ENOMEM : nubfs_buf_ready(v[i].buf);
        if (r == 0)
            r = nub_intake(fs->sb, &fs->trust_ever, &o, v[i].buf->p, v[i].buf->len, res);
        else if (res != NULL)
            snprintf(res->reason, sizeof(res->reason), "%s: its cap files cannot be read",
                     v[i].name);
        nubfs_ctl_lock(fs);
        struct nubfs_ctl_entry *e = v[i].e;
        struct nubfs_held gone = {0};
        uint8_t *frame = NULL; /* a copy of its frame, to keep it */
        size_t frame_len = 0;
        struct nub_cap_obj **old_objs = NULL;
        uint32_t old_nobjs = 0;
        if (r == 0) {
            e->handle = res->handle;
            e->res.handle = res->handle;
            e->res.rec_gpa = res->rec_gpa;
            /* The re-mount found the same store objects (the entry kept
             * them across the reboot): swap the references. */
            old_objs = e->objs;
            old_nobjs = e->nobjs;
            e->objs = res->objs;
            e->nobjs = res->nobjs;
            res->objs = NULL;
            ok++;
        } else {
            /* It cannot come back now: it leaves ctl/; its frame (if
             * any) is kept below, before its caps' references go. */
            if (e->frame != NULL && (frame = malloc(e->frame_len)) != NULL) {
                memcpy(frame, e->frame, e->frame_len);
                frame_len = e->frame_len;
            }
            gone = nubfs_held_take(e);
            nubfs_ctl_remove(fs, e);
        }
        nubfs_ctl_unlock(fs);
        nub_intake_drop_objs(old_objs, old_nobjs);
        if (r == 0) {
            fs->mc.remounts++;
        } else {
            fs->mc.remount_failures++;
            char why[sizeof(res->reason) + 160];
            snprintf(why, sizeof(why), "re-mount after a guest crash failed: %s (%s)",
                     res && res->reason[0] ? res->reason : "refused", strerror(-r));
            /* An acknowledged package survives: its frame and cap files
             * stay (a kept frame: SIGHUP and every start try it again).
             * Without a frame (ephemeral) it is gone. */
            bool kept = nubfs_state_pkg_keep(fs, v[i].order, v[i].name, frame, frame_len, why);
            if (!kept)
                nubfs_warn("re-mount %s failed, dropped%s: %s (%s)", v[i].name,
                           nubfs_state_pkgs_fd(fs) < 0 ? " (ephemeral: no frame to keep)" : "",
                           res && res->reason[0] ? res->reason : "refused", strerror(-r));
            nubfs_held_drop(fs, v[i].name, &gone);
            if (!kept) {
                int rr = nubfs_state_pkg_remove(fs, v[i].order, v[i].name);
                if (rr != 0)
                    nubfs_warn("re-mount %s: cannot remove its frame: %s", v[i].name,
                               strerror(-rr));
            }
        }
        free(frame);
        nubfs_buf_unref(v[i].buf);
        if (r == -EIO && nub_sandbox_poisoned(fs->sb)) {
            /* This package crashed the fresh guest too: the caller's
             * recovery loop reboots again and re-mounts the rest. */
            for (size_t k = i + 1; k < n; k++)
                nubfs_buf_unref(v[k].buf);
            break;
        }
    }
    free(res);
    nubfs_log("re-mounted %zu of %zu packages", ok, n);
    free(v);
}

/* The preloaded files (and a test_forge_cap blob) into a fresh guest:
 * each file into the store again (a file that changed is published as
 * it is now, with a warning), then all of them in PUT_CAPS batches. */
static int republish(struct nubfs *fs)
{
    int first_err = 0;
    struct nub_cap_obj **objs = malloc((fs->npreload ? fs->npreload : 1) * sizeof(*objs));
    if (objs == NULL)
        return -ENOMEM;
    size_t nobj = 0;
    for (size_t i = 0; i < fs->npreload; i++) {
        struct nubfs_preload_item *it = &fs->preload[i];
        uint8_t hash[16];
        uint64_t len;
        struct nub_cap_obj *obj;
        int rc = nubfs_store_file(fs, it->path, hash, &len, &obj);
        if (rc != 0) {
            nubfs_warn("republish %s: %s", it->path, strerror(-rc));
            if (first_err == 0)
                first_err = rc;
            continue;
        }
        /* The store still held the old bytes; the new reference
         * replaces the old one (the same object if unchanged). */
        nub_cap_obj_unref(it->obj);
        it->obj = obj;
        if (memcmp(hash, it->hash, 16) != 0) {
            char a[33], b[33];
            nub_hash_to_hex(it->hash, a);
            nub_hash_to_hex(hash, b);
            nubfs_warn("republish %s: content changed (%s is now %s)", it->path, a, b);
            memcpy(it->hash, hash, 16);
            it->len = len;
        }
        objs[nobj++] = obj;
    }
    char msg[NUB_MAILBOX_MSG];
    size_t ok = 0;
    int rc = nobj ? nubfs_publish_objs(fs, objs, nobj, &ok, msg) : 0;
    free(objs);
    if (rc != 0) {
        nubfs_warn("republish: %s%s%s%s", strerror(-rc), msg[0] ? " (" : "", msg,
                   msg[0] ? ")" : "");
        if (first_err == 0)
            first_err = rc;
    }
    nubfs_log("republished %zu of %zu preloaded files", ok, fs->npreload);
    /* After the preloads, as at startup, so the directory is the same. */
    if (fs->test_forged && !nub_sandbox_poisoned(fs->sb)) {
        int rc2 = nubfs_test_forge_cap(fs);
        if (first_err == 0)
            first_err = rc2;
    }
    return first_err;
}

int nubfs_recover_locked(struct nubfs *fs)
{
    pthread_mutex_lock(&fs->recover_mu);
    nubfs_gate_close(fs); /* readers of caps/ and mounts/ wait (gate.c) */
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
        rc = republish(fs);
        if (nub_sandbox_poisoned(fs->sb))
            continue;
        remount_all(fs);
    }
    /* Every package is back: readers go on. The kernel is told what did
     * not come back only now, since an invalidation waits for the lookups
     * the gate held. */
    nubfs_gate_open(fs);
    if (!nub_sandbox_poisoned(fs->sb))
        forget_lost_caps(fs);
    nubfs_notify_listing(fs);
    if (nub_sandbox_poisoned(fs->sb)) {
        nubfs_log("guest still poisoned after recovery: %s", nub_sandbox_poison_reason(fs->sb));
        rc = -EIO;
    }
    nubfs_gate_leave();
    pthread_mutex_unlock(&fs->recover_mu);
    nubfs_heap_refresh(fs);
    nubfs_sched_kick(fs); /* the re-mounted packages' tasks start over */
    return rc;
}

int nubfs_recover(struct nubfs *fs)
{
    pthread_mutex_lock(&fs->change_mu);
    int rc = nubfs_recover_locked(fs);
    pthread_mutex_unlock(&fs->change_mu);
    return rc;
}
