/* The guest heap allocator: metadata only, never touches payload bytes.
 *
 * Blocks are described out of band, in a descriptor pool carved from the
 * start of the heap at init (bounded: one descriptor per
 * NUB_HEAP_BYTES_PER_DESC bytes of heap, clamped). Used blocks sit in an
 * address-keyed hash, all blocks in an address-ordered list so neighbours
 * coalesce in O(1), and free blocks in segregated size classes (each power
 * of two split into NUB_HEAP_SUBCLASSES) with bitmaps of the non-empty
 * ones. Allocation is good fit, O(1) plus a constant: the request is
 * widened by its worst alignment padding (size + align - granule), so any
 * block of the first non-empty class above that fits without a search;
 * only when there is none does it look at no more than NUB_HEAP_FIT_SCAN
 * smaller blocks that might still fit. So aligned requests never walk the
 * sub-alignment gaps that earlier aligned allocations left behind, and
 * free, set_owner and block_size are O(1) as well (expected, hash).
 *
 * Zeroing is the host's job (docs/ARCHITECTURE.md "Who does what"): the heap starts out zero (fresh
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
#define NUB_HEAP_SL_BITS 3               /* size classes per power of two: 8 */
#define NUB_HEAP_SUBCLASSES (1u << NUB_HEAP_SL_BITS)
#define NUB_HEAP_CLASSES (64u * NUB_HEAP_SUBCLASSES)
#define NUB_HEAP_FIT_SCAN 16u             /* blocks an allocation may examine */

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
    uint64_t fl_bits;      /* bit f set iff sl_bits[f] != 0 */
    uint8_t sl_bits[64];   /* bit s of [f] set iff bins[f * SUBCLASSES + s] non-empty */
    uint32_t bins[NUB_HEAP_CLASSES]; /* heads of the free lists by size class */
    uint32_t pending;      /* quarantine not yet reported to the host */
    uint32_t reported;     /* quarantine reported in the last scrub list */
    uint32_t pending_count;
    uint32_t used_blocks;
    uint32_t free_blocks;
    uint32_t live_descs;
    uint64_t visits;       /* free blocks examined by nub_heap_alloc, ever:
                              the work counter the complexity tests bound */
};

/* Sets up an empty heap over [start, end) (rounded to pages). The memory
 * must be zero. Returns NUB_ST_OK, or NUB_ST_INVAL / NUB_ST_NOMEM if the
 * range cannot hold the metadata plus at least one page. */
enum nub_status nub_heap_init(struct nub_heap *h, uint64_t start, uint64_t end);

/* As nub_heap_init, but *h must be zero already (as static storage or
 * {0} is: INIT's heap is part of the core, in .bss), and it sets aside
 * [*fixed, +reserve) (zero, granule aligned) below the arena for
 * structures that live as long as the heap: no block, no descriptor,
 * never freed, not in heap_used or heap_total. INIT's directory (header
 * and first table) and mount table live there (an allocation is ~330
 * emulated instructions of every start). */
enum nub_status nub_heap_init_reserve(struct nub_heap *h, uint64_t start, uint64_t end,
                                      uint64_t reserve, uint64_t *fixed);

/* size bytes (0 is one granule) aligned to align (0 = granule; else a power
 * of two <= NUB_HEAP_MAX_ALIGN), zeroed. NUB_ST_OK and *gpa, or
 * NUB_ST_INVAL (bad alignment) / NUB_ST_NOMEM. It succeeds whenever a free
 * block of at least size + align - granule, rounded up to the next size
 * class boundary, exists (good fit); otherwise it tries at most
 * NUB_HEAP_FIT_SCAN smaller free blocks (largest classes first) before
 * NUB_ST_NOMEM, so a nearly full heap fails fast instead of walking every
 * fragment. Examines at most 1 + NUB_HEAP_FIT_SCAN free blocks. */
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
