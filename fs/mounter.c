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
#include "frame.h"
#include "state.h"

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

/* The package's frame, made durable inside the intake right before
 * MOUNT (the intake's durable hook): the caps' names fsynced, then the
 * frame written (state_pkgs.c). */
struct durable {
    struct nubfs *fs;
    uint64_t order;
    const char *ctlname;
    struct nubfs_frame_meta meta;
    uint8_t *blob; /* the frame, once encoded */
    size_t len;
    bool written;
};

static uint32_t cap_kind(uint8_t seg_type)
{
    switch (seg_type) {
    case RVF_SEG_MANIFEST: return NUB_CAP_MANIFEST;
    case RVF_SEG_WASM: return NUB_CAP_WASM;
    default: return NUB_CAP_DATA;
    }
}

static int make_durable(void *ctx, const struct rvf_package *p, char *why, size_t whylen)
{
    struct durable *d = ctx;
    struct nubfs *fs = d->fs;
    int r = nub_cap_store_sync(fs->store);
    if (r != 0) {
        snprintf(why, whylen, "fsync of caps/: %s", strerror(-r));
        return r;
    }
    nubfs_knob_exit(fs, true, NUBFS_EXIT_MOUNT_CAPS);
    struct nubfs_frame_cap *caps = calloc(p->nsegs ? p->nsegs : 1, sizeof(*caps));
    if (caps == NULL)
        return -ENOMEM;
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->nsegs; i++) {
        const struct rvf_segment *s = &p->segs[i];
        if (s->type == RVF_SEG_CRYPTO)
            continue; /* not a cap: its bytes stay in the frame */
        caps[n].off = s->payload_offset;
        caps[n].len = s->payload_len;
        caps[n].kind = cap_kind(s->type);
        memcpy(caps[n].hash, s->hash, 16);
        n++;
    }
    r = nubfs_frame_encode(&d->meta, p->base, p->size, caps, n, &d->blob, &d->len);
    free(caps);
    if (r != 0) {
        snprintf(why, whylen, "cannot encode the frame: %s", strerror(-r));
        return r;
    }
    /* Staged only: it gets its name once MOUNT has said yes. */
    r = nubfs_state_pkg_stage(fs, d->order, d->blob, d->len);
    if (r != 0) {
        snprintf(why, whylen, "cannot write the frame to %s/pkgs: %s", nubfs_state_dir(fs),
                 strerror(-r));
        return r;
    }
    d->written = true;
    nubfs_knob_exit(fs, true, NUBFS_EXIT_MOUNT_FRAME_TMP);
    return 0;
}

struct replay {
    uint64_t order;
    uint8_t *blob;
    size_t len;
    char *why; /* a refusal's reason */
    size_t whylen;
};

/* MOUNT said yes: the staged frame gets its name (pkgs/ fsynced), which
 * acknowledges the package. If that fails the package is unmounted again
 * and the mount refused with the errno: nothing changed. */
static int commit_frame(struct nubfs *fs, struct durable *d, struct nub_intake_result *res)
{
    nubfs_knob_exit(fs, true, NUBFS_EXIT_MOUNT_CALL);
    int r = nubfs_state_pkg_commit(fs, d->order, d->ctlname);
    if (r == 0) {
        nubfs_kept_superseded(fs, d->ctlname, d->order);
        return 0;
    }
    snprintf(res->reason, sizeof(res->reason), "cannot name its frame in %s/pkgs: %s",
             nubfs_state_dir(fs), strerror(-r));
    unmount_handle(fs, d->ctlname, res->handle);
    nubfs_notify_caps(fs, (const uint8_t(*)[16])res->caps, res->ncaps);
    nub_intake_result_release(res);
    return r;
}

