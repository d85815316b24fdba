/* The cap directory, guest side (see nub/guest_dir.h).
 *
 * Incremental growth. Kvm-pvm emulates guest instructions at ~1-2 M/s and
 * every call has a 5 s watchdog, so no call may rehash the whole table
 * (~140 instructions per entry: 49k caps already took too long). Instead:
 *
 *   - When an insert would pass load 1/2 (nub_dir_max_count), a table of
 *     twice the capacity is allocated (fresh heap memory is zero: no
 *     guest loop) and becomes the
 *     "new" table; the previous one becomes the "old" table. Inserts go to
 *     the new table only; lookups, refcount changes and deletions go to
 *     whichever table holds the hash (new first). A hash is never in both.
 *   - Each insert then scans NUB_DIR_MIGRATE_PER_INSERT old slots, moving
 *     every used one into the new table (inside a reservation, i.e. a
 *     MOUNT, it only records them as debt), and each successful mutating
 *     call ends with nub_dir_tick, which scans the debt plus
 *     NUB_DIR_MIGRATE_PER_CALL more. When the old table is empty it is
 *     freed (the host scrubs it).
 *
 * Keeping the old table a valid linear-probing table without rehashing:
 * the scan starts just below an empty slot e0 of the old table and walks
 * DOWNWARDS (e0-1, e0-2, ... wrapping, e0+1 last). So the slot after the
 * one being moved is always empty (it is e0 or was already emptied): the
 * moved entry ends its cluster, no other entry's probe path crosses it,
 * and clearing it needs no backward shift. Nothing is ever inserted into
 * the old table, and backward-shift deletion there moves entries only
 * towards their home, inside the cluster, so the scanned part stays empty
 * and the unscanned part stays a valid table that the guest and the host
 * reader probe the ordinary way.
 *
 * Why a migration always ends before the next growth is due. Let C be the
 * new capacity, O <= C/2 the old one, left the old slots not yet scanned
 * (at most O - 1), debt the slots owed by inserts since the last tick and
 * K = NUB_DIR_MIGRATE_PER_INSERT. Invariant (checked by nub_dir_check):
 *     left <= debt + K * (C/2 - count).
 *   - At a growth by put: count = O/2 (the first insert past 1/2 of O),
 *     C = 2O, so the right side is >= K * O/2 >= O > left for K >= 2.
 *     At a growth by nub_dir_reserve: count <= O/2 and C >= 2O, same.
 *     (K = 4 ends a migration half way to the next growth: K = 2 keeps
 *     two tables, and lookups in both, for longer and measured slower.)
 *   - An insert raises count by 1 and either scans K slots (left drops by
 *     K, or the migration ends) or raises debt by K: the right side drops
 *     by no more than left does. A deletion lowers count: it grows. A tick
 *     scans min(left, debt + PER_CALL) slots and zeroes debt: again left
 *     drops by at least what the right side drops (or the migration ends).
 * The next growth is due when an insert finds count = C/2; the invariant
 * then says left <= debt. Debt only exists between the puts of a
 * reservation and the tick that ends its call, and a reservation never
 * grows in a put, so in the guest a due growth finds the migration over.
 * If the invariant were ever broken (a lost debt, memory corruption), put
 * refuses with NUB_ST_STATE rather than do unbounded work; when left <=
 * debt (a caller that skipped the tick) it finishes the migration first,
 * which costs no more than the tick it skipped. For nub_dir_reserve the
 * same argument bounds finishing a migration under way by K slots per
 * fresh entry: work proportional to the package, like the rest of MOUNT.
 *
 * Per call, the directory touches O(probe lengths + K * inserts + PER_CALL)
 * slots, whatever the table size (d->work counts them for the tests).
 *
 * The probe bound (abi.h): every entry lies fewer than NUB_DIR_MAX_PROBE
 * slots after its home, so lookups stop there, the guest's and the host
 * reader's alike. Inserts (fresh ones and migrated ones) use Robin Hood
 * placement: every run of used slots holds its entries in order of home
 * (a new entry goes in front of the first resident whose home is not
 * before its own, and the rest of the run moves up one slot). That gives
 * the smallest longest distance any placement of the same hashes could
 * (~30 at load 3/4 and 2^26 slots, less at 1/2, against ~300 for first-come
 * placement), and the lookups stay plain linear probes.
 * Backward-shift deletion keeps that order and only shortens distances;
 * undoing puts in reverse order still restores the layout exactly. An
 * insert whose placement would still put some entry MAX_PROBE or more from
 * home changes nothing (a dry run walks first) and:
 *   - a fresh put grows the table early (the new table is empty, so the
 *     entry lands at home); the schedule above holds a fortiori, since
 *     count < C/2 at such a growth. If growth is not possible now (a
 *     migration or reservation under way, or the maximum capacity) the
 *     put is refused with NUB_ST_QUOTA;
 *   - a migrated entry stays where it is in the old table and the scan
 *     stops there (it retries on the next migration step): the old table
 *     is still valid and every entry findable. A growth that falls due
 *     meanwhile is refused (NUB_ST_STATE, the schedule check) instead of
 *     doing unbounded work; releases eventually unblock it.
 * With random homes (the seed is secret) either case is far too unlikely
 * to happen by chance; tests force them with chosen hashes. */
