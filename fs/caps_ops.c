/* caps/: one read-only file per cap, named by its hash. Names and sizes
 * are read from guest memory under the sandbox read lock; an open file
 * holds a reference on the cap's bytes in the cap store (store.c) and its
 * reads are spliced from that file, with no lock, also after the cap left
 * the directory (docs/cap-store.md "Lifetime"). Present and absent
 * names alike are cached by the kernel for a day (notify.c invalidates). */
#include "nubfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void cap_entry(struct nubfs *fs, uint64_t ino, const struct nub_cap *c,
                      struct fuse_entry_param *e)
{
    memset(e, 0, sizeof(*e));
    e->ino = ino;
    e->attr_timeout = NUBFS_CAP_TIMEOUT;
    e->entry_timeout = NUBFS_CAP_TIMEOUT;
    nubfs_file_attr(fs, ino, c->len, &e->attr);
}

/* The cap behind a name or an inode, copied out under the lock. If
 * settled is given it says, as of that same look, whether no recovery
 * was rebuilding the directory (so an absence is real). */
static int find_cap(struct nubfs *fs, const uint8_t hash[16], struct nub_cap *c, bool *settled)
{
    struct nub_reader r;
    int rc = nubfs_reader_begin(fs, &r);
    if (rc == 0)
        rc = nub_reader_get(&r, hash, c);
    if (settled != NULL)
        *settled = __atomic_load_n(&fs->recovering, __ATOMIC_SEQ_CST) == 0;
    nubfs_reader_end(fs);
    return rc;
}

/* An absent name, as a negative entry the kernel keeps for timeout
 * seconds (0: none). A mount that publishes the name invalidates it
 * before its close() returns (nubfs_notify_published), so a cap copied in
 * is visible to the very next lookup. */
static void reply_absent(fuse_req_t req, double timeout)
{
    struct fuse_entry_param e = {.ino = 0, .entry_timeout = timeout};
    if (timeout > 0)
        fuse_reply_entry(req, &e);
    else
        fuse_reply_err(req, ENOENT);
}

static void caps_lookup(fuse_req_t req, struct nubfs *fs, fuse_ino_t parent, const char *name)
{
    (void)parent; /* caps/ itself: its only directory */
    uint8_t hash[16];
    struct nub_cap c;
    /* Not a canonical name: it can never exist. */
    if (nub_hash_from_hex(name, hash) != 0) {
        reply_absent(req, NUBFS_NEG_TIMEOUT);
        return;
    }
    bool settled;
    int rc = find_cap(fs, hash, &c, &settled);
    if (rc == -ENOENT) {
        reply_absent(req, settled ? NUBFS_NEG_TIMEOUT : 0);
        return;
    }
    if (rc != 0) {
        fuse_reply_err(req, -rc);
        return;
    }
    uint64_t ino;
    rc = nubfs_ino_ref(hash, &ino);
    if (rc != 0) {
        fuse_reply_err(req, -rc);
        return;
    }
    struct fuse_entry_param e;
    cap_entry(fs, ino, &c, &e);
    if (fuse_reply_entry(req, &e) != 0)
        nubfs_ino_forget(ino, 1); /* the kernel did not get it */
}

static int cap_attr(struct nubfs *fs, fuse_ino_t ino, struct stat *st)
{
    uint8_t hash[16];
    struct nub_cap c;
    if (!(ino & NUBFS_INO_CAP_BIT) || nubfs_ino_hash(ino, hash) != 0)
        return -ENOENT;
    int rc = find_cap(fs, hash, &c, NULL);
    if (rc == -ENOENT && fs->store != NULL) {
        /* Gone from the directory, but its bytes are still held (an open
         * file): fstat answers as for an unlinked file. */
        struct nub_cap_obj *o = nub_cap_store_get(fs->store, hash);
        if (o != NULL) {
            c.len = o->len;
            nub_cap_obj_unref(o);
            rc = 0;
        }
    }
    if (rc != 0)
        return rc;
    nubfs_file_attr(fs, ino, c.len, st);
    return 0;
}

/* Offsets: 1 after ".", 2 after "..", and 2 + reader cursor after a cap
 * (the cursor is a slot index, so a listing resumes where it stopped and
 * a full listing is one pass over the table). */
