/* The packages of a state directory (DESIGN §10, docs/state.md): one
 * frame file per acknowledged package, pkgs/<order>.<name>.frame (order
 * 16 hex digits, so names sort by it; <name> as in ctl/<name>.rvf), and
 * the replay of them all at start. A frame is written as pkgs/.tmp-<order>,
 * fsynced, renamed to its name and pkgs/ fsynced before the guest's MOUNT;
 * it is unlinked (and pkgs/ fsynced) before UNMOUNT. At start every frame
 * is mounted again in order before the mount is reported ready; one that
 * is corrupt, misses a cap or no longer mounts is removed and logged, as
 * is every file no frame accounts for (the cap store's sweep). A package
 * that does not re-mount after a guest crash keeps its frame
 * (nubfs_state_pkg_keep: a kept frame, state_kept.c). */
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "ctl.h"
#include "frame.h"
#include "hex.h"

/* A frame file larger than this is not one (frames are metadata). */
#define FRAME_FILE_MAX (64u << 20)

static void frame_name(uint64_t order, const char *ctlname, char out[NAME_MAX + 1])
{
    char m[NUBFS_PKG_NAME_MAX + 1];
    nubfs_ctl_mount_name(ctlname, m);
    snprintf(out, NAME_MAX + 1, "%016llx.%s.frame", (unsigned long long)order, m);
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        done += (size_t)n;
    }
    return 0;
}

static void tmp_name(uint64_t order, char out[40])
{
    snprintf(out, 40, ".tmp-%016llx", (unsigned long long)order);
}

int nubfs_state_pkg_stage(struct nubfs *fs, uint64_t order, const uint8_t *blob, size_t len)
{
    int dfd = nubfs_state_pkgs_fd(fs);
    if (dfd < 0)
        return 0;
    char tmp[40];
    tmp_name(order, tmp);
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    int r = write_all(fd, blob, len);
    if (r == 0 && fsync(fd) != 0)
        r = -errno;
    if (close(fd) != 0 && r == 0)
        r = -errno;
    if (r != 0)
        unlinkat(dfd, tmp, 0);
    return r;
}

int nubfs_state_pkg_commit(struct nubfs *fs, uint64_t order, const char *ctlname)
{
    int dfd = nubfs_state_pkgs_fd(fs);
    if (dfd < 0)
        return 0;
    char tmp[40], name[NAME_MAX + 1];
    tmp_name(order, tmp);
    frame_name(order, ctlname, name);
    int r = renameat(dfd, tmp, dfd, name) == 0 ? 0 : -errno;
    if (r == 0 && fsync(dfd) != 0)
        r = -errno; /* the rename may be durable or not: removed below */
    if (r != 0) {
        unlinkat(dfd, tmp, 0);
        unlinkat(dfd, name, 0);
    }
    return r;
}

void nubfs_state_pkg_discard(struct nubfs *fs, uint64_t order)
{
    int dfd = nubfs_state_pkgs_fd(fs);
    if (dfd < 0)
        return;
    char tmp[40];
    tmp_name(order, tmp);
    (void)unlinkat(dfd, tmp, 0); /* a leftover is removed at the next start */
}

int nubfs_state_pkg_write(struct nubfs *fs, uint64_t order, const char *ctlname,
                          const uint8_t *blob, size_t len)
{
    int r = nubfs_state_pkg_stage(fs, order, blob, len);
    return r != 0 ? r : nubfs_state_pkg_commit(fs, order, ctlname);
}

int nubfs_state_pkg_remove(struct nubfs *fs, uint64_t order, const char *ctlname)
{
    int dfd = nubfs_state_pkgs_fd(fs);
    if (dfd < 0)
        return 0;
    char name[NAME_MAX + 1];
    frame_name(order, ctlname, name);
    if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
        return -errno;
    return fsync(dfd) == 0 ? 0 : -errno;
}

int nubfs_state_pkg_rename(struct nubfs *fs, uint64_t order, const char *ctlname,
                           uint64_t new_order, const char *newname)
{
    int dfd = nubfs_state_pkgs_fd(fs);
    if (dfd < 0)
        return 0;
    char from[NAME_MAX + 1], to[NAME_MAX + 1];
    frame_name(order, ctlname, from);
    frame_name(new_order, newname, to);
    if (renameat(dfd, from, dfd, to) != 0)
        return -errno;
    return fsync(dfd) == 0 ? 0 : -errno;
}

