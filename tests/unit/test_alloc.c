/* Unit tests of the guest heap allocator (host build, nubguest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "guest_test_mem.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alignment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quarantine_and_scrub, setup, teardown),
        cmocka_unit_test_setup_teardown(test_coalesce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exhaustion, setup, teardown),
        cmocka_unit_test(test_descriptor_exhaustion),
        cmocka_unit_test_setup_teardown(test_owner_and_bad_free, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scrub_more, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_zero_and_baseline, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