#include <string.h>

#include "nub/guest_addr.h"
#include "nub/dir_slot.h"
#include "nub/guest_dir.h"
#include "nub/guest_log.h"

#define K_INSERT ((uint64_t)NUB_DIR_MIGRATE_PER_INSERT)
#define ENTRY ((uint64_t)sizeof(struct nub_dir_entry))
#define MAX_PROBE ((uint64_t)NUB_DIR_MAX_PROBE)

static struct nub_dir_entry *table(uint64_t gpa) { return (struct nub_dir_entry *)nub_mem_ptr(gpa); }

static int used(const struct nub_dir_entry *e) { return (e->flags & NUB_DIR_F_USED) != 0; }

/* Each entry keeps its distance from home in its flags (abi.h
 * NUB_DIR_DIST_SHIFT), so placing, shifting and probing need no hash of
 * the residents (one XXH3 each, ~25 emulated instructions). */
static uint64_t dist_of(const struct nub_dir_entry *e) { return e->flags >> NUB_DIR_DIST_SHIFT; }

static void set_dist(struct nub_dir_entry *e, uint64_t dist)
{
    e->flags = (uint16_t)((e->flags & NUB_DIR_F_USED) | (dist << NUB_DIR_DIST_SHIFT));
}

/* The header the host reads, as the guest's view says it must be. */
static struct nub_dir_header header_of(const struct nub_dir *d)
{
    return (struct nub_dir_header){.magic = NUB_DIR_MAGIC,
                                   .capacity = d->capacity,
                                   .count = d->count,
                                   .entries_gpa = d->entries_gpa,
                                   .generation = d->generation,
                                   .total_bytes = d->total_bytes,
                                   .old_entries_gpa = d->old_gpa,
                                   .old_capacity = d->old_capacity,
                                   .old_count = d->old_count,
                                   .migrate_next = d->mig_next};
}

static void publish(const struct nub_dir *d)
{
    *(struct nub_dir_header *)nub_mem_ptr(d->header_gpa) = header_of(d);
}

/* After a put or release: inside a reservation the header is published
 * once, by its commit or rollback (the host reads it only between calls),
 * not once per cap. */
static void changed(const struct nub_dir *d)
{
    if (!d->reserved)
        publish(d);
}

_Static_assert(sizeof(struct nub_dir_header) <= NUB_DIR_HEADER_BYTES, "header fits its reserve");

enum nub_status nub_dir_create(struct nub_dir *d, struct nub_heap *heap, uint64_t seed)
{
    *d = (struct nub_dir){.heap = heap, .capacity = NUB_DIR_MIN_CAPACITY, .seed = seed};
    if (nub_heap_alloc(heap, sizeof(struct nub_dir_header), 0, NUB_OWNER_KERNEL,
                       &d->header_gpa) != NUB_ST_OK)
        return NUB_ST_NOMEM;
    if (nub_heap_alloc(heap, d->capacity * ENTRY, 0, NUB_OWNER_KERNEL, &d->entries_gpa) !=
        NUB_ST_OK) {
        nub_heap_free(heap, d->header_gpa, NUB_OWNER_KERNEL);
        return NUB_ST_NOMEM;
    }
    publish(d);
    return NUB_ST_OK;
}

