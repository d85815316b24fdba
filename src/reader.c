/* The directory reader: walks the guest's cap directory in guest memory
 * (see reader.h). Every structure is copied out with nub_gm_read before it
 * is looked at, so the guest cannot change a value between check and use.
 *
 * Policy on low memory: no directory header, entries table or non-empty
 * cap data may start below NUB_KERNEL_BASE. That range holds the null
 * page and the host-built page tables/GDT; the guest heap always lies
 * above the kernel image, so an address there can only come from a
 * corrupt directory, and serving it would leak the page tables.
 *
 * While the guest grows its table incrementally (abi.h) the header names
 * two tables: lookups probe the new one, then the old one; iteration walks
 * the new table's slots, then the old table's, and lists an entry only
 * where its own lookup finds it, so no cap is listed twice.
 *
 * Work is bounded whatever the guest wrote: a probe stops after
 * NUB_DIR_MAX_PROBE slots (abi.h: the guest keeps every entry that close
 * to home), so a lookup reads at most 2 * NUB_DIR_MAX_PROBE slots and
 * listing a whole directory at most (1 + 2 * NUB_DIR_MAX_PROBE) per slot,
 * instead of a walk over a full table per entry. */
#include "reader.h"

#include <errno.h>
#include <string.h>

#define ENTRY_SIZE ((uint64_t)sizeof(struct nub_dir_entry))

/* Per thread: FUSE serves requests on several threads, and a work counter
 * must cost nothing on the lookup path (no shared cache line). */
static _Thread_local uint64_t slots_read;

uint64_t nub_reader_slots_read(void)
{
    return slots_read;
}

const char *nub_reader_strerror(enum nub_reader_error e)
{
    switch (e) {
    case NUB_READER_OK:
        return "ok";
    case NUB_READER_BAD_MAGIC:
        return "boot info has a bad magic (not a nubfs guest)";
    case NUB_READER_BAD_ABI:
        return "guest ABI version differs from the host's";
    case NUB_READER_UNINITIALISED:
        return "guest directory not initialised (directory address is 0)";
    case NUB_READER_OUT_OF_RANGE:
        return "boot info or directory lies outside guest memory";
    case NUB_READER_CORRUPT:
        return "guest directory header is corrupt";
    }
    return "unknown reader error";
}

/* [gpa, gpa+len) is guest memory at or above NUB_KERNEL_BASE (any gpa
 * when len is 0: nothing is ever read from it). */
static bool high_range_ok(const struct nub_guest_mem *gm, nub_gpa gpa, uint64_t len)
{
    return nub_gm_check_range_above(gm, NUB_KERNEL_BASE, gpa, len);
}

/* A table of cap slots at gpa: capacity a power of two within the ABI
 * limits, wholly inside guest memory and above the low area. */
static bool table_ok(const struct nub_guest_mem *gm, nub_gpa gpa, uint64_t cap)
{
    if (cap < NUB_DIR_MIN_CAPACITY || cap > NUB_DIR_MAX_CAPACITY || (cap & (cap - 1)) != 0)
        return false;
    /* cap <= 2^26 so cap * 40 cannot overflow, but keep the check local. */
    if (cap > UINT64_MAX / ENTRY_SIZE)
        return false;
    return high_range_ok(gm, gpa, cap * ENTRY_SIZE); /* cap > 0 */
}

/* Copies the header at gpa and validates it. */
static int read_header(const struct nub_guest_mem *gm, nub_gpa gpa, struct nub_dir_header *h)
{
    if (gpa == 0 || nub_gm_read(gm, gpa, h, sizeof(*h)) != 0)
        return -EIO;
    if (h->magic != NUB_DIR_MAGIC)
        return -EIO;
    if (!table_ok(gm, h->entries_gpa, h->capacity) || h->count > h->capacity)
        return -EIO;
    /* No migration: both old fields 0. Else a smaller table of its own. */
    if (h->old_capacity == 0)
        return h->old_entries_gpa == 0 && h->old_count == 0 ? 0 : -EIO;
    if (h->old_capacity >= h->capacity || !table_ok(gm, h->old_entries_gpa, h->old_capacity) ||
        h->old_count > h->old_capacity)
        return -EIO;
    return 0;
}

