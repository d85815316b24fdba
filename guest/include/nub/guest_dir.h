/* The cap directory, guest side: the open-addressing table of abi.h that
 * the host reader walks in guest memory.
 *
 * The guest keeps its own copy of the table geometry (capacity, table
 * addresses, counts, migration state) and only *publishes* it in the
 * header, so a corrupted header (TEST_CORRUPT) misleads the host reader,
 * never the guest's loops; every probe is bounded by a capacity. Entries say
 * nothing about who owns the data bytes: callers decide (PUT frees its
 * copy, mounts keep package bytes in place).
 *
 * Growth is incremental (abi.h): no call ever rehashes the whole table.
 * When an insert would pass load 1/2 (nub_dir_max_count) the guest allocates a table twice as
 * large and keeps the previous one as the "old" table; every mutating call
 * then moves a bounded number of old slots (nub_dir_tick) until the old
 * table is empty and freed. Why that always finishes before the next
 * growth is argued in dir.c. */
#ifndef NUB_GUEST_DIR_H
#define NUB_GUEST_DIR_H

#include <stdint.h>

#include "nub/abi.h"
#include "nub/guest_heap.h"

/* Old slots moved per new entry inserted and per mutating call (tick).
 * The proof in dir.c needs MIGRATE_PER_INSERT >= 1 / maximum load = 2. */
#define NUB_DIR_MIGRATE_PER_INSERT 4u
#define NUB_DIR_MIGRATE_PER_CALL 16u

/* The most entries a table of `capacity` slots holds: load 1/2. At 3/4
 * (the rule until issue 8 item 10) a Robin Hood insert walked ~8 slots to
 * the run's end and moved ~3 residents; at 1/2 it is ~2.5 and ~1, which
 * is most of a MOUNT's per-cap directory work. The cost is memory: 80 to
 * 160 bytes of table per cap instead of 53 to 107, so the 256 MiB default
 * guest holds 2^20 caps in a 2^21-slot table (84 MB) before the growth to
 * 2^22 (which would need 168 + 84 MB at once), where 3/4 held 1.5 M. */
static inline uint64_t nub_dir_max_count(uint64_t capacity)
{
    return capacity / 2;
}

struct nub_dir {
    struct nub_heap *heap;
    uint64_t header_gpa;  /* struct nub_dir_header */
    uint64_t entries_gpa; /* struct nub_dir_entry[capacity]: the new table */
    uint64_t capacity;
    uint64_t count;       /* entries in both tables */
    uint64_t total_bytes;
    uint64_t generation;
    uint64_t seed;
    /* Incremental growth; all 0 unless a migration is under way. */
    uint64_t old_gpa;      /* table being emptied */
    uint64_t old_capacity;
    uint64_t old_count;    /* entries still in it */
    uint64_t mig_next;     /* old slot moved next (the scan goes downwards) */
    uint64_t mig_left;     /* old slots not yet scanned */
    uint64_t debt;         /* slots owed by inserts since the last tick */
    int reserved;          /* inside nub_dir_reserve .. commit/rollback */
    uint64_t fixed_gpa;    /* the first table when it is not a heap block
                              (nub_dir_create_at), else 0: never freed */
    uint64_t work;         /* table slots touched, ever: the counter the
                              per-call bound tests read */
};

/* Where a reservation started (nub_dir_reserve), to undo it exactly. */
struct nub_dir_mark {
    uint64_t entries_gpa, capacity;
    uint64_t old_gpa, old_capacity, old_count, mig_next, mig_left, debt;
    uint64_t grown_gpa;     /* table the reservation allocated, or 0 */
    uint64_t retired_gpa;   /* old table emptied by the reservation, still */
    uint64_t retired_capacity; /* allocated until commit (for the heap level) */
    uint64_t count;         /* entries at nub_dir_reserve */
};

/* Allocates the header and a table of NUB_DIR_MIN_CAPACITY slots from the
 * heap (owner KERNEL). NUB_ST_OK or NUB_ST_NOMEM. */
enum nub_status nub_dir_create(struct nub_dir *d, struct nub_heap *heap, uint64_t seed);
/* The same with the header and the first table at gpa: NUB_DIR_FIXED_BYTES
 * of zero memory the directory keeps for its life (e.g. from
 * nub_heap_init_reserve; no allocation at all). Tables of a growth come
 * from the heap as ever; the first is never freed. *d must be zero (INIT's
 * core is .bss): only its nonzero fields are set, as a 136-byte store was
 * ~17 emulated string iterations of every start. Always NUB_ST_OK. */
#define NUB_DIR_HEADER_BYTES 128u
#define NUB_DIR_FIXED_BYTES                                                                        \
    (NUB_DIR_HEADER_BYTES + (uint64_t)NUB_DIR_MIN_CAPACITY * sizeof(struct nub_dir_entry))
enum nub_status nub_dir_create_at(struct nub_dir *d, struct nub_heap *heap, uint64_t seed,
                                  uint64_t gpa);

/* The entry for hash (in either table), or NULL. The pointer is valid
 * until the next mutation or tick (entries move). */
struct nub_dir_entry *nub_dir_lookup(const struct nub_dir *d, const uint8_t hash[16]);