enum nub_status nub_dir_create_at(struct nub_dir *d, struct nub_heap *heap, uint64_t seed,
                                  uint64_t gpa)
{
    /* *d is zero (guest_dir.h). */
    d->heap = heap;
    d->capacity = NUB_DIR_MIN_CAPACITY;
    d->seed = seed;
    d->header_gpa = gpa;
    d->entries_gpa = d->fixed_gpa = gpa + NUB_DIR_HEADER_BYTES;
    publish(d);
    return NUB_ST_OK;
}

/* Frees a table the directory no longer uses, unless it is the first one
 * of nub_dir_create_at (not a heap block). */
static void free_table(struct nub_dir *d, uint64_t gpa)
{
    if (gpa != d->fixed_gpa)
        nub_heap_free(d->heap, gpa, NUB_OWNER_KERNEL);
}

/* Distance of the entry in slot s from its home (Robin Hood order),
 * computed from its hash (nub_dir_check: the stored one must match). */
static uint64_t dist_at(const struct nub_dir_entry *t, uint64_t cap, uint64_t seed, uint64_t s)
{
    return (s - nub_dir_slot(t[s].hash, seed, cap)) & (cap - 1);
}

/* Probes one table for hash: 1 and its slot, or 0 if absent: an empty
 * slot, a resident nearer its home than the probe is to hash's (Robin
 * Hood order: runs hold their entries in order of home, so hash would
 * lie before it), or NUB_DIR_MAX_PROBE slots without it (abi.h: nothing
 * lies further from home). *n += slots looked at. */
static int find_in(const struct nub_dir_entry *t, uint64_t cap, uint64_t h64,
                   const uint8_t hash[16], uint64_t *slot, uint64_t *n)
{
    uint64_t mask = cap - 1, s = h64 & mask;
    uint64_t limit = cap < MAX_PROBE ? cap : MAX_PROBE;
    /* The hash as two words (inlined 8-byte copies: any alignment): a
     * probe costs a few emulated instructions, not a memcmp call. */
    uint64_t head, tail, other;
    __builtin_memcpy(&head, hash, 8);
    __builtin_memcpy(&tail, hash + 8, 8);
    uint64_t i = 0;
    for (; i < limit; i++, s = (s + 1) & mask) {
        if (!used(&t[s]) || dist_of(&t[s]) < i)
            break;
        __builtin_memcpy(&other, t[s].hash, 8);
        if (other != head)
            continue;
        __builtin_memcpy(&other, t[s].hash + 8, 8);
        if (other == tail) {
            *n += i + 1;
            *slot = s;
            return 1;
        }
    }
    *n += i < limit ? i + 1 : i;
    return 0;
}

/* Plans a Robin Hood insert into a run kept in order of home: the entry
 * goes in front of the first resident that is no further from its home
 * than the entry would be there (so in front of equal homes too), and the
 * residents from there up to the run's first empty slot move up one.
 * Sets *at (where the entry goes) and *empty; 0 if the entry or a moved
 * resident would end MAX_PROBE or more slots from home. Nothing changes.
 * A table is never full (load <= 1/2) unless guest memory was corrupted;
 * the walk is bounded by the capacity either way. *work += slots looked
 * at (a local count: a store through d inside the loop would make the
 * compiler reload everything, as entries and d share uint64_t fields). */
static int rh_plan(const struct nub_dir_entry *t, uint64_t cap, uint64_t home, uint64_t *at,
                   uint64_t *empty, uint64_t *work)
{
    uint64_t mask = cap - 1, s = home, dist = 0;
    for (; dist < cap; dist++, s = (s + 1) & mask) {
        if (dist >= MAX_PROBE)
            goto refused;
        if (!used(&t[s])) {
            *at = *empty = s;
            goto done;
        }
        if (dist_of(&t[s]) <= dist)
            break;
    }
    if (dist == cap)
        goto corrupt;
    *at = s; /* placed in front of this resident; the rest moves up */
    for (; dist < cap; dist++, s = (s + 1) & mask) {
        if (!used(&t[s])) {
            *empty = s;
            goto done;
        }
        if (dist_of(&t[s]) + 1 >= MAX_PROBE)
            goto refused; /* this resident would move too far */
    }
corrupt:
    nub_panic("directory: no free slot in %llu (corrupt flags)", (unsigned long long)cap);
refused:
    *work += dist + 1;
    return 0;
done:
    *work += dist + 1;
    return 1;
}

