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

/* READDIRPLUS: entries in chunks no longer than what still fits in the
 * reply, read from the directory, then their inodes taken for the whole
 * chunk under one hold of the inode map's lock (nubfs_ino_ref_many), then
 * formatted. A listing of caps/ is always READDIRPLUS (op_init turns the
 * kernel's auto mode off; docs/ARCHITECTURE.md "Listing caps/"), so this
 * is the path every `ls` takes. 0 at the end, 1 when the reply is full,
 * or the reader's error (the entries before it are in the reply). */
static int list_plus(fuse_req_t req, struct nubfs *fs, const struct nub_reader *r,
                     uint64_t *cursor, char *buf, size_t size, size_t *used)
{
    enum { CHUNK = NUBFS_INO_REF_MANY_MAX };
    struct nub_cap c[CHUNK];
    uint8_t hashes[CHUNK][16];
    uint64_t inos[CHUNK];
    off_t next[CHUNK];
    /* Every name is 32 hex digits: every entry needs the same room. */
    size_t each = fuse_add_direntry_plus(req, NULL, 0, "00000000000000000000000000000000", NULL, 0);
    for (;;) {
        size_t room = each == 0 ? 0 : (size - *used) / each, k = 0;
        if (room == 0)
            return 1;
        if (room > CHUNK)
            room = CHUNK;
        int rc = 0;
        while (k < room && (rc = nub_reader_next(r, cursor, &c[k], NULL)) == 1) {
            memcpy(hashes[k], c[k].hash, 16);
            next[k++] = (off_t)(*cursor + 2);
        }
        nubfs_ino_ref_many((const uint8_t(*)[16])hashes, k, inos);
        for (size_t i = 0; i < k; i++) {
            if (inos[i] == 0)
                continue; /* unnamable (inode probe exhausted) or no memory: skip it */
            char name[33];
            nub_hash_to_hex(c[i].hash, name);
            struct fuse_entry_param e;
            cap_entry(fs, inos[i], &c[i], &e);
            if (!nubfs_dirbuf_add(req, buf, size, used, true, name, &e, next[i])) {
                /* Cannot happen (the chunk was sized to fit); if it did,
                 * the kernel resumes at this entry: give back the
                 * references of what was not sent. */
                for (; i < k; i++)
                    if (inos[i] != 0)
                        nubfs_ino_forget(inos[i], 1);
                return 1;
            }
        }
        if (rc != 1)
            return rc; /* 0: the end; < 0: the reader's error */
    }
}

/* READDIR (names, no inodes): as lookup would number them. */
static int list_plain(fuse_req_t req, struct nubfs *fs, const struct nub_reader *r,
                      uint64_t *cursor, char *buf, size_t size, size_t *used)
{
    struct fuse_entry_param e = {0};
    struct nub_cap c;
    for (;;) {
        uint64_t before = *cursor;
        int rc = nub_reader_next(r, cursor, &c, NULL);
        if (rc != 1)
            return rc;
        char name[33];
        nub_hash_to_hex(c.hash, name);
        nubfs_file_attr(fs, nubfs_ino_peek(c.hash), c.len, &e.attr);
        if (!nubfs_dirbuf_add(req, buf, size, used, false, name, &e, (off_t)(*cursor + 2))) {
            *cursor = before;
            return 1;
        }
    }
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

    struct nub_reader r;
    int rc = nubfs_reader_begin(fs, &r);
    if (rc == -ENOENT) { /* no directory yet: empty */
        nubfs_reader_end(fs);
        goto out;
    }
    uint64_t cursor = off > 2 ? (uint64_t)off - 2 : 0;
    if (rc == 0)
        rc = plus ? list_plus(req, fs, &r, &cursor, buf, size, &used)
                  : list_plain(req, fs, &r, &cursor, buf, size, &used);
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
