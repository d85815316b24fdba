/* Mounting, replacing and unmounting the packages of ctl/
 * (docs/ARCHITECTURE.md "The mount path"): runs nub_intake / nub_call_unmount, logs
 * every outcome with its reason and phase times, keeps the counters for
 * `stats`, recovers a guest that crashed, and tells the kernel which
 * caps/ and mounts/ entries to forget. Callers hold fs->change_mu. */
#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static void log_times(const char *what, const char *ctlname, const struct nub_intake_result *res,
                      uint64_t receive_ns)
{
    const struct nub_intake_times *t = &res->times;
    nubfs_log("%s %s: receive %.2f ms, parse %.2f, hash %.2f, signature %.2f, compare %.2f, "
              "lock %.2f, store %.2f, alloc %.2f, copy %.2f, guest %.2f, total %.2f ms",
              what, ctlname, ms(receive_ns), ms(t->parse_ns), ms(t->hash_ns), ms(t->sig_ns),
              ms(t->compare_ns), ms(t->lock_ns), ms(t->store_ns), ms(t->alloc_ns),
              ms(t->copy_ns), ms(t->call_ns), ms(t->total_ns));
}

static void log_unmounted(const char *ctlname, uint64_t handle,
                          const struct nub_call_unmount_result *ur)
{
    nubfs_log("unmounted %s (handle %llu): %u caps removed, %.2f ms", ctlname,
              (unsigned long long)handle, ur->caps_removed, ms(ur->call_ns));
}

/* Unmounts a handle the daemon no longer shows; a crashed guest is
 * recovered (and then holds nothing of it). */
static void unmount_handle(struct nubfs *fs, const char *ctlname, uint64_t handle)
{
    struct nub_call_unmount_result ur;
    int r = nub_call_unmount(fs->sb, handle, &ur);
    if (r == 0) {
        fs->mc.unmounts++;
        log_unmounted(ctlname, handle, &ur);
    } else if (r == -ENOENT) {
        nubfs_log("unmount %s: handle %llu was already gone", ctlname, (unsigned long long)handle);
    } else {
        nubfs_log("unmount %s: %s: %s", ctlname, strerror(-r), ur.reason);
        if (r == -EIO)
            nubfs_recover_locked(fs);
    }
}

int nubfs_mount_entry(struct nubfs *fs, struct nubfs_ctl_entry *e, const char *ctlname,
                      struct nubfs_buf *buf)
{
    struct nub_intake_opts o;
    nubfs_mount_opts(fs, ctlname, true, &o);
    o.want_caps = true; /* which caps to check when it goes */
    struct nub_intake_result *res = malloc(sizeof(*res));
    if (res == NULL)
        return -ENOMEM;
    nubfs_ctl_lock(fs);
    uint64_t receive_ns = e->stage_t0 ? nub_now_ns() - e->stage_t0 : 0;
    nubfs_ctl_unlock(fs);
    int r = nub_intake(fs->sb, &fs->trust, &o, buf->p, buf->len, res);
    if (r != 0) {
        fs->mc.mount_failures++;
        nubfs_notice("refused %s: %s (%s)", ctlname, res->reason, strerror(-r));
        if (fs->opts.test_ops || r == -EIO)
            log_times("refused", ctlname, res, receive_ns);
        if (r == -EIO)
            nubfs_recover_locked(fs);
        nubfs_heap_refresh(fs);
        free(res);
        return r;
    }
    nubfs_ctl_lock(fs);
    uint64_t old_handle = e->handle;
    struct nubfs_held old = nubfs_held_take(e);
    char old_name[NAME_MAX + 1];
    snprintf(old_name, sizeof(old_name), "%s", e->name);
    e->pkg = nubfs_buf_ref(buf);
    e->handle = res->handle;
    e->mseq = fs->ctl->next_mseq++;
    e->order = fs->ctl->next_order++;
    e->res = *res;
    e->caps = res->caps; /* the entry owns them now */
    e->ncaps = res->ncaps;
    e->res.caps = NULL;
    e->objs = res->objs; /* and its store references */
    e->nobjs = res->nobjs;
    e->res.objs = NULL;
    clock_gettime(CLOCK_REALTIME, &e->mounted_at);
    nubfs_ctl_unlock(fs);

    fs->mc.mounts++;
    fs->mc.last_mount_ns = res->times.total_ns;
    fs->mc.last_receive_ns = receive_ns;
    fs->mc.bytes_mounted += buf->len;
    nubfs_log("mounted %s: package %s %s, %s%s, %zu bytes, %u segments, %u components, "
              "%u regions, %u queues, %u tasks; %u new caps, %u held (handle %llu)",
              ctlname, res->name, res->version, res->signed_pkg ? "signer " : "unsigned",
              res->signer_hex, buf->len, res->nsegments, res->ncomponents, res->nregions,
              res->nqueues, res->ntasks, res->caps_new, res->caps_held,
              (unsigned long long)res->handle);
    log_times("mounted", ctlname, res, receive_ns);
    free(res);
    /* Its caps are in the directory: the kernel drops any negative entry
     * for their names before close() returns. e->caps changes only under
     * change_mu, which the caller holds. */
    nubfs_notify_published(fs, (const uint8_t(*)[16])e->caps, e->ncaps);

    if (old_handle != 0) {
        /* Replace: the new package is mounted, now the old one goes. */
        fs->mc.replaces++;
        unmount_handle(fs, old_name, old_handle);
    }
    nubfs_held_drop(fs, old_name, &old); /* a replaced package's tree, or a stale one */
    nubfs_heap_refresh(fs);
    return 0;
}

int nubfs_unmount_entry(struct nubfs *fs, struct nubfs_ctl_entry *e)
{
    nubfs_ctl_lock(fs);
    uint64_t handle = e->handle;
    char name[NAME_MAX + 1];
    snprintf(name, sizeof(name), "%s", e->name);
    nubfs_ctl_unlock(fs);
    if (handle == 0)
        return 0;
    struct nub_call_unmount_result ur;
    int r = nub_call_unmount(fs->sb, handle, &ur);
    if (r != 0 && r != -ENOENT && r != -EIO) {
        nubfs_log("unmount %s failed: %s (%s)", name, ur.reason, strerror(-r));
        return r;
    }
    nubfs_ctl_lock(fs);
    struct nubfs_held m = nubfs_held_take(e);
    nubfs_ctl_unlock(fs);
    fs->mc.unmounts++;
    if (r == -EIO) {
        /* The package is gone with the guest; the recovery re-mounts the
         * others, not this one. The unmount itself succeeded. */
        nubfs_log("unmount %s: %s; recovering", name, ur.reason);
        nubfs_recover_locked(fs);
    } else {
        log_unmounted(name, handle, &ur);
    }
    nubfs_held_drop(fs, name, &m);
    nubfs_heap_refresh(fs);
    return 0;
}
