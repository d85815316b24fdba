/* Unit tests of the guest's cap directory (host build, nubguest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <xxhash.h> /* the system library: the reference for the slot hash */

#include "guest_test_mem.h"
#include "nub/guest_dir.h"

#define MEM (64ull << 20)
#define HEAP_LO (1ull << 20)
#define SEED 0x0123456789abcdefull

struct fx {
    uint8_t *base;
    struct nub_heap h;
    struct nub_dir d;
    struct nub_mailbox mb;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f || !(f->base = guest_test_mem_open(MEM)))
        return -1;
    if (nub_heap_init(&f->h, HEAP_LO, MEM) != NUB_ST_OK ||
        nub_dir_create(&f->d, &f->h, SEED) != NUB_ST_OK)
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

static void boundary(struct fx *f)
{
    nub_heap_call_end(&f->h, &f->mb);
    assert_true(guest_test_scrub(&f->mb, f->h.arena_start, f->h.arena_end) >= 0);
    nub_heap_call_begin(&f->h);
}

static void make_hash(uint8_t h[16], uint64_t i)
{
    uint64_t a = i * 0x9E3779B97F4A7C15ull + 1, b = ~i * 0xC2B2AE3D27D4EB4Full;
    memcpy(h, &a, 8);
    memcpy(h + 8, &b, 8);
}

static const struct nub_dir_header *header(const struct fx *f)
{
    return nub_mem_ptr(f->d.header_gpa);
}

static void put_ok(struct fx *f, const uint8_t h[16], uint64_t gpa, uint64_t len, uint32_t want_refs,
                   int want_existed)
{
    uint32_t refs = 0;
    int existed = -1;
    assert_int_equal(nub_dir_put(&f->d, h, gpa, len, NUB_CAP_BLOB, &refs, &existed), NUB_ST_OK);
    assert_int_equal(refs, want_refs);
    assert_int_equal(existed, want_existed);
}

static void test_slot_matches_libxxhash(void **state)
{
    (void)state;
    uint8_t h[16];
    for (uint64_t i = 0; i < 2000; i++) {
        make_hash(h, i);
        uint64_t seed = i * 0x100000001b3ull, cap = 1ull << (6 + i % 21);
        assert_int_equal(nub_dir_home_slot(h, seed, cap), XXH3_64bits_withSeed(h, 16, seed) & (cap - 1));
    }
}

static void test_create_publishes_header(void **state)
{
    struct fx *f = *state;
    const struct nub_dir_header *hd = header(f);
    assert_int_equal(hd->magic, NUB_DIR_MAGIC);
    assert_int_equal(hd->capacity, NUB_DIR_MIN_CAPACITY);
    assert_int_equal(hd->count, 0);
    assert_int_equal(hd->total_bytes, 0);
    assert_int_not_equal(hd->entries_gpa, 0);
    assert_true(guest_test_is_zero(hd->entries_gpa, hd->capacity * sizeof(struct nub_dir_entry)));
    assert_int_equal(nub_dir_check(&f->d), 0);
}

static void test_insert_lookup(void **state)
{
    struct fx *f = *state;
    uint8_t h[16];
    for (uint64_t i = 0; i < 20; i++) {
        make_hash(h, i);
        put_ok(f, h, 0x100000 + i * 64, i * 3, 1, 0);
    }
    for (uint64_t i = 0; i < 20; i++) {
        make_hash(h, i);
        const struct nub_dir_entry *e = nub_dir_lookup(&f->d, h);
        assert_non_null(e);
        assert_memory_equal(e->hash, h, 16);
        assert_int_equal(e->data_gpa, 0x100000 + i * 64);
        assert_int_equal(e->len, i * 3);
        assert_int_equal(e->refcount, 1);
        assert_int_equal(e->kind, NUB_CAP_BLOB);
        assert_int_equal(e->flags, NUB_DIR_F_USED);
    }
    make_hash(h, 999);
    assert_null(nub_dir_lookup(&f->d, h));
    assert_int_equal(header(f)->count, 20);
    assert_int_equal(header(f)->total_bytes, 3 * (19 * 20 / 2));
    assert_int_equal(nub_dir_check(&f->d), 0);
}

static void test_duplicate_and_exists(void **state)
{
    struct fx *f = *state;
    uint8_t h[16];
    make_hash(h, 7);
    put_ok(f, h, 0x200000, 100, 1, 0);
    uint64_t gen = header(f)->generation;
    put_ok(f, h, 0x300000, 100, 2, 1);
    assert_true(header(f)->generation > gen);
    /* The first copy stays the cap's data; the count and bytes do not move. */
    assert_int_equal(nub_dir_lookup(&f->d, h)->data_gpa, 0x200000);
    assert_int_equal(header(f)->count, 1);
    assert_int_equal(header(f)->total_bytes, 100);
    /* Same hash, different length: refused, nothing changes. */
    gen = header(f)->generation;
    uint32_t refs;
    int existed;
    assert_int_equal(nub_dir_put(&f->d, h, 0x400000, 101, NUB_CAP_BLOB, &refs, &existed),
                     NUB_ST_EXISTS);
    assert_int_equal(header(f)->generation, gen);
    assert_int_equal(nub_dir_lookup(&f->d, h)->refcount, 2);
    /* Refcount saturation is an error, not a wrap. */
    ((struct nub_dir_entry *)nub_dir_lookup(&f->d, h))->refcount = UINT32_MAX;
    assert_int_equal(nub_dir_put(&f->d, h, 0x400000, 100, NUB_CAP_BLOB, &refs, &existed),
                     NUB_ST_OVERFLOW);
}