/* ---- replay ----------------------------------------------------------------- */

struct found {
    uint64_t order;
    char file[NAME_MAX + 1];
    char ctlname[NAME_MAX + 1];
};

static int by_order(const void *a, const void *b)
{
    uint64_t x = ((const struct found *)a)->order, y = ((const struct found *)b)->order;
    return x < y ? -1 : x > y;
}

/* "<16 hex>.<name>.frame" -> order and ctl name; false for anything else. */
static bool parse_name(const char *n, struct found *f)
{
    size_t len = strlen(n);
    if (len < 16 + 1 + 1 + 6 || n[16] != '.' || strcmp(n + len - 6, ".frame") != 0)
        return false;
    uint8_t be[8];
    if (nub_hex_decode(be, sizeof(be), n, 16) != 0)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | be[i];
    size_t mlen = len - 17 - 6;
    if (v == 0 || mlen > NUBFS_PKG_NAME_MAX)
        return false;
    f->order = v;
    snprintf(f->file, sizeof(f->file), "%s", n);
    snprintf(f->ctlname, sizeof(f->ctlname), "%.*s.rvf", (int)mlen, n + 17);
    return nubfs_ctl_name_kind(f->ctlname) == NUBFS_CTL_NAME_PKG;
}

/* Every frame name in pkgs/ (others are removed and logged), by order. */
static int list_frames(int dfd, struct found **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        int e = -errno;
        if (fd >= 0)
            close(fd);
        return e;
    }
    size_t cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct found f;
        if (!parse_name(de->d_name, &f)) {
            /* .tmp-N: a mount that died before its frame was named. */
            char shown[96];
            nubfs_log_sanitize(de->d_name, shown, sizeof(shown));
            nubfs_log("state: removed pkgs/%s (%s)", shown,
                      strncmp(de->d_name, ".tmp-", 5) == 0 ? "a mount that never finished"
                                                            : "not a frame name");
            unlinkat(dfd, de->d_name, de->d_type == DT_DIR ? AT_REMOVEDIR : 0);
            continue;
        }
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            struct found *v = realloc(*out, nc * sizeof(*v));
            if (v == NULL) {
                rc = -ENOMEM;
                break;
            }
            *out = v;
            cap = nc;
        }
        (*out)[(*n)++] = f;
    }
    closedir(d);
    if (rc == 0 && *n > 1)
        qsort(*out, *n, sizeof(**out), by_order);
    return rc;
}

static int read_frame(int dfd, const char *name, uint8_t **blob, size_t *len)
{
    *blob = NULL;
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    struct stat st;
    int r = 0;
    if (fstat(fd, &st) != 0)
        r = -errno;
    else if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > FRAME_FILE_MAX)
        r = -EBADMSG;
    uint8_t *b = r == 0 ? malloc((size_t)st.st_size) : NULL;
    if (r == 0 && b == NULL)
        r = -ENOMEM;
    for (size_t done = 0; r == 0 && done < (size_t)st.st_size;) {
        ssize_t n = pread(fd, b + done, (size_t)st.st_size - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            r = n < 0 ? -errno : -EBADMSG;
        else
            done += (size_t)n;
    }
    close(fd);
    if (r != 0) {
        free(b);
        return r;
    }
    *blob = b;
    *len = (size_t)st.st_size;
    return 0;
}

/* The payloads a replayed package's buffer lacks until its first read
 * (nubfs_buf_ready): read then from their files in caps/, which live as
 * long as a mounted package holds them. */
struct lazy {
    struct nubfs *fs;
    int dirfd; /* the state directory's caps/ (open for the daemon's life) */
    uint32_t n;
    struct lazy_piece {
        uint64_t at, len;
        uint8_t hash[16];
    } v[];
};

