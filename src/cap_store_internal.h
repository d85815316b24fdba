/* Internals of the cap store shared by cap_store.c (index, references,
 * accounting) and cap_backing.c (the files: memfds and packs, the part a
 * persistent store in a state directory replaces). */
#ifndef NUB_CAP_STORE_INTERNAL_H
#define NUB_CAP_STORE_INTERNAL_H

#include <pthread.h>

#include "cap_store.h"
#include "cap_window.h"

/* A pack: one memfd of NUB_CAP_PACK_SIZE bytes cut into nslots slots of
 * one class size. Slots are handed out by a bump index, then from the
 * stack of freed ones. Listed in its class while it has a free slot. */
struct cap_pack {
    struct cap_pack *prev, *next; /* in its class's list of packs with room */
    struct cap_pack *all_prev, *all_next; /* every pack of the store */
    int fd;
    uint8_t *map;                 /* the store's only writable mapping */
    nub_gpa gpa;
    uint32_t cls;
    uint32_t nslots, bump, live;
    uint32_t *freev;              /* freed slot indices */
    uint32_t nfree, free_cap;
    bool listed;
};

struct cap_class {
    uint32_t size;                /* bytes per slot, a multiple of 64 */
    struct cap_pack *avail;       /* packs with a free slot */
};

#define CAP_MAX_CLASSES 64

struct nub_cap_store {
    pthread_mutex_t mu;           /* index, counts, packs' slot lists */
    pthread_mutex_t create_mu;    /* one creator at a time (outside mu) */
    struct nub_cap_store_opts o;
    uint64_t seed;                /* index hash seed (random: authors cannot aim) */
    struct nub_cap_obj **buckets;
    uint64_t nbuckets;            /* a power of two */
    struct nub_cap_window window;
    struct cap_class classes[CAP_MAX_CLASSES];
    struct cap_pack *all_packs;
    uint32_t nclasses;
    struct nub_cap_store_stats st;
    uint32_t max_files;
    int dirfd;                    /* in_dir: caps/ (our dup), else -1 */
    uint64_t tmp_next;            /* .new-N names (atomic) */
    bool names_dirty;             /* a file was named since the last sync (mu) */
};

/* cap_backing.c. None of these takes the store lock unless it says so. */
/* Class index for len (0 < len <= NUB_CAP_PACK_MAX_CLASS). */
uint32_t cap_class_of(const struct nub_cap_store *s, uint64_t len);
void cap_classes_init(struct nub_cap_store *s);
/* A sealed memfd holding data[0, len) (len > 0), mapped read-only:
 * fills o->fd, o->bytes, o->map_len. */
int cap_file_make(struct nub_cap_obj *o, const void *data);
/* The same from a file descriptor (copy_file_range, else read). */
int cap_file_make_fd(struct nub_cap_obj *o, int src);
void cap_file_close(struct nub_cap_obj *o);
/* in_dir: a new .new-N for o (space for o->len reserved): fd or -errno. */
int cap_disk_new(struct nub_cap_obj *o);
/* in_dir: fsyncs fd and trades it for a read-only one: fd or -errno. */
int cap_disk_seal(struct nub_cap_obj *o, int fd);
/* in_dir: a packed cap's file (.new-N from its slot's bytes, fsynced). */
int cap_disk_copy(struct nub_cap_obj *o);
/* in_dir: .new-N -> <hex> once the hash is known (create_mu held). */
int cap_disk_name(struct nub_cap_obj *o);
/* in_dir: the file of an object that never was indexed (.new-N), or of
 * one whose last reference went (<hex>, unless a newer object with its
 * hash took the name: create_mu held). */
void cap_disk_unlink(struct nub_cap_obj *o);
/* in_dir: opens <hex> (len bytes, regular) for adopt: fd or -errno. */
int cap_disk_open(struct nub_cap_store *s, const uint8_t hash[16], uint64_t len);
/* adopt of a damaged cap: a sealed memfd of o->len zeros, mapped. */
int cap_file_zeros(struct nub_cap_obj *o);
/* adopt: an own file from fd (taken), mapped read-only. */
int cap_file_adopt(struct nub_cap_obj *o, int fd);
/* A slot for o in class cls: a lock-held step that may need a new pack
 * first. Returns 0 with o->pack/slot/fd/offset/bytes set, -EAGAIN when a
 * pack must be made (call cap_pack_new without the lock, then retry), or
 * -ENOSPC. Lock held. */
int cap_pack_take_slot(struct nub_cap_store *s, uint32_t cls, struct nub_cap_obj *o);
/* Makes, maps and lists a new pack for class cls. Lock NOT held. */
int cap_pack_new(struct nub_cap_store *s, uint32_t cls);
/* Frees o's slot (punching its whole pages first); an emptied pack is
 * unlisted and torn down (unmapped, then closed). Lock NOT held. */
void cap_pack_give_slot(struct nub_cap_store *s, struct nub_cap_obj *o);
/* Closes a pack without unmapping (store teardown). */
void cap_pack_destroy(struct cap_pack *p);

#endif /* NUB_CAP_STORE_INTERNAL_H */
