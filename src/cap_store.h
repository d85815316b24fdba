/* The cap store (docs/cap-store.md): the bytes of every cap as host
 * objects, one per distinct hash, found through a host-side index keyed
 * by the cap hash, so no read ever follows a gpa the guest wrote.
 *
 * A cap of at least file_min bytes has a backing file of its own (a
 * sealed memfd holding exactly its bytes from offset 0, readable by FUSE
 * passthrough); smaller ones share pack files (one size class per pack).
 * Each file is shown to the guest as a read-only memory slot in the cap
 * window through the mapper (the sandbox). An object lives while anyone
 * holds a reference (mounts, preloads, open files, an intake in progress);
 * the last reference frees its space at once for the store limit, and its
 * slot and file as soon as the guest is not running.
 *
 * Thread-safe. Lock order: the store's lock is innermost; it is never held
 * while calling the mapper or the release hook. */
#ifndef NUB_CAP_STORE_H
#define NUB_CAP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "guest_mem.h"

#define NUB_CAP_FILE_MIN_DEFAULT (64u * 1024u)
/* The largest pack size class; file_min may not exceed it. */
#define NUB_CAP_PACK_MAX_CLASS (2u * 1024u * 1024u)
#define NUB_CAP_PACK_SIZE (8u * 1024u * 1024u)

struct nub_cap_store;

/* One cap's bytes. The fields up to `backing_id` are fixed for the
 * object's life and may be read by anyone holding a reference. */
struct nub_cap_obj {
    uint8_t hash[16];
    uint64_t len;
    uint16_t kind;        /* the kind it was first published as (abi.h) */
    bool own_file;        /* fd holds exactly these bytes from offset 0 */
    int fd;               /* its own memfd or its pack's; -1 when len == 0 */
    off_t offset;         /* of byte 0 in fd */
    nub_gpa gpa;          /* of byte 0 in the guest's cap window */
    const uint8_t *bytes; /* read-only host mapping of byte 0; NULL when len == 0 */
    /* The daemon's FUSE passthrough backing id (0: none yet): set once
     * with nub_cap_obj_set_backing_id, handed to the release hook. */
    int backing_id;
    /* The rest belongs to cap_store.c. */
    struct nub_cap_obj *next;
    struct nub_cap_store *store;
    struct cap_pack *pack;
    uint32_t slot;
    uint32_t refs, opens;
    uint64_t alloc;       /* bytes it counts against the limit */
    uint64_t tmp_seq;     /* in_dir: its file is still .new-<tmp_seq> (0: named) */
    int verified;         /* nub_cap_obj_verify: 0 not yet, 1 good, -1 bad (atomic) */
    int damaged;          /* nub_cap_obj_intact: its file has the wrong size (atomic) */
    uint64_t map_len;     /* own file: bytes mapped (pages) */
    bool indexed;
};

/* How the store shows backing files to the guest (the sandbox:
 * nub_sandbox_map_ro / nub_sandbox_unmap). map NULL: nothing is shown
 * (host-only users, tests). map is called inside whatever call sequence
 * the caller of put holds; unmap from anywhere, and calls done(arg) when
 * the guest no longer sees the range (maybe later, maybe at once). */
struct nub_cap_mapper {
    void *ctx;
    int (*map)(void *ctx, nub_gpa gpa, uint64_t size, const void *host, int fd, off_t off);
    int (*unmap)(void *ctx, nub_gpa gpa, void (*done)(void *arg), void *arg);
    /* Slots the mapper can still add (NULL: unlimited). */
    uint32_t (*slots_free)(void *ctx);
};

struct nub_cap_store_opts {
    uint64_t file_min;    /* 0 = NUB_CAP_FILE_MIN_DEFAULT; at most NUB_CAP_PACK_MAX_CLASS */
    uint64_t limit;       /* bytes all objects may take; 0 = no limit but the window */
    nub_gpa window_gpa;   /* the cap window (page aligned) */
    uint64_t window_size;
    uint32_t max_files;   /* own files at most (fds); 0 = from RLIMIT_NOFILE */
    struct nub_cap_mapper mapper;
    /* A persistent store (DESIGN §10): in_dir with dirfd the state
     * directory's caps/ (the store dups it). Every cap but an empty one
     * is then also the file <32 hex digits> there, written under a
     * temporary name (.new-N), fsynced and renamed (nub_cap_store_sync
     * makes the names durable); a cap with a file of its own is backed
     * by that file instead of a sealed memfd; its file goes with its last
     * reference. in_dir false: memfds only (ephemeral). */
    bool in_dir;
    int dirfd;
    /* Called once per object right before it is torn down (no store lock
     * held), e.g. to close the object's passthrough backing id. */
    void (*release_hook)(void *ctx, struct nub_cap_obj *obj);
    void *release_ctx;
    /* in_dir: asked (no store lock held) before a named cap file is
     * removed, by the last reference or the sweep: true keeps the file
     * (a package the daemon keeps on disk without mounting it needs it). */
    bool (*file_wanted)(void *ctx, const uint8_t hash[16]);
    void *wanted_ctx;
};

int nub_cap_store_new(const struct nub_cap_store_opts *o, struct nub_cap_store **out);
/* Frees everything, referenced or not (daemon exit; the guest is gone:
 * nothing is unmapped). */
void nub_cap_store_free(struct nub_cap_store *s);

/* Find-or-create. hash must be the XXH3-128 of data[0, len) (the caller
 * checked it). If the hash is present its bytes are compared: equal, *out
 * gets a new reference to the object (*created = false); different,
 * -EEXIST. Else a new object is made, filled, sealed and mapped
 * (*created = true). -ENOSPC over the limit, the window or the own-file
 * budget (then packed if a class holds it), -EIO/-ENOMEM/-errno from
 * memfd or the mapper. */
