/* Unit tests of the guest heap allocator (host build, nubguest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "guest_test_mem.h"
#include "nub/guest_dir.h"
#include "nub/guest_heap.h"

#define MEM (32ull << 20)
#define HEAP_LO (1ull << 20)

struct fx {
    uint8_t *base;
    struct nub_heap h;
    struct nub_mailbox mb;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f || !(f->base = guest_test_mem_open(MEM)))
        return -1;
    if (nub_heap_init(&f->h, HEAP_LO, MEM) != NUB_ST_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    guest_test_mem_close(f->base, MEM);
    free(f);
    return 0;
}

/* One call boundary: report quarantine, let the "host" zero it, start the
 * next call. Returns the number of ranges scrubbed. */
static int boundary(struct fx *f)
{
    nub_heap_call_end(&f->h, &f->mb);
    int n = guest_test_scrub(&f->mb, f->h.arena_start, f->h.arena_end);
    assert_true(n >= 0);
    nub_heap_call_begin(&f->h);
    assert_int_equal(nub_heap_check(&f->h), 0);
    return n;
}

static uint64_t alloc_ok(struct fx *f, uint64_t size, uint64_t align)
{
    uint64_t gpa = 0;
    assert_int_equal(nub_heap_alloc(&f->h, size, align, NUB_OWNER_HOST, &gpa), NUB_ST_OK);
    return gpa;
}

static void test_init(void **state)
{
    struct fx *f = *state;
    assert_int_equal(nub_heap_check(&f->h), 0);
    assert_true(f->h.arena_start >= HEAP_LO + f->h.meta_len);
    assert_int_equal(f->h.arena_start % NUB_PAGE_SIZE, 0);
    assert_int_equal(f->h.arena_end, MEM);
    assert_int_equal(nub_heap_total(&f->h), MEM - f->h.arena_start);
    assert_int_equal(nub_heap_used(&f->h), 0);
    /* Metadata is bounded and small next to the heap. */
    assert_true(f->h.meta_len < (MEM - HEAP_LO) / 16);

    struct nub_heap h2;
    assert_int_equal(nub_heap_init(&h2, 0, MEM), NUB_ST_INVAL);
    assert_int_equal(nub_heap_init(&h2, MEM, HEAP_LO), NUB_ST_INVAL);
    assert_int_equal(nub_heap_init(&h2, HEAP_LO, HEAP_LO + 8192), NUB_ST_NOMEM);
}

/* A reserve lies between the metadata and the arena: zero, never handed
 * out, not counted; one that does not fit is NOMEM. */
static void test_init_reserve(void **state)
{
    (void)state;
    uint8_t *base = guest_test_mem_open(MEM);
    assert_non_null(base);
    struct nub_heap h = {0}; /* nub_heap_init_reserve wants it zero */
    uint64_t fixed = 1;
    const uint64_t want = 82000;
    assert_int_equal(nub_heap_init_reserve(&h, HEAP_LO, MEM, want, &fixed), NUB_ST_OK);
    assert_int_equal(nub_heap_check(&h), 0);
    assert_true(fixed >= HEAP_LO + h.meta_len);
    assert_int_equal(fixed % NUB_HEAP_GRANULE, 0);
    assert_true(fixed + want <= h.arena_start);
    assert_int_equal(h.arena_start % NUB_PAGE_SIZE, 0);
    assert_true(guest_test_is_zero(fixed, want));
    assert_int_equal(nub_heap_used(&h), 0);
    assert_int_equal(nub_heap_total(&h), MEM - h.arena_start);
    /* Everything the heap has, allocated: none of it overlaps the reserve. */
    uint64_t all = 0;
    assert_int_equal(nub_heap_alloc(&h, nub_heap_total(&h), 0, NUB_OWNER_HOST, &all), NUB_ST_OK);
    assert_true(all >= fixed + want);
    /* No reserve: as nub_heap_init; one past the end: NOMEM. */
    guest_test_mem_close(base, MEM);
    base = guest_test_mem_open(MEM);
    assert_non_null(base);
    h = (struct nub_heap){0};
    assert_int_equal(nub_heap_init_reserve(&h, HEAP_LO, MEM, 0, &fixed), NUB_ST_OK);
    assert_int_equal(fixed, 0);
    assert_int_equal(nub_heap_init_reserve(&h, HEAP_LO, MEM, MEM, &fixed), NUB_ST_NOMEM);
    assert_int_equal(nub_heap_init_reserve(&h, HEAP_LO, MEM, UINT64_MAX, &fixed), NUB_ST_NOMEM);
    guest_test_mem_close(base, MEM);
}