static void test_release(void **state)
{
    struct fx *f = *state;
    uint8_t h[16], other[16];
    make_hash(h, 1);
    make_hash(other, 2);
    put_ok(f, h, 0x200000, 10, 1, 0);
    put_ok(f, h, 0x200040, 10, 2, 1);
    put_ok(f, other, 0x200080, 5, 1, 0);
    uint32_t left = 99;
    struct nub_dir_entry gone = {0};
    uint64_t gen = header(f)->generation;
    assert_int_equal(nub_dir_release(&f->d, h, &left, &gone), NUB_ST_OK);
    assert_int_equal(left, 1);
    assert_true(header(f)->generation > gen);
    assert_non_null(nub_dir_lookup(&f->d, h));
    gen = header(f)->generation;
    assert_int_equal(nub_dir_release(&f->d, h, &left, &gone), NUB_ST_OK);
    assert_int_equal(left, 0);
    assert_true(header(f)->generation > gen);
    assert_int_equal(gone.data_gpa, 0x200000);
    assert_int_equal(gone.len, 10);
    assert_null(nub_dir_lookup(&f->d, h));
    assert_non_null(nub_dir_lookup(&f->d, other));
    assert_int_equal(header(f)->count, 1);
    assert_int_equal(header(f)->total_bytes, 5);
    gen = header(f)->generation;
    assert_int_equal(nub_dir_release(&f->d, h, &left, &gone), NUB_ST_NOENT);
    assert_int_equal(header(f)->generation, gen);
    assert_int_equal(nub_dir_check(&f->d), 0);
}

static void test_growth_keeps_entries(void **state)
{
    struct fx *f = *state;
    enum { N = 5000 };
    uint8_t h[16];
    uint64_t gen = header(f)->generation;
    for (uint64_t i = 0; i < N; i++) {
        make_hash(h, i);
        put_ok(f, h, 0x100000 + i * 64, i, 1, 0);
        assert_true(header(f)->generation > gen); /* every mutation */
        gen = header(f)->generation;
        if (i % 64 == 0)
            boundary(f); /* old tables are freed into quarantine */
    }
    const struct nub_dir_header *hd = header(f);
    assert_int_equal(hd->count, N);
    assert_true(hd->capacity >= 8192 && (hd->capacity & (hd->capacity - 1)) == 0);
    assert_true(hd->count * 4 <= hd->capacity * 3);
    for (uint64_t i = 0; i < N; i++) {
        make_hash(h, i);
        const struct nub_dir_entry *e = nub_dir_lookup(&f->d, h);
        assert_non_null(e);
        assert_int_equal(e->len, i);
    }
    assert_int_equal(nub_dir_check(&f->d), 0);
    /* Only the live table and the header are allocated: old tables went
     * back to the heap. */
    boundary(f);
    assert_int_equal(nub_heap_used(&f->h),
                     hd->capacity * sizeof(struct nub_dir_entry) + NUB_HEAP_GRANULE);
    assert_int_equal(nub_heap_check(&f->h), 0);
}

/* Hashes chosen to pile up in a few home slots make long clusters that
 * wrap around the table end; deleting in random order must keep every
 * remaining key reachable. */
static void test_backward_shift_deletion(void **state)
{
    struct fx *f = *state;
    enum { N = 47 }; /* < 3/4 of 64: the table never grows */
    static uint8_t keys[N][16];
    int n = 0;
    for (uint64_t i = 0; n < N; i++) {
        make_hash(keys[n], i);
        uint64_t s = nub_dir_home_slot(keys[n], SEED, 64);
        if (s == 62 || s == 63 || s == 0 || s == 5 || s == 6)
            n++;
    }
    for (int round = 0; round < 20; round++) {
        srand((unsigned)round);
        for (int i = 0; i < N; i++)
            put_ok(f, keys[i], 0x100000, 1, 1, 0);
        assert_int_equal(f->d.capacity, 64);
        int order[N];
        for (int i = 0; i < N; i++)
            order[i] = i;
        for (int i = N - 1; i > 0; i--) {
            int j = rand() % (i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int k = 0; k < N; k++) {
            uint32_t left;
            struct nub_dir_entry gone;
            assert_int_equal(nub_dir_release(&f->d, keys[order[k]], &left, &gone), NUB_ST_OK);
            assert_int_equal(left, 0);
            assert_int_equal(nub_dir_check(&f->d), 0);
            for (int r = k + 1; r < N; r++)
                assert_non_null(nub_dir_lookup(&f->d, keys[order[r]]));
            assert_null(nub_dir_lookup(&f->d, keys[order[k]]));
        }
        assert_int_equal(header(f)->count, 0);
        assert_true(guest_test_is_zero(f->d.entries_gpa, 64 * sizeof(struct nub_dir_entry)));
    }
}

static void test_header_corruption_does_not_mislead_guest(void **state)
{
    struct fx *f = *state;
    uint8_t h[16];
    make_hash(h, 3);
    put_ok(f, h, 0x100000, 1, 1, 0);
    /* What TEST_CORRUPT does from inside: the guest keeps its own geometry
     * and republishes it on the next mutation. */
    struct nub_dir_header *hd = nub_mem_ptr(f->d.header_gpa);
    hd->capacity = 12345;
    hd->entries_gpa = 8;
    assert_non_null(nub_dir_lookup(&f->d, h));
    make_hash(h, 4);
    put_ok(f, h, 0x100000, 1, 1, 0);
    assert_int_equal(nub_dir_check(&f->d), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slot_matches_libxxhash),
        T(test_create_publishes_header),
        T(test_insert_lookup),
        T(test_duplicate_and_exists),
        T(test_release),
        T(test_growth_keeps_entries),
        T(test_backward_shift_deletion),
        T(test_header_corruption_does_not_mislead_guest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
