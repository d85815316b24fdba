/* ctl/: mounting by copying (nubfs(8)). A file written here is staged in
 * host memory (writes by offset, out of order, holes zero, at most
 * max_package bytes: EFBIG) and mounted on the first flush after writes,
 * so close() -- what cp, install and `cat >` check -- returns the mount's
 * errno. Dot-files (rsync's .<name>.XXXXXX) are staged and never mounted;
 * renaming one onto <name>.rvf mounts it and rename() returns the errno.
 * A mounted package renamed onto a dot-file is unmounted and keeps its
 * bytes as a staged file.
 * Writing over a mounted name mounts the new package, then unmounts the
 * old one (on failure the old stays). rm unmounts. Only the daemon's user
 * may change anything here (EACCES for others, even with allow_other).
 * Other names are refused with EINVAL. Entries and attributes have zero
 * kernel timeouts: a failed first mount removes its entry behind the
 * kernel's back, and sizes change on replace. */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

static bool is_owner(fuse_req_t req, struct nubfs *fs)
{
    return fuse_req_ctx(req)->uid == fs->uid;
}

static uint64_t id_of(fuse_ino_t ino)
{
    return (uint64_t)ino & ~NUBFS_INO_CTL_BIT;
}

/* Attributes of e; ctl lock held. */
static void attr_of(struct nubfs_ctl_entry *e, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_ino = NUBFS_INO_CTL_BIT | e->id;
    st->st_mode = S_IFREG | (e->mode & 07777);
    st->st_nlink = e->linked ? 1 : 0;
    st->st_uid = e->uid;
    st->st_gid = e->gid;
    const struct nubfs_buf *b = nubfs_ctl_content(e);
    st->st_size = b ? (off_t)b->len : 0;
    st->st_blocks = (st->st_size + 511) / 512;
    st->st_blksize = 1 << 20; /* invites large writes */
    st->st_atim = e->atime;
    st->st_mtim = e->mtime;
    st->st_ctim = e->ctime;
}

static void entry_of(struct nubfs_ctl_entry *e, struct fuse_entry_param *ep)
{
    memset(ep, 0, sizeof(*ep));
    ep->ino = NUBFS_INO_CTL_BIT | e->id;
    attr_of(e, &ep->attr);
    ep->attr_timeout = 0;
    ep->entry_timeout = 0;
}

static void touch(struct timespec *a, struct timespec *b)
{
    clock_gettime(CLOCK_REALTIME, a);
    if (b)
        *b = *a;
}

/* Starts a staging buffer: empty (create, truncation), or holding the
 * current content for a write that does not begin with truncation (kept
 * if one is already staged). ctl lock held. */
static int stage_begin(struct nubfs *fs, struct nubfs_ctl_entry *e, bool empty)
{
    if (e->stage != NULL && !empty)
        return 0;
    struct nubfs_buf *b = nubfs_buf_new(fs->opts.max_package);
    if (b == NULL)
        return -ENOMEM;
    if (!empty && e->pkg != NULL) {
        int r = nubfs_buf_ready(e->pkg);
        if (r != 0) {
            nubfs_buf_unref(b);
            return r;
        }
        memcpy(b->p, e->pkg->p, e->pkg->len);
        b->len = e->pkg->len;
    }
    nubfs_buf_unref(e->stage);
    e->stage = b;
    e->stage_err = 0;
    e->stage_t0 = nub_now_ns();
    return 0;
}

static void ctl_lookup(fuse_req_t req, struct nubfs *fs, fuse_ino_t parent, const char *name)
{
    (void)parent; /* ctl/ itself: its only directory */
    struct fuse_entry_param ep;
    nubfs_ctl_lock(fs);
    struct nubfs_ctl_entry *e = nubfs_ctl_by_name(fs, name);
    if (e != NULL)
        entry_of(e, &ep);
    nubfs_ctl_unlock(fs);
    if (e == NULL)
        fuse_reply_err(req, ENOENT);
    else
        fuse_reply_entry(req, &ep);
}

static int ctl_getattr(struct nubfs *fs, fuse_ino_t ino, struct stat *st, double *timeout)
{
    *timeout = 0; /* sizes change on replace; a failed mount removes the entry */
    nubfs_ctl_lock(fs);
    struct nubfs_ctl_entry *e = nubfs_ctl_by_id(fs, id_of(ino));
    if (e != NULL)
        attr_of(e, st);
    nubfs_ctl_unlock(fs);
    return e ? 0 : -ENOENT;
}

