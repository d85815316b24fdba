/* Unit tests of the guest's cap directory (host build, nubguest), its
 * incremental growth included, and of the host reader walking the very
 * same memory while a growth is being migrated. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <xxhash.h> /* the system library: the reference for the slot hash */

#include "guest_mem.h"
#include "guest_test_mem.h"
#include "nub/guest_dir.h"
#include "reader.h"

#define MEM (64ull << 20)
#define BOOT_GPA NUB_KERNEL_BASE          /* boot info for the reader */
#define DATA_GPA (NUB_KERNEL_BASE + 4096) /* fake cap data: 64 bytes per cap index */
#define HEAP_LO (16ull << 20)
#define SEED 0x0123456789abcdefull
/* What the header takes from the heap. */
#define HDR_BYTES nub_align_up(sizeof(struct nub_dir_header), NUB_HEAP_GRANULE)

struct fx {
    uint8_t *base;
    struct nub_heap h;
    struct nub_dir d;
    struct nub_mailbox mb;
    struct nub_guest_mem gm; /* the host's view of the same buffer */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f || !(f->base = guest_test_mem_open(MEM)))
        return -1;
    if (nub_heap_init(&f->h, HEAP_LO, MEM) != NUB_ST_OK ||
        nub_dir_create(&f->d, &f->h, SEED) != NUB_ST_OK)
        return -1;
    nub_gm_init(&f->gm);
    if (nub_gm_add_region(&f->gm, 0, MEM, f->base, -1, 0) != 0)
        return -1;
    struct nub_boot_info *bi = nub_mem_ptr(BOOT_GPA);
    *bi = (struct nub_boot_info){.magic = NUB_BOOT_MAGIC,
                                 .abi_version = NUB_ABI_VERSION,
                                 .mem_size = MEM,
                                 .hasher_seed = SEED,
                                 .heap_start = HEAP_LO,
                                 .directory_gpa = f->d.header_gpa};
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
        assert_int_equal(nub_dir_slot(h, seed, cap), XXH3_64bits_withSeed(h, 16, seed) & (cap - 1));
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
        assert_int_equal(e->flags & ((1u << NUB_DIR_DIST_SHIFT) - 1), NUB_DIR_F_USED);
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
        nub_dir_tick(&f->d); /* as every call does */
        if (i % 64 == 0)
            boundary(f); /* old tables are freed into quarantine */
    }
    const struct nub_dir_header *hd = header(f);
    assert_int_equal(hd->old_capacity, 0); /* 5000 is well past the last growth */
    assert_int_equal(hd->count, N);
    assert_true(hd->capacity >= 8192 && (hd->capacity & (hd->capacity - 1)) == 0);
    assert_true(hd->count <= nub_dir_max_count(hd->capacity));
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
                     hd->capacity * sizeof(struct nub_dir_entry) + HDR_BYTES);
    assert_int_equal(nub_heap_check(&f->h), 0);
}

/* Hashes chosen to pile up in a few home slots make long clusters that
 * wrap around the table end; deleting in random order must keep every
 * remaining key reachable. */
