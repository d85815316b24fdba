/* The guest heap allocator (see nub/guest_heap.h for the contract).
 *
 * Layout of the metadata at the start of the heap:
 *   struct blk pool[max_descs]      block descriptors, index 0 = "none"
 *   uint32_t   map[map_mask + 1]    used blocks by start address
 * Both start zero (fresh memory), so init is O(1): descriptors are taken
 * from `fresh` upwards and recycled through the `spare` stack, and a zero
 * map slot means empty. The blocks tile [arena_start, arena_end) exactly. */
#include <stdbool.h>
#include <stddef.h>

#include "nub/guest_addr.h"
#include "nub/guest_heap.h"
#include "nub/guest_log.h"

enum blk_state {
    B_SPARE = 0,    /* descriptor not describing any block */
    B_FREE = 1,     /* allocatable, in bins[] */
    B_USED = 2,     /* allocated, in the map */
    B_PENDING = 3,  /* freed this call (or earlier), not yet reported */
    B_REPORTED = 4, /* in the last scrub list; free at the next call */
};

struct blk {
    uint64_t start;
    uint64_t size;
    uint32_t aprev, anext; /* neighbours by address */
    uint32_t lprev, lnext; /* bin list, quarantine list, or spare stack */
    uint8_t state;
    uint8_t owner;
    uint8_t pad[6];
};
_Static_assert(sizeof(struct blk) == 40, "descriptor size");

static struct blk *D(const struct nub_heap *h, uint32_t i)
{
    /* A corrupted index (TEST_CORRUPT writes anywhere) must not send the
     * allocator outside its pool. */
    if (i == 0 || i >= h->max_descs)
        nub_panic("heap: bad descriptor index %u", i);
    return (struct blk *)nub_mem_ptr(h->meta_gpa) + i;
}

static uint32_t *map(const struct nub_heap *h)
{
    uint64_t pool = (uint64_t)h->max_descs * sizeof(struct blk);
    return (uint32_t *)nub_mem_ptr(h->meta_gpa + nub_align_up(pool, 64));
}

/* Size class of a free block: floor(log2 size) and the next
 * NUB_HEAP_SL_BITS bits below the top one. Sizes are >= the granule, so the
 * shift never goes negative. Class c holds sizes [class_lo(c),
 * class_lo(c + 1)), and classes are ordered by size. */
static unsigned class_of(uint64_t size)
{
    unsigned fl = 63u - (unsigned)__builtin_clzll(size);
    unsigned sl = (unsigned)(size >> (fl - NUB_HEAP_SL_BITS)) & (NUB_HEAP_SUBCLASSES - 1);
    return fl * NUB_HEAP_SUBCLASSES + sl;
}

static uint64_t class_lo(unsigned c)
{
    unsigned fl = c / NUB_HEAP_SUBCLASSES, sl = c % NUB_HEAP_SUBCLASSES;
    return (uint64_t)(NUB_HEAP_SUBCLASSES + sl) << (fl - NUB_HEAP_SL_BITS);
}

/* The first class all of whose blocks are >= size. */
static unsigned class_up(uint64_t size)
{
    unsigned c = class_of(size);
    return class_lo(c) == size ? c : c + 1;
}

/* The first non-empty class >= c, or NUB_HEAP_CLASSES: two bit scans. */
static unsigned class_first_from(const struct nub_heap *h, unsigned c)
{
    if (c >= NUB_HEAP_CLASSES)
        return NUB_HEAP_CLASSES;
    unsigned fl = c / NUB_HEAP_SUBCLASSES, sl = c % NUB_HEAP_SUBCLASSES;
    unsigned m = h->sl_bits[fl] & (0xffu << sl);
    if (m)
        return fl * NUB_HEAP_SUBCLASSES + (unsigned)__builtin_ctz(m);
    uint64_t f = fl == 63 ? 0 : h->fl_bits & (~0ull << (fl + 1));
    if (!f)
        return NUB_HEAP_CLASSES;
    fl = (unsigned)__builtin_ctzll(f);
    if (!h->sl_bits[fl])
        nub_panic("heap: class bitmaps disagree at %u", fl);
    return fl * NUB_HEAP_SUBCLASSES + (unsigned)__builtin_ctz(h->sl_bits[fl]);
}

