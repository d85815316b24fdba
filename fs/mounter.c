/* Mounting, replacing and unmounting the packages of ctl/ (DESIGN §2
 * "Mount path", §6): runs nub_mount_package / nub_call_unmount, logs
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

/* The mount options for one package: the daemon's limits (0 keeps the
 * default), allow_unsigned, and (tests) the test knobs' hooks. */
static void mount_opts(struct nubfs *fs, const char *ctlname, bool tests,
                       struct nub_mount_opts *o)
{
    nub_mount_opts_default(o);
    o->limits.max_package = fs->opts.max_package;
    if (fs->opts.max_components)
        o->limits.max_components = fs->opts.max_components;
    if (fs->opts.max_regions)
        o->limits.max_regions = fs->opts.max_regions;
    if (fs->opts.max_queues)
        o->limits.max_queues = fs->opts.max_queues;
    if (fs->opts.max_tasks)
        o->limits.max_tasks = fs->opts.max_tasks;
    o->allow_unsigned = fs->opts.allow_unsigned != 0;
    o->name = ctlname;
    if (tests)
        nubfs_knobs_mount_opts(fs, o);
}

/* The cap hashes of a package that mounted (its non-signature segments):
 * parsed again (headers only), so unmount knows which caps to check. */
static int package_caps(const struct nubfs_buf *b, uint8_t (**out)[16], uint32_t *n)
{
    struct rvf_limits lim;
    rvf_limits_default(&lim);
    lim.max_package = b->len;
    lim.max_segments = NUB_MOUNT_MAX_CAPS;
    uint32_t cap = NUB_MOUNT_MAX_CAPS + 1;
    struct rvf_segment *segs = calloc(cap, sizeof(*segs));
    uint8_t(*h)[16] = calloc(cap, 16);
    struct rvf_package p;
    struct rvf_result res;
    if (segs == NULL || h == NULL || rvf_parse(b->p, b->len, segs, cap, &lim, &p, &res) != RVF_OK) {
        free(segs);
        free(h);
        return -ENOMEM;
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < p.nsegs; i++)
        if (segs[i].type != RVF_SEG_CRYPTO)
            memcpy(h[k++], segs[i].hash, 16);
    free(segs);
    *out = h;
    *n = k;
    return 0;
}

/* Tells the kernel to forget those of hashes[0, n) that left the
 * directory. */
static void forget_gone_caps(struct nubfs *fs, uint8_t (*hashes)[16], uint32_t n)
{
    if (hashes == NULL || n == 0)
        return;
    uint8_t(*gone)[16] = calloc(n, 16);
    if (gone == NULL)
        return;
    size_t k = 0;
    struct nub_reader r;
    int rc = nubfs_reader_begin(fs, &r);
    for (uint32_t i = 0; i < n; i++)
        if (rc != 0 || !nub_reader_contains(&r, hashes[i]))
            memcpy(gone[k++], hashes[i], 16);
    nubfs_reader_end(fs);
    nubfs_notify_caps(fs, (const uint8_t(*)[16])gone, k);
    free(gone);
}

static void log_times(const char *what, const char *ctlname, const struct nub_mount_result *res,
                      uint64_t receive_ns)
{
    const struct nub_mount_times *t = &res->times;
    nubfs_log("%s %s: receive %.2f ms, parse %.2f, hash %.2f, signature %.2f, compare %.2f, "
              "lock %.2f, alloc %.2f, copy %.2f, guest %.2f, total %.2f ms",
              what, ctlname, ms(receive_ns), ms(t->parse_ns), ms(t->hash_ns), ms(t->sig_ns),
              ms(t->compare_ns), ms(t->lock_ns), ms(t->alloc_ns), ms(t->copy_ns), ms(t->call_ns),
              ms(t->total_ns));
}

/* What a mounted entry holds for its package. */
struct mounted {
    struct nubfs_buf *pkg;
    uint8_t (*caps)[16];
    uint32_t ncaps;
};

/* Takes the package out of e: it is no longer mounted. ctl lock held. */
static struct mounted take_mounted(struct nubfs_ctl_entry *e)
{
    struct mounted m = {.pkg = e->pkg, .caps = e->caps, .ncaps = e->ncaps};
    e->pkg = NULL;
    e->caps = NULL;
    e->ncaps = 0;
    e->handle = 0;
    return m;
}

/* After the package of ctl/<ctlname> left the guest (or was replaced):
 * the kernel forgets its caps that left the directory and its mounts/
 * tree, and what the entry held is freed. */