static void test_backward_shift_deletion(void **state)
{
    struct fx *f = *state;
    enum { N = 32 }; /* <= 1/2 of 64: the table never grows */
    static uint8_t keys[N][16];
    int n = 0;
    for (uint64_t i = 0; n < N; i++) {
        make_hash(keys[n], i);
        uint64_t s = nub_dir_slot(keys[n], SEED, 64);
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

/* ---- incremental growth -------------------------------------------------- */

/* Cap i: hash make_hash(i), data at DATA_GPA + 64 i, len i % 61. */
static uint64_t cap_gpa(uint64_t i) { return DATA_GPA + i * 64; }

/* One PUT call as the core makes it (the put, then the call's tick);
 * returns the directory slots it touched. */
static uint64_t put_call(struct fx *f, uint64_t i)
{
    uint8_t h[16];
    make_hash(h, i);
    uint64_t w0 = f->d.work;
    put_ok(f, h, cap_gpa(i), i % 61, 1, 0);
    nub_dir_tick(&f->d);
    return f->d.work - w0;
}

/* One RELEASE call of the last reference to cap i; returns slots touched. */
static uint64_t release_call(struct fx *f, uint64_t i)
{
    uint8_t h[16];
    make_hash(h, i);
    uint64_t w0 = f->d.work;
    uint32_t left = 99;
    struct nub_dir_entry gone;
    assert_int_equal(nub_dir_release(&f->d, h, &left, &gone), NUB_ST_OK);
    assert_int_equal(left, 0);
    assert_int_equal(gone.data_gpa, cap_gpa(i));
    nub_dir_tick(&f->d);
    return f->d.work - w0;
}

static void findable(struct fx *f, uint64_t i)
{
    uint8_t h[16];
    make_hash(h, i);
    const struct nub_dir_entry *e = nub_dir_lookup(&f->d, h);
    assert_non_null(e);
    assert_int_equal(e->data_gpa, cap_gpa(i));
}

/* Everything, by the guest and by the host reader over the same memory:
 * nub_dir_check, each of caps [0, n) found or not as `present` says, the
 * reader's count, and its listing names each present cap exactly once. */
static void verify_all(struct fx *f, uint64_t n, const uint8_t *present)
{
    assert_int_equal(nub_dir_check(&f->d), 0);
    struct nub_reader r;
    assert_int_equal(nub_reader_open(&r, &f->gm, BOOT_GPA), NUB_READER_OK);
    uint64_t live = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint8_t h[16];
        make_hash(h, i);
        struct nub_cap c;
        int rc = nub_reader_get(&r, h, &c);
        if (present[i]) {
            findable(f, i);
            assert_int_equal(rc, 0);
            assert_int_equal(c.data_gpa, cap_gpa(i));
            assert_int_equal(c.len, i % 61);
            live++;
        } else {
            assert_null(nub_dir_lookup(&f->d, h));
            assert_int_equal(rc, -ENOENT);
        }
    }
    assert_int_equal(nub_reader_len(&r), (int64_t)live);
    uint8_t *seen = calloc(n ? n : 1, 1);
    uint64_t cursor = 0, bad = 0, listed = 0, prev = 0;
    struct nub_cap c;
    int rc;
    while ((rc = nub_reader_next(&r, &cursor, &c, &bad)) == 1) {
        assert_true(cursor > prev);
        prev = cursor;
        uint64_t i = (c.data_gpa - DATA_GPA) / 64;
        assert_true(i < n && present[i]);
        assert_int_equal(++seen[i], 1);
        listed++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(bad, 0);
    assert_int_equal(listed, live);
    struct nub_dir_header hd;
    assert_int_equal(nub_reader_header(&r, &hd), 0);
    assert_int_equal(cursor, hd.capacity + hd.old_capacity);
    free(seen);
}

/* The bound the complexity test asserts: probe lengths at load <= 3/4 plus
 * the migration budget of one call; the whole-table rehash this replaced
 * touched ~100k slots at once at this size. */
#define WORK_PER_CALL_MAX 1024u

/* 200k inserts, one call each: no call touches more than a constant
 * number of slots, every growth is migrated before the next one, and at
 * several points of each migration everything is findable, by the guest
 * and by the reader, and listed once. */
static void test_incremental_growth_200k(void **state)
{
    struct fx *f = *state;
    enum { N = 200000 };
    uint8_t *present = calloc(N, 1);
    uint64_t max_work = 0, growths = 0, rng = 12345, checks = 0;
    uint64_t last_old = 0, half = 0;
    for (uint64_t i = 0; i < N; i++) {
        uint64_t w = put_call(f, i);
        present[i] = 1;
        if (w > max_work)
            max_work = w;
        findable(f, i);
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        findable(f, (rng >> 33) % (i + 1));
        if (f->d.old_gpa && f->d.old_gpa != last_old) {
            growths++; /* a growth started in this call */
            half = f->d.mig_left / 2;
            verify_all(f, i + 1, present);
            checks++;
        } else if (f->d.old_gpa && half && f->d.mig_left <= half) {
            half = 0; /* halfway through the migration */
            verify_all(f, i + 1, present);
            checks++;
        } else if (!f->d.old_gpa && last_old) {
            verify_all(f, i + 1, present); /* just ended */
            checks++;
        }
        last_old = f->d.old_gpa;
        if (i % 64 == 0)
            boundary(f);
    }
    verify_all(f, N, present);
    print_message("200k puts: %llu growths, %llu full checks, capacity %llu, at most %llu "
                  "slots touched per call\n",
                  (unsigned long long)growths, (unsigned long long)checks, (unsigned long long)f->d.capacity,
                  (unsigned long long)max_work);
    assert_int_equal(f->d.capacity, 1u << 19);
    assert_int_equal(growths, 13); /* 64 -> 2^19 (200k > 3/4 of 2^18) */
    assert_true(checks >= 2 * growths); /* start, end, and mostly halfway */
    assert_true(max_work <= WORK_PER_CALL_MAX);
    free(present);
}

/* On a small scale, after every single call: check, find everything, list
 * everything once. */
static void test_every_call_during_migration(void **state)
{
    struct fx *f = *state;
    enum { N = 1600 };
    uint8_t present[N] = {0};
    uint64_t migrating_calls = 0;
    for (uint64_t i = 0; i < N; i++) {
        put_call(f, i);
        present[i] = 1;
        migrating_calls += f->d.old_gpa != 0;
        verify_all(f, i + 1, present);
    }
    assert_true(migrating_calls > 100);
}

/* Releases while a migration is under way, of caps in the old table and
 * in the new one, interleaved with inserts, until the migration ends. */
static void test_deletions_during_migration(void **state)
{
    struct fx *f = *state;
    enum { N = 6000 };
    static uint8_t present[N];
    memset(present, 0, sizeof present);
    uint64_t n = 0;
    while (!(f->d.old_gpa && f->d.capacity == 4096)) {
        put_call(f, n);
        present[n++] = 1;
    }
    uint64_t old_hits = 0, new_hits = 0, rng = 99, calls = 0;
    while (f->d.old_gpa) {
        /* release two random live caps, put one new */
        for (int k = 0; k < 2; k++) {
            uint64_t i;
            do {
                rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                i = (rng >> 33) % n;
            } while (!present[i]);
            uint8_t h[16];
            make_hash(h, i);
            const struct nub_dir_entry *e = nub_dir_lookup(&f->d, h);
            uint64_t at = (uint64_t)((const uint8_t *)e - f->base);
            if (f->d.old_gpa && at >= f->d.old_gpa &&
                at < f->d.old_gpa + f->d.old_capacity * sizeof *e)
                old_hits++;
            else
                new_hits++;
            release_call(f, i);
            present[i] = 0;
        }
        put_call(f, n);
        present[n++] = 1;
        assert_int_equal(nub_dir_check(&f->d), 0);
        if (++calls % 20 == 0)
            verify_all(f, n, present);
        assert_true(n < N);
    }
    verify_all(f, n, present);
    assert_true(old_hits > 20 && new_hits > 20);
    /* Only the header and the live table remain allocated. */
    boundary(f);
    assert_int_equal(nub_heap_used(&f->h),
                     f->d.capacity * sizeof(struct nub_dir_entry) + HDR_BYTES);
}

/* Releasing every cap of the old table empties it: the next tick frees
 * it without scanning the rest. */
static void test_old_table_emptied_by_releases(void **state)
{
    struct fx *f = *state;
    uint8_t present[200] = {0};
    uint64_t n = 0;
    while (!f->d.old_gpa) {
        uint8_t h[16];
        make_hash(h, n);
        put_ok(f, h, cap_gpa(n), n % 61, 1, 0); /* no tick: 4 slots migrated */
        present[n++] = 1;
    }
    assert_true(f->d.old_count >= n - 5);
    for (uint64_t i = 0; i + 1 < n; i++) {
        uint8_t h[16];
        make_hash(h, i);
        uint32_t left;
        struct nub_dir_entry gone;
        assert_int_equal(nub_dir_release(&f->d, h, &left, &gone), NUB_ST_OK);
        present[i] = 0;
        assert_int_equal(nub_dir_check(&f->d), 0);
    }
    assert_int_equal(f->d.old_count, 0);
    verify_all(f, n, present);
    nub_dir_tick(&f->d);
    assert_int_equal(f->d.old_gpa, 0);
    assert_int_equal(header(f)->old_capacity, 0);
    assert_int_equal(header(f)->old_entries_gpa, 0);
    verify_all(f, n, present);
}

/* Callers that never tick (the debt is never paid) still get a correct
 * directory: a growth due during a migration finishes it first. */
static void test_growth_without_ticks(void **state)
{
    struct fx *f = *state;
    enum { N = 3000 };
    static uint8_t present[N];
    uint8_t h[16];
    for (uint64_t i = 0; i < N; i++) {
        make_hash(h, i);
        put_ok(f, h, cap_gpa(i), i % 61, 1, 0);
        present[i] = 1;
        if (i % 64 == 0)
            boundary(f);
    }
    verify_all(f, N, present);
    assert_int_equal(f->d.capacity, 8192); /* 3000 > 4096 / 2 */
}

/* A broken schedule (here: a reservation's debt lost before its tick) is
 * refused with NUB_ST_STATE rather than paid with unbounded work. */
static void test_off_schedule_refused(void **state)
{
    struct fx *f = *state;
    uint64_t n = 0;
    while (!f->d.old_gpa)
        put_call(f, n++);
    f->d.debt = 0;
    struct nub_dir_mark m;
    uint64_t fresh = nub_dir_max_count(f->d.capacity) - f->d.count;
    assert_int_equal(nub_dir_reserve(&f->d, fresh, &m), NUB_ST_OK);
    assert_int_equal(m.grown_gpa, 0);
    uint8_t h[16];
    for (uint64_t i = 0; i < fresh; i++) {
        make_hash(h, n);
        put_ok(f, h, cap_gpa(n), 1, 1, 0);
        n++;
    }
    f->d.debt = 0; /* lost */
    nub_dir_commit(&f->d, &m);
    uint64_t left = f->d.mig_left, gen = f->d.generation;
    uint32_t refs;
    int existed;
    make_hash(h, n);
    assert_int_equal(nub_dir_put(&f->d, h, cap_gpa(n), 1, NUB_CAP_BLOB, &refs, &existed),
                     NUB_ST_STATE);
    assert_null(nub_dir_lookup(&f->d, h));
    assert_int_equal(f->d.mig_left, left);
    assert_int_equal(f->d.generation, gen);
    /* Ticks drain the migration; then the put grows. */
    while (f->d.old_gpa)
        nub_dir_tick(&f->d);
    assert_int_equal(nub_dir_put(&f->d, h, cap_gpa(n), 1, NUB_CAP_BLOB, &refs, &existed),
                     NUB_ST_OK);
    assert_int_equal(nub_dir_check(&f->d), 0);
}

/* ---- reservations (MOUNT's all or nothing) ---------------------------- */

/* Puts caps [from, to) and the extra references [0, shared). */
static void reserved_puts(struct fx *f, uint64_t from, uint64_t to, uint64_t shared)
{
    uint8_t h[16];
    for (uint64_t i = from; i < to; i++) {
        make_hash(h, i);
        put_ok(f, h, cap_gpa(i), i % 61, 1, 0);
    }
    for (uint64_t i = 0; i < shared; i++) {
        make_hash(h, i);
        put_ok(f, h, cap_gpa(i), i % 61, 2, 1);
    }
}

/* Releases what reserved_puts put, in reverse order. */
static void reserved_unput(struct fx *f, uint64_t from, uint64_t to, uint64_t shared)
{
    uint8_t h[16];
    uint32_t left;
    struct nub_dir_entry gone;
    for (uint64_t i = shared; i-- > 0;) {
        make_hash(h, i);
        assert_int_equal(nub_dir_release(&f->d, h, &left, &gone), NUB_ST_OK);
        assert_int_equal(left, 1);
    }
    for (uint64_t i = to; i-- > from;) {
        make_hash(h, i);
        assert_int_equal(nub_dir_release(&f->d, h, &left, &gone), NUB_ST_OK);
        assert_int_equal(left, 0);
    }
}

static void test_reserve_rollback_exact(void **state)
{
    struct fx *f = *state;
    enum { N0 = 32, FRESH = 90 };
    uint8_t present[N0 + FRESH] = {0};
    for (uint64_t i = 0; i < N0; i++) {
        put_call(f, i);
        present[i] = 1;
    }
    boundary(f);
    uint64_t used = nub_heap_used(&f->h), cap = f->d.capacity, gpa = f->d.entries_gpa;
    struct nub_dir_entry before[64];
    memcpy(before, nub_mem_ptr(gpa), sizeof before);
    struct nub_dir_mark m;
    assert_int_equal(nub_dir_reserve(&f->d, FRESH, &m), NUB_ST_OK);
    assert_int_equal(f->d.capacity, 256); /* (32 + 90) * 2 -> 256 in one step */
    reserved_puts(f, N0, N0 + FRESH, 10);
    nub_dir_tick(&f->d); /* no migration inside a reservation */
    assert_int_equal(f->d.old_count, N0);
    assert_int_equal(nub_dir_check(&f->d), 0);
    reserved_unput(f, N0, N0 + FRESH, 10);
    nub_dir_rollback(&f->d, &m);
    boundary(f);
    assert_int_equal(nub_heap_used(&f->h), used);
    assert_int_equal(f->d.capacity, cap);
    assert_int_equal(f->d.entries_gpa, gpa);
    assert_int_equal(f->d.old_gpa, 0);
    assert_memory_equal(nub_mem_ptr(gpa), before, sizeof before);
    verify_all(f, N0 + FRESH, present);
    /* Committed, the growth stays and is migrated by ticks. */
    assert_int_equal(nub_dir_reserve(&f->d, FRESH, &m), NUB_ST_OK);
    reserved_puts(f, N0, N0 + FRESH, 0);
    nub_dir_commit(&f->d, &m);
    for (uint64_t i = N0; i < N0 + FRESH; i++)
        present[i] = 1;
    while (f->d.old_gpa)
        nub_dir_tick(&f->d);
    verify_all(f, N0 + FRESH, present);
}

/* Puts caps [0, n) without ticks, so the last growth stays unmigrated. */
static void open_migration(struct fx *f, uint64_t n, uint8_t *present)
{
    uint8_t h[16];
    for (uint64_t i = 0; i < n; i++) {
        make_hash(h, i);
        put_ok(f, h, cap_gpa(i), i % 61, 1, 0);
        present[i] = 1;
    }
    assert_int_not_equal(f->d.old_gpa, 0);
    boundary(f);
}

/* A reservation that must grow while a migration is under way finishes
 * it first; rolled back, the heap level is still exactly as before (the
 * emptied old table comes back, the next tick frees it). */
static void test_reserve_during_migration_rollback(void **state)
{
    struct fx *f = *state;
    enum { N0 = 80, FRESH = 300 }; /* 80: the growth at 65 is still migrating */
    static uint8_t present[N0 + FRESH];
    memset(present, 0, sizeof present);
    open_migration(f, N0, present);
    uint64_t used = nub_heap_used(&f->h), cap = f->d.capacity, old_cap = f->d.old_capacity;
    struct nub_dir_mark m;
    assert_int_equal(nub_dir_reserve(&f->d, FRESH, &m), NUB_ST_OK);
    assert_int_not_equal(m.retired_gpa, 0);
    assert_true(f->d.capacity > cap);
    reserved_puts(f, N0, N0 + FRESH, 20);
    assert_int_equal(nub_dir_check(&f->d), 0);
    reserved_unput(f, N0, N0 + FRESH, 20);
    nub_dir_rollback(&f->d, &m);
    boundary(f);
    assert_int_equal(nub_heap_used(&f->h), used);
    assert_int_equal(f->d.capacity, cap);
    assert_int_equal(f->d.old_capacity, old_cap);
    assert_int_equal(f->d.old_count, 0);
    verify_all(f, N0 + FRESH, present);
    nub_dir_tick(&f->d);
    assert_int_equal(f->d.old_gpa, 0);
    boundary(f);
    assert_int_equal(nub_heap_used(&f->h), used - old_cap * sizeof(struct nub_dir_entry));
    verify_all(f, N0 + FRESH, present);
}

/* The same, committed: the retired table is freed, the growth migrated. */
static void test_reserve_during_migration_commit(void **state)
{
    struct fx *f = *state;
    enum { N0 = 80, FRESH = 300 }; /* 80: the growth at 65 is still migrating */
    static uint8_t present[N0 + FRESH];
    memset(present, 0, sizeof present);
    open_migration(f, N0, present);
    struct nub_dir_mark m;
    assert_int_equal(nub_dir_reserve(&f->d, FRESH, &m), NUB_ST_OK);
    assert_int_not_equal(m.retired_gpa, 0);
    reserved_puts(f, N0, N0 + FRESH, 20);
    nub_dir_commit(&f->d, &m);
    for (uint64_t i = N0; i < N0 + FRESH; i++)
        present[i] = 1;
    nub_dir_tick(&f->d); /* the call's tick pays the puts' debt */
    assert_int_equal(nub_dir_check(&f->d), 0);
    while (f->d.old_gpa)
        nub_dir_tick(&f->d);
    boundary(f);
    assert_int_equal(nub_heap_used(&f->h),
                     f->d.capacity * sizeof(struct nub_dir_entry) + HDR_BYTES);
    verify_all(f, N0 + FRESH, present);
}

/* More new caps than reserved: the put is refused, the table not grown. */
static void test_reserve_too_small(void **state)
{
    struct fx *f = *state;
    for (uint64_t i = 0; i < 32; i++)
        put_call(f, i);
    struct nub_dir_mark m;
    assert_int_equal(nub_dir_reserve(&f->d, 0, &m), NUB_ST_OK);
    uint8_t h[16];
    uint32_t refs;
    int existed;
    make_hash(h, 32);
    assert_int_equal(nub_dir_put(&f->d, h, 0, 0, 0, &refs, &existed), NUB_ST_STATE);
    assert_int_equal(f->d.capacity, 64);
    nub_dir_rollback(&f->d, &m);
    assert_int_equal(nub_dir_check(&f->d), 0);
    put_call(f, 32); /* outside the reservation it grows */
    assert_int_equal(f->d.capacity, 128);
}

/* ---- the probe bound (abi.h) ----------------------------------------------
 * The host build knows the seed, so these tests forge hashes whose home
 * slots collide, which no package author can do against the secret seed:
 * they force the rare paths (early growth, refusal, a stalled migration)
 * and check that the bound holds throughout (nub_dir_check: every entry
 * fewer than NUB_DIR_MAX_PROBE slots from home, runs in Robin Hood order). */
#define PB_MAX 400

struct pb {
    uint8_t h[PB_MAX][16];
    uint8_t present[PB_MAX];
    uint64_t n;
};

/* Adds hash number n: make_hash(n), or if mod: the next hash whose slot
 * hash is home modulo mod (never equal to a make_hash(i) of a small i). */
static uint64_t pb_new(struct pb *p, uint64_t mod, uint64_t home)
{
    static uint64_t id;
    assert_true(p->n < PB_MAX);
    uint8_t *h = p->h[p->n];
    if (!mod)
        make_hash(h, p->n);
    else
        do
            make_hash(h, (1ull << 40) + id++);
        while ((XXH3_64bits_withSeed(h, 16, SEED) & (mod - 1)) != home);
    return p->n++;
}

/* PUT of cap i (data at cap_gpa(i), len i % 61), no tick. */
static enum nub_status pb_put(struct fx *f, struct pb *p, uint64_t i)
{
    uint32_t refs;
    int existed;
    enum nub_status st =
        nub_dir_put(&f->d, p->h[i], cap_gpa(i), i % 61, NUB_CAP_BLOB, &refs, &existed);
    if (st == NUB_ST_OK) {
        assert_int_equal(existed, 0);
        p->present[i] = 1;
    }
    return st;
}

static void pb_release(struct fx *f, struct pb *p, uint64_t i)
{
    uint32_t left;
    struct nub_dir_entry gone;
    assert_int_equal(nub_dir_release(&f->d, p->h[i], &left, &gone), NUB_ST_OK);
    assert_int_equal(left, 0);
    p->present[i] = 0;
}

/* verify_all for a pb set: the guest's check, guest and reader lookups,
 * the reader's count and a listing naming each present cap once. */
static void pb_verify(struct fx *f, const struct pb *p)
{
    assert_int_equal(nub_dir_check(&f->d), 0);
    struct nub_reader r;
    assert_int_equal(nub_reader_open(&r, &f->gm, BOOT_GPA), NUB_READER_OK);
    uint64_t live = 0;
    for (uint64_t i = 0; i < p->n; i++) {
        struct nub_cap c;
        const struct nub_dir_entry *e = nub_dir_lookup(&f->d, p->h[i]);
        int rc = nub_reader_get(&r, p->h[i], &c);
        if (p->present[i]) {
            assert_non_null(e);
            assert_int_equal(rc, 0);
            assert_int_equal(c.data_gpa, cap_gpa(i));
            live++;
        } else {
            assert_null(e);
            assert_int_equal(rc, -ENOENT);
        }
    }
    assert_int_equal(nub_reader_len(&r), (int64_t)live);
    uint8_t seen[PB_MAX] = {0};
    uint64_t cursor = 0, bad = 0, listed = 0;
    struct nub_cap c;
    int rc;
    while ((rc = nub_reader_next(&r, &cursor, &c, &bad)) == 1) {
        uint64_t i = (c.data_gpa - DATA_GPA) / 64;
        assert_true(i < p->n && p->present[i]);
        assert_memory_equal(c.hash, p->h[i], 16);
        assert_int_equal(++seen[i], 1);
        listed++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(bad, 0);
    assert_int_equal(listed, live);
}

/* 150 ordinary caps, ticked until no migration is left: 512 slots. */
static void pb_base(struct fx *f, struct pb *p)
{
    for (uint64_t i = 0; i < 150; i++) {
        assert_int_equal(pb_put(f, p, pb_new(p, 0, 0)), NUB_ST_OK);
        nub_dir_tick(&f->d);
    }
    while (f->d.old_gpa)
        nub_dir_tick(&f->d);
    boundary(f);
    assert_int_equal(f->d.capacity, 512);
}

/* Which table holds cap i: 1 the old one. */
static int pb_in_old(struct fx *f, const struct pb *p, uint64_t i)
{
    const struct nub_dir_entry *e = nub_dir_lookup(&f->d, p->h[i]);
    assert_non_null(e);
    uint64_t at = (uint64_t)((const uint8_t *)e - f->base);
    return f->d.old_gpa && at >= f->d.old_gpa &&
           at < f->d.old_gpa + f->d.old_capacity * sizeof *e;
}

/* 100 hashes with one home in 512 slots but two in 1024: the run they
 * make breaks the bound at load ~0.5, the table grows early, and in the
 * grown table they fit. Nothing is refused. */
static void test_probe_bound_grows_early(void **state)
{
    struct fx *f = *state;
    static struct pb p;
    memset(&p, 0, sizeof p);
    pb_base(f, &p);
    int early = 0;
    for (uint64_t k = 0; k < 100; k++) {
        uint64_t cap = f->d.capacity, count = f->d.count;
        uint64_t i = pb_new(&p, 1024, k % 2 ? 100 : 612);
        assert_int_equal(pb_put(f, &p, i), NUB_ST_OK);
        if (f->d.capacity != cap) {
            assert_true(count + 1 <= nub_dir_max_count(cap)); /* not due by load */
            early++;
        }
        nub_dir_tick(&f->d);
        assert_int_equal(nub_dir_check(&f->d), 0);
    }
    while (f->d.old_gpa)
        nub_dir_tick(&f->d);
    assert_int_equal(early, 1);
    assert_int_equal(f->d.capacity, 1024);
    pb_verify(f, &p);
}

/* Hashes with one home at every capacity up to 2^14: growing does not
 * help. The table grows early once; the migration into the grown table
 * then stalls on the bound (an old entry stays put, everything stays
 * findable) and further such puts are refused with NUB_ST_QUOTA, changing
 * nothing, as is a reservation that would need the migration finished.
 * Other puts still work. Releasing some of the colliding caps lets the
 * migration finish. */
static void test_probe_bound_refuses_and_stalls(void **state)
{
    struct fx *f = *state;
    static struct pb p;
    memset(&p, 0, sizeof p);
    pb_base(f, &p);
    uint64_t refused = 0, stalled = 0, first = p.n;
    for (uint64_t k = 0; k < 90; k++) {
        uint64_t cap = f->d.capacity, count = f->d.count, gen = f->d.generation;
        uint64_t left = f->d.mig_left, old = f->d.old_count;
        boundary(f);
        uint64_t used = nub_heap_used(&f->h);
        uint64_t i = pb_new(&p, 1u << 14, 100);
        enum nub_status st = pb_put(f, &p, i);
        if (st == NUB_ST_QUOTA) {
            refused++;
            assert_non_null(f->d.old_gpa); /* only while migrating */
            assert_int_equal(f->d.count, count);
            assert_int_equal(f->d.capacity, cap);
            assert_int_equal(f->d.generation, gen);
            assert_int_equal(f->d.mig_left, left);
            assert_int_equal(f->d.old_count, old);
            boundary(f);
            assert_int_equal(nub_heap_used(&f->h), used);
            assert_null(nub_dir_lookup(&f->d, p.h[i]));
        } else {
            assert_int_equal(st, NUB_ST_OK);
        }
        left = f->d.mig_left;
        nub_dir_tick(&f->d);
        stalled += f->d.old_gpa && f->d.mig_left == left;
        assert_int_equal(nub_dir_check(&f->d), 0);
    }
    assert_int_equal(f->d.capacity, 1024); /* grew early, once */
    assert_true(refused > 10 && stalled > 10);
    assert_true(f->d.old_count > 0);
    pb_verify(f, &p);
    /* Ordinary caps still go in. */
    for (int k = 0; k < 20; k++) {
        assert_int_equal(pb_put(f, &p, pb_new(&p, 0, 0)), NUB_ST_OK);
        nub_dir_tick(&f->d);
    }
    /* A reservation that must grow would first have to finish the
     * migration: refused, nothing changed, no reservation open. */
    boundary(f);
    uint64_t used = nub_heap_used(&f->h), cap = f->d.capacity;
    struct nub_dir_mark m;
    assert_int_equal(nub_dir_reserve(&f->d, 600, &m), NUB_ST_QUOTA);
    assert_int_equal(f->d.reserved, 0);
    assert_int_equal(f->d.capacity, cap);
    boundary(f);
    assert_int_equal(nub_heap_used(&f->h), used);
    pb_verify(f, &p);
    /* Releasing colliding caps from the grown table unblocks it. */
    for (uint64_t i = first; f->d.old_gpa && i < p.n; i++) {
        if (p.present[i] && !pb_in_old(f, &p, i)) {
            pb_release(f, &p, i);
            nub_dir_tick(&f->d);
            assert_int_equal(nub_dir_check(&f->d), 0);
        }
    }
    while (f->d.old_gpa)
        nub_dir_tick(&f->d);
    pb_verify(f, &p);
}

/* Inside a reservation (MOUNT) the table cannot grow: a put that breaks
 * the bound is refused. Releasing the others in reverse order and rolling
 * back restores the table byte for byte (Robin Hood placement undone by
 * backward-shift deletion). */
static void test_probe_bound_in_reservation(void **state)
{
    struct fx *f = *state;
    static struct pb p;
    static struct nub_dir_entry before[512];
    memset(&p, 0, sizeof p);
    pb_base(f, &p);
    memcpy(before, nub_mem_ptr(f->d.entries_gpa), sizeof before);
    uint64_t count = f->d.count, first = p.n;
    struct nub_dir_mark m;
    assert_int_equal(nub_dir_reserve(&f->d, 100, &m), NUB_ST_OK);
    assert_int_equal(m.grown_gpa, 0); /* 250 fit in 512 by load */
    enum nub_status st = NUB_ST_OK;
    while (st == NUB_ST_OK) {
        uint64_t gen = f->d.generation;
        uint64_t i = pb_new(&p, 1u << 14, 300);
        st = pb_put(f, &p, i);
        if (st != NUB_ST_OK) {
            assert_int_equal(st, NUB_ST_QUOTA);
            assert_int_equal(f->d.generation, gen);
            assert_null(nub_dir_lookup(&f->d, p.h[i]));
        }
        assert_int_equal(nub_dir_check(&f->d), 0);
    }
    uint64_t fitted = p.n - 1 - first;
    assert_true(fitted > NUB_DIR_MAX_PROBE / 2 && fitted <= NUB_DIR_MAX_PROBE);
    assert_int_equal(f->d.capacity, 512);
    /* The guest's view only: inside a reservation the header the host
     * reads is published by its end (the rollback). */
    for (uint64_t i = 0; i < p.n; i++)
        assert_true((nub_dir_lookup(&f->d, p.h[i]) != NULL) == p.present[i]);
    for (uint64_t i = p.n - 1; i-- > first;)
        pb_release(f, &p, i);
    nub_dir_rollback(&f->d, &m);
    assert_int_equal(f->d.count, count);
    assert_memory_equal(nub_mem_ptr(f->d.entries_gpa), before, sizeof before);
    pb_verify(f, &p);
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
        T(test_incremental_growth_200k),
        T(test_every_call_during_migration),
        T(test_deletions_during_migration),
        T(test_old_table_emptied_by_releases),
        T(test_growth_without_ticks),
        T(test_off_schedule_refused),
        T(test_reserve_rollback_exact),
        T(test_reserve_during_migration_rollback),
        T(test_reserve_during_migration_commit),
        T(test_reserve_too_small),
        T(test_probe_bound_grows_early),
        T(test_probe_bound_refuses_and_stalls),
        T(test_probe_bound_in_reservation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
