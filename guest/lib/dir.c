/* The cap directory, guest side (see nub/guest_dir.h). */
#include <string.h>

#include "nub/guest_addr.h"
#include "nub/guest_dir.h"
#include "nub/guest_log.h"

static struct nub_dir_entry *entries(const struct nub_dir *d)
{
    return (struct nub_dir_entry *)nub_mem_ptr(d->entries_gpa);
}

static int used(const struct nub_dir_entry *e) { return (e->flags & NUB_DIR_F_USED) != 0; }

/* Copies the guest's view into the header the host reads. */
static void publish(const struct nub_dir *d)
{
    struct nub_dir_header *hd = nub_mem_ptr(d->header_gpa);
    hd->magic = NUB_DIR_MAGIC;
    hd->capacity = d->capacity;
    hd->count = d->count;
    hd->entries_gpa = d->entries_gpa;
    hd->generation = d->generation;
    hd->total_bytes = d->total_bytes;
}

enum nub_status nub_dir_create(struct nub_dir *d, struct nub_heap *heap, uint64_t seed)
{
    *d = (struct nub_dir){.heap = heap, .capacity = NUB_DIR_MIN_CAPACITY, .seed = seed};
    if (nub_heap_alloc(heap, sizeof(struct nub_dir_header), 0, NUB_OWNER_KERNEL,
                       &d->header_gpa) != NUB_ST_OK)
        return NUB_ST_NOMEM;
    if (nub_heap_alloc(heap, d->capacity * sizeof(struct nub_dir_entry), 0, NUB_OWNER_KERNEL,
                       &d->entries_gpa) != NUB_ST_OK) {
        nub_heap_free(heap, d->header_gpa, NUB_OWNER_KERNEL);
        return NUB_ST_NOMEM;
    }
    publish(d);
    return NUB_ST_OK;
}

/* Probes for hash: returns 1 and its slot, or 0 and the first empty slot.
 * The table is never full (load <= 3/4), unless guest memory was
 * corrupted; the probe is bounded either way. */
static int find(const struct nub_dir *d, const uint8_t hash[16], uint64_t *slot)
{
    const struct nub_dir_entry *t = entries(d);
    uint64_t mask = d->capacity - 1;
    uint64_t s = nub_dir_home_slot(hash, d->seed, d->capacity);
    for (uint64_t n = 0; n < d->capacity; n++, s = (s + 1) & mask) {
        if (!used(&t[s])) {
            *slot = s;
            return 0;
        }
        if (memcmp(t[s].hash, hash, 16) == 0) {
            *slot = s;
            return 1;
        }
    }
    nub_panic("directory: no free slot in %llu (corrupt flags)", (unsigned long long)d->capacity);
}

struct nub_dir_entry *nub_dir_lookup(const struct nub_dir *d, const uint8_t hash[16])
{
    uint64_t s;
    return find(d, hash, &s) ? &entries(d)[s] : NULL;
}

/* Doubles the table: a new zeroed table, rehash, publish, free the old. */
static enum nub_status grow(struct nub_dir *d)
{
    uint64_t cap = d->capacity * 2, gpa;
    if (cap > NUB_DIR_MAX_CAPACITY)
        return NUB_ST_QUOTA;
    enum nub_status st =
        nub_heap_alloc(d->heap, cap * sizeof(struct nub_dir_entry), 0, NUB_OWNER_KERNEL, &gpa);
    if (st != NUB_ST_OK)
        return st;
    const struct nub_dir_entry *old = entries(d);
    struct nub_dir_entry *t = nub_mem_ptr(gpa);
    uint64_t moved = 0;
    for (uint64_t i = 0; i < d->capacity; i++) {
        if (!used(&old[i]))
            continue;
        uint64_t s = nub_dir_home_slot(old[i].hash, d->seed, cap);
        for (uint64_t n = 0; used(&t[s]); n++, s = (s + 1) & (cap - 1))
            if (n == cap)
                nub_panic("directory: rehash found no slot");
        t[s] = old[i];
        moved++;
    }
    if (moved != d->count)
        nub_panic("directory: %llu entries flagged, %llu counted", (unsigned long long)moved,
                  (unsigned long long)d->count);
    uint64_t old_gpa = d->entries_gpa;
    d->entries_gpa = gpa;
    d->capacity = cap;
    d->generation++;
    publish(d);
    nub_heap_free(d->heap, old_gpa, NUB_OWNER_KERNEL);
    return NUB_ST_OK;
}