/* Puts a copy of e (absent from the table) into the table at gpa by Robin
 * Hood placement: 1, or 0 with nothing changed if that would break the
 * probe bound. Deleting it again (backward shift) moves the residents
 * back down: undoing inserts in reverse order restores the bytes. */
static int insert_in(struct nub_dir *d, uint64_t gpa, uint64_t cap, const struct nub_dir_entry *e,
                     uint64_t h64)
{
    struct nub_dir_entry *t = table(gpa);
    uint64_t mask = cap - 1, at, empty, home = h64 & mask, work = 0;
    if (!rh_plan(t, cap, home, &at, &empty, &work)) {
        d->work += work;
        return 0;
    }
    for (uint64_t s = empty; s != at; s = (s - 1) & mask) {
        work++;
        t[s] = t[(s - 1) & mask];
        t[s].flags = (uint16_t)(t[s].flags + (1u << NUB_DIR_DIST_SHIFT)); /* < MAX_PROBE: planned */
    }
    t[at] = *e;
    set_dist(&t[at], (at - home) & mask);
    d->work += work;
    return 1;
}

/* Where find put a hash: its entry and whether it is in the old table. */
struct where {
    struct nub_dir_entry *e;
    int in_old;
    uint64_t slot; /* of e, in its table */
    uint64_t h64;  /* nub_dir_hash of the hash looked for */
};

/* New table first, then the old one. */
static int find(const struct nub_dir *d, const uint8_t hash[16], struct where *w, uint64_t *n)
{
    *w = (struct where){.h64 = nub_dir_hash(hash, d->seed)};
    if (find_in(table(d->entries_gpa), d->capacity, w->h64, hash, &w->slot, n)) {
        w->e = &table(d->entries_gpa)[w->slot];
        return 1;
    }
    if (d->old_gpa && find_in(table(d->old_gpa), d->old_capacity, w->h64, hash, &w->slot, n)) {
        w->e = &table(d->old_gpa)[w->slot];
        w->in_old = 1;
        return 1;
    }
    return 0;
}

struct nub_dir_entry *nub_dir_lookup(const struct nub_dir *d, const uint8_t hash[16])
{
    struct where w;
    uint64_t n = 0;
    return find(d, hash, &w, &n) ? w.e : NULL;
}

/* Moves a copy of old entry e into the new table: 0 if the probe bound
 * does not let it in now (nothing changed). Not looked up there first: a
 * hash is in at most one table (every put looks in both; nub_dir_check
 * verifies it, -10), and the probe cost one lookup per migrated entry. */
static int place(struct nub_dir *d, const struct nub_dir_entry *e)
{
    uint64_t h64 = nub_dir_hash(e->hash, d->seed);
    struct nub_dir_entry *t = table(d->entries_gpa);
    uint64_t home = h64 & (d->capacity - 1);
    if (!used(&t[home])) { /* the common case in a table filling up from empty */
        t[home] = *e;
        t[home].flags = NUB_DIR_F_USED; /* distance 0 */
        d->work++;
        return 1;
    }
    return insert_in(d, d->entries_gpa, d->capacity, e, h64);
}

/* Scans up to n old slots downwards, moving used ones to the new table.
 * Stops early, at the slot, if an entry cannot move (probe bound): the
 * old table stays valid and the next step tries that slot again. */
static void migrate_slots(struct nub_dir *d, uint64_t n)
{
    struct nub_dir_entry *old = table(d->old_gpa);
    uint64_t mask = d->old_capacity - 1;
    /* Locals, written back at the end (see rh_plan on aliasing). */
    uint64_t next = d->mig_next, left = d->mig_left, count = d->old_count, work = 0;
    for (; n && left && count; n--) {
        struct nub_dir_entry *e = &old[next];
        work++;
        if (used(e)) {
            if (!place(d, e))
                break; /* stalled: see the top of this file */
            *e = (struct nub_dir_entry){0};
            count--;
        }
        next = (next - 1) & mask;
        left--;
    }
    d->mig_next = next;
    d->mig_left = left;
    d->old_count = count;
    d->work += work;
    /* e0 stays empty and nothing is inserted into the old table, so the
     * scan meets every old entry: anything left is corruption. */
    if (d->old_count && !d->mig_left)
        nub_panic("directory: old table scanned, %llu entries left",
                  (unsigned long long)d->old_count);
}