static void test_alloc_basic(void **state)
{
    struct fx *f = *state;
    uint64_t a = alloc_ok(f, 100, 0), b = alloc_ok(f, 1, 0), c = alloc_ok(f, 0, 0);
    assert_int_equal(a % NUB_HEAP_GRANULE, 0);
    assert_true(a >= f->h.arena_start && a + 128 <= MEM);
    /* Sizes round up to the granule; blocks never overlap. */
    assert_true(b >= a + 128 || b + 64 <= a);
    assert_true(c != a && c != b);
    assert_int_equal(nub_heap_used(&f->h), 128 + 64 + 64);
    enum nub_heap_owner o = 0;
    assert_int_equal(nub_heap_block_size(&f->h, a, &o), 128);
    assert_int_equal(o, NUB_OWNER_HOST);
    assert_int_equal(nub_heap_block_size(&f->h, a + 64, NULL), 0);
    assert_true(guest_test_is_zero(a, 128));
    assert_int_equal(nub_heap_check(&f->h), 0);
}

static void test_alignment(void **state)
{
    struct fx *f = *state;
    alloc_ok(f, 64, 0); /* so the next block does not start page aligned */
    uint64_t sizes[] = {4096, 1ull << 16, 2ull << 20};
    for (unsigned i = 0; i < 3; i++) {
        uint64_t g = alloc_ok(f, 100, sizes[i]);
        assert_int_equal(g % sizes[i], 0);
    }
    assert_int_equal(alloc_ok(f, 8, 1) % NUB_HEAP_GRANULE, 0);
    uint64_t g;
    assert_int_equal(nub_heap_alloc(&f->h, 64, 3, NUB_OWNER_HOST, &g), NUB_ST_INVAL);
    assert_int_equal(nub_heap_alloc(&f->h, 64, 1ull << 31, NUB_OWNER_HOST, &g), NUB_ST_INVAL);
    /* Alignment padding stays allocatable: no leak of the gaps. */
    assert_int_equal(nub_heap_check(&f->h), 0);
}

static void test_quarantine_and_scrub(void **state)
{
    struct fx *f = *state;
    uint64_t a = alloc_ok(f, 4096, 4096);
    memset(nub_mem_ptr(a), 0xab, 4096); /* the host fills it */
    assert_int_equal(nub_heap_free(&f->h, a, NUB_OWNER_HOST), NUB_ST_OK);
    assert_int_equal(nub_heap_used(&f->h), 0);
    /* Not reusable within the same call: it is not zero yet. */
    uint64_t b = alloc_ok(f, 4096, 4096);
    assert_int_not_equal(b, a);
    assert_true(guest_test_is_zero(b, 4096));
    nub_heap_call_end(&f->h, &f->mb);
    assert_int_equal(f->mb.scrub_count, 1);
    assert_int_equal(f->mb.scrub_more, 0);
    assert_int_equal(f->mb.scrub[0].gpa, a);
    assert_int_equal(f->mb.scrub[0].len, 4096);
    /* Still not reusable until the next call begins. */
    uint64_t c = alloc_ok(f, 4096, 4096);
    assert_true(c != a);
    assert_int_equal(guest_test_scrub(&f->mb, f->h.arena_start, f->h.arena_end), 1);
    nub_heap_call_begin(&f->h);
    assert_int_equal(nub_heap_check(&f->h), 0);
    /* Nothing more to report. */
    nub_heap_call_end(&f->h, &f->mb);
    assert_int_equal(f->mb.scrub_count, 0);
}