static int mount_entry(struct nubfs *fs, struct nubfs_ctl_entry *e, const char *ctlname,
                       struct nubfs_buf *buf, struct replay *rp)
{
    struct nub_intake_opts o;
    nubfs_mount_opts(fs, ctlname, true, &o);
    o.want_caps = true; /* which caps to check when it goes */
    struct nub_intake_result *res = malloc(sizeof(*res));
    if (res == NULL)
        return -ENOMEM;
    struct durable d = {.fs = fs, .ctlname = ctlname};
    nubfs_ctl_lock(fs);
    uint64_t receive_ns = e->stage_t0 ? nub_now_ns() - e->stage_t0 : 0;
    /* Its order now: the frame, written before MOUNT, is named by it. */
    d.order = rp != NULL ? rp->order : fs->ctl->next_order++;
    d.meta = (struct nubfs_frame_meta){.mode = e->mode, .uid = e->uid, .gid = e->gid,
                                       .atime = e->atime, .mtime = e->mtime, .ctime = e->ctime};
    nubfs_ctl_unlock(fs);
    o.known_good = rp != NULL; /* checked when it was first mounted */
    if (fs->state != NULL && rp == NULL) {
        o.durable = make_durable;
        o.durable_ctx = &d;
    }
    nubfs_knob_exit(fs, true, NUBFS_EXIT_MOUNT_STAGED);
    /* A replay, like a new mount, is checked against today's trust set
     * (SIGHUP may have changed it); recovery uses every key ever trusted. */
    int r = nub_intake(fs->sb, &fs->trust, &o, buf->p, buf->len, res);
    if (r == 0 && d.written)
        r = commit_frame(fs, &d, res);
    if (r == 0)
        nubfs_knob_exit(fs, true, NUBFS_EXIT_MOUNT_DONE);
    if (r != 0 && d.written) {
        /* Staged but refused: never named, so it never comes back. */
        nubfs_knob_exit(fs, true, NUBFS_EXIT_MOUNT_REFUSED);
        nubfs_state_pkg_discard(fs, d.order);
    }
    if (r != 0 && rp != NULL && rp->why != NULL)
        snprintf(rp->why, rp->whylen, "%s", res->reason);
    if (r != 0) {
        free(d.blob);
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
    uint64_t old_handle = e->handle, old_order = e->order;
    struct nubfs_held old = nubfs_held_take(e);
    char old_name[NAME_MAX + 1];
    snprintf(old_name, sizeof(old_name), "%s", e->name);
    e->pkg = nubfs_buf_ref(buf);
    e->handle = res->handle;
    /* A replace keeps the serial: mounts/<name>/ keeps its inodes and
     * shows the new package through them (mnt_names.c), so readers never
     * meet an inode that went away. */
    if (old_handle == 0)
        e->mseq = fs->ctl->next_mseq++;
    e->order = d.order;
    free(e->frame);
    e->frame = rp != NULL ? rp->blob : d.blob;
    e->frame_len = rp != NULL ? rp->len : d.len;
    if (rp != NULL)
        rp->blob = NULL;
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
        /* Replace: the new package is mounted, now the old one goes (its
         * frame first, as in a removal; the new one is durable already). */
        fs->mc.replaces++;
        int rr = nubfs_state_pkg_remove(fs, old_order, old_name);
        if (rr != 0)
            nubfs_warn("replace %s: cannot remove the old frame: %s", old_name, strerror(-rr));
        unmount_handle(fs, old_name, old_handle);
    }
    nubfs_held_drop(fs, old_name, &old); /* a replaced package's tree, or a stale one */
    nubfs_heap_refresh(fs);
    nubfs_sched_kick(fs); /* its tasks may run */
    return 0;
}

int nubfs_mount_entry(struct nubfs *fs, struct nubfs_ctl_entry *e, const char *ctlname,
                      struct nubfs_buf *buf)
{
    return mount_entry(fs, e, ctlname, buf, NULL);
}

int nubfs_mount_entry_replay(struct nubfs *fs, struct nubfs_ctl_entry *e, const char *ctlname,
                             struct nubfs_buf *buf, uint64_t order, uint8_t *blob, size_t len,
                             char *why, size_t whylen)
{
    struct replay rp = {.order = order, .blob = blob, .len = len, .why = why, .whylen = whylen};
    int r = mount_entry(fs, e, ctlname, buf, &rp);
    free(rp.blob); /* NULL if the entry took it */
    return r;
}