static enum nub_reader_error open_at(struct nub_reader *r)
{
    struct nub_boot_info bi;
    r->directory_gpa = 0;
    r->seed = 0;
    if (nub_gm_read(r->gm, r->boot_info_gpa, &bi, sizeof(bi)) != 0)
        return NUB_READER_OUT_OF_RANGE;
    if (bi.magic != NUB_BOOT_MAGIC)
        return NUB_READER_BAD_MAGIC;
    if (bi.abi_version != NUB_ABI_VERSION)
        return NUB_READER_BAD_ABI;
    if (bi.directory_gpa == 0)
        return NUB_READER_UNINITIALISED;
    if (!high_range_ok(r->gm, bi.directory_gpa, sizeof(struct nub_dir_header)))
        return NUB_READER_OUT_OF_RANGE;
    struct nub_dir_header h;
    if (read_header(r->gm, bi.directory_gpa, &h) != 0)
        return NUB_READER_CORRUPT;
    r->directory_gpa = bi.directory_gpa;
    r->seed = bi.hasher_seed;
    return NUB_READER_OK;
}

enum nub_reader_error nub_reader_open(struct nub_reader *r, const struct nub_guest_mem *gm,
                                      nub_gpa boot_info_gpa)
{
    memset(r, 0, sizeof(*r));
    r->gm = gm;
    r->boot_info_gpa = boot_info_gpa;
    return open_at(r);
}

enum nub_reader_error nub_reader_refresh(struct nub_reader *r)
{
    return open_at(r);
}

int nub_reader_header(const struct nub_reader *r, struct nub_dir_header *out)
{
    /* Re-read every time: the header may have changed since open (the
     * caller holds the read lock, so it is stable while we use it). */
    return read_header(r->gm, r->directory_gpa, out);
}

int64_t nub_reader_len(const struct nub_reader *r)
{
    struct nub_dir_header h;
    if (read_header(r->gm, r->directory_gpa, &h) != 0)
        return -EIO;
    return (int64_t)h.count; /* <= capacity <= 2^26 */
}

/* One of the (at most two) tables a validated header names. */
struct table {
    nub_gpa gpa;
    uint64_t cap;
};

/* Copies slot idx (idx < t->cap, table range already checked). */
static int read_entry(const struct nub_reader *r, const struct table *t, uint64_t idx,
                      struct nub_dir_entry *e)
{
    slots_read++;
    if (nub_gm_read(r->gm, t->gpa + idx * ENTRY_SIZE, e, sizeof(*e)) != 0)
        return -EIO; /* cannot happen after read_header; never trust that */
    return 0;
}

/* A used entry is served only if its data is guest memory above the low
 * area, its kind is known and it holds at least one reference. */
static int entry_to_cap(const struct nub_reader *r, const struct nub_dir_entry *e,
                        struct nub_cap *out)
{
    if (e->kind > NUB_CAP_MANIFEST || e->refcount == 0)
        return -EIO;
    if (!high_range_ok(r->gm, e->data_gpa, e->len))
        return -EIO;
    memcpy(out->hash, e->hash, 16);
    out->data_gpa = e->data_gpa;
    out->len = e->len;
    out->refcount = e->refcount;
    out->kind = e->kind;
    return 0;
}

/* Probes one table for hash. Returns the slot index (>= 0) with *e
 * filled, or -ENOENT at an empty slot or after NUB_DIR_MAX_PROBE used
 * slots (abi.h: nothing lies further from home, so the hash is absent
 * even if the run goes on). -EIO if that bound covers the whole table and
 * every slot is used: a table must always keep free slots, so the guest
 * broke its own invariant. */
static int64_t probe(const struct nub_reader *r, const struct table *t, const uint8_t hash[16],
                     struct nub_dir_entry *e)
{
    uint64_t mask = t->cap - 1;
    uint64_t limit = t->cap < NUB_DIR_MAX_PROBE ? t->cap : NUB_DIR_MAX_PROBE;
    uint64_t idx = nub_dir_slot(hash, r->seed, t->cap);
    for (uint64_t n = 0; n < limit; n++, idx = (idx + 1) & mask) {
        if (read_entry(r, t, idx, e) != 0)
            return -EIO;
        if (!(e->flags & NUB_DIR_F_USED))
            return -ENOENT;
        if (memcmp(e->hash, hash, 16) == 0)
            return (int64_t)idx;
    }
    return limit == t->cap ? -EIO : -ENOENT;
}