static int lazy_fill(void *ctx, struct nubfs_buf *b)
{
    const struct lazy *lz = ctx;
    for (uint32_t i = 0; i < lz->n; i++) {
        const struct lazy_piece *p = &lz->v[i];
        char hex[33];
        nub_hash_to_hex(p->hash, hex);
        /* The cap's object (the mounted package holds it): damaged, or
         * (verify) not its name's bytes, and these bytes are refused too. */
        struct nub_cap_obj *o = nub_cap_store_get(lz->fs->store, p->hash);
        int ok = o != NULL ? nubfs_obj_readable(lz->fs, o, "the package in ctl/") : 0;
        nub_cap_obj_unref(o);
        if (ok != 0)
            return ok;
        int fd = openat(lz->dirfd, hex, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
            nubfs_warn("state: cannot read caps/%s back into a package: %s", hex,
                       strerror(errno));
            return -EIO;
        }
        int r = 0;
        for (uint64_t done = 0; r == 0 && done < p->len;) {
            ssize_t got = pread(fd, b->p + p->at + done, (size_t)(p->len - done), (off_t)done);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0)
                r = -EIO;
            else
                done += (uint64_t)got;
        }
        close(fd);
        if (r != 0) {
            nubfs_warn("state: caps/%s is shorter than its package says", hex);
            return r;
        }
    }
    return 0;
}

/* The package's bytes from the frame: its literal pieces and manifest
 * now (the intake parses them), every other payload on first read
 * (lazy_fill). Its caps are adopted into the store (*objs holds the
 * references): a file that is missing or of the wrong size fails here,
 * with the cap's hex in why. No payload byte is read or hashed. */