/* The last non-empty class < c, or NUB_HEAP_CLASSES if none. */
static unsigned class_last_below(const struct nub_heap *h, unsigned c)
{
    if (c == 0)
        return NUB_HEAP_CLASSES;
    c--;
    unsigned fl = c / NUB_HEAP_SUBCLASSES, sl = c % NUB_HEAP_SUBCLASSES;
    unsigned m = h->sl_bits[fl] & (0xffu >> (NUB_HEAP_SUBCLASSES - 1 - sl));
    if (m)
        return fl * NUB_HEAP_SUBCLASSES + 31u - (unsigned)__builtin_clz(m);
    uint64_t f = h->fl_bits & ((1ull << fl) - 1);
    if (!f)
        return NUB_HEAP_CLASSES;
    fl = 63u - (unsigned)__builtin_clzll(f);
    if (!h->sl_bits[fl])
        nub_panic("heap: class bitmaps disagree at %u", fl);
    return fl * NUB_HEAP_SUBCLASSES + 31u - (unsigned)__builtin_clz(h->sl_bits[fl]);
}

static uint32_t descs_available(const struct nub_heap *h)
{
    return h->max_descs - 1 - h->live_descs;
}

static uint32_t desc_get(struct nub_heap *h)
{
    uint32_t i;
    if (h->spare) {
        i = h->spare;
        h->spare = D(h, i)->lnext;
    } else if (h->fresh < h->max_descs) {
        i = h->fresh++;
    } else {
        return 0;
    }
    struct blk *b = D(h, i);
    *b = (struct blk){0};
    h->live_descs++;
    return i;
}

static void desc_put(struct nub_heap *h, uint32_t i)
{
    struct blk *b = D(h, i);
    *b = (struct blk){0};
    b->lnext = h->spare;
    h->spare = i;
    h->live_descs--;
}

/* ---- doubly linked lists through lprev/lnext ---- */

static void list_push(struct nub_heap *h, uint32_t *head, uint32_t i)
{
    struct blk *b = D(h, i);
    b->lprev = 0;
    b->lnext = *head;
    if (*head)
        D(h, *head)->lprev = i;
    *head = i;
}

static void list_remove(struct nub_heap *h, uint32_t *head, uint32_t i)
{
    struct blk *b = D(h, i);
    if (b->lprev)
        D(h, b->lprev)->lnext = b->lnext;
    else
        *head = b->lnext;
    if (b->lnext)
        D(h, b->lnext)->lprev = b->lprev;
    b->lprev = b->lnext = 0;
}

static void bin_insert(struct nub_heap *h, uint32_t i)
{
    unsigned c = class_of(D(h, i)->size);
    list_push(h, &h->bins[c], i);
    h->sl_bits[c / NUB_HEAP_SUBCLASSES] |= (uint8_t)(1u << (c % NUB_HEAP_SUBCLASSES));
    h->fl_bits |= 1ull << (c / NUB_HEAP_SUBCLASSES);
    h->free_blocks++;
}

static void bin_remove(struct nub_heap *h, uint32_t i)
{
    unsigned c = class_of(D(h, i)->size), fl = c / NUB_HEAP_SUBCLASSES;
    list_remove(h, &h->bins[c], i);
    if (!h->bins[c]) {
        h->sl_bits[fl] &= (uint8_t)~(1u << (c % NUB_HEAP_SUBCLASSES));
        if (!h->sl_bits[fl])
            h->fl_bits &= ~(1ull << fl);
    }
    h->free_blocks--;
}

/* ---- address order ---- */

/* Unlinks block i (being merged into a neighbour) from the address list. */
static void addr_unlink(struct nub_heap *h, uint32_t i)
{
    struct blk *b = D(h, i);
    if (b->aprev)
        D(h, b->aprev)->anext = b->anext;
    if (b->anext)
        D(h, b->anext)->aprev = b->aprev;
}