static void test_coalesce(void **state)
{
    struct fx *f = *state;
    uint64_t a = alloc_ok(f, 1000, 0), b = alloc_ok(f, 1000, 0), c = alloc_ok(f, 1000, 0);
    uint64_t keep = alloc_ok(f, 64, 0);
    /* Adjacent frees in one call are reported as one range. */
    assert_int_equal(nub_heap_free(&f->h, a, NUB_OWNER_HOST), NUB_ST_OK);
    assert_int_equal(nub_heap_free(&f->h, c, NUB_OWNER_HOST), NUB_ST_OK);
    assert_int_equal(nub_heap_free(&f->h, b, NUB_OWNER_HOST), NUB_ST_OK);
    nub_heap_call_end(&f->h, &f->mb);
    assert_int_equal(f->mb.scrub_count, 1);
    uint64_t lo = a < c ? a : c;
    assert_int_equal(f->mb.scrub[0].gpa, lo);
    assert_int_equal(f->mb.scrub[0].len, 3 * 1024);
    guest_test_scrub(&f->mb, f->h.arena_start, f->h.arena_end);
    nub_heap_call_begin(&f->h);
    assert_int_equal(nub_heap_check(&f->h), 0);
    /* Freeing the last block merges everything back into one free block. */
    assert_int_equal(nub_heap_free(&f->h, keep, NUB_OWNER_HOST), NUB_ST_OK);
    boundary(f);
    assert_int_equal(f->h.free_blocks, 1);
    assert_int_equal(f->h.used_blocks, 0);
    assert_int_equal(f->h.live_descs, 1);
    /* ... so the whole heap is one allocation again. */
    uint64_t all = alloc_ok(f, nub_heap_total(&f->h), 0);
    assert_int_equal(all, f->h.arena_start);
}

static void test_exhaustion(void **state)
{
    struct fx *f = *state;
    uint64_t total = nub_heap_total(&f->h), g, n = 0, blocks[64];
    assert_int_equal(nub_heap_alloc(&f->h, total + 1, 0, NUB_OWNER_HOST, &g), NUB_ST_NOMEM);
    assert_int_equal(nub_heap_alloc(&f->h, UINT64_MAX, 0, NUB_OWNER_HOST, &g), NUB_ST_NOMEM);
    assert_int_equal(nub_heap_alloc(&f->h, UINT64_MAX - 10, 4096, NUB_OWNER_HOST, &g),
                     NUB_ST_NOMEM);
    while (nub_heap_alloc(&f->h, 1ull << 20, 0, NUB_OWNER_HOST, &g) == NUB_ST_OK)
        blocks[n++] = g;
    assert_int_equal(n, total >> 20);
    assert_int_equal(nub_heap_check(&f->h), 0);
    for (uint64_t i = 0; i < n; i++)
        assert_int_equal(nub_heap_free(&f->h, blocks[i], NUB_OWNER_HOST), NUB_ST_OK);
    assert_int_equal(nub_heap_used(&f->h), 0);
    boundary(f);
    assert_int_equal(f->h.free_blocks, 1);
    alloc_ok(f, total, 0);
}

static void test_descriptor_exhaustion(void **state)
{
    (void)state;
    /* A small heap gets the minimum descriptor pool: 64-byte blocks run out
     * of descriptors before bytes, and that is NOMEM, not a crash. */
    uint8_t *base = guest_test_mem_open(8ull << 20);
    assert_non_null(base);
    struct nub_heap h;
    assert_int_equal(nub_heap_init(&h, HEAP_LO, 3ull << 20), NUB_ST_OK);
    assert_int_equal(h.max_descs, NUB_HEAP_MIN_DESCS);
    static uint64_t g[NUB_HEAP_MIN_DESCS];
    uint32_t n = 0;
    while (n < NUB_HEAP_MIN_DESCS && nub_heap_alloc(&h, 64, 0, NUB_OWNER_HOST, &g[n]) == NUB_ST_OK)
        n++;
    assert_true(n >= NUB_HEAP_MIN_DESCS - 3 && n < NUB_HEAP_MIN_DESCS);
    assert_int_equal(nub_heap_check(&h), 0);
    /* Free every other block: no descriptor is needed to free. */
    for (uint32_t i = 0; i < n; i += 2)
        assert_int_equal(nub_heap_free(&h, g[i], NUB_OWNER_HOST), NUB_ST_OK);
    assert_int_equal(nub_heap_check(&h), 0);
    guest_test_mem_close(base, 8ull << 20);
}

static void test_owner_and_bad_free(void **state)
{
    struct fx *f = *state;
    uint64_t a = alloc_ok(f, 64, 0), k;
    assert_int_equal(nub_heap_alloc(&f->h, 64, 0, NUB_OWNER_KERNEL, &k), NUB_ST_OK);
    assert_int_equal(nub_heap_free(&f->h, k, NUB_OWNER_HOST), NUB_ST_INVAL);
    assert_int_equal(nub_heap_free(&f->h, a + 64 * 100, NUB_OWNER_HOST), NUB_ST_INVAL);
    assert_int_equal(nub_heap_free(&f->h, 0, NUB_OWNER_HOST), NUB_ST_INVAL);
    assert_int_equal(nub_heap_set_owner(&f->h, a, NUB_OWNER_KERNEL, NUB_OWNER_CAP), NUB_ST_INVAL);
    assert_int_equal(nub_heap_set_owner(&f->h, a, NUB_OWNER_HOST, NUB_OWNER_CAP), NUB_ST_OK);
    assert_int_equal(nub_heap_free(&f->h, a, NUB_OWNER_HOST), NUB_ST_INVAL);
    assert_int_equal(nub_heap_free(&f->h, a, NUB_OWNER_CAP), NUB_ST_OK);
    assert_int_equal(nub_heap_free(&f->h, a, NUB_OWNER_CAP), NUB_ST_INVAL); /* double free */
    assert_int_equal(nub_heap_free(&f->h, k, NUB_OWNER_KERNEL), NUB_ST_OK);
    assert_int_equal(nub_heap_check(&f->h), 0);
}