/* Offsets: 1 after ".", 2 after "..", id + 2 after an entry (ids only
 * grow, so a listing resumes after the last entry it returned). */
static void ctl_readdir(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, size_t size, off_t off,
                        bool plus)
{
    size_t used;
    bool full;
    char *buf = nubfs_dirbuf_begin(req, fs, size, &used, plus, ino, off, &full);
    if (buf == NULL)
        return;
    if (full)
        goto out;
    struct fuse_entry_param ep = {0};
    nubfs_ctl_lock(fs);
    struct nubfs_ctl_entry *e;
    for (size_t i = 0; (e = nubfs_ctl_at(fs, i)) != NULL; i++) {
        if (!e->linked || (off_t)(e->id + 2) <= off)
            continue;
        entry_of(e, &ep);
        if (!nubfs_dirbuf_add(req, buf, size, &used, plus, e->name, &ep, (off_t)(e->id + 2)))
            break;
    }
    nubfs_ctl_unlock(fs);
out:
    fuse_reply_buf(req, buf, used);
    free(buf);
}

/* Opens e for this request (ctl lock held): permission, O_TRUNC. */
static int open_entry(fuse_req_t req, struct nubfs *fs, struct nubfs_ctl_entry *e,
                      struct fuse_file_info *fi)
{
    int acc = fi->flags & O_ACCMODE;
    bool owner = is_owner(req, fs);
    if (acc != O_RDONLY && !owner)
        return -EACCES;
    if (acc != O_WRONLY && !nubfs_may_read(req, fs, e->uid, e->gid, e->mode))
        return -EACCES;
    if (acc != O_RDONLY && (fi->flags & O_TRUNC)) {
        /* Starts over, but is not yet a change: see nubfs_ctl_flush. */
        int rc = stage_begin(fs, e, true);
        if (rc != 0)
            return rc;
        touch(&e->mtime, &e->ctime);
    }
    e->opens++;
    fi->fh = e->id;
    fi->direct_io = 1; /* content changes under the kernel on replace */
    fi->keep_cache = 0;
    return 0;
}

/* A name ctl/ does not take: logged, so a failing cp can be explained. */
static bool bad_name(const char *name)
{
    if (nubfs_ctl_name_kind(name) != NUBFS_CTL_NAME_BAD)
        return false;
    nubfs_notice("ctl: refused file name \"%.80s\": want <name>.rvf (name up to %u bytes) or a "
              "dot-file",
              name, NUBFS_PKG_NAME_MAX);
    return true;
}

/* A new entry for create or mknod, owned by the caller and staging an
 * empty file; NULL with *rc set. ctl lock held. */
static struct nubfs_ctl_entry *new_staged(fuse_req_t req, struct nubfs *fs, const char *name,
                                          mode_t mode, int *rc)
{
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    struct nubfs_ctl_entry *e = nubfs_ctl_new(fs, name, mode, ctx->uid, ctx->gid, rc);
    if (e == NULL)
        return NULL;
    *rc = stage_begin(fs, e, true);
    if (*rc != 0) {
        nubfs_ctl_remove(fs, e);
        return NULL;
    }
    return e;
}

static void ctl_create(fuse_req_t req, struct nubfs *fs, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
    if (!is_owner(req, fs)) {
        fuse_reply_err(req, EACCES);
        return;
    }
    if (bad_name(name)) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    struct fuse_entry_param ep;
    int rc = 0;
    nubfs_ctl_lock(fs);
    struct nubfs_ctl_entry *e = nubfs_ctl_by_name(fs, name);
    if (e != NULL) {
        if (fi->flags & O_EXCL)
            rc = -EEXIST;
        else
            rc = open_entry(req, fs, e, fi);
    } else if ((e = new_staged(req, fs, name, mode, &rc)) != NULL) {
        e->opens++;
        fi->fh = e->id;
        fi->direct_io = 1;
    }
    if (rc == 0)
        entry_of(e, &ep);
    nubfs_ctl_unlock(fs);
    if (rc != 0) {
        fuse_reply_err(req, -rc);
        return;
    }
    if (fuse_reply_create(req, &ep, fi) != 0) {
        nubfs_ctl_lock(fs);
        nubfs_ctl_close(fs, e);
        nubfs_ctl_unlock(fs);
    }
}