int nub_cap_store_put(struct nub_cap_store *s, const uint8_t hash[16], const void *data,
                      uint64_t len, uint16_t kind, struct nub_cap_obj **out, bool *created);

/* The same for the contents of a regular file (preload): the store
 * hashes what it copied, so the name always matches the stored bytes;
 * hash_out gets it. -EAGAIN if the file changed while it was read. In a
 * persistent store the file is hashed first: a cap already held, or a
 * file <hex> already in the directory with the same length and bytes
 * (compared), is taken as it is, not written again (stats reused). */
int nub_cap_store_put_fd(struct nub_cap_store *s, int fd, uint64_t len, uint16_t kind,
                         uint8_t hash_out[16], struct nub_cap_obj **out, bool *created);

/* Tests only (-o test_forge_cap): an object under a hash that is NOT its
 * bytes' (as an XXH3-128 collision would make). -EEXIST if present. */
int nub_cap_store_put_forged(struct nub_cap_store *s, const uint8_t hash[16], const void *data,
                             uint64_t len, uint16_t kind, struct nub_cap_obj **out);

/* A new reference to the object with this hash, or NULL. */
struct nub_cap_obj *nub_cap_store_get(struct nub_cap_store *s, const uint8_t hash[16]);
/* The same, counted as an open file handle (stats: open_only_*). */
struct nub_cap_obj *nub_cap_store_open(struct nub_cap_store *s, const uint8_t hash[16]);

/* In a persistent store: the object for a cap whose file <hex> is
 * already in the directory (a restart), taken as it is: no hashing
 * (nub_cap_obj_verify checks it later). A present object gets a new
 * reference (-EEXIST if its length differs). -ENOENT no such file,
 * -EUCLEAN not a regular file of len bytes, -ENOSPC, -errno. */
int nub_cap_store_adopt(struct nub_cap_store *s, const uint8_t hash[16], uint64_t len,
                        uint16_t kind, struct nub_cap_obj **out);
/* adopt: a cap of kind NUB_CAP_DATA whose file has the wrong size or
 * type is adopted all the same, *damaged*: the guest sees zeros of its
 * length (never a fault), and nub_cap_obj_intact says -EIO for it, so
 * every read of it is refused. Manifests and modules must be whole
 * (-EUCLEAN). */
/* 0, or -EIO when the object's bytes cannot be served: it was adopted
 * damaged, or its own file in the directory is now shorter than the cap
 * (truncated behind the daemon's back: reading the mapping would fault).
 * *first (if not NULL) is set when this call found it. */
int nub_cap_obj_intact(struct nub_cap_obj *o, bool *first);
/* The same for the object of this hash, taking no reference (callers
 * that hold the sandbox lock and read its bytes through guest memory);
 * 0 when there is none. */
int nub_cap_store_intact(struct nub_cap_store *s, const uint8_t hash[16]);
/* fsync of the directory once files were named since the last one:
 * 0 or -errno (0 without a directory). */
int nub_cap_store_sync(struct nub_cap_store *s);
/* Removes every file of the directory that is not an object's (files of
 * caps no package holds, .new-N of a mount that never finished); calls
 * gone(ctx, name) for each. Returns how many went. */
unsigned nub_cap_store_sweep(struct nub_cap_store *s, void (*gone)(void *ctx, const char *name),
                             void *ctx);
/* Removes the files of these caps from the directory where no object
 * holds them and file_wanted does not want them (the caps of a package
 * kept on disk that was dropped); calls gone(ctx, hex) for each.
 * Returns how many went. */
unsigned nub_cap_store_drop_files(struct nub_cap_store *s, const uint8_t (*hashes)[16], size_t n,
                                  void (*gone)(void *ctx, const char *name), void *ctx);
/* Hashes the object's bytes once and compares with its name (-o verify):
 * 0 they match, -EUCLEAN they do not (remembered: the bytes cannot
 * become right again). */
int nub_cap_obj_verify(struct nub_cap_obj *o);

struct nub_cap_obj *nub_cap_obj_ref(struct nub_cap_obj *o);
void nub_cap_obj_unref(struct nub_cap_obj *o);
/* One more reference counted as an open file handle (on behalf of open
 * files), dropped with nub_cap_obj_close. */
struct nub_cap_obj *nub_cap_obj_open_ref(struct nub_cap_obj *o);
/* Drops a reference nub_cap_store_open took. */
void nub_cap_obj_close(struct nub_cap_obj *o);
/* Sets the backing id if none is set yet; returns the one in force. */
int nub_cap_obj_set_backing_id(struct nub_cap_obj *o, int id);

struct nub_cap_store_stats {
    uint64_t objects;        /* distinct caps with bytes held */
    uint64_t bytes;          /* sum of their lengths */
    uint64_t used;           /* bytes counted against the limit */
    uint64_t limit;          /* 0: only the window bounds it */
    uint64_t file_min;
    uint64_t files;          /* objects with a file of their own */
    uint64_t packs;          /* pack files */
    uint64_t packed;         /* objects in packs */
    uint64_t slots;          /* slots mapped: files + packs */
    uint64_t open_only;      /* objects only open file handles hold */
    uint64_t open_only_bytes;
    uint64_t created, shared, exists_refused, nospc_refused;
    uint64_t damaged;        /* objects found damaged (nub_cap_obj_intact) */
    uint64_t reused;         /* put_fd: files already in the directory, taken unwritten */
    uint64_t window_free;    /* bytes of the cap window not in use */
};
void nub_cap_store_stats(struct nub_cap_store *s, struct nub_cap_store_stats *out);

#endif /* NUB_CAP_STORE_H */