/* Detaches the (empty) old table and returns its address. */
static uint64_t end_migration(struct nub_dir *d)
{
    uint64_t gpa = d->old_gpa;
    d->old_gpa = d->old_capacity = d->old_count = 0;
    d->mig_next = d->mig_left = d->debt = 0;
    return gpa;
}

/* Scans up to n old slots; frees the old table once it is empty. */
static void migrate(struct nub_dir *d, uint64_t n)
{
    migrate_slots(d, n);
    if (d->old_count == 0)
        free_table(d, end_migration(d));
}

/* Makes the current table the old one, scanned from below its empty slot
 * e0, and the zeroed table at gpa (cap slots) the new one. No migration
 * may be under way. */
static void start_growth(struct nub_dir *d, uint64_t gpa, uint64_t cap, uint64_t e0)
{
    d->old_gpa = d->entries_gpa;
    d->old_capacity = d->capacity;
    d->old_count = d->count;
    d->mig_next = (e0 - 1) & (d->capacity - 1);
    d->mig_left = d->capacity - 1;
    d->debt = 0;
    d->entries_gpa = gpa;
    d->capacity = cap;
    d->generation++;
    publish(d);
}

static enum nub_status alloc_table(struct nub_dir *d, uint64_t cap, uint64_t *gpa)
{
    if (cap > NUB_DIR_MAX_CAPACITY)
        return NUB_ST_QUOTA;
    return nub_heap_alloc(d->heap, cap * ENTRY, 0, NUB_OWNER_KERNEL, gpa) == NUB_ST_OK
               ? NUB_ST_OK
               : NUB_ST_NOMEM;
}

/* The first empty slot of the new table at or after `from` (load <= 3/4:
 * one exists). */
static uint64_t empty_from(struct nub_dir *d, uint64_t from)
{
    const struct nub_dir_entry *t = table(d->entries_gpa);
    uint64_t mask = d->capacity - 1;
    for (uint64_t i = 0, s = from & mask; i < d->capacity; i++, s = (s + 1) & mask) {
        d->work++;
        if (!used(&t[s]))
            return s;
    }
    nub_panic("directory: no free slot in %llu (corrupt flags)", (unsigned long long)d->capacity);
}

/* Growth due at an insert of hash (absent): finish the migration under
 * way if the invariant says it is only unpaid debt, then double. `busy`
 * is the answer when growing is not possible now (nothing changed). */
static enum nub_status grow_for(struct nub_dir *d, const uint8_t hash[16], enum nub_status busy)
{
    if (d->reserved)
        return busy; /* load: the reservation under-counted */
    if (d->old_gpa && d->old_count && d->mig_left > d->debt)
        return busy; /* load: off schedule, or stalled (top of this file) */
    uint64_t gpa;
    enum nub_status st = alloc_table(d, d->capacity * 2, &gpa);
    if (st != NUB_ST_OK)
        return st;
    if (d->old_gpa) {
        migrate(d, d->mig_left);
        if (d->old_gpa) { /* stalled on the probe bound: give up */
            nub_heap_free(d->heap, gpa, NUB_OWNER_KERNEL);
            d->generation++; /* entries may have moved between tables */
            publish(d);
            return busy;
        }
    }
    start_growth(d, gpa, d->capacity * 2,
                 empty_from(d, nub_dir_slot(hash, d->seed, d->capacity)));
    return NUB_ST_OK;
}

/* One more reference on the entry w found. */
static enum nub_status add_ref(struct nub_dir *d, struct nub_dir_entry *e, uint64_t len,
                               uint32_t *refcount)
{
    if (e->len != len)
        return NUB_ST_EXISTS;
    if (e->refcount == UINT32_MAX)
        return NUB_ST_OVERFLOW;
    e->refcount++;
    d->generation++;
    changed(d);
    *refcount = e->refcount;
    return NUB_ST_OK;
}