/* Adds one reference to hash. If it is new, inserts {data_gpa, len, kind}
 * with refcount 1 into the new table (starting a growth first if the load
 * would pass 1/2, or if Robin Hood placement would put an entry
 * NUB_DIR_MAX_PROBE or more slots from home) and sets *existed = 0. If it
 * exists with the same len: refcount + 1, *existed = 1 (data_gpa is not
 * stored; the caller drops its copy). Errors, with nothing changed:
 * NUB_ST_EXISTS (same hash, different len), NUB_ST_OVERFLOW (refcount or
 * byte total would wrap), NUB_ST_NOMEM (no room to grow), NUB_ST_QUOTA
 * (table at NUB_DIR_MAX_CAPACITY, or the probe bound needs a growth that
 * cannot happen now: a migration or reservation under way), NUB_ST_STATE
 * (load growth due while a migration is unfinished, or during a
 * reservation that did not reserve enough: a broken invariant, or a
 * migration stalled by the probe bound; dir.c). While a
 * migration is under way an insert also moves NUB_DIR_MIGRATE_PER_INSERT
 * old slots (inside a reservation: owes them to the next tick). */
enum nub_status nub_dir_put(struct nub_dir *d, const uint8_t hash[16], uint64_t data_gpa,
                            uint64_t len, uint16_t kind, uint32_t *refcount, int *existed);

/* nub_dir_put in two halves, for a caller that looks every cap up first
 * and reserves room only for the absent ones (MOUNT). nub_dir_ref: if
 * hash is present, one more reference as nub_dir_put (NUB_ST_OK, or
 * EXISTS / OVERFLOW with nothing changed); if absent, NUB_ST_NOENT and
 * *h64 = nub_dir_hash(hash, seed). nub_dir_insert: inserts hash, which
 * the caller knows to be absent (nub_dir_ref said so and no put of an
 * equal hash came since: the directory does not look again), refcount 1,
 * with nub_dir_put's errors for a new entry. */
enum nub_status nub_dir_ref(struct nub_dir *d, const uint8_t hash[16], uint64_t len,
                            uint32_t *refcount, uint64_t *h64);
enum nub_status nub_dir_insert(struct nub_dir *d, const uint8_t hash[16], uint64_t h64,
                               uint64_t data_gpa, uint64_t len, uint16_t kind);

/* Drops one reference. *left = references remaining. When it reaches 0 the
 * entry is removed from its table (backward-shift deletion) and copied to
 * *removed so the caller can free the data. NUB_ST_NOENT if hash is absent. */
enum nub_status nub_dir_release(struct nub_dir *d, const uint8_t hash[16], uint32_t *left,
                                struct nub_dir_entry *removed);

/* The migration work of one successful mutating call: moves up to
 * debt + NUB_DIR_MIGRATE_PER_CALL old slots into the new table, frees the
 * old table once it is empty. Does nothing when no migration is under way
 * or inside a reservation. */
void nub_dir_tick(struct nub_dir *d);

/* For a call that puts several entries all or nothing (MOUNT): makes room
 * for up to `fresh` new entries so that the puts that follow never grow
 * the table, and records where it started in *m. Growth done here may
 * first finish a migration under way (its old table is kept allocated
 * until nub_dir_commit). Puts made after it do not migrate (their debt is
 * paid by the tick that ends the call). NUB_ST_OK (then exactly one of
 * commit/rollback must follow), or NUB_ST_NOMEM / NUB_ST_QUOTA (maximum
 * capacity, or a migration to finish first is stalled by the probe bound)
 * with nothing changed and no reservation open. */
enum nub_status nub_dir_reserve(struct nub_dir *d, uint64_t fresh, struct nub_dir_mark *m);

/* Inside a reservation in which no new entry was put yet (references on
 * present ones may have been added): room for `fresh` more, as
 * nub_dir_reserve would have made it (at most one growth per
 * reservation). On an error the reservation stays open (commit or
 * rollback still follows) and nothing but migration progress changed. */
enum nub_status nub_dir_reserve_more(struct nub_dir *d, uint64_t fresh, struct nub_dir_mark *m);

/* Ends a reservation that stays: frees what it retired. */
void nub_dir_commit(struct nub_dir *d, struct nub_dir_mark *m);

/* Ends a reservation whose puts were all released again, in reverse order:
 * gives back the table it grew into, so entries, count, bytes, capacity and
 * the heap's used level are as at nub_dir_reserve (the generation
 * advances). O(1): no entry moves. Panics if a put was not released. */
void nub_dir_rollback(struct nub_dir *d, const struct nub_dir_mark *m);

/* 0 if the published header matches the guest's view (outside a
 * reservation: inside one it is published by the commit or rollback), every entry is
 * findable from its home slot in its own table without crossing an empty
 * slot and fewer than NUB_DIR_MAX_PROBE slots from it (-16; -26 in the old
 * table), every run of used slots is in Robin Hood order (homes never
 * decrease: -17, -27), no hash is in both tables, the scanned part of
 * the old table is empty and the migration is on schedule (tests); a
 * negative code otherwise. */
int nub_dir_check(const struct nub_dir *d);

#endif /* NUB_GUEST_DIR_H */