static void addr_insert_before(struct nub_heap *h, uint32_t at, uint32_t i)
{
    struct blk *a = D(h, at), *b = D(h, i);
    b->aprev = a->aprev;
    b->anext = at;
    if (a->aprev)
        D(h, a->aprev)->anext = i;
    a->aprev = i;
}

static void addr_insert_after(struct nub_heap *h, uint32_t at, uint32_t i)
{
    struct blk *a = D(h, at), *b = D(h, i);
    b->anext = a->anext;
    b->aprev = at;
    if (a->anext)
        D(h, a->anext)->aprev = i;
    a->anext = i;
}

/* ---- used blocks by address: open addressing, backward-shift delete ---- */

static uint32_t map_home(const struct nub_heap *h, uint64_t gpa)
{
    return (uint32_t)((gpa * 0x9E3779B97F4A7C15ull) >> 32) & h->map_mask;
}

/* Slot holding the used block that starts at gpa, or -1. */
static int64_t map_slot(const struct nub_heap *h, uint64_t gpa)
{
    const uint32_t *m = map(h);
    uint32_t s = map_home(h, gpa);
    for (uint64_t n = 0; n <= h->map_mask; n++, s = (s + 1) & h->map_mask) {
        if (!m[s])
            return -1;
        const struct blk *b = D(h, m[s]);
        if (b->start == gpa && b->state == B_USED)
            return s;
    }
    return -1;
}

static uint32_t map_find(const struct nub_heap *h, uint64_t gpa)
{
    int64_t s = map_slot(h, gpa);
    return s < 0 ? 0 : map(h)[s];
}

static void map_insert(struct nub_heap *h, uint32_t i)
{
    uint32_t *m = map(h);
    uint32_t s = map_home(h, D(h, i)->start);
    for (uint64_t n = 0; n <= h->map_mask; n++, s = (s + 1) & h->map_mask) {
        if (!m[s]) {
            m[s] = i;
            return;
        }
    }
    nub_panic("heap: block map full"); /* impossible: it holds < half */
}

static void map_remove_slot(struct nub_heap *h, uint32_t hole)
{
    uint32_t *m = map(h), mask = h->map_mask, j = hole;
    for (uint64_t n = 0; n < mask; n++) {
        j = (j + 1) & mask;
        if (!m[j])
            break;
        uint32_t home = map_home(h, D(h, m[j])->start);
        /* The entry at j may fill the hole unless its home lies
         * cyclically in (hole, j]: then moving it would hide it. */
        if (((j - home) & mask) < ((j - hole) & mask))
            continue;
        m[hole] = m[j];
        hole = j;
    }
    m[hole] = 0;
}

/* ---- public API ---- */

enum nub_status nub_heap_init(struct nub_heap *h, uint64_t start, uint64_t end)
{
    uint64_t fixed;
    *h = (struct nub_heap){0};
    return nub_heap_init_reserve(h, start, end, 0, &fixed);
}

enum nub_status nub_heap_init_reserve(struct nub_heap *h, uint64_t start, uint64_t end,
                                      uint64_t reserve, uint64_t *fixed)
{
    /* *h is zero (the caller's promise): zeroing its 2 KB again would be
     * ~280 emulated string-store iterations of every start. */
    *fixed = 0;
    start = nub_align_up(start, NUB_PAGE_SIZE);
    end &= ~(NUB_PAGE_SIZE - 1);
    if (start == 0 || end <= start)
        return NUB_ST_INVAL;
    uint64_t descs = (end - start) / NUB_HEAP_BYTES_PER_DESC;
    if (descs < NUB_HEAP_MIN_DESCS)
        descs = NUB_HEAP_MIN_DESCS;
    if (descs > NUB_HEAP_MAX_DESCS)
        descs = NUB_HEAP_MAX_DESCS;
    /* The power of two >= 2 * descs (descs >= 1024), without a doubling
     * loop: 18 rounds of it were ~55 emulated instructions of every INIT. */
    uint64_t map_cap = 1ull << (64 - __builtin_clzll(2 * descs - 1));
    uint64_t meta = nub_align_up(descs * sizeof(struct blk), 64) + map_cap * sizeof(uint32_t);
    uint64_t below = nub_align_up(start + meta, NUB_HEAP_GRANULE);
    if (below >= end || reserve > end - below)
        return NUB_ST_NOMEM;
    uint64_t arena = nub_align_up(below + reserve, NUB_PAGE_SIZE);
    if (arena >= end)
        return NUB_ST_NOMEM;
    h->meta_gpa = start;
    h->meta_len = meta;
    *fixed = reserve ? below : 0;
    h->arena_start = arena;
    h->arena_end = end;
    h->max_descs = (uint32_t)descs;
    h->map_mask = (uint32_t)(map_cap - 1);
    h->fresh = 1;
    uint32_t i = desc_get(h);
    struct blk *b = D(h, i);
    b->start = arena;
    b->size = end - arena;
    b->state = B_FREE;
    bin_insert(h, i);
    return NUB_ST_OK;
}