/* Inserts hash, absent from both tables, h64 = nub_dir_hash(hash). */
static enum nub_status insert_fresh(struct nub_dir *d, const uint8_t hash[16], uint64_t h64,
                                    uint64_t data_gpa, uint64_t len, uint16_t kind)
{
    if (d->total_bytes + len < d->total_bytes)
        return NUB_ST_OVERFLOW;
    if (d->count + 1 > nub_dir_max_count(d->capacity)) {
        enum nub_status st = grow_for(d, hash, NUB_ST_STATE);
        if (st != NUB_ST_OK)
            return st;
    }
    struct nub_dir_entry e = {.data_gpa = data_gpa,
                              .len = len,
                              .refcount = 1,
                              .kind = kind,
                              .flags = NUB_DIR_F_USED};
    __builtin_memcpy(e.hash, hash, 16);
    struct nub_dir_entry *home = &table(d->entries_gpa)[h64 & (d->capacity - 1)];
    if (!used(home)) { /* distance 0, nothing to move: most inserts at load <= 1/2 */
        *home = e;
        d->work++;
    } else if (!insert_in(d, d->entries_gpa, d->capacity, &e, h64)) {
        /* Too far from home (top of this file): grow early, or refuse. */
        enum nub_status st = grow_for(d, hash, NUB_ST_QUOTA);
        if (st != NUB_ST_OK)
            return st;
        if (!insert_in(d, d->entries_gpa, d->capacity, &e, h64)) /* empty table */
            nub_panic("directory: no room for an entry in a fresh table");
    }
    d->count++;
    d->total_bytes += len;
    if (d->old_gpa && d->reserved)
        d->debt += K_INSERT; /* paid by the tick that ends the call */
    else if (d->old_gpa)
        migrate(d, K_INSERT);
    d->generation++;
    changed(d);
    return NUB_ST_OK;
}

enum nub_status nub_dir_put(struct nub_dir *d, const uint8_t hash[16], uint64_t data_gpa,
                            uint64_t len, uint16_t kind, uint32_t *refcount, int *existed)
{
    struct where w;
    if (find(d, hash, &w, &d->work)) {
        *existed = 1;
        return add_ref(d, w.e, len, refcount);
    }
    enum nub_status st = insert_fresh(d, hash, w.h64, data_gpa, len, kind);
    if (st == NUB_ST_OK) {
        *refcount = 1;
        *existed = 0;
    }
    return st;
}

enum nub_status nub_dir_ref(struct nub_dir *d, const uint8_t hash[16], uint64_t len,
                            uint32_t *refcount, uint64_t *h64)
{
    struct where w;
    if (!find(d, hash, &w, &d->work)) {
        *h64 = w.h64;
        return NUB_ST_NOENT;
    }
    return add_ref(d, w.e, len, refcount);
}

enum nub_status nub_dir_insert(struct nub_dir *d, const uint8_t hash[16], uint64_t h64,
                               uint64_t data_gpa, uint64_t len, uint16_t kind)
{
    return insert_fresh(d, hash, h64, data_gpa, len, kind);
}

/* Empties slot `hole` of table t, then walks the cluster after it and
 * moves back every entry whose home slot allows it, so no probe ever meets
 * a gap that was not there when the entry was inserted (no tombstones). */
static void delete_slot(struct nub_dir *d, struct nub_dir_entry *t, uint64_t cap, uint64_t hole)
{
    uint64_t mask = cap - 1, j = hole;
    for (uint64_t n = 0; n < mask; n++) {
        j = (j + 1) & mask;
        d->work++;
        if (!used(&t[j]))
            break;
        uint64_t dist = dist_of(&t[j]), gap = (j - hole) & mask;
        if (dist < gap)
            continue; /* home in (hole, j]: moving it would hide it */
        t[hole] = t[j];
        set_dist(&t[hole], dist - gap);
        hole = j;
    }
    memset(&t[hole], 0, sizeof t[hole]);
}

enum nub_status nub_dir_release(struct nub_dir *d, const uint8_t hash[16], uint32_t *left,
                                struct nub_dir_entry *removed)
{
    struct where w;
    if (!find(d, hash, &w, &d->work))
        return NUB_ST_NOENT;
    if (w.e->refcount > 1) {
        w.e->refcount--;
        *left = w.e->refcount;
    } else {
        *removed = *w.e;
        d->count--;
        d->total_bytes -= w.e->len;
        if (w.in_old) {
            delete_slot(d, table(d->old_gpa), d->old_capacity, w.slot);
            d->old_count--;
        } else {
            delete_slot(d, table(d->entries_gpa), d->capacity, w.slot);
        }
        *left = 0;
    }
    d->generation++;
    changed(d);
    return NUB_ST_OK;
}