static void ctl_mknod(fuse_req_t req, struct nubfs *fs, const char *name, mode_t mode)
{
    if (!is_owner(req, fs)) {
        fuse_reply_err(req, EACCES);
        return;
    }
    if (!S_ISREG(mode)) {
        fuse_reply_err(req, EPERM);
        return;
    }
    if (bad_name(name)) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    struct fuse_entry_param ep;
    int rc = 0;
    nubfs_ctl_lock(fs);
    struct nubfs_ctl_entry *e = nubfs_ctl_by_name(fs, name);
    if (e != NULL)
        rc = -EEXIST;
    else if ((e = new_staged(req, fs, name, mode, &rc)) != NULL)
        entry_of(e, &ep);
    nubfs_ctl_unlock(fs);
    if (rc != 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_entry(req, &ep);
}

static void ctl_open(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, struct fuse_file_info *fi)
{
    nubfs_ctl_lock(fs);
    struct nubfs_ctl_entry *e = nubfs_ctl_by_id(fs, id_of(ino));
    int rc = e ? open_entry(req, fs, e, fi) : -ENOENT;
    nubfs_ctl_unlock(fs);
    if (rc != 0) {
        fuse_reply_err(req, -rc);
        return;
    }
    if (fuse_reply_open(req, fi) != 0) {
        nubfs_ctl_lock(fs);
        nubfs_ctl_close(fs, e);
        nubfs_ctl_unlock(fs);
    }
}

static void ctl_read(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    (void)fi;
    nubfs_ctl_lock(fs);
    struct nubfs_ctl_entry *e = nubfs_ctl_by_id(fs, id_of(ino));
    struct nubfs_buf *b = e ? nubfs_buf_ref(nubfs_ctl_content(e)) : NULL;
    size_t len = b ? b->len : 0;
    nubfs_ctl_unlock(fs);
    if (e == NULL) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    /* A replayed package's payloads come in on its first read. */
    int rr = nubfs_buf_ready(b);
    if (rr != 0) {
        nubfs_buf_unref(b);
        fuse_reply_err(req, -rr);
        return;
    }
    size_t o = (uint64_t)off >= len ? len : (size_t)off;
    size_t n = len - o < size ? len - o : size;
    /* A mounted buffer is never written again, so it is read unlocked;
     * a staged one may be, which is what a reader of a file being
     * written sees on any file system. */
    fuse_reply_buf(req, n ? (const char *)b->p + o : NULL, n);
    nubfs_buf_unref(b);
}

/* Writes land in the staging buffer by offset (any order; holes read as
 * zero). A write past max_package marks the file EFBIG for its flush. */
static void ctl_write(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, const char *data,
                     size_t size, off_t off)
{
    if (off < 0) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    int rc = 0;
    nubfs_ctl_lock(fs);
    struct nubfs_ctl_entry *e = nubfs_ctl_by_id(fs, id_of(ino));
    if (e == NULL) {
        rc = -ENOENT;
    } else if ((uint64_t)off > fs->opts.max_package || size > fs->opts.max_package - (uint64_t)off) {
        /* Sticky: the flush reports it too, and nothing is mounted. */
        e->stage_err = -EFBIG;
        e->dirty = true;
        rc = -EFBIG;
    } else if ((rc = stage_begin(fs, e, false)) == 0) {
        /* Under the lock: a flush detaches the buffer to mount it, and
         * bytes must not change between its hash check and the copy. */
        struct nubfs_buf *b = e->stage;
        memcpy(b->p + off, data, size);
        if ((size_t)off + size > b->len)
            b->len = (size_t)off + size;
        e->dirty = true;
        touch(&e->mtime, &e->ctime);
    }
    nubfs_ctl_unlock(fs);
    if (rc != 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_write(req, size);
}

/* Only writes (and truncation to a length) make a file dirty; creating
 * it or opening it with O_TRUNC does not. A shell's `cat > ctl/x.rvf`
 * opens, dup2()s and closes the first descriptor before cat writes a
 * byte: that close's flush must not mount an empty file. */
static void ctl_flush(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino)
{
    /* Most closes (readers, a dup'd descriptor) have nothing to mount:
     * answer them without waiting for a mount in progress. */
    nubfs_ctl_lock(fs);
    struct nubfs_ctl_entry *q = nubfs_ctl_by_id(fs, id_of(ino));
    bool dirty = q != NULL && q->dirty;
    /* A <name>.rvf that was created and never got a byte (cp of an empty
     * file, touch) is no package: close() says so. The shell's early
     * close of `cat >` gets this too and ignores it; cat's own close
     * mounts. The last close (ctl_release) takes the file out of ctl/. */
    bool empty = q != NULL && !dirty && q->pkg == NULL && q->linked &&
                 (q->stage == NULL || q->stage->len == 0) &&
                 nubfs_ctl_name_kind(q->name) == NUBFS_CTL_NAME_PKG;
    nubfs_ctl_unlock(fs);
    if (!dirty) {
        fuse_reply_err(req, empty ? EBADMSG : 0);
        return;
    }
    pthread_mutex_lock(&fs->change_mu);
    nubfs_ctl_lock(fs);
    struct nubfs_ctl_entry *e = nubfs_ctl_by_id(fs, id_of(ino));
    if (e == NULL || !e->dirty) { /* nothing written since the last flush */
        nubfs_ctl_unlock(fs);
        pthread_mutex_unlock(&fs->change_mu);
        fuse_reply_err(req, 0);
        return;
    }
    e->dirty = false;
    enum nubfs_ctl_name kind = nubfs_ctl_name_kind(e->name);
    char name[NAME_MAX + 1];
    snprintf(name, sizeof(name), "%s", e->name);
    if (!e->linked || kind != NUBFS_CTL_NAME_PKG) {
        /* A dot-file stays staged; a removed file has no name to mount. */
        nubfs_ctl_unlock(fs);
        pthread_mutex_unlock(&fs->change_mu);
        fuse_reply_err(req, 0);
        return;
    }
    int rc = e->stage_err;
    struct nubfs_buf *buf = e->stage;
    e->stage = NULL; /* detached: later writes start a new one */
    e->stage_err = 0;
    nubfs_ctl_unlock(fs);
    if (rc == 0 && buf == NULL)
        rc = -EBADMSG; /* cannot happen: dirty implies a buffer */
    if (rc == -EFBIG) {
        fs->mc.mount_failures++;
        nubfs_notice("refused %s: %s: package is larger than max_package (%llu bytes) (%s)", name,
                  name, (unsigned long long)fs->opts.max_package, strerror(EFBIG));
    } else if (rc == 0) {
        rc = nubfs_mount_entry(fs, e, name, buf);
    }
    nubfs_buf_unref(buf);
    if (rc != 0) {
        nubfs_ctl_lock(fs);
        e->stage_t0 = 0;
        if (e->pkg == NULL && e->linked)
            nubfs_ctl_remove(fs, e); /* never mounted: it leaves ctl/ (still open) */
        nubfs_ctl_unlock(fs);
    }
    pthread_mutex_unlock(&fs->change_mu);
    fuse_reply_err(req, -rc);
}

/* The last close of a file that was opened to write but not written:
 * a mounted package keeps its content (an O_TRUNC alone changes
 * nothing), a created <name>.rvf that never got a byte leaves ctl/
 * (ctl/ lists mounted packages and staged dot-files). */
static void ctl_release(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino,
                        struct fuse_file_info *fi)
{
    (void)fi;
    nubfs_ctl_lock(fs);
    struct nubfs_ctl_entry *e = nubfs_ctl_by_id(fs, id_of(ino));
    if (e != NULL && e->opens == 1 && !e->dirty && e->stage != NULL && e->linked &&
        nubfs_ctl_name_kind(e->name) == NUBFS_CTL_NAME_PKG) {
        nubfs_buf_unref(e->stage);
        e->stage = NULL;
        if (e->pkg == NULL) {
            nubfs_notice("refused %s: %s: closed without a byte written: an empty file is not a "
                      "package (%s)", e->name, e->name, strerror(EBADMSG));
            nubfs_ctl_remove(fs, e); /* still open: freed by the close below */
        }
    }
    if (e != NULL)
        nubfs_ctl_close(fs, e);
    nubfs_ctl_unlock(fs);
    fuse_reply_err(req, 0);
}

/* chmod, chown, utimes and truncate, for the daemon's user only. A new
 * size is content: staged, and mounted by the next flush. */
static void ctl_setattr(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, struct stat *attr,
                       int to_set)
{
    if (!is_owner(req, fs)) {
        fuse_reply_err(req, EACCES);
        return;
    }
    int rc = 0;
    struct stat st;
    nubfs_ctl_lock(fs);
    struct nubfs_ctl_entry *e = nubfs_ctl_by_id(fs, id_of(ino));
    if (e == NULL) {
        rc = -ENOENT;
    } else if ((to_set & FUSE_SET_ATTR_SIZE) &&
               (attr->st_size < 0 || (uint64_t)attr->st_size > fs->opts.max_package)) {
        rc = attr->st_size < 0 ? -EINVAL : -EFBIG;
    } else {
        if (to_set & FUSE_SET_ATTR_SIZE) {
            rc = stage_begin(fs, e, false);
            if (rc == 0) {
                nubfs_buf_resize(e->stage, (size_t)attr->st_size);
                /* Truncating to 0 starts over, like O_TRUNC; a length
                 * is content, mounted by the next flush. */
                e->dirty = attr->st_size > 0;
                touch(&e->mtime, NULL);
            }
        }
        if (to_set & FUSE_SET_ATTR_MODE)
            e->mode = attr->st_mode & 07777;
        if (to_set & FUSE_SET_ATTR_UID)
            e->uid = attr->st_uid;
        if (to_set & FUSE_SET_ATTR_GID)
            e->gid = attr->st_gid;
        if (to_set & FUSE_SET_ATTR_ATIME_NOW)
            touch(&e->atime, NULL);
        else if (to_set & FUSE_SET_ATTR_ATIME)
            e->atime = attr->st_atim;
        if (to_set & FUSE_SET_ATTR_MTIME_NOW)
            touch(&e->mtime, NULL);
        else if (to_set & FUSE_SET_ATTR_MTIME)
            e->mtime = attr->st_mtim;
        if (rc == 0)
            touch(&e->ctime, NULL);
    }
    if (e != NULL)
        attr_of(e, &st);
    bool saved = rc == 0 && e->handle != 0 && fs->state != NULL;
    nubfs_ctl_unlock(fs);
    if (saved)
        nubfs_entry_frame_meta(fs, id_of(ino)); /* a failure is logged */
    if (rc != 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, 0);
}

static void ctl_unlink(fuse_req_t req, struct nubfs *fs, const char *name)
{
    if (!is_owner(req, fs)) {
        fuse_reply_err(req, EACCES);
        return;
    }
    pthread_mutex_lock(&fs->change_mu);
    nubfs_ctl_lock(fs);
    struct nubfs_ctl_entry *e = nubfs_ctl_by_name(fs, name);
    nubfs_ctl_unlock(fs);
    int rc = e ? nubfs_unmount_entry(fs, e) : -ENOENT;
    if (rc == 0) {
        nubfs_ctl_lock(fs);
        nubfs_ctl_remove(fs, e);
        nubfs_ctl_unlock(fs);
    }
    pthread_mutex_unlock(&fs->change_mu);
    fuse_reply_err(req, -rc);
}

/* rename within ctl/, change_mu held. */
static int do_rename(struct nubfs *fs, const char *name, const char *newname, unsigned flags)
{
    enum nubfs_ctl_name kind = nubfs_ctl_name_kind(newname);
    if (kind == NUBFS_CTL_NAME_BAD)
        return -EINVAL;
    nubfs_ctl_lock(fs);
    struct nubfs_ctl_entry *s = nubfs_ctl_by_name(fs, name);
    struct nubfs_ctl_entry *t = nubfs_ctl_by_name(fs, newname);
    bool s_mounted = s && s->handle != 0, t_mounted = t && t->handle != 0;
    bool s_staged = s && s->stage != NULL;
    int serr = s ? s->stage_err : 0;
    struct nubfs_buf *buf = s_staged ? nubfs_buf_ref(s->stage) : NULL;
    nubfs_ctl_unlock(fs);
    int rc = 0;
    if (s == NULL)
        rc = -ENOENT;
    else if (t != NULL && (flags & RENAME_NOREPLACE))
        rc = -EEXIST;
    else if (s == t)
        rc = 0;
    else if (kind == NUBFS_CTL_NAME_DOT) {
        /* Onto a dot-file: it is only staged, so s stops being mounted,
         * keeping every byte as a staged copy (renaming it back mounts
         * it again). */
        bool copied = false;
        if (s_mounted && !s_staged) {
            nubfs_ctl_lock(fs);
            rc = stage_begin(fs, s, false);
            copied = rc == 0;
            nubfs_ctl_unlock(fs);
        }
        if (rc == 0 && s_mounted)
            rc = nubfs_unmount_entry(fs, s);
        if (rc == 0 && t_mounted)
            rc = nubfs_unmount_entry(fs, t);
        if (rc != 0 && copied) {
            nubfs_ctl_lock(fs);
            if (s->pkg != NULL) { /* still mounted: the copy goes */
                nubfs_buf_unref(s->stage);
                s->stage = NULL;
            }
            nubfs_ctl_unlock(fs);
        }
    } else if (s_staged || !s_mounted) {
        /* rsync: mount the staged bytes under the new name; then the
         * package that had the name goes (mount new, then unmount old). */
        if (serr != 0)
            rc = serr;
        else if (buf == NULL)
            rc = -EBADMSG;
        else
            rc = nubfs_mount_entry(fs, s, newname, buf);
        if (rc == 0) {
            nubfs_ctl_lock(fs);
            if (s->stage == buf) {
                nubfs_buf_unref(s->stage);
                s->stage = NULL;
                s->dirty = false;
            }
            nubfs_ctl_unlock(fs);
            if (t_mounted)
                nubfs_unmount_entry(fs, t); /* logged; a crash there is recovered */
        }
    } else {
        /* A mounted package renamed: its frame takes the new name first
         * (with a new order: a crash before the other goes replays as a
         * replace), then the package it is renamed over goes. */
        rc = nubfs_entry_frame_rename(fs, s, newname);
        if (rc == 0 && t_mounted)
            rc = nubfs_unmount_entry(fs, t);
    }
    nubfs_buf_unref(buf);
    if (rc != 0 || s == t)
        return rc;
    char oldm[NUBFS_PKG_NAME_MAX + 1], newm[NUBFS_PKG_NAME_MAX + 1];
    nubfs_ctl_lock(fs);
    if (t != NULL)
        nubfs_ctl_remove(fs, t);
    nubfs_ctl_mount_name(s->name, oldm);
    nubfs_ctl_mount_name(newname, newm);
    snprintf(s->name, sizeof(s->name), "%s", newname);
    touch(&s->ctime, NULL);
    bool mounted = s->handle != 0;
    nubfs_ctl_unlock(fs);
    if (mounted && s_mounted && !s_staged)
        nubfs_log("renamed %s to %s", name, newname);
    nubfs_notify_mount(fs, oldm);
    nubfs_notify_mount(fs, newm);
    return 0;
}

static void ctl_rename(fuse_req_t req, struct nubfs *fs, const char *name, const char *newname,
                      unsigned flags)
{
    if (!is_owner(req, fs)) {
        fuse_reply_err(req, EACCES);
        return;
    }
    if (flags & ~(unsigned)RENAME_NOREPLACE) {
        fuse_reply_err(req, EINVAL); /* RENAME_EXCHANGE, RENAME_WHITEOUT */
        return;
    }
    pthread_mutex_lock(&fs->change_mu);
    int rc = do_rename(fs, name, newname, flags);
    pthread_mutex_unlock(&fs->change_mu);
    fuse_reply_err(req, -rc);
}

/* The only extended attributes: the test knobs on ctl/ itself. They can
 * crash the guest or fail the next mount, so like every change to ctl/
 * they answer to the mounting user only (also with allow_other). */
static void ctl_setxattr(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, const char *name,
                         const char *value, size_t size)
{
    if (ino == NUBFS_INO_CTL && strncmp(name, "user.nubfs.test_", 16) == 0)
        fuse_reply_err(req, is_owner(req, fs) ? -nubfs_knob_setxattr(fs, name, value, size)
                                              : EACCES);
    else
        fuse_reply_err(req, ENOTSUP);
}

static bool ctl_is_dir(fuse_ino_t ino)
{
    return ino == NUBFS_INO_CTL;
}

static const struct nubfs_changes ctl_changes = {
    .create = ctl_create, .mknod = ctl_mknod, .unlink = ctl_unlink, .rename = ctl_rename,
    .setxattr = ctl_setxattr, .write = ctl_write, .flush = ctl_flush, .setattr = ctl_setattr,
};

const struct nubfs_subtree nubfs_ctl_tree = {
    .is_dir = ctl_is_dir, .lookup = ctl_lookup, .readdir = ctl_readdir, .getattr = ctl_getattr,
    .open = ctl_open, .read = ctl_read, .release = ctl_release, .changes = &ctl_changes,
};