/* The lookup path: the new table, then (absent there) the old one.
 * Returns the position in cursor space ([0, cap) new, [cap, cap + old)
 * old) with *e filled, -ENOENT or -EIO. */
static int64_t lookup(const struct nub_reader *r, const struct nub_dir_header *h,
                      const uint8_t hash[16], struct nub_dir_entry *e)
{
    struct table t = {h->entries_gpa, h->capacity};
    int64_t at = probe(r, &t, hash, e);
    if (at != -ENOENT || h->old_capacity == 0)
        return at;
    struct table old = {h->old_entries_gpa, h->old_capacity};
    at = probe(r, &old, hash, e);
    return at < 0 ? at : at + (int64_t)h->capacity; /* capacities <= 2^26 */
}

int nub_reader_get(const struct nub_reader *r, const uint8_t hash[16], struct nub_cap *out)
{
    struct nub_dir_header h;
    if (read_header(r->gm, r->directory_gpa, &h) != 0)
        return -EIO;
    struct nub_dir_entry e;
    int64_t at = lookup(r, &h, hash, &e);
    if (at < 0)
        return (int)at;
    return entry_to_cap(r, &e, out);
}

bool nub_reader_contains(const struct nub_reader *r, const uint8_t hash[16])
{
    struct nub_cap c;
    return nub_reader_get(r, hash, &c) == 0;
}

int nub_reader_same_bytes(const struct nub_reader *r, const uint8_t hash[16], const void *data,
                          uint64_t len)
{
    struct nub_cap c;
    int rc = nub_reader_get(r, hash, &c);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    if (c.len != len)
        return -EEXIST;
    rc = nub_gm_compare(r->gm, c.data_gpa, data, len);
    return rc == 0 ? 1 : rc > 0 ? -EEXIST : -EFAULT;
}

int nub_reader_next(const struct nub_reader *r, uint64_t *cursor, struct nub_cap *out,
                    uint64_t *bad)
{
    struct nub_dir_header h;
    if (read_header(r->gm, r->directory_gpa, &h) != 0)
        return -EIO;
    /* Cursor space: the new table's slots, then the old table's. Bounded
     * by both capacities: each step advances the cursor by one slot, an
     * empty slot costs one read, a used one at most 1 + 2 * MAX_PROBE.
     * Used slots that fail validation cost the most and an honest guest
     * writes none, so a long run of them ends the call with -EIO, the
     * cursor past them: a request (readdir) never scans more than
     * NUB_READER_MAX_BAD_RUN of them per entry it returns. */
    uint64_t end = h.capacity + h.old_capacity, run = 0;
    for (uint64_t idx = *cursor; idx < end; idx++) {
        struct table t = {h.entries_gpa, h.capacity};
        uint64_t slot = idx;
        if (idx >= h.capacity) {
            t = (struct table){h.old_entries_gpa, h.old_capacity};
            slot = idx - h.capacity;
        }
        struct nub_dir_entry e;
        if (read_entry(r, &t, slot, &e) != 0)
            return -EIO;
        if (!(e.flags & NUB_DIR_F_USED))
            continue;
        /* List only what lookup finds: the entry must be the first one its
         * own lookup path (new table, then old) reaches, which drops
         * duplicates within and across the tables and unreachable slots,
         * and must pass the same validation as get. An entry too far from
         * home for any probe to reach is dropped without one (cheap for
         * the garbage a corrupt table is mostly made of). */
        struct nub_dir_entry seen;
        uint64_t dist = (slot - nub_dir_slot(e.hash, r->seed, t.cap)) & (t.cap - 1);
        int64_t at = dist < NUB_DIR_MAX_PROBE ? lookup(r, &h, e.hash, &seen) : -ENOENT;
        if (at != (int64_t)idx || entry_to_cap(r, &seen, out) != 0) {
            if (bad != NULL)
                (*bad)++;
            if (++run == NUB_READER_MAX_BAD_RUN) {
                *cursor = idx + 1;
                return -EIO;
            }
            continue;
        }
        *cursor = idx + 1;
        return 1;
    }
    if (*cursor < end)
        *cursor = end;
    return 0;
}