void nub_dir_tick(struct nub_dir *d)
{
    if (d->reserved)
        return;
    if (!d->old_gpa) {
        d->debt = 0;
        return;
    }
    uint64_t budget = d->debt + NUB_DIR_MIGRATE_PER_CALL;
    d->debt = 0;
    migrate(d, budget);
    d->generation++;
    publish(d);
}

/* The growth of a reservation: room for `fresh` more entries. */
static enum nub_status reserve_room(struct nub_dir *d, uint64_t fresh, struct nub_dir_mark *m)
{
    if (fresh > NUB_DIR_MAX_CAPACITY)
        return NUB_ST_QUOTA;
    uint64_t need = d->count + fresh; /* both <= 2^26 */
    if (need <= nub_dir_max_count(d->capacity))
        return NUB_ST_OK;
    if (m->grown_gpa)
        nub_panic("directory: a reservation grows once");
    uint64_t cap = d->capacity * 2, gpa;
    while (need > nub_dir_max_count(cap) && cap <= NUB_DIR_MAX_CAPACITY)
        cap *= 2;
    enum nub_status st = alloc_table(d, cap, &gpa);
    if (st != NUB_ST_OK)
        return st;
    if (d->old_gpa) {
        /* Kept allocated until commit, so a rollback can restore the
         * heap level exactly. */
        migrate_slots(d, d->mig_left);
        if (d->old_count) { /* stalled on the probe bound */
            nub_heap_free(d->heap, gpa, NUB_OWNER_KERNEL);
            d->generation++; /* entries may have moved between tables */
            publish(d);
            return NUB_ST_QUOTA;
        }
        m->retired_capacity = d->old_capacity;
        m->retired_gpa = end_migration(d);
    }
    start_growth(d, gpa, cap, empty_from(d, 0));
    m->grown_gpa = gpa;
    return NUB_ST_OK;
}

enum nub_status nub_dir_reserve(struct nub_dir *d, uint64_t fresh, struct nub_dir_mark *m)
{
    if (d->reserved)
        nub_panic("directory: nested reservation");
    *m = (struct nub_dir_mark){.entries_gpa = d->entries_gpa,
                               .capacity = d->capacity,
                               .old_gpa = d->old_gpa,
                               .old_capacity = d->old_capacity,
                               .old_count = d->old_count,
                               .mig_next = d->mig_next,
                               .mig_left = d->mig_left,
                               .debt = d->debt,
                               .count = d->count};
    enum nub_status st = reserve_room(d, fresh, m);
    if (st == NUB_ST_OK)
        d->reserved = 1;
    return st;
}

enum nub_status nub_dir_reserve_more(struct nub_dir *d, uint64_t fresh, struct nub_dir_mark *m)
{
    if (!d->reserved || d->count != m->count)
        nub_panic("directory: reserve_more outside a reservation or after a new entry");
    return reserve_room(d, fresh, m);
}

void nub_dir_commit(struct nub_dir *d, struct nub_dir_mark *m)
{
    d->reserved = 0;
    publish(d);
    if (m->retired_gpa)
        free_table(d, m->retired_gpa);
    m->retired_gpa = 0;
}

void nub_dir_rollback(struct nub_dir *d, const struct nub_dir_mark *m)
{
    d->reserved = 0;
    if (m->grown_gpa) {
        /* Every put was released: the grown table is empty again and the
         * old table is the one the reservation started with. */
        if (d->entries_gpa != m->grown_gpa || d->old_gpa != m->entries_gpa ||
            d->count != d->old_count)
            nub_panic("directory: rollback with %llu entries still in the new table",
                      (unsigned long long)(d->count - d->old_count));
        nub_heap_free(d->heap, d->entries_gpa, NUB_OWNER_KERNEL);
        d->entries_gpa = d->old_gpa;
        d->capacity = d->old_capacity;
        if (m->retired_gpa) {
            /* The migration it finished stays finished: its emptied table
             * comes back as an old table with nothing left to move, freed
             * by the next tick. */
            d->old_gpa = m->retired_gpa;
            d->old_capacity = m->retired_capacity;
            d->old_count = d->mig_next = d->mig_left = 0;
        } else {
            d->old_gpa = m->old_gpa;
            d->old_capacity = m->old_capacity;
            d->old_count = m->old_count;
            d->mig_next = m->mig_next;
            d->mig_left = m->mig_left;
        }
    }
    d->debt = m->debt;
    d->generation++;
    publish(d);
}

