/* The guest heap allocator: metadata only, never touches payload bytes.
 *
 * Blocks are described out of band, in a descriptor pool carved from the
 * start of the heap at init (bounded: one descriptor per
 * NUB_HEAP_BYTES_PER_DESC bytes of heap, clamped). Every operation costs
 * O(number of blocks) at worst and usually O(1): free blocks sit in
 * power-of-two size bins, used blocks in an address-keyed hash, and all
 * blocks in an address-ordered list so neighbours coalesce in O(1).
 *
 * Zeroing is the host's job (DESIGN §3): the heap starts out zero (fresh
 * memfd pages); a freed range goes into quarantine, is reported in the
 * mailbox scrub list by nub_heap_call_end(), zeroed by the host after DONE,
 * and becomes allocatable again only at the next nub_heap_call_begin().
 * So every allocation hands out zeroed memory without a guest loop. */
#ifndef NUB_GUEST_HEAP_H
#define NUB_GUEST_HEAP_H

#include <stdint.h>

#include "nub/abi.h"

#define NUB_HEAP_GRANULE 64ull             /* size and default alignment unit */
#define NUB_HEAP_MAX_ALIGN (1ull << 30)
#define NUB_HEAP_BYTES_PER_DESC 2048ull
#define NUB_HEAP_MIN_DESCS 1024ull
#define NUB_HEAP_MAX_DESCS (1ull << 24)
#define NUB_HEAP_BINS 64

/* Who owns a used block: FREE and PUT only accept blocks of the right owner,
 * so the host cannot free the directory's table or a published cap. */
enum nub_heap_owner {
    NUB_OWNER_HOST = 1,   /* handed out by NUB_OP_ALLOC */
    NUB_OWNER_KERNEL = 2, /* guest metadata: directory, mount table, ... */
    NUB_OWNER_CAP = 3,    /* data of a cap published by NUB_OP_PUT */
    NUB_OWNER_MOUNT = 4,  /* reserved for the mount pipeline */
};

struct nub_heap {
    uint64_t meta_gpa;     /* descriptor pool, then the used-block hash */
    uint64_t meta_len;
    uint64_t arena_start;  /* allocatable range [arena_start, arena_end) */
    uint64_t arena_end;
    uint64_t used;         /* bytes in used blocks */
    uint32_t max_descs;    /* descriptors 1..max_descs-1 (0 is "none") */
    uint32_t fresh;        /* next never-used descriptor */
    uint32_t spare;        /* stack of recycled descriptors */
    uint32_t map_mask;     /* used-block hash: capacity - 1 */
    uint32_t bins[NUB_HEAP_BINS]; /* heads of free lists by floor(log2 size) */
    uint64_t bin_bits;     /* bit b set iff bins[b] is non-empty */
    uint32_t pending;      /* quarantine not yet reported to the host */
    uint32_t reported;     /* quarantine reported in the last scrub list */
    uint32_t pending_count;
    uint32_t used_blocks;
    uint32_t free_blocks;
    uint32_t live_descs;
};

/* Sets up an empty heap over [start, end) (rounded to pages). The memory
 * must be zero. Returns NUB_ST_OK, or NUB_ST_INVAL / NUB_ST_NOMEM if the
 * range cannot hold the metadata plus at least one page. */
enum nub_status nub_heap_init(struct nub_heap *h, uint64_t start, uint64_t end);

/* size bytes (0 is one granule) aligned to align (0 = granule; else a power
 * of two <= NUB_HEAP_MAX_ALIGN), zeroed. NUB_ST_OK and *gpa, or
 * NUB_ST_INVAL (bad alignment) / NUB_ST_NOMEM. */
enum nub_status nub_heap_alloc(struct nub_heap *h, uint64_t size, uint64_t align,
                               enum nub_heap_owner owner, uint64_t *gpa);

/* Frees the used block starting at gpa if it belongs to owner; else
 * NUB_ST_INVAL and nothing changes. The range goes to quarantine. */
enum nub_status nub_heap_free(struct nub_heap *h, uint64_t gpa, enum nub_heap_owner owner);

/* Size of the used block starting at gpa and its owner; 0 if none. */
uint64_t nub_heap_block_size(const struct nub_heap *h, uint64_t gpa, enum nub_heap_owner *owner);

/* Moves the used block at gpa from owner `from` to `to`; NUB_ST_INVAL if
 * there is no such block with that owner. */
enum nub_status nub_heap_set_owner(struct nub_heap *h, uint64_t gpa, enum nub_heap_owner from,
                                   enum nub_heap_owner to);

/* Start of a call: the ranges reported by the previous call have been
 * zeroed by the host, so they become allocatable (coalesced). */
void nub_heap_call_begin(struct nub_heap *h);

/* End of a call: moves up to NUB_SCRUB_MAX quarantined ranges into the
 * mailbox scrub list; scrub_more says whether more are waiting. */
void nub_heap_call_end(struct nub_heap *h, struct nub_mailbox *mb);

uint64_t nub_heap_total(const struct nub_heap *h);
uint64_t nub_heap_used(const struct nub_heap *h);

/* Walks every structure and returns 0 if all invariants hold, else a
 * negative code naming the first broken one (tests only; O(blocks)). */
int nub_heap_check(const struct nub_heap *h);

#endif /* NUB_GUEST_HEAP_H */