/* Carves [a, a+need) out of free block i and marks it used. */
static void take(struct nub_heap *h, uint32_t i, uint64_t a, uint64_t need,
                 enum nub_heap_owner owner)
{
    bin_remove(h, i);
    struct blk *b = D(h, i);
    if (a > b->start) {
        uint32_t l = desc_get(h);
        struct blk *lb = D(h, l);
        lb->start = b->start;
        lb->size = a - b->start;
        lb->state = B_FREE;
        addr_insert_before(h, i, l);
        bin_insert(h, l);
        b->start = a;
        b->size -= lb->size;
    }
    if (b->size > need) {
        uint32_t t = desc_get(h);
        struct blk *tb = D(h, t);
        tb->start = a + need;
        tb->size = b->size - need;
        tb->state = B_FREE;
        addr_insert_after(h, i, t);
        bin_insert(h, t);
        b->size = need;
    }
    b->state = B_USED;
    b->owner = (uint8_t)owner;
    map_insert(h, i);
    h->used += need;
    h->used_blocks++;
}

/* Whether need bytes aligned to align fit in free block b. */
static bool fits(const struct blk *b, uint64_t align, uint64_t need)
{
    uint64_t pad = nub_align_up(b->start, align) - b->start;
    return pad <= b->size && b->size - pad >= need;
}

static enum nub_status take_fit(struct nub_heap *h, uint32_t i, uint64_t align, uint64_t need,
                                enum nub_heap_owner owner, uint64_t *gpa)
{
    uint64_t a = nub_align_up(D(h, i)->start, align);
    take(h, i, a, need, owner);
    *gpa = a;
    return NUB_ST_OK;
}

enum nub_status nub_heap_alloc(struct nub_heap *h, uint64_t size, uint64_t align,
                               enum nub_heap_owner owner, uint64_t *gpa)
{
    if (align == 0)
        align = NUB_HEAP_GRANULE;
    if ((align & (align - 1)) || align > NUB_HEAP_MAX_ALIGN)
        return NUB_ST_INVAL;
    if (align < NUB_HEAP_GRANULE)
        align = NUB_HEAP_GRANULE;
    if (size == 0)
        size = NUB_HEAP_GRANULE;
    if (size > h->arena_end - h->arena_start)
        return NUB_ST_NOMEM;
    uint64_t need = nub_align_up(size, NUB_HEAP_GRANULE);
    if (descs_available(h) < 2) /* a split may need two descriptors */
        return NUB_ST_NOMEM;