/* Checks one table: every used entry reachable from its home within the
 * probe bound, in Robin Hood order, no hash twice, refcounts nonzero.
 * Adds its entries and bytes to *count, *bytes. */
static int check_table(const struct nub_dir *d, const struct nub_dir_entry *t, uint64_t cap,
                       uint64_t *count, uint64_t *bytes)
{
    uint64_t mask = cap - 1;
    for (uint64_t i = 0; i < cap; i++) {
        if (!used(&t[i]))
            continue;
        ++*count;
        *bytes += t[i].len;
        if (t[i].refcount == 0)
            return -3;
        uint64_t dist = dist_at(t, cap, d->seed, i), prev = (i - 1) & mask;
        if (dist >= MAX_PROBE)
            return -16;
        if (dist_of(&t[i]) != dist || (t[i].flags & ~NUB_DIR_F_USED & ((1u << NUB_DIR_DIST_SHIFT) - 1)))
            return -18; /* the stored distance is wrong, or stray flag bits */
        /* Homes never decrease along a run: a distance grows by at most
         * one from a used slot to the next. */
        if (used(&t[prev]) && dist > dist_at(t, cap, d->seed, prev) + 1)
            return -17;
        /* Every slot from home to i is occupied, and none holds the same
         * hash: a lookup from home reaches this entry. */
        for (uint64_t s = nub_dir_slot(t[i].hash, d->seed, cap); s != i; s = (s + 1) & mask) {
            if (!used(&t[s]))
                return -4;
            if (memcmp(t[s].hash, t[i].hash, 16) == 0)
                return -5;
        }
    }
    return 0;
}

int nub_dir_check(const struct nub_dir *d)
{
    /* Inside a reservation the header is published at its end. */
    const struct nub_dir_header want = header_of(d); /* all uint64_t: no padding */
    if (!d->reserved && memcmp(nub_mem_ptr(d->header_gpa), &want, sizeof want) != 0)
        return -1;
    if (d->capacity < NUB_DIR_MIN_CAPACITY || d->capacity > NUB_DIR_MAX_CAPACITY ||
        (d->capacity & (d->capacity - 1)) || d->count > nub_dir_max_count(d->capacity))
        return -2;
    uint64_t count = 0, bytes = 0, old_count = 0;
    int rc = check_table(d, table(d->entries_gpa), d->capacity, &count, &bytes);
    if (rc)
        return rc;
    if (!d->old_gpa) {
        if (d->old_capacity || d->old_count || d->mig_next || d->mig_left || d->debt)
            return -7;
    } else {
        uint64_t oc = d->old_capacity;
        if (oc < NUB_DIR_MIN_CAPACITY || oc >= d->capacity || (oc & (oc - 1)) ||
            d->mig_next >= oc || d->mig_left >= oc || d->old_count > d->count)
            return -8;
        const struct nub_dir_entry *old = table(d->old_gpa);
        rc = check_table(d, old, oc, &old_count, &bytes);
        if (rc)
            return rc - 10;
        if (old_count != d->old_count)
            return -9;
        for (uint64_t i = 0; i < oc; i++) {
            uint64_t s, n = 0;
            if (used(&old[i]) &&
                find_in(table(d->entries_gpa), d->capacity, nub_dir_hash(old[i].hash, d->seed),
                        old[i].hash, &s, &n))
                return -10; /* in both tables */
        }
        /* The scanned slots and e0 (just above mig_next) are empty. */
        for (uint64_t i = 1; i <= oc - d->mig_left; i++)
            if (used(&old[(d->mig_next + i) & (oc - 1)]))
                return -11;
        /* On schedule to end before the next growth (top of file). */
        if (d->mig_left > d->debt + K_INSERT * (nub_dir_max_count(d->capacity) - d->count))
            return -12;
    }
    if (count + old_count != d->count || bytes != d->total_bytes)
        return -6;
    return 0;
}