static void caps_readdir(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, size_t size, off_t off,
                         bool plus)
{
    size_t used;
    bool full;
    char *buf = nubfs_dirbuf_begin(req, fs, size, &used, plus, ino, off, &full);
    if (buf == NULL)
        return;
    if (full)
        goto out;
    struct fuse_entry_param e = {0};

    struct nub_reader r;
    int rc = nubfs_reader_begin(fs, &r);
    if (rc == -ENOENT) { /* no directory yet: empty */
        nubfs_reader_end(fs);
        goto out;
    }
    uint64_t cursor = off > 2 ? (uint64_t)off - 2 : 0;
    struct nub_cap c;
    while (rc == 0) {
        uint64_t before = cursor;
        rc = nub_reader_next(&r, &cursor, &c, NULL);
        if (rc != 1)
            break;
        rc = 0;
        char name[33];
        nub_hash_to_hex(c.hash, name);
        if (plus) {
            uint64_t ino;
            if (nubfs_ino_ref(c.hash, &ino) != 0)
                continue; /* unnamable (inode probe exhausted): skip it */
            cap_entry(fs, ino, &c, &e);
        } else {
            nubfs_file_attr(fs, nubfs_ino_peek(c.hash), c.len, &e.attr);
        }
        if (!nubfs_dirbuf_add(req, buf, size, &used, plus, name, &e, (off_t)(cursor + 2))) {
            if (plus)
                nubfs_ino_forget(e.ino, 1); /* not sent: give the reference back */
            cursor = before;
            break;
        }
    }
    nubfs_reader_end(fs);
    if (rc < 0 && used == 0) {
        free(buf);
        fuse_reply_err(req, -rc);
        return;
    }
out:
    fuse_reply_buf(req, buf, used);
    free(buf);
}

static void caps_open(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct stat st;
    int rc = cap_attr(fs, ino, &st);
    if (rc != 0) {
        fuse_reply_err(req, -rc);
        return;
    }
    /* The handle holds the cap's bytes (a store reference), so reads go
     * on after the cap leaves the directory. */
    uint8_t hash[16];
    struct nub_cap_obj *obj = NULL;
    if (fs->store != NULL && nubfs_ino_hash(ino, hash) == 0)
        obj = nub_cap_store_open(fs->store, hash);
    if (obj != NULL && nubfs_obj_readable(fs, obj, "caps/") != 0) {
        nub_cap_obj_close(obj);
        fuse_reply_err(req, EIO);
        return;
    }
    fi->fh = (uint64_t)(uintptr_t)obj; /* 0: none (read from guest memory) */
    fi->noflush = 1;    /* read-only: close() costs no FLUSH round trip */
    /* A cap with a file of its own is read by the kernel from that file
     * (passthrough) when it can; else spliced, kept in the page cache. */
    if (nubfs_pt_reply_open(req, obj, fi) != 0)
        nub_cap_obj_close(obj); /* the open was interrupted: no release comes */
}

static void caps_release(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino,
                         struct fuse_file_info *fi)
{
    (void)fs;
    (void)ino;
    nub_cap_obj_close((struct nub_cap_obj *)(uintptr_t)fi->fh);
    fuse_reply_err(req, 0);
}

static void caps_read(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, size_t size, off_t off,
                      struct fuse_file_info *fi)
{
    const struct nub_cap_obj *obj = (const struct nub_cap_obj *)(uintptr_t)fi->fh;
    if (obj != NULL) {
        nubfs_reply_obj(req, obj, (uint64_t)off, size);
        return;
    }
    uint8_t hash[16];
    if (!(ino & NUBFS_INO_CAP_BIT) || nubfs_ino_hash(ino, hash) != 0) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    struct nub_reader r;
    struct nub_cap c;
    int rc = nubfs_reader_begin(fs, &r);
    if (rc == 0)
        rc = nub_reader_get(&r, hash, &c);
    if (rc != 0) {
        nubfs_reader_end(fs);
        fuse_reply_err(req, -rc);
        return;
    }
    /* The reader has checked [data_gpa, +len) is guest memory. */
    nubfs_reply_guest(req, fs, c.data_gpa, c.len, (uint64_t)off, size);
    nubfs_reader_end(fs);
}

static int caps_getattr(struct nubfs *fs, fuse_ino_t ino, struct stat *st, double *timeout)
{
    *timeout = NUBFS_CAP_TIMEOUT;
    return cap_attr(fs, ino, st);
}

static bool caps_is_dir(fuse_ino_t ino)
{
    return ino == NUBFS_INO_CAPS;
}

const struct nubfs_subtree nubfs_caps_tree = {
    .is_dir = caps_is_dir, .lookup = caps_lookup, .readdir = caps_readdir, .getattr = caps_getattr,
    .open = caps_open, .read = caps_read, .release = caps_release,
};