int nubfs_unmount_entry(struct nubfs *fs, struct nubfs_ctl_entry *e)
{
    nubfs_ctl_lock(fs);
    uint64_t handle = e->handle, order = e->order;
    char name[NAME_MAX + 1];
    snprintf(name, sizeof(name), "%s", e->name);
    nubfs_ctl_unlock(fs);
    if (handle == 0)
        return 0;
    /* The frame goes first: a crash from here on finds it unmounted. */
    int r = nubfs_state_pkg_remove(fs, order, name);
    if (r != 0) {
        nubfs_warn("unmount %s refused: cannot remove its frame from %s/pkgs: %s", name,
                   nubfs_state_dir(fs), strerror(-r));
        return r;
    }
    nubfs_knob_exit(fs, false, NUBFS_EXIT_UNMOUNT_FRAME);
    struct nub_call_unmount_result ur;
    r = nub_call_unmount(fs->sb, handle, &ur);
    if (r != 0 && r != -ENOENT && r != -EIO) {
        nubfs_log("unmount %s failed: %s (%s)", name, ur.reason, strerror(-r));
        /* Still mounted: its frame back (the entry kept its bytes). */
        nubfs_ctl_lock(fs);
        uint8_t *blob = e->frame ? malloc(e->frame_len) : NULL;
        size_t blen = e->frame_len;
        if (blob != NULL)
            memcpy(blob, e->frame, blen);
        nubfs_ctl_unlock(fs);
        int rr = blob ? nubfs_state_pkg_write(fs, order, name, blob, blen) : 0;
        if (rr != 0)
            nubfs_warn("unmount %s: cannot write its frame back: %s", name, strerror(-rr));
        free(blob);
        return r;
    }
    nubfs_knob_exit(fs, false, NUBFS_EXIT_UNMOUNT_CALL);
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
    nubfs_knob_exit(fs, false, NUBFS_EXIT_UNMOUNT_DONE);
    nubfs_heap_refresh(fs);
    nubfs_sched_kick(fs); /* the next slice drops its tasks' run state */
    return 0;
}

int nubfs_entry_frame_rename(struct nubfs *fs, struct nubfs_ctl_entry *e, const char *newname)
{
    if (fs->state == NULL)
        return 0;
    nubfs_ctl_lock(fs);
    uint64_t order = e->order, new_order = fs->ctl->next_order++;
    char name[NAME_MAX + 1];
    snprintf(name, sizeof(name), "%s", e->name);
    nubfs_ctl_unlock(fs);
    int r = nubfs_state_pkg_rename(fs, order, name, new_order, newname);
    if (r != 0) {
        nubfs_warn("rename %s to %s refused: its frame: %s", name, newname, strerror(-r));
        return r;
    }
    nubfs_ctl_lock(fs);
    e->order = new_order;
    nubfs_ctl_unlock(fs);
    nubfs_kept_superseded(fs, newname, new_order);
    return 0;
}

void nubfs_entry_frame_meta(struct nubfs *fs, uint64_t id)
{
    pthread_mutex_lock(&fs->change_mu);
    nubfs_ctl_lock(fs);
    struct nubfs_ctl_entry *e = nubfs_ctl_by_id(fs, id);
    uint8_t *blob = NULL;
    size_t len = 0;
    uint64_t order = 0;
    char name[NAME_MAX + 1] = "";
    if (e != NULL && e->linked && e->handle != 0 && e->frame != NULL) {
        struct nubfs_frame_meta m = {.mode = e->mode, .uid = e->uid, .gid = e->gid,
                                     .atime = e->atime, .mtime = e->mtime, .ctime = e->ctime};
        nubfs_frame_set_meta(e->frame, e->frame_len, &m);
        if ((blob = malloc(e->frame_len)) != NULL)
            memcpy(blob, e->frame, e->frame_len);
        len = e->frame_len;
        order = e->order;
        snprintf(name, sizeof(name), "%s", e->name);
    }
    nubfs_ctl_unlock(fs);
    int r = blob != NULL ? nubfs_state_pkg_write(fs, order, name, blob, len) : 0;
    if (r != 0)
        nubfs_warn("%s: cannot save its mode, owner and times: %s", name, strerror(-r));
    free(blob);
    pthread_mutex_unlock(&fs->change_mu);
}