static int rebuild(struct nubfs *fs, const struct nubfs_frame *f, struct nubfs_buf **out,
                   struct nub_cap_obj ***objs, uint32_t *nobjs, char *why, size_t whylen)
{
    *out = NULL;
    *objs = calloc(f->npieces ? f->npieces : 1, sizeof(**objs));
    *nobjs = 0;
    struct nubfs_buf *b = nubfs_buf_new(f->pkg_len ? f->pkg_len : 1);
    struct lazy *lz = calloc(1, sizeof(*lz) + (size_t)f->npieces * sizeof(lz->v[0]));
    if (*objs == NULL || b == NULL || lz == NULL) {
        nubfs_buf_unref(b);
        free(lz);
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    lz->fs = fs;
    lz->dirfd = nubfs_state_caps_fd(fs);
    uint64_t at = 0;
    for (uint32_t i = 0; i < f->npieces; i++) {
        const struct nubfs_frame_piece *p = &f->pieces[i];
        const uint8_t *src = p->bytes;
        if (p->cap) {
            struct nub_cap_obj *o;
            int r = nub_cap_store_adopt(fs->store, p->hash, p->len, (uint16_t)p->kind, &o);
            if (r != 0) {
                char hex[33];
                nub_hash_to_hex(p->hash, hex);
                snprintf(why, whylen, "cap %s (%llu bytes): %s", hex, (unsigned long long)p->len,
                         r == -ENOENT    ? "missing"
                         : r == -EUCLEAN ? "its file has the wrong size or type"
                                         : strerror(-r));
                nubfs_buf_unref(b);
                free(lz);
                return r;
            }
            (*objs)[(*nobjs)++] = o;
            if (__atomic_load_n(&o->damaged, __ATOMIC_ACQUIRE)) {
                char hex[33];
                nub_hash_to_hex(p->hash, hex);
                nubfs_warn("state: caps/%s is damaged (not a file of %llu bytes, as its package "
                           "says): the package is mounted, every read of the cap gets EIO",
                           hex, (unsigned long long)p->len);
            }
            src = o->bytes;
            if (p->kind != NUB_CAP_MANIFEST && p->len > 0) {
                struct lazy_piece *lp = &lz->v[lz->n++];
                lp->at = at;
                lp->len = p->len;
                memcpy(lp->hash, p->hash, 16);
                src = NULL;
            }
        }
        if (src != NULL && p->len > 0)
            memcpy(b->p + at, src, (size_t)p->len);
        at += p->len;
    }
    b->len = (size_t)at;
    if (lz->n > 0) {
        b->fill = lazy_fill;
        b->fill_free = free;
        b->fill_ctx = lz;
    } else {
        free(lz);
    }
    *out = b;
    return 0;
}

/* One frame: mounted under its ctl/ name (a second frame of one name is
 * a replace that a crash cut short: it replaces the first). A refusal
 * the options decide (nubfs_kept_errno) makes it a kept frame (*kept):
 * listed before its caps' references go, so their files stay. */
static int replay_one(struct nubfs *fs, int dfd, const struct found *fo, char *why, size_t wl,
                      bool *kept)
{
    *kept = false;
    uint8_t *blob;
    size_t len = 0;
    int r = read_frame(dfd, fo->file, &blob, &len);
    if (r != 0) {
        snprintf(why, wl, "unreadable: %s", strerror(-r));
        return r;
    }
    struct nubfs_frame f;
    /* Any length here: one over max_package is kept, not removed. */
    r = nubfs_frame_decode(blob, len, UINT64_MAX, &f);
    if (r != 0) {
        snprintf(why, wl, "corrupt frame");
        free(blob);
        return r;
    }
    struct nubfs_buf *buf = NULL;
    struct nub_cap_obj **objs = NULL;
    uint32_t nobjs = 0;
    if (f.pkg_len > fs->opts.max_package) {
        r = -EFBIG;
        snprintf(why, wl, "the package is %llu bytes, max_package is %llu",
                 (unsigned long long)f.pkg_len, (unsigned long long)fs->opts.max_package);
    } else {
        r = rebuild(fs, &f, &buf, &objs, &nobjs, why, wl);
    }
    if (r == 0) {
        int err = 0;
        nubfs_ctl_lock(fs);
        struct nubfs_ctl_entry *e = nubfs_ctl_by_name(fs, fo->ctlname);
        bool fresh = e == NULL;
        if (fresh)
            e = nubfs_ctl_new(fs, fo->ctlname, f.meta.mode, f.meta.uid, f.meta.gid, &err);
        if (e != NULL) {
            e->mode = f.meta.mode & 07777;
            e->uid = f.meta.uid;
            e->gid = f.meta.gid;
            e->atime = f.meta.atime;
            e->mtime = f.meta.mtime;
            e->ctime = f.meta.ctime;
        }
        nubfs_ctl_unlock(fs);
        if (e == NULL) {
            r = err;
            snprintf(why, wl, "ctl/: %s", strerror(-err));
        } else {
            char reason[200] = "";
            r = nubfs_mount_entry_replay(fs, e, fo->ctlname, buf, fo->order, blob, len, reason,
                                         sizeof(reason));
            blob = NULL; /* the entry's, or freed */
            if (r != 0) {
                snprintf(why, wl, "%s (%s)", reason[0] ? reason : "does not mount again",
                         strerror(-r));
                if (fresh) {
                    nubfs_ctl_lock(fs);
                    nubfs_ctl_remove(fs, e);
                    nubfs_ctl_unlock(fs);
                }
            }
        }
        nubfs_buf_unref(buf);
    }
    if (r != 0 && nubfs_kept_errno(r))
        *kept = nubfs_kept_put(fs, fo->order, fo->file, fo->ctlname, &f, why) == 0;
    nub_intake_drop_objs(objs, nobjs);
    nubfs_frame_free(&f);
    free(blob);
    return r;
}

/* A frame that did not mount: kept (logged), or removed (logged). */
static void not_mounted(struct nubfs *fs, int dfd, const struct found *fo, bool kept,
                        const char *why)
{
    if (kept) {
        nubfs_warn("state: package %s (pkgs/%s) kept, not mounted: %s; it is mounted again "
                   "once the options allow it (SIGHUP reads trust= again)",
                   fo->ctlname, fo->file, why);
        return;
    }
    nubfs_kept_drop(fs, fo->order);
    nubfs_warn("state: package %s (pkgs/%s) not re-mounted, its frame removed: %s", fo->ctlname,
               fo->file, why);
    unlinkat(dfd, fo->file, 0);
}

bool nubfs_state_pkg_keep(struct nubfs *fs, uint64_t order, const char *ctlname,
                          const uint8_t *blob, size_t len, const char *why)
{
    if (nubfs_state_pkgs_fd(fs) < 0 || blob == NULL || nubfs_kept_init(fs) != 0)
        return false;
    struct nubfs_frame f;
    if (nubfs_frame_decode(blob, len, UINT64_MAX, &f) != 0)
        return false;
    char file[NAME_MAX + 1];
    frame_name(order, ctlname, file);
    bool kept = nubfs_kept_put(fs, order, file, ctlname, &f, why) == 0;
    nubfs_frame_free(&f);
    if (kept)
        nubfs_warn("state: package %s (pkgs/%s) kept, not mounted: %s; a SIGHUP or a restart "
                   "tries it again",
                   ctlname, file, why);
    return kept;
}

static void swept(void *ctx, const char *name)
{
    (void)ctx;
    char shown[96];
    nubfs_log_sanitize(name, shown, sizeof(shown));
    nubfs_log("state: removed caps/%s (no package holds it)", shown);
}

int nubfs_state_replay(struct nubfs *fs)
{
    int dfd = nubfs_state_pkgs_fd(fs);
    if (dfd < 0)
        return 0;
    uint64_t t0 = nub_now_ns();
    struct found *v;
    size_t n;
    int rc = list_frames(dfd, &v, &n);
    if (rc != 0) {
        nubfs_warn("state: cannot read %s/pkgs: %s", nubfs_state_dir(fs), strerror(-rc));
        free(v);
        return rc;
    }
    rc = nubfs_kept_init(fs);
    if (rc != 0) {
        free(v);
        return rc;
    }
    size_t ok = 0, kept = 0;
    uint64_t max_order = 0;
    pthread_mutex_lock(&fs->change_mu);
    for (size_t i = 0; i < n; i++) {
        char why[256] = "";
        bool k;
        int r = replay_one(fs, dfd, &v[i], why, sizeof(why), &k);
        if (v[i].order > max_order)
            max_order = v[i].order;
        if (r == 0) {
            ok++;
            /* A later frame of a kept one's name: the kept one is stale. */
            nubfs_kept_superseded(fs, v[i].ctlname, v[i].order);
            continue;
        }
        kept += k;
        not_mounted(fs, dfd, &v[i], k, why);
    }
    nubfs_ctl_lock(fs);
    if (fs->ctl->next_order <= max_order)
        fs->ctl->next_order = max_order + 1;
    nubfs_ctl_unlock(fs);
    pthread_mutex_unlock(&fs->change_mu);
    free(v);
    if (n > ok + kept && fsync(dfd) != 0)
        nubfs_warn("state: fsync of pkgs/: %s", strerror(errno));
    unsigned gone = nub_cap_store_sweep(fs->store, swept, fs);
    fs->replayed = ok;
    fs->replay_ns = nub_now_ns() - t0;
    nubfs_log("state: re-mounted %zu of %zu packages in %.2f ms%s%s", ok, n,
              (double)fs->replay_ns / 1e6, kept ? "; some kept, not mounted (stats: kept)" : "",
              gone ? "; unreferenced cap files removed" : "");
    return 0;
}

static int kept_by_order(const void *a, const void *b)
{
    uint64_t x = ((const struct nubfs_kept_item *)a)->order;
    uint64_t y = ((const struct nubfs_kept_item *)b)->order;
    return x < y ? -1 : x > y;
}

void nubfs_state_retry_kept(struct nubfs *fs)
{
    int dfd = nubfs_state_pkgs_fd(fs);
    struct nubfs_kept_item *v;
    size_t n = dfd >= 0 ? nubfs_kept_list(fs, &v) : 0;
    if (n == 0)
        return;
    if (n > 1)
        qsort(v, n, sizeof(*v), kept_by_order);
    size_t ok = 0;
    pthread_mutex_lock(&fs->change_mu);
    for (size_t i = 0; i < n; i++) {
        if (!nubfs_kept_has(fs, v[i].order))
            continue; /* superseded meanwhile */
        struct found fo = {.order = v[i].order};
        snprintf(fo.file, sizeof(fo.file), "%s", v[i].file);
        snprintf(fo.ctlname, sizeof(fo.ctlname), "%s", v[i].ctlname);
        nubfs_ctl_lock(fs);
        const struct nubfs_ctl_entry *e = nubfs_ctl_by_name(fs, fo.ctlname);
        bool busy = e != NULL && e->handle == 0; /* being written in ctl/ right now */
        nubfs_ctl_unlock(fs);
        if (busy)
            continue;
        char why[256] = "";
        bool k;
        int r = replay_one(fs, dfd, &fo, why, sizeof(why), &k);
        if (r == 0) {
            ok++;
            nubfs_kept_drop(fs, fo.order);
            nubfs_log("state: kept package %s (pkgs/%s) mounted again", fo.ctlname, fo.file);
            continue;
        }
        not_mounted(fs, dfd, &fo, k, why);
    }
    pthread_mutex_unlock(&fs->change_mu);
    nubfs_log("state: SIGHUP: %zu of %zu kept packages mounted again", ok, n);
    free(v);
}
