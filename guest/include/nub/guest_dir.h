/* The cap directory, guest side: the open-addressing table of abi.h that
 * the host reader walks in guest memory.
 *
 * The guest keeps its own copy of the table geometry (capacity, table
 * address, counts) and only *publishes* it in the header, so a corrupted
 * header (TEST_CORRUPT) misleads the host reader, never the guest's loops;
 * every probe is bounded by the capacity. Entries say nothing about who
 * owns the data bytes: callers decide (PUT frees its copy, mounts keep
 * package bytes in place). */
#ifndef NUB_GUEST_DIR_H
#define NUB_GUEST_DIR_H

#include <stdint.h>

#include "nub/abi.h"
#include "nub/guest_heap.h"

struct nub_dir {
    struct nub_heap *heap;
    uint64_t header_gpa;  /* struct nub_dir_header */
    uint64_t entries_gpa; /* struct nub_dir_entry[capacity] */
    uint64_t capacity;
    uint64_t count;
    uint64_t total_bytes;
    uint64_t generation;
    uint64_t seed;
};

/* Home slot of a hash: XXH3_64bits_withSeed(hash, 16, seed) & (capacity-1).
 * The host reader must compute exactly this. capacity: a power of two. */
uint64_t nub_dir_home_slot(const uint8_t hash[16], uint64_t seed, uint64_t capacity);

/* Allocates the header and a table of NUB_DIR_MIN_CAPACITY slots from the
 * heap (owner KERNEL). NUB_ST_OK or NUB_ST_NOMEM. */
enum nub_status nub_dir_create(struct nub_dir *d, struct nub_heap *heap, uint64_t seed);

/* The entry for hash, or NULL. The pointer is valid until the next
 * mutation (growth moves the table). */
struct nub_dir_entry *nub_dir_lookup(const struct nub_dir *d, const uint8_t hash[16]);

/* Adds one reference to hash. If it is new, inserts {data_gpa, len, kind}
 * with refcount 1 (growing the table first if the load would pass 3/4) and
 * sets *existed = 0. If it exists with the same len: refcount + 1,
 * *existed = 1 (data_gpa is not stored; the caller drops its copy). Errors,
 * with nothing changed: NUB_ST_EXISTS (same hash, different len),
 * NUB_ST_OVERFLOW (refcount or byte total would wrap), NUB_ST_NOMEM (no
 * room to grow), NUB_ST_QUOTA (table at NUB_DIR_MAX_CAPACITY). */
enum nub_status nub_dir_put(struct nub_dir *d, const uint8_t hash[16], uint64_t data_gpa,
                            uint64_t len, uint16_t kind, uint32_t *refcount, int *existed);

/* Drops one reference. *left = references remaining. When it reaches 0 the
 * entry is removed (backward-shift deletion) and copied to *removed so the
 * caller can free the data. NUB_ST_NOENT if hash is absent. */
enum nub_status nub_dir_release(struct nub_dir *d, const uint8_t hash[16], uint32_t *left,
                                struct nub_dir_entry *removed);

/* 0 if the published header matches the guest's view and every entry is
 * findable from its home slot without crossing an empty slot (tests). */
int nub_dir_check(const struct nub_dir *d);

#endif /* NUB_GUEST_DIR_H */