    /* Any block of at least want fits, whatever its start: starts are
     * granule aligned, so the padding is at most align - granule. */
    uint64_t want = need + (align - NUB_HEAP_GRANULE);
    unsigned c = class_first_from(h, class_up(want));
    if (c < NUB_HEAP_CLASSES) {
        uint32_t i = h->bins[c];
        h->visits++;
        if (!fits(D(h, i), align, need))
            nub_panic("heap: free block of %llu in class %u", (unsigned long long)D(h, i)->size,
                      c);
        return take_fit(h, i, align, need, owner, gpa);
    }
    /* No block is sure to fit: a few smaller ones may, depending on where
     * they start. Larger classes first; a bounded look, so a nearly full
     * heap answers NOMEM without walking every fragment. */
    unsigned lo = class_of(need), budget = NUB_HEAP_FIT_SCAN;
    for (c = class_last_below(h, class_up(want)); c < NUB_HEAP_CLASSES && c >= lo && budget;
         c = class_last_below(h, c)) {
        for (uint32_t i = h->bins[c]; i && budget; i = D(h, i)->lnext, budget--) {
            h->visits++;
            if (fits(D(h, i), align, need))
                return take_fit(h, i, align, need, owner, gpa);
        }
    }
    return NUB_ST_NOMEM;
}

enum nub_status nub_heap_free(struct nub_heap *h, uint64_t gpa, enum nub_heap_owner owner)
{
    int64_t s = map_slot(h, gpa);
    if (s < 0)
        return NUB_ST_INVAL;
    uint32_t i = map(h)[s];
    struct blk *b = D(h, i);
    if (b->owner != owner)
        return NUB_ST_INVAL;
    map_remove_slot(h, (uint32_t)s);
    h->used -= b->size;
    h->used_blocks--;
    b->state = B_PENDING;
    b->owner = 0;
    /* Merge with quarantined neighbours that are not reported yet, so the
     * host gets fewer, larger ranges to zero. */
    if (b->aprev && D(h, b->aprev)->state == B_PENDING) {
        uint32_t p = b->aprev;
        D(h, p)->size += b->size;
        addr_unlink(h, i);
        desc_put(h, i);
        i = p;
    } else {
        list_push(h, &h->pending, i);
        h->pending_count++;
    }
    b = D(h, i);
    if (b->anext && D(h, b->anext)->state == B_PENDING) {
        uint32_t n = b->anext;
        b->size += D(h, n)->size;
        list_remove(h, &h->pending, n);
        h->pending_count--;
        addr_unlink(h, n);
        desc_put(h, n);
    }
    return NUB_ST_OK;
}

uint64_t nub_heap_block_size(const struct nub_heap *h, uint64_t gpa, enum nub_heap_owner *owner)
{
    uint32_t i = map_find(h, gpa);
    if (!i)
        return 0;
    if (owner)
        *owner = (enum nub_heap_owner)D(h, i)->owner;
    return D(h, i)->size;
}

enum nub_status nub_heap_set_owner(struct nub_heap *h, uint64_t gpa, enum nub_heap_owner from,
                                   enum nub_heap_owner to)
{
    uint32_t i = map_find(h, gpa);
    if (!i || D(h, i)->owner != from)
        return NUB_ST_INVAL;
    D(h, i)->owner = (uint8_t)to;
    return NUB_ST_OK;
}

/* A zeroed range joins the free bins, coalesced with free neighbours. */
static void make_free(struct nub_heap *h, uint32_t i)
{
    struct blk *b = D(h, i);
    b->state = B_FREE;
    if (b->aprev && D(h, b->aprev)->state == B_FREE) {
        uint32_t p = b->aprev;
        bin_remove(h, p);
        D(h, p)->size += b->size;
        addr_unlink(h, i);
        desc_put(h, i);
        i = p;
        b = D(h, i);
    }
    if (b->anext && D(h, b->anext)->state == B_FREE) {
        uint32_t n = b->anext;
        bin_remove(h, n);
        b->size += D(h, n)->size;
        addr_unlink(h, n);
        desc_put(h, n);
    }
    bin_insert(h, i);
}

void nub_heap_call_begin(struct nub_heap *h)
{
    for (uint32_t n = 0; h->reported && n <= NUB_SCRUB_MAX; n++) {
        uint32_t i = h->reported;
        list_remove(h, &h->reported, i);
        make_free(h, i);
    }
    if (h->reported)
        nub_panic("heap: scrub list longer than reported");
}