static void test_scrub_more(void **state)
{
    struct fx *f = *state;
    enum { N = 150 };
    uint64_t g[N], sep;
    for (int i = 0; i < N; i++) {
        g[i] = alloc_ok(f, 64, 0);
        sep = alloc_ok(f, 64, 0); /* keeps the freed blocks apart */
        (void)sep;
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(nub_heap_free(&f->h, g[i], NUB_OWNER_HOST), NUB_ST_OK);
    /* More ranges than one mailbox holds: reported over several calls. */
    int total = 0, calls = 0;
    do {
        int n = boundary(f);
        assert_true(n <= NUB_SCRUB_MAX);
        total += n;
        calls++;
    } while (f->mb.scrub_more);
    assert_int_equal(total, N);
    assert_int_equal(calls, (N + NUB_SCRUB_MAX - 1) / NUB_SCRUB_MAX);
    assert_int_equal(f->h.pending_count, 0);
}

/* Random alloc/free with the host writing into every block: whatever the
 * sequence, each allocation is zero, the invariants hold, and the heap
 * returns to its starting level. */
static void test_random_zero_and_baseline(void **state)
{
    struct fx *f = *state;
    enum { SLOTS = 300, STEPS = 6000 };
    static uint64_t gpa[SLOTS], len[SLOTS];
    memset(gpa, 0, sizeof gpa);
    uint64_t base_used = nub_heap_used(&f->h);
    srand(12345);
    for (int step = 0; step < STEPS; step++) {
        int s = rand() % SLOTS;
        if (gpa[s]) {
            assert_int_equal(nub_heap_free(&f->h, gpa[s], NUB_OWNER_HOST), NUB_ST_OK);
            gpa[s] = 0;
        } else {
            uint64_t size = (uint64_t)(rand() % 5 == 0 ? rand() % (256 << 10) : rand() % 3000);
            uint64_t align = rand() % 4 == 0 ? 1ull << (6 + rand() % 10) : 0;
            if (nub_heap_alloc(&f->h, size, align, NUB_OWNER_HOST, &gpa[s]) == NUB_ST_OK) {
                len[s] = size ? size : 1;
                assert_true(guest_test_is_zero(gpa[s], len[s]));
                if (align)
                    assert_int_equal(gpa[s] % align, 0);
                memset(nub_mem_ptr(gpa[s]), 0x5a, len[s]);
            } else {
                gpa[s] = 0;
            }
        }
        if (step % 7 == 0)
            boundary(f);
        if (step % 500 == 0)
            assert_int_equal(nub_heap_check(&f->h), 0);
    }
    for (int s = 0; s < SLOTS; s++)
        if (gpa[s])
            assert_int_equal(nub_heap_free(&f->h, gpa[s], NUB_OWNER_HOST), NUB_ST_OK);
    assert_int_equal(nub_heap_used(&f->h), base_used);
    do
        boundary(f);
    while (f->mb.scrub_more || f->h.reported);
    assert_int_equal(f->h.free_blocks, 1);
    assert_true(guest_test_is_zero(f->h.arena_start, nub_heap_total(&f->h)));
}

/* ---- work bounds: the allocator's visit counter, not time ---- */

#define BIG_MEM (256ull << 20)

struct bigfx {
    uint8_t *base;
    struct nub_heap h;
    struct nub_dir d;
    struct nub_mailbox mb;
};

static struct bigfx *big_open(void)
{
    struct bigfx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_non_null(f->base = guest_test_mem_open(BIG_MEM));
    assert_int_equal(nub_heap_init(&f->h, HEAP_LO, BIG_MEM), NUB_ST_OK);
    assert_int_equal(nub_dir_create(&f->d, &f->h, 0x1234), NUB_ST_OK);
    return f;
}

static void big_close(struct bigfx *f)
{
    guest_test_mem_close(f->base, BIG_MEM);
    free(f);
}

/* Call boundary for the big fixture, without the O(blocks) check. */
static void big_boundary(struct bigfx *f)
{
    nub_heap_call_end(&f->h, &f->mb);
    assert_true(guest_test_scrub(&f->mb, f->h.arena_start, f->h.arena_end) >= 0);
    nub_heap_call_begin(&f->h);
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* What nub_call_put makes the guest do for each small blob: ALLOC(len,
 * 4096) in one call, then PUT (directory insert, growing it now and then,
 * and the block changing owner) in the next. Each page-aligned allocation
 * leaves a sub-page gap behind that can never hold another page-aligned
 * block; the allocator must not walk those gaps, so the work per ALLOC is
 * constant and the total stays linear in the number of blobs. */
static void test_aligned_small_blobs_linear_work(void **state)
{
    (void)state;
    enum { N = 20000 };
    struct bigfx *f = big_open();
    static uint64_t gpa[N];
    uint64_t rng = 42, visits0 = f->h.visits, worst = 0;
    for (unsigned k = 0; k < N; k++) {
        uint64_t len = 16 + xorshift(&rng) % 497, v = f->h.visits;
        assert_int_equal(nub_heap_alloc(&f->h, len, NUB_PAGE_SIZE, NUB_OWNER_HOST, &gpa[k]),
                         NUB_ST_OK);
        assert_int_equal(gpa[k] % NUB_PAGE_SIZE, 0);
        if (f->h.visits - v > worst)
            worst = f->h.visits - v;
        big_boundary(f);
        uint8_t hash[16];
        uint64_t a = xorshift(&rng), b = xorshift(&rng) ^ k;
        memcpy(hash, &a, 8);
        memcpy(hash + 8, &b, 8);
        uint32_t refs;
        int existed;
        assert_int_equal(nub_dir_put(&f->d, hash, gpa[k], len, NUB_CAP_BLOB, &refs, &existed),
                         NUB_ST_OK);
        assert_int_equal(existed, 0);
        assert_int_equal(nub_heap_set_owner(&f->h, gpa[k], NUB_OWNER_HOST, NUB_OWNER_CAP),
                         NUB_ST_OK);
        big_boundary(f);
    }
    /* Each allocation (blobs and directory tables alike) looks at one free
     * block. The old first-fit walk over the gaps needed ~N^2/2 = 2e8. */
    uint64_t work = f->h.visits - visits0;
    assert_true(work <= N + 64);
    assert_true(worst <= 1);
    assert_int_equal(f->d.count, N);
    assert_int_equal(nub_heap_check(&f->h), 0);
    assert_int_equal(nub_dir_check(&f->d), 0);

    /* The gaps are not lost: small unaligned (kernel-style) blocks fill
     * them instead of growing the heap's high-water mark. */
    uint64_t top = 0;
    for (unsigned k = 0; k < N; k++)
        if (gpa[k] > top)
            top = gpa[k];
    uint64_t v = f->h.visits;
    for (unsigned k = 0; k < 2000; k++) {
        uint64_t g;
        assert_int_equal(nub_heap_alloc(&f->h, 1000, 0, NUB_OWNER_KERNEL, &g), NUB_ST_OK);
        assert_true(g < top);
        assert_int_equal(nub_heap_free(&f->h, g, NUB_OWNER_KERNEL), NUB_ST_OK);
        big_boundary(f);
    }
    assert_true(f->h.visits - v <= 2000);

    /* Releasing everything coalesces back to one free block (once the
     * ticks have ended a migration still under way). */
    for (unsigned k = 0; k < N; k++)
        assert_int_equal(nub_heap_free(&f->h, gpa[k], NUB_OWNER_CAP), NUB_ST_OK);
    while (f->d.old_gpa)
        nub_dir_tick(&f->d);
    do
        big_boundary(f);
    while (f->mb.scrub_more || f->h.reported);
    assert_int_equal(nub_heap_check(&f->h), 0);
    /* Left: the directory's header and table, and the free space around. */
    assert_int_equal(f->h.used_blocks, 2);
    assert_true(f->h.free_blocks <= 3);
    big_close(f);
}

/* Good fit: a block exactly the requested size is still found when no
 * larger one exists, and a nearly full heap says NOMEM after a bounded
 * look instead of walking every fragment. */
static void test_fit_scan_bounded(void **state)
{
    struct fx *f = *state;
    enum { N = 3000 };
    static uint64_t g[N];
    /* Fill the heap with 192-byte blocks, free every odd one: N/2 free
     * 192-byte holes, nothing larger. */
    uint64_t total = nub_heap_total(&f->h), n = 0;
    while (n < N && nub_heap_alloc(&f->h, 192, 0, NUB_OWNER_HOST, &g[n]) == NUB_ST_OK)
        n++;
    assert_int_equal(n, N);
    uint64_t rest;
    assert_int_equal(nub_heap_alloc(&f->h, total - nub_heap_used(&f->h), 0, NUB_OWNER_HOST, &rest),
                     NUB_ST_OK);
    for (unsigned k = 1; k < N; k += 2)
        assert_int_equal(nub_heap_free(&f->h, g[k], NUB_OWNER_HOST), NUB_ST_OK);
    do
        boundary(f);
    while (f->mb.scrub_more || f->h.reported);
    assert_int_equal(f->h.free_blocks, N / 2);

    uint64_t v = f->h.visits, x;
    /* 200 rounds up to 256: no hole fits, and a bounded look says so. */
    assert_int_equal(nub_heap_alloc(&f->h, 200, 0, NUB_OWNER_HOST, &x), NUB_ST_NOMEM);
    assert_true(f->h.visits - v <= 1 + NUB_HEAP_FIT_SCAN);
    /* Page aligned: only the rare hole with a page boundary in its first
     * 64 bytes could hold it. Found or not, the look is bounded. */
    v = f->h.visits;
    if (nub_heap_alloc(&f->h, 128, NUB_PAGE_SIZE, NUB_OWNER_HOST, &x) == NUB_ST_OK)
        assert_int_equal(x % NUB_PAGE_SIZE, 0);
    assert_true(f->h.visits - v <= 1 + NUB_HEAP_FIT_SCAN);
    /* 192 is a class boundary: every hole fits, found without a search. */
    v = f->h.visits;
    x = alloc_ok(f, 192, 0);
    assert_int_equal(f->h.visits - v, 1);
    /* 150 rounds to 192 too: an exact-size hole is taken from its own class. */
    v = f->h.visits;
    alloc_ok(f, 150, 0);
    assert_true(f->h.visits - v <= 1 + NUB_HEAP_FIT_SCAN);
    assert_int_equal(nub_heap_check(&f->h), 0);
}

/* Random mixed traffic: no single allocation examines more than
 * 1 + NUB_HEAP_FIT_SCAN free blocks, whatever the fragmentation. */
static void test_random_visit_bound(void **state)
{
    struct fx *f = *state;
    enum { SLOTS = 2000, STEPS = 40000 };
    static uint64_t gpa[SLOTS];
    memset(gpa, 0, sizeof gpa);
    uint64_t rng = 7;
    for (int step = 0; step < STEPS; step++) {
        unsigned s = (unsigned)(xorshift(&rng) % SLOTS);
        if (gpa[s]) {
            assert_int_equal(nub_heap_free(&f->h, gpa[s], NUB_OWNER_HOST), NUB_ST_OK);
            gpa[s] = 0;
            continue;
        }
        uint64_t r = xorshift(&rng);
        uint64_t size = r % 8 == 0 ? r % (64 << 10) : 1 + r % 2000;
        uint64_t align = (r >> 20) % 3 == 0 ? 1ull << (6 + (r >> 24) % 12) : 0;
        uint64_t v = f->h.visits;
        if (nub_heap_alloc(&f->h, size, align, NUB_OWNER_HOST, &gpa[s]) != NUB_ST_OK)
            gpa[s] = 0;
        else if (align)
            assert_int_equal(gpa[s] % align, 0);
        assert_true(f->h.visits - v <= 1 + NUB_HEAP_FIT_SCAN);
        if (step % 5 == 0)
            boundary(f);
    }
    assert_int_equal(nub_heap_check(&f->h), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init, setup, teardown),
        cmocka_unit_test(test_init_reserve),
        cmocka_unit_test_setup_teardown(test_alloc_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alignment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quarantine_and_scrub, setup, teardown),
        cmocka_unit_test_setup_teardown(test_coalesce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exhaustion, setup, teardown),
        cmocka_unit_test(test_descriptor_exhaustion),
        cmocka_unit_test_setup_teardown(test_owner_and_bad_free, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scrub_more, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_zero_and_baseline, setup, teardown),
        cmocka_unit_test(test_aligned_small_blobs_linear_work),
        cmocka_unit_test_setup_teardown(test_fit_scan_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_visit_bound, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