static void drop_mounted(struct nubfs *fs, const char *ctlname, struct mounted *m)
{
    forget_gone_caps(fs, m->caps, m->ncaps);
    char mname[NUBFS_PKG_NAME_MAX + 1];
    nubfs_ctl_mount_name(ctlname, mname);
    nubfs_notify_mount(fs, mname);
    free(m->caps);
    nubfs_buf_unref(m->pkg);
}

static void log_unmounted(const char *ctlname, uint64_t handle, const struct nub_unmount_result *ur)
{
    nubfs_log("unmounted %s (handle %llu): %u caps removed, %.2f ms", ctlname,
              (unsigned long long)handle, ur->caps_removed, ms(ur->call_ns));
}

/* Unmounts a handle the daemon no longer shows; a crashed guest is
 * recovered (and then holds nothing of it). */
static void unmount_handle(struct nubfs *fs, const char *ctlname, uint64_t handle)
{
    struct nub_unmount_result ur;
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
    struct nub_mount_opts o;
    mount_opts(fs, ctlname, true, &o);
    struct nub_mount_result *res = malloc(sizeof(*res));
    if (res == NULL)
        return -ENOMEM;
    nubfs_ctl_lock(fs);
    uint64_t receive_ns = e->stage_t0 ? nub_now_ns() - e->stage_t0 : 0;
    nubfs_ctl_unlock(fs);
    int r = nub_mount_package(fs->sb, &fs->trust, &o, buf->p, buf->len, res);
    if (r != 0) {
        fs->mc.mount_failures++;
        nubfs_log("refused %s: %s (%s)", ctlname, res->reason, strerror(-r));
        if (fs->opts.test_ops || r == -EIO)
            log_times("refused", ctlname, res, receive_ns);
        if (r == -EIO)
            nubfs_recover_locked(fs);
        nubfs_heap_refresh(fs);
        free(res);
        return r;
    }
    uint8_t(*caps)[16] = NULL;
    uint32_t ncaps = 0;
    package_caps(buf, &caps, &ncaps); /* parsed once already: cannot fail but on ENOMEM */

    nubfs_ctl_lock(fs);
    uint64_t old_handle = e->handle;
    struct mounted old = take_mounted(e);
    char old_name[NAME_MAX + 1];
    snprintf(old_name, sizeof(old_name), "%s", e->name);
    e->pkg = nubfs_buf_ref(buf);
    e->handle = res->handle;
    e->mseq = fs->ctl->next_mseq++;
    e->order = fs->ctl->next_order++;
    e->res = *res;
    e->caps = caps;
    e->ncaps = ncaps;
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

    if (old_handle != 0) {
        /* Replace: the new package is mounted, now the old one goes. */
        fs->mc.replaces++;
        unmount_handle(fs, old_name, old_handle);
    }
    drop_mounted(fs, old_name, &old); /* a replaced package's tree, or a stale one */
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
    struct nub_unmount_result ur;
    int r = nub_call_unmount(fs->sb, handle, &ur);
    if (r != 0 && r != -ENOENT && r != -EIO) {
        nubfs_log("unmount %s failed: %s (%s)", name, ur.reason, strerror(-r));
        return r;
    }
    nubfs_ctl_lock(fs);
    struct mounted m = take_mounted(e);
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
    drop_mounted(fs, name, &m);
    nubfs_heap_refresh(fs);
    return 0;
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

void nubfs_remount_all(struct nubfs *fs)
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
    struct nub_mount_result *res = malloc(sizeof(*res));
    for (size_t i = 0; i < n; i++) {
        struct nub_mount_opts o;
        mount_opts(fs, v[i].name, false, &o);
        int r = res ? nub_mount_package(fs->sb, &fs->trust, &o, v[i].buf->p, v[i].buf->len, res)
                    : -ENOMEM;
        nubfs_ctl_lock(fs);
        struct nubfs_ctl_entry *e = v[i].e;
        struct mounted gone = {0};
        if (r == 0) {
            e->handle = res->handle;
            e->res.handle = res->handle;
            e->res.rec_gpa = res->rec_gpa;
            ok++;
        } else {
            /* It cannot come back: it leaves ctl/ and its caps go. */
            gone = take_mounted(e);
            nubfs_ctl_remove(fs, e);
        }
        nubfs_ctl_unlock(fs);
        if (r == 0) {
            fs->mc.remounts++;
        } else {
            fs->mc.remount_failures++;
            nubfs_log("re-mount %s failed, dropped: %s (%s)", v[i].name, res ? res->reason : "",
                      strerror(-r));
            drop_mounted(fs, v[i].name, &gone);
        }
        nubfs_buf_unref(v[i].buf);
        if (r == -EIO) {
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
