/* The tree and the FUSE operation table: / with caps/, ctl/, mounts/, log
 * and stats, and the fixed inodes. Every other request goes, by inode, to
 * the ops table of the subtree it belongs to (struct nubfs_subtree in
 * nubfs.h): caps_ops.c, ctl_ops.c, mounts_ops.c, files_ops.c. A subtree
 * without changes is read-only: writes there answer EROFS, as a read-only
 * mount would. */
#include "nubfs.h"

#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

static struct nubfs *fs_of(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

static const struct {
    const char *name;
    fuse_ino_t ino;
} root_entries[] = {
    {"caps", NUBFS_INO_CAPS},
    {"ctl", NUBFS_INO_CTL},
    {"mounts", NUBFS_INO_MOUNTS},
    {"log", NUBFS_INO_LOG},
    {"stats", NUBFS_INO_STATS},
};
#define N_ROOT (sizeof(root_entries) / sizeof(root_entries[0]))

static void base_attr(struct nubfs *fs, fuse_ino_t ino, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_ino = ino;
    st->st_uid = fs->uid;
    st->st_gid = fs->gid;
    st->st_atim = fs->mount_time;
    st->st_mtim = fs->mount_time;
    st->st_ctim = fs->mount_time;
    st->st_blksize = 4096;
}

void nubfs_dir_attr(struct nubfs *fs, fuse_ino_t ino, struct stat *st)
{
    base_attr(fs, ino, st);
    /* ctl/ is the one writable place (for the daemon's user). */
    st->st_mode = S_IFDIR | (ino == NUBFS_INO_CTL ? 0755 : 0555);
    st->st_nlink = ino == NUBFS_INO_ROOT ? 5 : 2; /* root: ".", "..", 3 x ".." */
}

void nubfs_file_attr(struct nubfs *fs, fuse_ino_t ino, uint64_t size, struct stat *st)
{
    base_attr(fs, ino, st);
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
    st->st_size = (off_t)size;
    st->st_blocks = (blkcnt_t)((size + 511) / 512);
}

/* Attributes of a fixed inode; false if ino is not one. log and stats
 * have size 0, like /proc files: they are read with direct_io. */
static bool fixed_attr(struct nubfs *fs, fuse_ino_t ino, struct stat *st)
{
    switch (ino) {
    case NUBFS_INO_ROOT:
    case NUBFS_INO_CAPS:
    case NUBFS_INO_CTL:
    case NUBFS_INO_MOUNTS:
        nubfs_dir_attr(fs, ino, st);
        return true;
    case NUBFS_INO_LOG:
    case NUBFS_INO_STATS:
        nubfs_file_attr(fs, ino, 0, st);
        return true;
    }
    return false;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
    struct nubfs *fs = userdata;
    /* libfuse ends the session unless this equals the max_read= mount
     * option (which options.c has checked and kept for it). */
    conn->max_read = fs->opts.max_read;
    /* Let read replies splice straight from the memfd, every size the
     * kernel asks for: the largest READ is max_write's worth of pages
     * (libfuse derives max_pages from it), so keep it within what a
     * splice pipe can hold here. */
    if (conn->capable & FUSE_CAP_SPLICE_WRITE) {
        conn->want |= FUSE_CAP_SPLICE_WRITE;
        size_t lim = nubfs_splice_max_data();
        if (lim != 0 && conn->max_write > lim)
            conn->max_write = (unsigned)lim;
        nubfs_log("reads: up to %u KiB per request, spliced", conn->max_write >> 10);
    }
    /* Every listing is READDIRPLUS, not only its first reply (the
     * kernel's auto mode): the kernel caches the listing of caps/
     * (op_opendir) and answers later ones from that cache without
     * creating entries, so a listing that gave names only would leave
     * `ls -l` after `ls` one LOOKUP round trip per cap (4.5 s at 100k
     * caps instead of 0.65 s). docs/ARCHITECTURE.md "Listing caps/". */
    if (conn->capable & FUSE_CAP_READDIRPLUS)
        conn->want |= FUSE_CAP_READDIRPLUS;
    conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
    if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
        conn->want |= FUSE_CAP_PARALLEL_DIROPS;
    /* O_TRUNC arrives with open (cp over a mounted package). */
    if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
        conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
    /* Staged writes go straight to the daemon, never through a kernel
     * write-back cache (the flush must see every byte). */
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

bool nubfs_dirbuf_add(fuse_req_t req, char *buf, size_t size, size_t *used, bool plus,
                      const char *name, const struct fuse_entry_param *e, off_t next)
{
    size_t n = plus ? fuse_add_direntry_plus(req, buf + *used, size - *used, name, e, next)
                    : fuse_add_direntry(req, buf + *used, size - *used, name, &e->attr, next);
    if (n > size - *used)
        return false;
    *used += n;
    return true;
}

char *nubfs_dirbuf_begin(fuse_req_t req, struct nubfs *fs, size_t size, size_t *used, bool plus,
                         fuse_ino_t dir, off_t off, bool *full)
{
    char *buf = malloc(size);
    if (buf == NULL) {
        fuse_reply_err(req, ENOMEM);
        return NULL;
    }
    static const char *const dots[2] = {".", ".."};
    struct fuse_entry_param e = {0};
    *used = 0;
    *full = false;
    for (off_t i = off < 0 ? 0 : off; i < 2 && !*full; i++) {
        nubfs_dir_attr(fs, i == 0 ? dir : NUBFS_INO_ROOT, &e.attr);
        *full = !nubfs_dirbuf_add(req, buf, size, used, plus, dots[i], &e, i + 1);
    }
    return buf;
}

/* ---- / itself: a subtree like the others ---- */

static bool root_is_dir(fuse_ino_t ino)
{
    (void)ino;
    return true;
}

/* How long the kernel may keep a fixed inode's attributes: log and stats
 * are generated, like /proc files, and are not cached; the rest never
 * change while mounted. */
static double fixed_attr_timeout(fuse_ino_t ino)
{
    return ino == NUBFS_INO_LOG || ino == NUBFS_INO_STATS ? 0 : NUBFS_FIXED_TIMEOUT;
}

static void root_lookup(fuse_req_t req, struct nubfs *fs, fuse_ino_t parent, const char *name)
{
    (void)parent;
    for (size_t i = 0; i < N_ROOT; i++) {
        if (strcmp(name, root_entries[i].name) == 0) {
            struct fuse_entry_param e = {.ino = root_entries[i].ino,
                                         .attr_timeout = fixed_attr_timeout(root_entries[i].ino),
                                         .entry_timeout = NUBFS_FIXED_TIMEOUT};
            fixed_attr(fs, e.ino, &e.attr);
            fuse_reply_entry(req, &e);
            return;
        }
    }
    /* The root's names never change: the kernel may remember an absence. */
    struct fuse_entry_param neg = {.ino = 0, .entry_timeout = NUBFS_NEG_TIMEOUT};
    fuse_reply_entry(req, &neg);
}

/* The root listing: ".", "..", then the fixed entries; offset i+1 after
 * entry i. */
static void root_readdir(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, size_t size, off_t off,
                         bool plus)
{
    (void)ino;
    struct {
        const char *name;
        fuse_ino_t ino;
    } all[2 + N_ROOT] = {{".", NUBFS_INO_ROOT}, {"..", NUBFS_INO_ROOT}};
    for (size_t i = 0; i < N_ROOT; i++) {
        all[2 + i].name = root_entries[i].name;
        all[2 + i].ino = root_entries[i].ino;
    }
    char *buf = malloc(size);
    if (buf == NULL) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    size_t used = 0;
    for (size_t i = off < 0 ? 0 : (size_t)off; i < 2 + N_ROOT; i++) {
        struct fuse_entry_param e = {.attr_timeout = fixed_attr_timeout(all[i].ino),
                                     .entry_timeout = NUBFS_FIXED_TIMEOUT};
        fixed_attr(fs, all[i].ino, &e.attr);
        e.ino = i < 2 ? 0 : all[i].ino; /* ino 0: no lookup taken for . and .. */
        if (!nubfs_dirbuf_add(req, buf, size, &used, plus, all[i].name, &e, (off_t)i + 1))
            break;
    }
    fuse_reply_buf(req, buf, used);
    free(buf);
}

static const struct nubfs_subtree root_tree = {
    .is_dir = root_is_dir, .lookup = root_lookup, .readdir = root_readdir,
};

/* ---- request counters (stats: "fuse_requests") ---- */

/* How many requests of each kind the daemon answered: the round trips a
 * user's command cost, measurable without tracing. */
static uint64_t g_req[NUBFS_REQ_N];
#define COUNT(r) __atomic_fetch_add(&g_req[r], 1, __ATOMIC_RELAXED)

const char *const nubfs_req_names[NUBFS_REQ_N] = {
    [NUBFS_REQ_LOOKUP] = "lookup",   [NUBFS_REQ_FORGET] = "forget",
    [NUBFS_REQ_GETATTR] = "getattr", [NUBFS_REQ_OPENDIR] = "opendir",
    [NUBFS_REQ_READDIR] = "readdir", [NUBFS_REQ_READDIRPLUS] = "readdirplus",
    [NUBFS_REQ_RELEASEDIR] = "releasedir", [NUBFS_REQ_OPEN] = "open",
    [NUBFS_REQ_READ] = "read",       [NUBFS_REQ_FLUSH] = "flush",
    [NUBFS_REQ_RELEASE] = "release", [NUBFS_REQ_ACCESS] = "access",
    [NUBFS_REQ_OTHER] = "other",
};

uint64_t nubfs_req_count(enum nubfs_req r)
{
    return __atomic_load_n(&g_req[r], __ATOMIC_RELAXED);
}

/* ---- dispatch ---- */

/* The subtree whose directory ino is (or, under mounts/, may be): the
 * target of lookups, listings and name changes. */
static const struct nubfs_subtree *dir_subtree(fuse_ino_t ino)
{
    switch (ino) {
    case NUBFS_INO_ROOT: return &root_tree;
    case NUBFS_INO_CAPS: return &nubfs_caps_tree;
    case NUBFS_INO_CTL: return &nubfs_ctl_tree;
    case NUBFS_INO_MOUNTS: return &nubfs_mounts_tree;
    case NUBFS_INO_LOG:
    case NUBFS_INO_STATS: return &nubfs_files_tree;
    }
    if ((ino & (NUBFS_INO_CAP_BIT | NUBFS_INO_MNT_BIT)) == NUBFS_INO_MNT_BIT)
        return &nubfs_mounts_tree;
    return NULL;
}

/* The subtree that answers for node ino (a file, or a directory that is
 * not one of the fixed inodes): caps have the top bit, then mounts/ and
 * ctl/ nodes their bits; log and stats are files. */
static const struct nubfs_subtree *node_subtree(fuse_ino_t ino)
{
    if (ino & NUBFS_INO_CAP_BIT)
        return &nubfs_caps_tree;
    if (ino & NUBFS_INO_MNT_BIT)
        return &nubfs_mounts_tree;
    if (ino & NUBFS_INO_CTL_BIT)
        return &nubfs_ctl_tree;
    if (ino == NUBFS_INO_LOG || ino == NUBFS_INO_STATS)
        return &nubfs_files_tree;
    return NULL;
}

/* Either: the subtree an inode belongs to. */
static const struct nubfs_subtree *subtree_of(fuse_ino_t ino)
{
    const struct nubfs_subtree *t = node_subtree(ino);
    return t != NULL ? t : dir_subtree(ino);
}

static bool is_dir(fuse_ino_t ino)
{
    const struct nubfs_subtree *t = dir_subtree(ino);
    return t != NULL && t->is_dir(ino);
}

/* The changes a directory takes (NULL: read-only). */
static const struct nubfs_changes *dir_changes(fuse_ino_t ino)
{
    const struct nubfs_subtree *t = dir_subtree(ino);
    return t != NULL ? t->changes : NULL;
}

static const struct nubfs_changes *node_changes(fuse_ino_t ino)
{
    const struct nubfs_subtree *t = node_subtree(ino);
    return t != NULL ? t->changes : NULL;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    COUNT(NUBFS_REQ_LOOKUP);
    const struct nubfs_subtree *t = dir_subtree(parent);
    if (t != NULL)
        t->lookup(req, fs_of(req), parent, name);
    else
        fuse_reply_err(req, ENOENT);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    COUNT(NUBFS_REQ_FORGET);
    nubfs_ino_forget(ino, nlookup);
    fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
    COUNT(NUBFS_REQ_FORGET);
    nubfs_ino_forget_many(forgets, count);
    fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    COUNT(NUBFS_REQ_GETATTR);
    (void)fi;
    struct nubfs *fs = fs_of(req);
    struct stat st;
    if (fixed_attr(fs, ino, &st)) {
        fuse_reply_attr(req, &st, fixed_attr_timeout(ino));
        return;
    }
    const struct nubfs_subtree *t = node_subtree(ino);
    double timeout = 0;
    int rc = t != NULL && t->getattr != NULL ? t->getattr(fs, ino, &st, &timeout) : -ENOENT;
    if (rc != 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, timeout);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    COUNT(NUBFS_REQ_OPENDIR);
    if (!is_dir(ino)) {
        fuse_reply_err(req, ENOTDIR);
        return;
    }
    if (ino == NUBFS_INO_CAPS) {
        /* The kernel keeps the listing of caps/ and answers ls from it;
         * notify.c drops it whenever the set of caps changes. */
        fi->cache_readdir = 1;
        fi->keep_cache = 1;
    }
    fuse_reply_open(req, fi);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    COUNT(NUBFS_REQ_RELEASEDIR);
    (void)ino;
    (void)fi;
    fuse_reply_err(req, 0);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
    if (is_dir(ino))
        dir_subtree(ino)->readdir(req, fs_of(req), ino, size, off, plus);
    else
        fuse_reply_err(req, ENOTDIR);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    COUNT(NUBFS_REQ_READDIR);
    (void)fi;
    do_readdir(req, ino, size, off, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi)
{
    COUNT(NUBFS_REQ_READDIRPLUS);
    (void)fi;
    do_readdir(req, ino, size, off, true);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    COUNT(NUBFS_REQ_OPEN);
    if (is_dir(ino)) {
        fuse_reply_err(req, EISDIR);
        return;
    }
    const struct nubfs_subtree *t = node_subtree(ino);
    if ((t == NULL || t->changes == NULL) &&
        ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))) {
        fuse_reply_err(req, EROFS);
        return;
    }
    if (t != NULL && t->open != NULL)
        t->open(req, fs_of(req), ino, fi);
    else
        fuse_reply_err(req, ENOENT);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    COUNT(NUBFS_REQ_READ);
    if (off < 0) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    const struct nubfs_subtree *t = node_subtree(ino);
    if (t != NULL && t->read != NULL)
        t->read(req, fs_of(req), ino, size, off, fi);
    else
        fuse_reply_err(req, ENOENT);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    COUNT(NUBFS_REQ_RELEASE);
    const struct nubfs_subtree *t = node_subtree(ino);
    if (t != NULL && t->release != NULL)
        t->release(req, fs_of(req), ino, fi);
    else
        fuse_reply_err(req, 0);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    COUNT(NUBFS_REQ_FLUSH);
    (void)fi;
    const struct nubfs_changes *c = node_changes(ino);
    if (c != NULL)
        c->flush(req, fs_of(req), ino);
    else
        fuse_reply_err(req, 0);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
    COUNT(NUBFS_REQ_OTHER);
    const struct nubfs_subtree *t = node_subtree(ino);
    if (t != NULL && t->readlink != NULL)
        t->readlink(req, fs_of(req), ino);
    else
        fuse_reply_err(req, EINVAL);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
    COUNT(NUBFS_REQ_OTHER);
    (void)ino;
    struct nubfs *fs = fs_of(req);
    struct statvfs sv = {.f_bsize = 4096, .f_frsize = 4096, .f_namemax = 255};
    struct nub_reader r;
    struct nub_dir_header h;
    if (nubfs_reader_begin(fs, &r) == 0 && nub_reader_header(&r, &h) == 0) {
        sv.f_blocks = (h.total_bytes + 4095) / 4096;
        sv.f_files = h.count + 4;
    }
    nubfs_reader_end(fs);
    /* Not ST_RDONLY: ctl/ takes writes. */
    fuse_reply_statfs(req, &sv);
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
    COUNT(NUBFS_REQ_ACCESS);
    if (!(mask & W_OK)) {
        fuse_reply_err(req, 0);
        return;
    }
    const struct nubfs_subtree *t = subtree_of(ino);
    if (t != NULL && t->changes != NULL)
        fuse_reply_err(req, fuse_req_ctx(req)->uid == fs_of(req)->uid ? 0 : EACCES);
    else
        fuse_reply_err(req, EROFS);
}

/* ---- changes: only where a subtree takes them (ctl/); EROFS elsewhere ---- */
static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                       struct fuse_file_info *fi)
{
    COUNT(NUBFS_REQ_OTHER);
    (void)fi;
    const struct nubfs_changes *c = node_changes(ino);
    if (c != NULL)
        c->setattr(req, fs_of(req), ino, attr, to_set);
    else
        fuse_reply_err(req, EROFS);
}
static void op_mknod(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m, dev_t d)
{
    COUNT(NUBFS_REQ_OTHER);
    (void)d;
    const struct nubfs_changes *c = dir_changes(p);
    if (c != NULL)
        c->mknod(req, fs_of(req), n, m);
    else
        fuse_reply_err(req, EROFS);
}
/* A directory that takes changes takes only files in it. */
static void op_mkdir(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m)
{
    COUNT(NUBFS_REQ_OTHER);
    (void)n, (void)m;
    fuse_reply_err(req, dir_changes(p) != NULL ? EPERM : EROFS);
}
static void op_unlink(fuse_req_t req, fuse_ino_t p, const char *n)
{
    COUNT(NUBFS_REQ_OTHER);
    const struct nubfs_changes *c = dir_changes(p);
    if (c != NULL)
        c->unlink(req, fs_of(req), n);
    else
        fuse_reply_err(req, EROFS);
}
static void op_rmdir(fuse_req_t req, fuse_ino_t p, const char *n)
{
    COUNT(NUBFS_REQ_OTHER);
    (void)n;
    fuse_reply_err(req, dir_changes(p) != NULL ? ENOTDIR : EROFS);
}
static void op_symlink(fuse_req_t req, const char *l, fuse_ino_t p, const char *n)
{
    COUNT(NUBFS_REQ_OTHER);
    (void)l, (void)n;
    fuse_reply_err(req, dir_changes(p) != NULL ? EPERM : EROFS);
}
static void op_rename(fuse_req_t req, fuse_ino_t p, const char *n, fuse_ino_t np,
                      const char *nn, unsigned int f)
{
    COUNT(NUBFS_REQ_OTHER);
    /* A rename changes both directories: out of ctl/ into the read-only
     * tree, or into ctl/ out of it, is EROFS as on any read-only part
     * (EXDEV would make mv copy and then fail to remove, with ENOENT). */
    const struct nubfs_changes *c = dir_changes(p), *nc = dir_changes(np);
    if (c != NULL && c == nc)
        c->rename(req, fs_of(req), n, nn, f);
    else
        fuse_reply_err(req, EROFS);
}
static void op_link(fuse_req_t req, fuse_ino_t i, fuse_ino_t np, const char *nn)
{
    COUNT(NUBFS_REQ_OTHER);
    (void)i, (void)nn;
    fuse_reply_err(req, dir_changes(np) != NULL ? EPERM : EROFS);
}
static void op_write(fuse_req_t req, fuse_ino_t i, const char *b, size_t s, off_t o,
                     struct fuse_file_info *fi)
{
    COUNT(NUBFS_REQ_OTHER);
    (void)fi;
    const struct nubfs_changes *c = node_changes(i);
    if (c != NULL)
        c->write(req, fs_of(req), i, b, s, o);
    else
        fuse_reply_err(req, EROFS);
}
static void op_create(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m,
                      struct fuse_file_info *fi)
{
    COUNT(NUBFS_REQ_OTHER);
    const struct nubfs_changes *c = dir_changes(p);
    if (c != NULL)
        c->create(req, fs_of(req), n, m, fi);
    else
        fuse_reply_err(req, EROFS);
}
static void op_setxattr(fuse_req_t req, fuse_ino_t i, const char *n, const char *v, size_t s,
                        int f)
{
    COUNT(NUBFS_REQ_OTHER);
    (void)f;
    const struct nubfs_subtree *t = subtree_of(i);
    if (t != NULL && t->changes != NULL)
        t->changes->setxattr(req, fs_of(req), i, n, v, s);
    else
        fuse_reply_err(req, EROFS);
}
static void op_removexattr(fuse_req_t req, fuse_ino_t i, const char *n)
{
    COUNT(NUBFS_REQ_OTHER);
    (void)n;
    const struct nubfs_subtree *t = subtree_of(i);
    fuse_reply_err(req, t != NULL && t->changes != NULL ? ENOTSUP : EROFS);
}
static void op_fallocate(fuse_req_t req, fuse_ino_t i, int m, off_t o, off_t l,
                         struct fuse_file_info *fi)
{
    COUNT(NUBFS_REQ_OTHER);
    (void)m, (void)o, (void)l, (void)fi;
    /* Not needed for staging (holes read as zero): tools fall back. */
    fuse_reply_err(req, node_changes(i) != NULL ? EOPNOTSUPP : EROFS);
}

void nubfs_fill_ops(struct fuse_lowlevel_ops *ops)
{
    memset(ops, 0, sizeof(*ops));
    ops->init = op_init;
    ops->lookup = op_lookup;
    ops->forget = op_forget;
    ops->forget_multi = op_forget_multi;
    ops->getattr = op_getattr;
    ops->opendir = op_opendir;
    ops->readdir = op_readdir;
    ops->readdirplus = op_readdirplus;
    ops->releasedir = op_releasedir;
    ops->open = op_open;
    ops->read = op_read;
    ops->release = op_release;
    ops->flush = op_flush;
    ops->readlink = op_readlink;
    ops->statfs = op_statfs;
    ops->access = op_access;
    ops->setattr = op_setattr;
    ops->mknod = op_mknod;
    ops->mkdir = op_mkdir;
    ops->unlink = op_unlink;
    ops->rmdir = op_rmdir;
    ops->symlink = op_symlink;
    ops->rename = op_rename;
    ops->link = op_link;
    ops->write = op_write;
    ops->create = op_create;
    ops->setxattr = op_setxattr;
    ops->removexattr = op_removexattr;
    ops->fallocate = op_fallocate;
}