void nub_heap_call_end(struct nub_heap *h, struct nub_mailbox *mb)
{
    uint32_t n = 0;
    while (h->pending && n < NUB_SCRUB_MAX) {
        uint32_t i = h->pending;
        list_remove(h, &h->pending, i);
        h->pending_count--;
        struct blk *b = D(h, i);
        b->state = B_REPORTED;
        list_push(h, &h->reported, i);
        mb->scrub[n].gpa = b->start;
        mb->scrub[n].len = b->size;
        n++;
    }
    mb->scrub_count = n;
    mb->scrub_more = h->pending != 0;
}

uint64_t nub_heap_total(const struct nub_heap *h) { return h->arena_end - h->arena_start; }
uint64_t nub_heap_used(const struct nub_heap *h) { return h->used; }

/* ---- invariant check (tests) ---- */

static int check_list(const struct nub_heap *h, uint32_t head, uint8_t state, uint32_t *count)
{
    uint32_t prev = 0, n = 0;
    for (uint32_t i = head; i; i = D(h, i)->lnext) {
        if (++n > h->live_descs)
            return -1;
        if (D(h, i)->state != state || D(h, i)->lprev != prev)
            return -2;
        prev = i;
    }
    *count = n;
    return 0;
}

int nub_heap_check(const struct nub_heap *h)
{
    uint64_t used = 0;
    uint32_t live = 0, used_blocks = 0, free_blocks = 0, first = 0;
    for (uint32_t i = 1; i < h->fresh; i++) {
        const struct blk *b = D(h, i);
        if (b->state == B_SPARE)
            continue;
        live++;
        if (b->size == 0 || b->start % NUB_HEAP_GRANULE || b->size % NUB_HEAP_GRANULE ||
            b->start < h->arena_start || b->start + b->size > h->arena_end)
            return -10;
        if (b->state == B_USED) {
            used += b->size;
            used_blocks++;
            if (map_find(h, b->start) != i)
                return -11;
        } else if (b->state == B_FREE) {
            free_blocks++;
        } else if (b->state != B_PENDING && b->state != B_REPORTED) {
            return -12;
        }
        if (!b->aprev) {
            if (first)
                return -13;
            first = i;
        }
    }
    if (live != h->live_descs || used != h->used || used_blocks != h->used_blocks ||
        free_blocks != h->free_blocks)
        return -14;
    /* The address list tiles the arena; no two free (or two pending)
     * neighbours are left unmerged. */
    uint64_t at = h->arena_start;
    uint32_t n = 0, prev = 0;
    for (uint32_t i = first; i; i = D(h, i)->anext) {
        const struct blk *b = D(h, i);
        if (++n > live || b->start != at || b->aprev != prev)
            return -15;
        if (prev && b->state == D(h, prev)->state &&
            (b->state == B_FREE || b->state == B_PENDING))
            return -16;
        at += b->size;
        prev = i;
    }
    if (at != h->arena_end || n != live)
        return -17;
    uint32_t in_bins = 0;
    for (unsigned c = 0; c < NUB_HEAP_CLASSES; c++) {
        uint32_t n = 0;
        if (check_list(h, h->bins[c], B_FREE, &n))
            return -18;
        for (uint32_t i = h->bins[c]; i; i = D(h, i)->lnext)
            if (class_of(D(h, i)->size) != c)
                return -19;
        unsigned fl = c / NUB_HEAP_SUBCLASSES, bit = 1u << (c % NUB_HEAP_SUBCLASSES);
        if (!!n != !!(h->sl_bits[fl] & bit))
            return -20;
        in_bins += n;
    }
    for (unsigned fl = 0; fl < 64; fl++)
        if (!!h->sl_bits[fl] != !!(h->fl_bits & (1ull << fl)))
            return -20;
    if (in_bins != free_blocks)
        return -21;
    uint32_t c = 0;
    if (check_list(h, h->pending, B_PENDING, &c) || c != h->pending_count)
        return -22;
    if (check_list(h, h->reported, B_REPORTED, &c))
        return -23;
    uint32_t in_map = 0;
    for (uint64_t s = 0; s <= h->map_mask; s++)
        in_map += map(h)[s] != 0;
    if (in_map != used_blocks)
        return -24;
    return 0;
}