enum nub_status nub_dir_put(struct nub_dir *d, const uint8_t hash[16], uint64_t data_gpa,
                            uint64_t len, uint16_t kind, uint32_t *refcount, int *existed)
{
    uint64_t s;
    if (find(d, hash, &s)) {
        struct nub_dir_entry *e = &entries(d)[s];
        if (e->len != len)
            return NUB_ST_EXISTS;
        if (e->refcount == UINT32_MAX)
            return NUB_ST_OVERFLOW;
        e->refcount++;
        d->generation++;
        publish(d);
        *refcount = e->refcount;
        *existed = 1;
        return NUB_ST_OK;
    }
    if (d->total_bytes + len < d->total_bytes)
        return NUB_ST_OVERFLOW;
    if ((d->count + 1) * 4 > d->capacity * 3) {
        enum nub_status st = grow(d);
        if (st != NUB_ST_OK)
            return st;
        if (find(d, hash, &s))
            nub_panic("directory: entry appeared while growing");
    }
    struct nub_dir_entry *e = &entries(d)[s];
    memcpy(e->hash, hash, 16);
    e->data_gpa = data_gpa;
    e->len = len;
    e->refcount = 1;
    e->kind = kind;
    e->flags = NUB_DIR_F_USED;
    d->count++;
    d->total_bytes += len;
    d->generation++;
    publish(d);
    *refcount = 1;
    *existed = 0;
    return NUB_ST_OK;
}

/* Empties slot `hole`, then walks the cluster after it and moves back every
 * entry whose home slot allows it, so no probe ever meets a gap that was
 * not there when the entry was inserted (no tombstones). */
static void delete_slot(struct nub_dir *d, uint64_t hole)
{
    struct nub_dir_entry *t = entries(d);
    uint64_t mask = d->capacity - 1, j = hole;
    for (uint64_t n = 0; n < mask; n++) {
        j = (j + 1) & mask;
        if (!used(&t[j]))
            break;
        uint64_t home = nub_dir_home_slot(t[j].hash, d->seed, d->capacity);
        if (((j - home) & mask) < ((j - hole) & mask))
            continue; /* home in (hole, j]: moving it would hide it */
        t[hole] = t[j];
        hole = j;
    }
    memset(&t[hole], 0, sizeof t[hole]);
}

enum nub_status nub_dir_release(struct nub_dir *d, const uint8_t hash[16], uint32_t *left,
                                struct nub_dir_entry *removed)
{
    uint64_t s;
    if (!find(d, hash, &s))
        return NUB_ST_NOENT;
    struct nub_dir_entry *e = &entries(d)[s];
    if (e->refcount > 1) {
        e->refcount--;
        *left = e->refcount;
    } else {
        *removed = *e;
        d->count--;
        d->total_bytes -= e->len;
        delete_slot(d, s);
        *left = 0;
    }
    d->generation++;
    publish(d);
    return NUB_ST_OK;
}

int nub_dir_check(const struct nub_dir *d)
{
    const struct nub_dir_header *hd = nub_mem_ptr(d->header_gpa);
    if (hd->magic != NUB_DIR_MAGIC || hd->capacity != d->capacity || hd->count != d->count ||
        hd->entries_gpa != d->entries_gpa || hd->generation != d->generation ||
        hd->total_bytes != d->total_bytes)
        return -1;
    if (d->capacity < NUB_DIR_MIN_CAPACITY || (d->capacity & (d->capacity - 1)) ||
        d->count * 4 > d->capacity * 3)
        return -2;
    const struct nub_dir_entry *t = entries(d);
    uint64_t count = 0, bytes = 0, mask = d->capacity - 1;
    for (uint64_t i = 0; i < d->capacity; i++) {
        if (!used(&t[i]))
            continue;
        count++;
        bytes += t[i].len;
        if (t[i].refcount == 0)
            return -3;
        /* Every slot from home to i is occupied, and none holds the same
         * hash: a lookup from home reaches this entry. */
        for (uint64_t s = nub_dir_home_slot(t[i].hash, d->seed, d->capacity); s != i;
             s = (s + 1) & mask) {
            if (!used(&t[s]))
                return -4;
            if (memcmp(t[s].hash, t[i].hash, 16) == 0)
                return -5;
        }
    }
    if (count != d->count || bytes != d->total_bytes)
        return -6;
    return 0;
}
