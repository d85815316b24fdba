/* Passthrough opens of regions under mounts/ (docs/cap-store.md "Reads").
 *
 * An immutable region's bytes are a cap, so a region whose cap has a file
 * of its own is read like caps/<hash>: the kernel reads the memfd itself
 * (FOPEN_PASSTHROUGH). One thing differs: a region's inode stays the same
 * when its package is replaced (fs/mnt_names.c), so two opens of one
 * inode can hold two different caps, and the kernel (Linux 6.9+,
 * fs/fuse/iomode.c) lets an inode have one backing file while any
 * passthrough file is open on it: a passthrough open with another backing
 * fails (EBUSY), and so does any open without passthrough (EIO). So this
 * file keeps, per region inode with passthrough files open, the backing
 * they use (with a reference on its object, so that its id stays
 * registered) and how many there are, and answers an open by:
 *   - passthrough of the handle's own cap file, if the inode has no
 *     backing yet or the same one;
 *   - otherwise, if the inode has one (a file of another version is still
 *     open): FOPEN_PASSTHROUGH with that backing plus FOPEN_DIRECT_IO, so
 *     reads come to the daemon, which serves them from the handle's cap
 *     (or live from guest memory); only an mmap of such a file shows the
 *     other version's bytes (the kernel maps the inode's backing);
 *   - otherwise spliced by the daemon (direct_io), as before.
 * Our count of an inode's passthrough opens drops at RELEASE, which the
 * kernel sends after it let the file's backing go, so it is never below
 * the kernel's: when it is 0 the kernel holds no backing for the inode;
 * while it is not, every open gets the backing it holds. */
#include "nubfs.h"

#include <stdlib.h>

struct pt_ino {
    struct pt_ino *next;
    fuse_ino_t ino;
    struct nub_cap_obj *obj; /* an open reference: keeps backing_id registered */
    int backing_id;
    uint32_t opens;
};

#define PT_INO_BUCKETS 256u

static struct {
    pthread_mutex_t mu;
    struct pt_ino *bucket[PT_INO_BUCKETS];
    uint64_t pt, served, spliced; /* opens, for stats */
} inos = {.mu = PTHREAD_MUTEX_INITIALIZER};

static struct pt_ino **slot_of(fuse_ino_t ino)
{
    struct pt_ino **p = &inos.bucket[(ino ^ (ino >> 17) ^ (ino >> 33)) % PT_INO_BUCKETS];
    while (*p != NULL && (*p)->ino != ino)
        p = &(*p)->next;
    return p;
}

int nubfs_region_pt_open(fuse_req_t req, fuse_ino_t ino, struct nub_cap_obj *obj,
                         struct fuse_file_info *fi, bool *pt)
{
    *pt = false;
    fi->keep_cache = 0;
    fi->direct_io = 1; /* unless the kernel reads the cap's file: no page cache */
    int own = nubfs_pt_backing_id(obj), id = 0;
    pthread_mutex_lock(&inos.mu);
    struct pt_ino **p = slot_of(ino);
    if (*p != NULL) {
        id = (*p)->backing_id;
        (*p)->opens++;
    } else if (own > 0) {
        struct pt_ino *e = malloc(sizeof(*e));
        if (e != NULL) {
            *e = (struct pt_ino){.ino = ino, .obj = nub_cap_obj_open_ref(obj), .backing_id = own,
                                 .opens = 1};
            *p = e;
            id = own;
        }
    }
    pthread_mutex_unlock(&inos.mu);
    if (id <= 0) {
        __atomic_add_fetch(&inos.spliced, 1, __ATOMIC_RELAXED);
        return fuse_reply_open(req, fi);
    }
    if (id == own)
        fi->direct_io = 0; /* the kernel reads (and maps) the cap's own file */
    else {
        static int said;
        if (!__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
            nubfs_log("reads: a region under mounts/ opened while a file of another "
                      "version of it is open: read by the daemon until that closes "
                      "(stats store.region_served_opens)");
    }
    *pt = true;
    int rc = nubfs_pt_reply_with(req, fi, id);
    if (rc != 0) { /* interrupted: no release comes */
        nubfs_region_pt_release(ino);
        *pt = false;
        return rc;
    }
    __atomic_add_fetch(id == own ? &inos.pt : &inos.served, 1, __ATOMIC_RELAXED);
    return 0;
}

void nubfs_region_pt_release(fuse_ino_t ino)
{
    struct pt_ino *gone = NULL;
    pthread_mutex_lock(&inos.mu);
    struct pt_ino **p = slot_of(ino);
    if (*p != NULL && --(*p)->opens == 0) {
        gone = *p;
        *p = gone->next;
    }
    pthread_mutex_unlock(&inos.mu);
    if (gone != NULL) {
        nub_cap_obj_close(gone->obj); /* may unregister the backing: outside the lock */
        free(gone);
    }
}

void nubfs_region_pt_counts(uint64_t *pt, uint64_t *served, uint64_t *spliced)
{
    *pt = __atomic_load_n(&inos.pt, __ATOMIC_RELAXED);
    *served = __atomic_load_n(&inos.served, __ATOMIC_RELAXED);
    *spliced = __atomic_load_n(&inos.spliced, __ATOMIC_RELAXED);
}
