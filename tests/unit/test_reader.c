/* Unit tests of the directory reader over a hand-built directory in a
 * multi-region guest memory with a hole, then corrupted field by field.
 * The directory layout is written here from abi.h alone (no guest code),
 * so these tests also pin the ABI the guest must produce. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xxhash.h>

#include "nub/abi.h"
#include "reader.h"

/* Guest memory map of the fixture:
 *   R0 [0, 4 MiB)        low area, kernel, boot info, header, entries
 *   hole [4 MiB, 8 MiB)
 *   R1 [8 MiB, 10 MiB)   blob data
 *   R2 [10 MiB, 12 MiB)  blob data, adjacent to R1 (no hole between) */
#define MIB (1ull << 20)
#define R0_GPA 0ull
#define R0_SIZE (4 * MIB)
#define HOLE_GPA (4 * MIB)
#define R1_GPA (8 * MIB)
#define R1_SIZE (2 * MIB)
#define R2_GPA (10 * MIB)
#define R2_SIZE (2 * MIB)
#define MEM_END (12 * MIB)

#define BOOT_GPA NUB_KERNEL_BASE
#define HDR_GPA (NUB_KERNEL_BASE + 0x1000)
#define ENTRIES_GPA (NUB_KERNEL_BASE + 0x10000)
#define SEED 0x1234abcd5678ef01ull
#define NBLOBS 40

struct fixture {
    uint8_t *r0, *r1, *r2;
    struct nub_guest_mem gm;
    uint64_t capacity;
    uint8_t hashes[NBLOBS][16];
    uint64_t gpas[NBLOBS];
    uint64_t lens[NBLOBS];
};

static void hash_of(const void *p, size_t n, uint8_t out[16])
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(p, n));
    memcpy(out, c.digest, 16);
}

static void wr(struct fixture *f, uint64_t gpa, const void *src, size_t n)
{
    assert_int_equal(nub_gm_write(&f->gm, gpa, src, n), 0);
}

static void put_u64(struct fixture *f, uint64_t gpa, uint64_t v)
{
    wr(f, gpa, &v, sizeof(v));
}

static uint64_t entry_gpa(uint64_t idx)
{
    return ENTRIES_GPA + idx * sizeof(struct nub_dir_entry);
}

static struct nub_dir_entry get_entry(struct fixture *f, uint64_t idx)
{
    struct nub_dir_entry e;
    assert_int_equal(nub_gm_read(&f->gm, entry_gpa(idx), &e, sizeof(e)), 0);
    return e;
}

static void set_entry(struct fixture *f, uint64_t idx, const struct nub_dir_entry *e)
{
    wr(f, entry_gpa(idx), e, sizeof(*e));
}

/* Inserts by linear probing, as the guest does. Returns the slot. */
static uint64_t insert(struct fixture *f, const uint8_t hash[16], uint64_t gpa, uint64_t len)
{
    uint64_t mask = f->capacity - 1;
    uint64_t idx = XXH3_64bits_withSeed(hash, 16, SEED) & mask;
    for (uint64_t n = 0; n < f->capacity; n++, idx = (idx + 1) & mask) {
        struct nub_dir_entry e = get_entry(f, idx);
        if (e.flags & NUB_DIR_F_USED)
            continue;
        memset(&e, 0, sizeof(e));
        memcpy(e.hash, hash, 16);
        e.data_gpa = gpa;
        e.len = len;
        e.refcount = 1;
        e.kind = NUB_CAP_BLOB;
        e.flags = NUB_DIR_F_USED;
        set_entry(f, idx, &e);
        return idx;
    }
    fail_msg("table full");
    return 0;
}

static void write_header(struct fixture *f, uint64_t count)
{
    struct nub_dir_header h = {.magic = NUB_DIR_MAGIC,
                               .capacity = f->capacity,
                               .count = count,
                               .entries_gpa = ENTRIES_GPA,
                               .generation = 7,
                               .total_bytes = 0};
    wr(f, HDR_GPA, &h, sizeof(h));
}

/* Blobs: sizes 0..., placed alternately in R1 and R2, one across the
 * R1/R2 boundary, the empty blob at gpa 0. Contents are distinct. */
static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->r0 = calloc(1, R0_SIZE);
    f->r1 = calloc(1, R1_SIZE);
    f->r2 = calloc(1, R2_SIZE);
    nub_gm_init(&f->gm);
    /* Added out of order on purpose: the set sorts them. */
    assert_int_equal(nub_gm_add_region(&f->gm, R2_GPA, R2_SIZE, f->r2, -1, 0), 0);
    assert_int_equal(nub_gm_add_region(&f->gm, R0_GPA, R0_SIZE, f->r0, -1, 0), 0);
    assert_int_equal(nub_gm_add_region(&f->gm, R1_GPA, R1_SIZE, f->r1, -1, 0), 0);
    f->capacity = NUB_DIR_MIN_CAPACITY;

    struct nub_boot_info bi = {.magic = NUB_BOOT_MAGIC,
                               .abi_version = NUB_ABI_VERSION,
                               .mem_size = MEM_END,
                               .hasher_seed = SEED,
                               .heap_start = R1_GPA,
                               .directory_gpa = HDR_GPA};
    wr(f, BOOT_GPA, &bi, sizeof(bi));

    uint64_t next = R1_GPA;
    for (int i = 0; i < NBLOBS; i++) {
        uint64_t len = (uint64_t)i * 997u;
        if (i == 1)
            next = R2_GPA - 500; /* blob 1 straddles R1/R2: fine */
        uint8_t *buf = malloc(len ? len : 1);
        for (uint64_t j = 0; j < len; j++)
            buf[j] = (uint8_t)(i * 31 + j * 7 + (j >> 8));
        uint64_t gpa = len == 0 ? 0 : next; /* empty blob: any address */
        if (len) {
            wr(f, gpa, buf, len);
            next += len;
        }
        hash_of(buf, len, f->hashes[i]);
        f->gpas[i] = gpa;
        f->lens[i] = len;
        insert(f, f->hashes[i], gpa, len);
        free(buf);
    }
    write_header(f, NBLOBS);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    free(f->r0);
    free(f->r1);
    free(f->r2);
    free(f);
    return 0;
}

static void open_ok(struct fixture *f, struct nub_reader *r)
{
    assert_int_equal(nub_reader_open(r, &f->gm, BOOT_GPA), NUB_READER_OK);
}

static uint64_t slot_of(struct fixture *f, int blob)
{
    uint64_t mask = f->capacity - 1;
    uint64_t idx = XXH3_64bits_withSeed(f->hashes[blob], 16, SEED) & mask;
    for (uint64_t n = 0; n < f->capacity; n++, idx = (idx + 1) & mask)
        if (memcmp(get_entry(f, idx).hash, f->hashes[blob], 16) == 0)
            return idx;
    fail_msg("blob not in table");
    return 0;
}

static int count_listed(struct nub_reader *r, uint64_t *bad, int *err)
{
    uint64_t cursor = 0;
    struct nub_cap c;
    int n = 0, rc;
    *bad = 0;
    while ((rc = nub_reader_next(r, &cursor, &c, bad)) == 1)
        n++;
    *err = rc;
    return n;
}

/* ---- the valid directory ---------------------------------------------- */

static void test_valid_get_every_blob(void **state)
{
    struct fixture *f = *state;
    struct nub_reader r;
    open_ok(f, &r);
    assert_int_equal(r.seed, SEED);
    assert_int_equal(nub_reader_len(&r), NBLOBS);
    for (int i = 0; i < NBLOBS; i++) {
        struct nub_cap c;
        assert_int_equal(nub_reader_get(&r, f->hashes[i], &c), 0);
        assert_memory_equal(c.hash, f->hashes[i], 16);
        assert_int_equal(c.len, f->lens[i]);
        assert_int_equal(c.data_gpa, f->gpas[i]);
        assert_true(nub_reader_contains(&r, f->hashes[i]));
        /* The bytes at the cap's address hash to its name. */
        uint8_t *buf = malloc(c.len ? c.len : 1);
        assert_int_equal(nub_gm_read(&f->gm, c.data_gpa, buf, c.len), 0);
        uint8_t h[16];
        hash_of(buf, c.len, h);
        assert_memory_equal(h, f->hashes[i], 16);
        free(buf);
    }
    struct nub_dir_header h;
    assert_int_equal(nub_reader_header(&r, &h), 0);
    assert_int_equal(h.capacity, f->capacity);
    assert_int_equal(h.generation, 7);
}

static void test_valid_missing_is_enoent(void **state)
{
    struct fixture *f = *state;
    struct nub_reader r;
    open_ok(f, &r);
    uint8_t h[16];
    for (int i = 0; i < 200; i++) {
        memset(h, 0, sizeof(h));
        memcpy(h, &i, sizeof(i));
        h[15] = 0x5a;
        struct nub_cap c;
        assert_int_equal(nub_reader_get(&r, h, &c), -ENOENT);
        assert_false(nub_reader_contains(&r, h));
    }
}

static void test_valid_iteration_lists_each_once(void **state)
{
    struct fixture *f = *state;
    struct nub_reader r;
    open_ok(f, &r);
    int seen[NBLOBS] = {0};
    uint64_t cursor = 0, bad = 0, prev = 0;
    struct nub_cap c;
    int rc, n = 0;
    while ((rc = nub_reader_next(&r, &cursor, &c, &bad)) == 1) {
        assert_true(cursor > prev); /* cursors strictly increase */
        prev = cursor;
        for (int i = 0; i < NBLOBS; i++)
            if (memcmp(c.hash, f->hashes[i], 16) == 0)
                seen[i]++;
        n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, NBLOBS);
    assert_int_equal(bad, 0);
    for (int i = 0; i < NBLOBS; i++)
        assert_int_equal(seen[i], 1);
    /* At the end, stays at the end. */
    assert_int_equal(nub_reader_next(&r, &cursor, &c, NULL), 0);
    /* Resuming from a saved cursor yields the same rest (readdir offsets). */
    uint64_t c1 = 0;
    for (int i = 0; i < 10; i++)
        assert_int_equal(nub_reader_next(&r, &c1, &c, NULL), 1);
    uint64_t c2 = c1;
    struct nub_cap a, b;
    assert_int_equal(nub_reader_next(&r, &c1, &a, NULL), 1);
    assert_int_equal(nub_reader_next(&r, &c2, &b, NULL), 1);
    assert_memory_equal(a.hash, b.hash, 16);
    /* A cursor past the table is simply the end. */
    uint64_t far = UINT64_MAX;
    assert_int_equal(nub_reader_next(&r, &far, &c, NULL), 0);
}

static void test_slot_matches_xxh3(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < NBLOBS; i++)
        assert_int_equal(nub_dir_slot(f->hashes[i], SEED, 1024),
                         XXH3_64bits_withSeed(f->hashes[i], 16, SEED) & 1023);
    /* The seed matters: a different seed moves most hashes. */
    int moved = 0;
    for (int i = 0; i < NBLOBS; i++)
        moved += nub_dir_slot(f->hashes[i], SEED, 1 << 20) !=
                 nub_dir_slot(f->hashes[i], SEED + 1, 1 << 20);
    assert_true(moved > NBLOBS / 2);
}

/* ---- boot info --------------------------------------------------------- */

static void test_boot_bad_magic(void **state)
{
    struct fixture *f = *state;
    put_u64(f, BOOT_GPA + offsetof(struct nub_boot_info, magic), 0x1122334455667788ull);
    struct nub_reader r;
    assert_int_equal(nub_reader_open(&r, &f->gm, BOOT_GPA), NUB_READER_BAD_MAGIC);
    assert_string_not_equal(nub_reader_strerror(NUB_READER_BAD_MAGIC), "");
    /* A failed reader answers nothing. */
    struct nub_cap c;
    assert_int_equal(nub_reader_get(&r, f->hashes[0], &c), -EIO);
    assert_int_equal(nub_reader_len(&r), -EIO);
}

static void test_boot_bad_abi(void **state)
{
    struct fixture *f = *state;
    uint32_t v = NUB_ABI_VERSION + 1;
    wr(f, BOOT_GPA + offsetof(struct nub_boot_info, abi_version), &v, sizeof(v));
    struct nub_reader r;
    assert_int_equal(nub_reader_open(&r, &f->gm, BOOT_GPA), NUB_READER_BAD_ABI);
}

static void test_boot_uninitialised(void **state)
{
    struct fixture *f = *state;
    put_u64(f, BOOT_GPA + offsetof(struct nub_boot_info, directory_gpa), 0);
    struct nub_reader r;
    assert_int_equal(nub_reader_open(&r, &f->gm, BOOT_GPA), NUB_READER_UNINITIALISED);
}

static void test_boot_info_outside_memory(void **state)
{
    struct fixture *f = *state;
    struct nub_reader r;
    /* In the hole, straddling into the hole, past the end, wrapping. */
    const uint64_t bad[] = {HOLE_GPA, HOLE_GPA - 64, MEM_END - 64, MEM_END, UINT64_MAX - 8,
                            UINT64_MAX};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(nub_reader_open(&r, &f->gm, bad[i]), NUB_READER_OUT_OF_RANGE);
}

static void test_directory_outside_memory(void **state)
{
    struct fixture *f = *state;
    const uint64_t bad[] = {HOLE_GPA,        HOLE_GPA - 16, MEM_END - 8,
                            UINT64_MAX - 16, 0x1000 /* page tables */, 8 /* null page */};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        put_u64(f, BOOT_GPA + offsetof(struct nub_boot_info, directory_gpa), bad[i]);
        struct nub_reader r;
        assert_int_equal(nub_reader_open(&r, &f->gm, BOOT_GPA), NUB_READER_OUT_OF_RANGE);
    }
}

static void test_refresh_follows_boot_info(void **state)
{
    struct fixture *f = *state;
    struct nub_reader r;
    open_ok(f, &r);
    /* The guest "moves" the header: copy it and publish the new address. */
    struct nub_dir_header h;
    assert_int_equal(nub_gm_read(&f->gm, HDR_GPA, &h, sizeof(h)), 0);
    uint64_t moved = R2_GPA + R2_SIZE - sizeof(h); /* ends exactly at the end */
    wr(f, moved, &h, sizeof(h));
    put_u64(f, BOOT_GPA + offsetof(struct nub_boot_info, directory_gpa), moved);
    assert_int_equal(nub_reader_refresh(&r), NUB_READER_OK);
    assert_int_equal(r.directory_gpa, moved);
    struct nub_cap c;
    assert_int_equal(nub_reader_get(&r, f->hashes[3], &c), 0);
    /* Guest reboot: directory address back to 0. */
    put_u64(f, BOOT_GPA + offsetof(struct nub_boot_info, directory_gpa), 0);
    assert_int_equal(nub_reader_refresh(&r), NUB_READER_UNINITIALISED);
    assert_int_equal(nub_reader_get(&r, f->hashes[3], &c), -EIO);
}

/* ---- header ------------------------------------------------------------ */

static void expect_corrupt_header(struct fixture *f)
{
    struct nub_reader r;
    assert_int_equal(nub_reader_open(&r, &f->gm, BOOT_GPA), NUB_READER_CORRUPT);
}

/* Corrupting the header after a successful open: every op says -EIO. */
static void expect_ops_eio(struct fixture *f, struct nub_reader *r)
{
    struct nub_cap c;
    struct nub_dir_header h;
    uint64_t cursor = 0;
    assert_int_equal(nub_reader_get(r, f->hashes[2], &c), -EIO);
    assert_false(nub_reader_contains(r, f->hashes[2]));
    assert_int_equal(nub_reader_len(r), -EIO);
    assert_int_equal(nub_reader_header(r, &h), -EIO);
    assert_int_equal(nub_reader_next(r, &cursor, &c, NULL), -EIO);
}

static void hdr_field(struct fixture *f, size_t off, uint64_t v)
{
    put_u64(f, HDR_GPA + off, v);
}

static void test_header_bad_magic(void **state)
{
    struct fixture *f = *state;
    struct nub_reader r;
    open_ok(f, &r);
    hdr_field(f, offsetof(struct nub_dir_header, magic), NUB_BOOT_MAGIC);
    expect_corrupt_header(f);
    expect_ops_eio(f, &r);
}

static void test_header_bad_capacity(void **state)
{
    struct fixture *f = *state;
    const uint64_t bad[] = {0,
                            1,
                            2,
                            NUB_DIR_MIN_CAPACITY / 2,
                            NUB_DIR_MIN_CAPACITY - 1,
                            NUB_DIR_MIN_CAPACITY + 1,
                            96,
                            1000,
                            NUB_DIR_MAX_CAPACITY * 2,
                            NUB_DIR_MAX_CAPACITY + 64,
                            1ull << 62,
                            1ull << 63,
                            UINT64_MAX,
                            UINT64_MAX / sizeof(struct nub_dir_entry) + 1};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct nub_reader r;
        f->capacity = NUB_DIR_MIN_CAPACITY;
        write_header(f, NBLOBS);
        open_ok(f, &r);
        hdr_field(f, offsetof(struct nub_dir_header, capacity), bad[i]);
        expect_corrupt_header(f);
        expect_ops_eio(f, &r);
    }
}

static void test_header_capacity_larger_than_memory(void **state)
{
    struct fixture *f = *state;
    /* A power of two within limits whose table runs off R0 into the hole. */
    hdr_field(f, offsetof(struct nub_dir_header, capacity), NUB_DIR_MAX_CAPACITY);
    expect_corrupt_header(f);
    hdr_field(f, offsetof(struct nub_dir_header, capacity), 1u << 16); /* 2.5 MiB > R0 */
    expect_corrupt_header(f);
}

static void test_header_count_lies(void **state)
{
    struct fixture *f = *state;
    struct nub_reader r;
    /* More than capacity: corrupt. */
    hdr_field(f, offsetof(struct nub_dir_header, count), f->capacity + 1);
    expect_corrupt_header(f);
    hdr_field(f, offsetof(struct nub_dir_header, count), UINT64_MAX);
    expect_corrupt_header(f);
    /* Within capacity but wrong: reported as is (it is only a number),
     * lookups and listing go by the table, never by the count. */
    hdr_field(f, offsetof(struct nub_dir_header, count), 0);
    open_ok(f, &r);
    assert_int_equal(nub_reader_len(&r), 0);
    uint64_t bad;
    int err;
    assert_int_equal(count_listed(&r, &bad, &err), NBLOBS);
    assert_int_equal(err, 0);
    hdr_field(f, offsetof(struct nub_dir_header, count), f->capacity);
    assert_int_equal(nub_reader_len(&r), (int64_t)f->capacity);
    assert_int_equal(count_listed(&r, &bad, &err), NBLOBS);
}

static void test_header_entries_outside_memory(void **state)
{
    struct fixture *f = *state;
    uint64_t table = f->capacity * sizeof(struct nub_dir_entry);
    const uint64_t bad[] = {
        0,                      /* null */
        NUB_PT_BASE,            /* over the page tables */
        NUB_KERNEL_BASE - 64,   /* starts below the kernel base */
        HOLE_GPA,               /* in the hole */
        HOLE_GPA - table + 40,  /* straddles R0 end into the hole */
        MEM_END - table + 1,    /* runs past the end of memory */
        MEM_END,                /* just past the end */
        UINT64_MAX - table + 2, /* wraps 2^64 */
        UINT64_MAX,
    };
    struct nub_reader r;
    open_ok(f, &r);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hdr_field(f, offsetof(struct nub_dir_header, entries_gpa), bad[i]);
        expect_corrupt_header(f);
        expect_ops_eio(f, &r);
    }
    /* Straddling two adjacent regions (no hole) is fine. */
    uint64_t across = R2_GPA - table / 2;
    uint8_t *copy = malloc(table);
    assert_int_equal(nub_gm_read(&f->gm, ENTRIES_GPA, copy, table), 0);
    wr(f, across, copy, table);
    free(copy);
    hdr_field(f, offsetof(struct nub_dir_header, entries_gpa), across);
    open_ok(f, &r);
    struct nub_cap c;
    assert_int_equal(nub_reader_get(&r, f->hashes[5], &c), 0);
}

/* ---- entries ----------------------------------------------------------- */

/* Points blob i's entry at (gpa, len); get must be -EIO, listing must skip
 * exactly that one and count it, other blobs unaffected. */
static void expect_entry_eio(struct fixture *f, int i, struct nub_dir_entry *e)
{
    set_entry(f, slot_of(f, i), e);
    struct nub_reader r;
    open_ok(f, &r);
    struct nub_cap c;
    assert_int_equal(nub_reader_get(&r, f->hashes[i], &c), -EIO);
    assert_false(nub_reader_contains(&r, f->hashes[i]));
    uint64_t bad;
    int err;
    assert_int_equal(count_listed(&r, &bad, &err), NBLOBS - 1);
    assert_int_equal(err, 0);
    assert_int_equal(bad, 1);
    int other = (i + 1) % NBLOBS;
    assert_int_equal(nub_reader_get(&r, f->hashes[other], &c), 0);
}

static void test_entry_data_outside_memory(void **state)
{
    struct fixture *f = *state;
    const int i = 7; /* len 6979 */
    struct nub_dir_entry orig = get_entry(f, slot_of(f, i));
    struct {
        uint64_t gpa, len;
    } bad[] = {
        {HOLE_GPA, 1},                   /* in the hole */
        {HOLE_GPA - 100, 200},           /* straddles the hole */
        {R1_GPA - 1, 2},                 /* ends in R1, starts in the hole */
        {MEM_END - 10, 11},              /* runs past the end */
        {MEM_END, 1},                    /* past the end */
        {UINT64_MAX, 1},                 /* last address of 2^64 */
        {UINT64_MAX - 5, 100},           /* wraps */
        {R1_GPA, UINT64_MAX},            /* length wraps */
        {R1_GPA, (uint64_t)1 << 63},     /* huge */
        {R1_GPA, R1_SIZE + R2_SIZE + 1}, /* one byte too long */
        {0, 4096},                       /* null page */
        {NUB_PT_BASE, 4096},             /* the page tables */
        {NUB_KERNEL_BASE - 1, 2},        /* starts just below the kernel base */
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        struct nub_dir_entry e = orig;
        e.data_gpa = bad[k].gpa;
        e.len = bad[k].len;
        expect_entry_eio(f, i, &e);
    }
    /* Exactly all of R1+R2 is one contiguous range: fine. */
    struct nub_dir_entry e = orig;
    e.data_gpa = R1_GPA;
    e.len = R1_SIZE + R2_SIZE;
    set_entry(f, slot_of(f, i), &e);
    struct nub_reader r;
    open_ok(f, &r);
    struct nub_cap c;
    assert_int_equal(nub_reader_get(&r, f->hashes[i], &c), 0);
    assert_int_equal(c.len, R1_SIZE + R2_SIZE);
}

static void test_entry_empty_blob_any_address(void **state)
{
    struct fixture *f = *state;
    const uint64_t any[] = {0, HOLE_GPA, UINT64_MAX, 0x1000};
    for (size_t k = 0; k < sizeof(any) / sizeof(any[0]); k++) {
        struct nub_dir_entry e = get_entry(f, slot_of(f, 0));
        assert_int_equal(e.len, 0);
        e.data_gpa = any[k];
        set_entry(f, slot_of(f, 0), &e);
        struct nub_reader r;
        open_ok(f, &r);
        struct nub_cap c;
        assert_int_equal(nub_reader_get(&r, f->hashes[0], &c), 0);
        assert_int_equal(c.len, 0);
    }
}

static void test_entry_bad_kind_or_refcount(void **state)
{
    struct fixture *f = *state;
    struct nub_dir_entry e = get_entry(f, slot_of(f, 9));
    e.kind = NUB_CAP_MANIFEST + 1;
    expect_entry_eio(f, 9, &e);
    e.kind = 0xffff;
    expect_entry_eio(f, 9, &e);
    e.kind = NUB_CAP_WASM;
    e.refcount = 0;
    expect_entry_eio(f, 9, &e);
}

static void test_entry_duplicate_hash_listed_once(void **state)
{
    struct fixture *f = *state;
    /* Put a second copy of blob 4's entry in some later free slot. */
    struct nub_dir_entry e = get_entry(f, slot_of(f, 4));
    uint64_t s = slot_of(f, 4);
    for (uint64_t n = 1; n < f->capacity; n++) {
        uint64_t idx = (s + n) & (f->capacity - 1);
        if (!(get_entry(f, idx).flags & NUB_DIR_F_USED)) {
            set_entry(f, idx, &e);
            break;
        }
    }
    struct nub_reader r;
    open_ok(f, &r);
    uint64_t bad;
    int err;
    assert_int_equal(count_listed(&r, &bad, &err), NBLOBS);
    assert_int_equal(bad, 1);
}

static void test_entry_unreachable_not_listed(void **state)
{
    struct fixture *f = *state;
    /* Move an entry one slot before its home: lookup cannot find it, so
     * listing must not show it either (ls and cat must agree). */
    int b = -1;
    uint64_t s = 0, before = 0;
    for (int i = 1; i < NBLOBS && b < 0; i++) {
        uint64_t home = nub_dir_slot(f->hashes[i], SEED, f->capacity);
        before = (home - 1) & (f->capacity - 1);
        s = slot_of(f, i);
        if (!(get_entry(f, before).flags & NUB_DIR_F_USED))
            b = i;
    }
    assert_true(b > 0); /* 40 entries in 64 slots: some home has a free slot before it */
    struct nub_dir_entry e = get_entry(f, s), empty = {0};
    set_entry(f, s, &empty);
    set_entry(f, before, &e);
    struct nub_reader r;
    open_ok(f, &r);
    struct nub_cap c;
    assert_int_equal(nub_reader_get(&r, f->hashes[b], &c), -ENOENT);
    uint64_t bad;
    int err;
    int n = count_listed(&r, &bad, &err);
    assert_true(n <= NBLOBS - 1);
    assert_true(bad >= 1);
}

static void test_full_table_probe_terminates(void **state)
{
    struct fixture *f = *state;
    /* Fill every free slot with a valid entry: no empty slot remains. */
    int extra = 0;
    for (uint64_t idx = 0; idx < f->capacity; idx++) {
        struct nub_dir_entry e = get_entry(f, idx);
        if (e.flags & NUB_DIR_F_USED)
            continue;
        memset(&e, 0, sizeof(e));
        e.hash[0] = 0xee;
        memcpy(&e.hash[8], &idx, sizeof(idx));
        e.refcount = 1;
        e.flags = NUB_DIR_F_USED;
        set_entry(f, idx, &e);
        extra++;
    }
    write_header(f, f->capacity);
    struct nub_reader r;
    open_ok(f, &r);
    struct nub_cap c;
    /* Present hashes are found; an absent one wraps all the way: -EIO. */
    assert_int_equal(nub_reader_get(&r, f->hashes[3], &c), 0);
    uint8_t missing[16] = {1, 2, 3};
    assert_int_equal(nub_reader_get(&r, missing, &c), -EIO);
    /* Listing terminates and accounts for every slot exactly once. */
    uint64_t bad;
    int err;
    int n = count_listed(&r, &bad, &err);
    assert_int_equal(err, 0);
    assert_int_equal((uint64_t)n + bad, f->capacity);
    assert_true(n >= NBLOBS);
}

/* Random corruption of header and entries: nothing may crash or read
 * outside guest memory (ASan/UBSan watch), results are 0/-ENOENT/-EIO. */
static void test_random_corruption(void **state)
{
    struct fixture *f = *state;
    uint64_t table = f->capacity * sizeof(struct nub_dir_entry);
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < 3000; round++) {
        for (int k = 0; k < 4; k++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            uint64_t where = (rng >> 16) % (table + sizeof(struct nub_dir_header));
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            uint8_t v = (uint8_t)(rng >> 40);
            if (where < sizeof(struct nub_dir_header)) {
                /* Header bytes: mostly keep it valid so entries get walked. */
                if ((rng >> 8) % 8 == 0)
                    wr(f, HDR_GPA + where, &v, 1);
            } else {
                wr(f, ENTRIES_GPA + where - sizeof(struct nub_dir_header), &v, 1);
            }
        }
        struct nub_reader r;
        enum nub_reader_error e = nub_reader_open(&r, &f->gm, BOOT_GPA);
        assert_true(e == NUB_READER_OK || e == NUB_READER_CORRUPT);
        for (int i = 0; i < NBLOBS; i++) {
            struct nub_cap c;
            int rc = nub_reader_get(&r, f->hashes[i], &c);
            assert_true(rc == 0 || rc == -ENOENT || rc == -EIO);
            if (rc == 0)
                assert_true(c.len == 0 || nub_gm_check_range(&f->gm, c.data_gpa, c.len));
        }
        uint64_t bad;
        int err;
        int n = count_listed(&r, &bad, &err);
        assert_true(err == 0 || err == -EIO);
        assert_true((uint64_t)n <= f->capacity);
        if (round % 500 == 499) { /* start again from a clean table */
            teardown(state);
            setup(state);
            f = *state;
        }
    }
}

/* ---- a growth being migrated: two tables --------------------------------
 * The guest grows incrementally (abi.h): the header names the new table
 * and the old one it is emptying. Here: blobs [0, MOVED) in a new table of
 * 128 slots at NEW_GPA, the rest left in the original 64-slot table. */
#define NEW_GPA (NUB_KERNEL_BASE + 0x20000)
#define NEW_CAP 128u
#define MOVED 15

static uint64_t slot_gpa(uint64_t table, uint64_t idx)
{
    return table + idx * sizeof(struct nub_dir_entry);
}

static struct nub_dir_entry entry_at(struct fixture *f, uint64_t table, uint64_t idx)
{
    struct nub_dir_entry e;
    assert_int_equal(nub_gm_read(&f->gm, slot_gpa(table, idx), &e, sizeof(e)), 0);
    return e;
}

/* Linear-probing insert of a copy of e into the table at gpa. */
static uint64_t insert_in(struct fixture *f, uint64_t table, uint64_t cap,
                          const struct nub_dir_entry *e)
{
    uint64_t idx = XXH3_64bits_withSeed(e->hash, 16, SEED) & (cap - 1);
    for (uint64_t n = 0; n < cap; n++, idx = (idx + 1) & (cap - 1)) {
        if (entry_at(f, table, idx).flags & NUB_DIR_F_USED)
            continue;
        wr(f, slot_gpa(table, idx), e, sizeof(*e));
        return idx;
    }
    fail_msg("table full");
    return 0;
}

/* Slot of hash in the table at gpa (it must be there). */
static uint64_t find_in(struct fixture *f, uint64_t table, uint64_t cap, const uint8_t hash[16])
{
    uint64_t idx = XXH3_64bits_withSeed(hash, 16, SEED) & (cap - 1);
    for (uint64_t n = 0; n < cap; n++, idx = (idx + 1) & (cap - 1))
        if (memcmp(entry_at(f, table, idx).hash, hash, 16) == 0)
            return idx;
    fail_msg("not in table");
    return 0;
}

static void write_migrating_header(struct fixture *f)
{
    struct nub_dir_header h = {.magic = NUB_DIR_MAGIC,
                               .capacity = NEW_CAP,
                               .count = NBLOBS,
                               .entries_gpa = NEW_GPA,
                               .generation = 9,
                               .old_entries_gpa = ENTRIES_GPA,
                               .old_capacity = NUB_DIR_MIN_CAPACITY,
                               .old_count = NBLOBS - MOVED,
                               .migrate_next = 3};
    wr(f, HDR_GPA, &h, sizeof(h));
}

/* Rebuilds the fixture's directory as two valid tables. */
static void migrate(struct fixture *f)
{
    struct nub_dir_entry all[NBLOBS], zero = {0};
    for (int i = 0; i < NBLOBS; i++)
        all[i] = get_entry(f, slot_of(f, i));
    for (uint64_t idx = 0; idx < NUB_DIR_MIN_CAPACITY; idx++)
        set_entry(f, idx, &zero);
    for (int i = 0; i < NBLOBS; i++) {
        if (i < MOVED)
            insert_in(f, NEW_GPA, NEW_CAP, &all[i]);
        else
            insert_in(f, ENTRIES_GPA, NUB_DIR_MIN_CAPACITY, &all[i]);
    }
    write_migrating_header(f);
}

static int setup_migrating(void **state)
{
    setup(state);
    migrate(*state);
    return 0;
}

static void test_migrating_get_and_list(void **state)
{
    struct fixture *f = *state;
    struct nub_reader r;
    open_ok(f, &r);
    assert_int_equal(nub_reader_len(&r), NBLOBS);
    for (int i = 0; i < NBLOBS; i++) {
        struct nub_cap c;
        assert_int_equal(nub_reader_get(&r, f->hashes[i], &c), 0);
        assert_int_equal(c.data_gpa, f->gpas[i]);
        assert_int_equal(c.len, f->lens[i]);
    }
    /* Absent: both tables probed, both end at an empty slot. */
    uint8_t h[16] = {0x77};
    for (int i = 0; i < 200; i++) {
        memcpy(h + 4, &i, sizeof(i));
        assert_int_equal(nub_reader_get(&r, h, &(struct nub_cap){0}), -ENOENT);
    }
    /* Each blob listed once; cursors cover the new table, then the old. */
    int seen[NBLOBS] = {0}, in_old = 0;
    uint64_t cursor = 0, prev = 0, bad = 0;
    struct nub_cap c;
    int rc;
    while ((rc = nub_reader_next(&r, &cursor, &c, &bad)) == 1) {
        assert_true(cursor > prev);
        prev = cursor;
        in_old += cursor > NEW_CAP;
        for (int i = 0; i < NBLOBS; i++)
            if (memcmp(c.hash, f->hashes[i], 16) == 0)
                seen[i]++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(bad, 0);
    assert_int_equal(in_old, NBLOBS - MOVED);
    for (int i = 0; i < NBLOBS; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(cursor, NEW_CAP + NUB_DIR_MIN_CAPACITY);
    /* Resuming inside the old table's cursor range. */
    uint64_t mid = NEW_CAP + 1;
    int rest = 0;
    while (nub_reader_next(&r, &mid, &c, NULL) == 1)
        rest++;
    assert_true(rest > 0 && rest <= NBLOBS - MOVED);
    struct nub_dir_header hd;
    assert_int_equal(nub_reader_header(&r, &hd), 0);
    assert_int_equal(hd.old_capacity, NUB_DIR_MIN_CAPACITY);
}

/* A hash in both tables (the guest must never do it) is served from the
 * new table and listed once; the old copy is off its lookup path: bad. */
static void test_migrating_duplicate_across_tables(void **state)
{
    struct fixture *f = *state;
    const int in_old = MOVED + 2, in_new = 3;
    struct nub_dir_entry e = entry_at(f, ENTRIES_GPA,
                                      find_in(f, ENTRIES_GPA, 64, f->hashes[in_old]));
    e.len = 0; /* tell the copies apart: the new-table copy is empty */
    insert_in(f, NEW_GPA, NEW_CAP, &e);
    struct nub_dir_entry n = entry_at(f, NEW_GPA, find_in(f, NEW_GPA, NEW_CAP, f->hashes[in_new]));
    insert_in(f, ENTRIES_GPA, 64, &n);
    struct nub_reader r;
    open_ok(f, &r);
    struct nub_cap c;
    assert_int_equal(nub_reader_get(&r, f->hashes[in_old], &c), 0);
    assert_int_equal(c.len, 0);
    uint64_t bad;
    int err;
    assert_int_equal(count_listed(&r, &bad, &err), NBLOBS);
    assert_int_equal(err, 0);
    assert_int_equal(bad, 2);
}

static void old_field(struct fixture *f, size_t off, uint64_t v)
{
    write_migrating_header(f);
    put_u64(f, HDR_GPA + off, v);
}

static void test_migrating_bad_old_fields(void **state)
{
    struct fixture *f = *state;
    struct nub_reader r;
    open_ok(f, &r);
    const uint64_t bad_cap[] = {1,
                                NUB_DIR_MIN_CAPACITY / 2,
                                NUB_DIR_MIN_CAPACITY - 1,
                                NUB_DIR_MIN_CAPACITY + 1,
                                96,
                                NEW_CAP, /* not smaller than the new table */
                                NEW_CAP * 2,
                                NUB_DIR_MAX_CAPACITY * 2,
                                1ull << 63,
                                UINT64_MAX,
                                UINT64_MAX / sizeof(struct nub_dir_entry) + 1};
    for (size_t i = 0; i < sizeof(bad_cap) / sizeof(bad_cap[0]); i++) {
        old_field(f, offsetof(struct nub_dir_header, old_capacity), bad_cap[i]);
        expect_corrupt_header(f);
        expect_ops_eio(f, &r);
    }
    uint64_t table = NUB_DIR_MIN_CAPACITY * sizeof(struct nub_dir_entry);
    const uint64_t bad_gpa[] = {
        0,                      /* null with a capacity */
        NUB_PT_BASE,            /* over the page tables */
        NUB_KERNEL_BASE - 64,   /* starts below the kernel base */
        HOLE_GPA,               /* in the hole */
        HOLE_GPA - table + 40,  /* straddles R0 end into the hole */
        MEM_END - table + 1,    /* runs past the end of memory */
        UINT64_MAX - table + 2, /* wraps 2^64 */
        UINT64_MAX,
    };
    for (size_t i = 0; i < sizeof(bad_gpa) / sizeof(bad_gpa[0]); i++) {
        old_field(f, offsetof(struct nub_dir_header, old_entries_gpa), bad_gpa[i]);
        expect_corrupt_header(f);
        expect_ops_eio(f, &r);
    }
    /* More in the old table than it has slots. */
    old_field(f, offsetof(struct nub_dir_header, old_count), NUB_DIR_MIN_CAPACITY + 1);
    expect_corrupt_header(f);
    /* No old table, but an old address or count. */
    write_migrating_header(f);
    put_u64(f, HDR_GPA + offsetof(struct nub_dir_header, old_capacity), 0);
    expect_corrupt_header(f);
    put_u64(f, HDR_GPA + offsetof(struct nub_dir_header, old_entries_gpa), 0);
    expect_corrupt_header(f); /* old_count is still NBLOBS - MOVED */
    put_u64(f, HDR_GPA + offsetof(struct nub_dir_header, old_count), 0);
    open_ok(f, &r); /* a plain one-table header: the old blobs are gone */
    assert_int_equal(nub_reader_get(&r, f->hashes[MOVED + 1], &(struct nub_cap){0}), -ENOENT);
    assert_int_equal(nub_reader_get(&r, f->hashes[1], &(struct nub_cap){0}), 0);
    /* migrate_next is informational: any value is fine. */
    old_field(f, offsetof(struct nub_dir_header, migrate_next), UINT64_MAX);
    open_ok(f, &r);
    assert_int_equal(nub_reader_get(&r, f->hashes[MOVED + 1], &(struct nub_cap){0}), 0);
    /* The old table may straddle two adjacent regions. */
    uint64_t across = R2_GPA - table / 2;
    uint8_t *copy = malloc(table);
    assert_int_equal(nub_gm_read(&f->gm, ENTRIES_GPA, copy, table), 0);
    wr(f, across, copy, table);
    free(copy);
    old_field(f, offsetof(struct nub_dir_header, old_entries_gpa), across);
    open_ok(f, &r);
    assert_int_equal(nub_reader_get(&r, f->hashes[MOVED + 1], &(struct nub_cap){0}), 0);
}

/* An old table with no free slot: an absent hash wraps it: -EIO, and the
 * listing still ends, accounting for every used slot once. */
static void test_migrating_full_old_table(void **state)
{
    struct fixture *f = *state;
    uint64_t used = 0;
    for (uint64_t idx = 0; idx < NUB_DIR_MIN_CAPACITY; idx++) {
        struct nub_dir_entry e = get_entry(f, idx);
        if (!(e.flags & NUB_DIR_F_USED)) {
            memset(&e, 0, sizeof(e));
            e.hash[0] = 0xee;
            memcpy(&e.hash[8], &idx, sizeof(idx));
            e.refcount = 1;
            e.flags = NUB_DIR_F_USED;
            set_entry(f, idx, &e);
        }
    }
    for (uint64_t idx = 0; idx < NEW_CAP; idx++)
        used += (entry_at(f, NEW_GPA, idx).flags & NUB_DIR_F_USED) != 0;
    struct nub_reader r;
    open_ok(f, &r);
    uint8_t missing[16] = {1, 2, 3};
    assert_int_equal(nub_reader_get(&r, missing, &(struct nub_cap){0}), -EIO);
    assert_int_equal(nub_reader_get(&r, f->hashes[1], &(struct nub_cap){0}), 0);
    uint64_t bad;
    int err;
    int n = count_listed(&r, &bad, &err);
    assert_int_equal(err, 0);
    assert_int_equal((uint64_t)n + bad, used + NUB_DIR_MIN_CAPACITY);
}

/* Random bytes over the header and both tables: no crash, no read outside
 * guest memory, answers 0/-ENOENT/-EIO, listing bounded by both tables. */
static void test_migrating_random_corruption(void **state)
{
    struct fixture *f = *state;
    const uint64_t hdr = sizeof(struct nub_dir_header);
    const uint64_t old_len = NUB_DIR_MIN_CAPACITY * sizeof(struct nub_dir_entry);
    const uint64_t new_len = NEW_CAP * sizeof(struct nub_dir_entry);
    uint64_t rng = 0x1234567ull;
    for (int round = 0; round < 3000; round++) {
        for (int k = 0; k < 4; k++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            uint64_t where = (rng >> 16) % (hdr + old_len + new_len);
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            uint8_t v = (uint8_t)(rng >> 40);
            if (where < hdr) {
                if ((rng >> 8) % 8 == 0)
                    wr(f, HDR_GPA + where, &v, 1);
            } else if (where < hdr + old_len) {
                wr(f, ENTRIES_GPA + where - hdr, &v, 1);
            } else {
                wr(f, NEW_GPA + where - hdr - old_len, &v, 1);
            }
        }
        struct nub_reader r;
        enum nub_reader_error e = nub_reader_open(&r, &f->gm, BOOT_GPA);
        assert_true(e == NUB_READER_OK || e == NUB_READER_CORRUPT);
        for (int i = 0; i < NBLOBS; i++) {
            struct nub_cap c;
            int rc = nub_reader_get(&r, f->hashes[i], &c);
            assert_true(rc == 0 || rc == -ENOENT || rc == -EIO);
            if (rc == 0)
                assert_true(c.len == 0 || nub_gm_check_range(&f->gm, c.data_gpa, c.len));
        }
        uint64_t bad;
        int err;
        int n = count_listed(&r, &bad, &err);
        assert_true(err == 0 || err == -EIO);
        assert_true((uint64_t)n <= NEW_CAP + NUB_DIR_MIN_CAPACITY);
        if (round % 500 == 499) {
            teardown(state);
            setup_migrating(state);
            f = *state;
        }
    }
}

/* ---- bounded work on a hostile table ----------------------------------
 * abi.h: no entry lies NUB_DIR_MAX_PROBE or more slots from home, so the
 * reader stops every probe there. A corrupt guest can fill every slot of a
 * big table; listing it and looking up absent hashes must then cost
 * O(MAX_PROBE) slot reads per slot and per lookup, counted with
 * nub_reader_slots_read(), not a walk over the table per entry. */
#define BIG_CAP (1u << 16)
#define BIG_OLD_CAP (1u << 15)
#define BIG_MEM (16 * MIB)
#define BIG_TAB (NUB_KERNEL_BASE + 0x10000)
#define BIG_OLD_TAB (BIG_TAB + BIG_CAP * sizeof(struct nub_dir_entry))
#define PROBE ((uint64_t)NUB_DIR_MAX_PROBE)

struct big {
    uint8_t *mem;
    struct nub_guest_mem gm;
    struct nub_dir_entry *tab, *old; /* host views of the two tables */
};

static uint64_t home_of(const uint8_t hash[16], uint64_t cap)
{
    return XXH3_64bits_withSeed(hash, 16, SEED) & (cap - 1);
}

static void big_entry(struct nub_dir_entry *e, const uint8_t hash[16])
{
    memset(e, 0, sizeof(*e));
    memcpy(e->hash, hash, 16);
    e->refcount = 1;
    e->kind = NUB_CAP_BLOB;
    e->flags = NUB_DIR_F_USED; /* len 0: valid at any address */
}

/* Hash number i (distinct for distinct i). */
static void big_hash(uint8_t h[16], uint64_t i)
{
    uint64_t a = i * 0x9E3779B97F4A7C15ull + 0x1234, b = i ^ 0xfeedfacecafebeefull;
    memcpy(h, &a, 8);
    memcpy(h + 8, &b, 8);
}

/* Boot info and a header naming a table of BIG_CAP slots (and, if
 * old_cap, an old table of that many). */
static void big_open(struct big *b, uint64_t old_cap)
{
    b->mem = calloc(1, BIG_MEM);
    assert_non_null(b->mem);
    nub_gm_init(&b->gm);
    assert_int_equal(nub_gm_add_region(&b->gm, 0, BIG_MEM, b->mem, -1, 0), 0);
    struct nub_boot_info bi = {.magic = NUB_BOOT_MAGIC,
                               .abi_version = NUB_ABI_VERSION,
                               .mem_size = BIG_MEM,
                               .hasher_seed = SEED,
                               .directory_gpa = HDR_GPA};
    memcpy(b->mem + BOOT_GPA, &bi, sizeof(bi));
    struct nub_dir_header h = {.magic = NUB_DIR_MAGIC,
                               .capacity = BIG_CAP,
                               .count = BIG_CAP,
                               .entries_gpa = BIG_TAB,
                               .old_entries_gpa = old_cap ? BIG_OLD_TAB : 0,
                               .old_capacity = old_cap,
                               .old_count = old_cap};
    memcpy(b->mem + HDR_GPA, &h, sizeof(h));
    b->tab = (struct nub_dir_entry *)(b->mem + BIG_TAB);
    b->old = (struct nub_dir_entry *)(b->mem + BIG_OLD_TAB);
}

/* Lists everything, going on after the -EIO of a long corrupt stretch.
 * Returns caps listed; *bad, *stretches (such -EIOs) and *reads (slot
 * reads) for the whole listing. */
static uint64_t big_list(struct nub_reader *r, uint64_t *bad, uint64_t *stretches,
                         uint64_t *reads)
{
    uint64_t cursor = 0, n = 0, r0 = nub_reader_slots_read();
    struct nub_cap c;
    *bad = *stretches = 0;
    for (;;) {
        uint64_t before = cursor, bad0 = *bad, c0 = nub_reader_slots_read();
        int rc = nub_reader_next(r, &cursor, &c, bad);
        /* One call: a read per slot it passes, and a bounded lookup for at
         * most MAX_BAD_RUN + 1 used ones (what a readdir pays per entry). */
        if (rc != 0)
            assert_true(nub_reader_slots_read() - c0 <=
                        (cursor - before) + (NUB_READER_MAX_BAD_RUN + 1) * 2 * PROBE);
        if (rc == 1) {
            n++;
        } else if (rc == -EIO) {
            /* Exactly one bad run's worth skipped, and the cursor moved on. */
            assert_true(cursor > before);
            assert_int_equal(*bad - bad0, NUB_READER_MAX_BAD_RUN);
            ++*stretches;
        } else {
            assert_int_equal(rc, 0);
            break;
        }
    }
    *reads = nub_reader_slots_read() - r0;
    return n;
}

/* Absent hashes: -ENOENT after at most MAX_PROBE reads per table. */
static void big_absent(struct nub_reader *r, uint64_t tables)
{
    for (uint64_t i = 0; i < 1000; i++) {
        uint8_t h[16];
        big_hash(h, (1ull << 40) + i);
        uint64_t r0 = nub_reader_slots_read();
        struct nub_cap c;
        assert_int_equal(nub_reader_get(r, h, &c), -ENOENT);
        assert_true(nub_reader_slots_read() - r0 <= tables * PROBE);
    }
}

/* Every slot of both tables used by random hashes: almost every entry is
 * far from home, unreachable within the bound, so bad; the few that are
 * within reach are listed and found. */
static void test_hostile_full_tables_bounded(void **state)
{
    (void)state;
    for (int migrating = 0; migrating < 2; migrating++) {
        struct big b;
        uint64_t old_cap = migrating ? BIG_OLD_CAP : 0, total = BIG_CAP + old_cap;
        big_open(&b, old_cap);
        for (uint64_t i = 0; i < total; i++) {
            uint8_t h[16];
            big_hash(h, i);
            big_entry(i < BIG_CAP ? &b.tab[i] : &b.old[i - BIG_CAP], h);
        }
        struct nub_reader r;
        assert_int_equal(nub_reader_open(&r, &b.gm, BOOT_GPA), NUB_READER_OK);
        uint64_t bad, stretches, reads;
        uint64_t n = big_list(&r, &bad, &stretches, &reads);
        assert_int_equal(n + bad, total); /* every slot accounted for once */
        assert_true(n < total / 100);     /* few are within reach */
        assert_true(stretches > 0);       /* long corrupt stretches: -EIO */
        /* Each slot: read once, plus one bounded lookup (two tables). */
        assert_true(reads <= total * (1 + (migrating ? 2 : 1) * PROBE));
        print_message("hostile full %s: %llu slots, %llu listed, %llu slot reads (%.1f per slot)\n",
                      migrating ? "new+old tables" : "table", (unsigned long long)total,
                      (unsigned long long)n, (unsigned long long)reads, (double)reads / total);
        big_absent(&r, migrating ? 2 : 1);
        free(b.mem);
    }
}

/* The worst a table can be within the bound: every slot used, every entry
 * 48..63 slots from home, so every entry is valid and listed, and every
 * lookup walks nearly MAX_PROBE slots. Still at most 1 + MAX_PROBE reads
 * per slot for the listing. */
static void test_hostile_entries_at_the_bound(void **state)
{
    (void)state;
    struct big b;
    big_open(&b, 0);
    /* Hashes bucketed by home: 4 per home on average. */
    enum { M = 4 * BIG_CAP };
    uint64_t *start = calloc(BIG_CAP + 1, sizeof(uint64_t));
    uint64_t *ids = malloc(M * sizeof(uint64_t)), *homes = malloc(M * sizeof(uint64_t));
    for (uint64_t i = 0; i < M; i++) {
        uint8_t h[16];
        big_hash(h, i);
        homes[i] = home_of(h, BIG_CAP);
        start[homes[i] + 1]++;
    }
    for (uint64_t k = 0; k < BIG_CAP; k++)
        start[k + 1] += start[k];
    uint64_t *next = malloc(BIG_CAP * sizeof(uint64_t));
    memcpy(next, start, BIG_CAP * sizeof(uint64_t));
    for (uint64_t i = 0; i < M; i++)
        ids[next[homes[i]]++] = i;
    memcpy(next, start, BIG_CAP * sizeof(uint64_t));
    /* Slot s takes an unused hash whose home is s-63, s-62, ... s-48. */
    uint64_t far = 0, filler = 1ull << 41;
    for (uint64_t s = 0; s < BIG_CAP; s++) {
        uint8_t h[16];
        big_hash(h, filler++); /* if no such hash is left: any */
        for (uint64_t j = 0; j < 16; j++) {
            uint64_t home = (s - (PROBE - 1) + j) & (BIG_CAP - 1);
            if (next[home] < start[home + 1]) {
                big_hash(h, ids[next[home]++]);
                far++;
                break;
            }
        }
        big_entry(&b.tab[s], h);
    }
    assert_true(far > BIG_CAP - BIG_CAP / 100);
    struct nub_reader r;
    assert_int_equal(nub_reader_open(&r, &b.gm, BOOT_GPA), NUB_READER_OK);
    uint64_t bad, stretches, reads;
    uint64_t n = big_list(&r, &bad, &stretches, &reads);
    assert_int_equal(n + bad, BIG_CAP);
    assert_true(n >= far);
    assert_true(reads <= BIG_CAP * (1 + PROBE));
    print_message("entries at the bound: %llu listed, %llu slot reads (%.1f per slot)\n",
                  (unsigned long long)n, (unsigned long long)reads, (double)reads / BIG_CAP);
    /* Each of them is found, in at most MAX_PROBE reads. */
    for (uint64_t s = 0; s < BIG_CAP; s += 97) {
        uint64_t r0 = nub_reader_slots_read();
        struct nub_cap c;
        assert_int_equal(nub_reader_get(&r, b.tab[s].hash, &c), 0);
        assert_true(nub_reader_slots_read() - r0 <= PROBE);
    }
    big_absent(&r, 1);
    free(start);
    free(ids);
    free(homes);
    free(next);
    free(b.mem);
}

/* The bound itself: an entry MAX_PROBE - 1 slots from home (the run
 * before it all used) is found and listed; one slot further it is absent
 * and listed as bad. */
static void test_entry_exactly_at_the_bound(void **state)
{
    (void)state;
    struct big b;
    big_open(&b, 0);
    uint8_t target[16];
    big_hash(target, 7);
    uint64_t home = home_of(target, BIG_CAP);
    /* Fillers before it: hashes whose home is where they sit. */
    uint64_t id = 1000;
    for (uint64_t k = 0; k < PROBE; k++) {
        uint64_t s = (home + k) & (BIG_CAP - 1);
        uint8_t h[16];
        do
            big_hash(h, id++);
        while (home_of(h, BIG_CAP) != s);
        big_entry(&b.tab[s], h);
    }
    struct nub_reader r;
    struct nub_cap c;
    uint64_t bad, stretches, reads;
    for (uint64_t dist = PROBE - 1; dist <= PROBE; dist++) {
        uint64_t s = (home + dist) & (BIG_CAP - 1);
        struct nub_dir_entry keep = b.tab[s];
        big_entry(&b.tab[s], target);
        assert_int_equal(nub_reader_open(&r, &b.gm, BOOT_GPA), NUB_READER_OK);
        uint64_t n = big_list(&r, &bad, &stretches, &reads);
        if (dist < PROBE) {
            assert_int_equal(nub_reader_get(&r, target, &c), 0);
            assert_int_equal(n, PROBE); /* 63 fillers + the target */
            assert_int_equal(bad, 0);
        } else {
            assert_int_equal(nub_reader_get(&r, target, &c), -ENOENT);
            assert_int_equal(n, PROBE); /* the 64 fillers */
            assert_int_equal(bad, 1);
        }
        b.tab[s] = keep;
    }
    free(b.mem);
}

/* ---- hex --------------------------------------------------------------- */

static void test_hex_roundtrip(void **state)
{
    (void)state;
    uint8_t h[16], back[16];
    for (int i = 0; i < 16; i++)
        h[i] = (uint8_t)(i * 17 + 3);
    char s[33];
    nub_hash_to_hex(h, s);
    assert_int_equal(strlen(s), 32);
    assert_string_equal(s, "031425364758697a8b9cadbecfe0f102");
    assert_int_equal(nub_hash_from_hex(s, back), 0);
    assert_memory_equal(h, back, 16);
    /* Canonical form is what xxhsum -H2 prints: big-endian high64, low64. */
    const char msg[] = "nubfs";
    XXH128_hash_t x = XXH3_128bits(msg, 5);
    uint8_t c[16];
    hash_of(msg, 5, c);
    nub_hash_to_hex(c, s);
    char want[33];
    snprintf(want, sizeof(want), "%016llx%016llx", (unsigned long long)x.high64,
             (unsigned long long)x.low64);
    assert_string_equal(s, want);
}

static void test_hex_rejects(void **state)
{
    (void)state;
    uint8_t out[16];
    memset(out, 0xaa, sizeof(out));
    const char *bad[] = {
        "",
        "xyz",
        "0123456789abcdef0123456789abcde",   /* 31 */
        "0123456789abcdef0123456789abcdef0", /* 33 */
        "0123456789ABCDEF0123456789abcdef",  /* upper case */
        "0123456789abcdef0123456789abcdeg",
        " 123456789abcdef0123456789abcdef",
        "0123456789abcdef0123456789abcdef\n",
        "0123456789abcdef0123456789abcde-",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(nub_hash_from_hex(bad[i], out), -EINVAL);
    for (int i = 0; i < 16; i++)
        assert_int_equal(out[i], 0xaa); /* untouched on failure */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid_get_every_blob, setup, teardown),
        cmocka_unit_test_setup_teardown(test_valid_missing_is_enoent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_valid_iteration_lists_each_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slot_matches_xxh3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boot_bad_magic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boot_bad_abi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boot_uninitialised, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boot_info_outside_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_outside_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_follows_boot_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_bad_magic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_bad_capacity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_capacity_larger_than_memory, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_header_count_lies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_entries_outside_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_data_outside_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_empty_blob_any_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_bad_kind_or_refcount, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_duplicate_hash_listed_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_unreachable_not_listed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_table_probe_terminates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrating_get_and_list, setup_migrating, teardown),
        cmocka_unit_test_setup_teardown(test_migrating_duplicate_across_tables, setup_migrating,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migrating_bad_old_fields, setup_migrating, teardown),
        cmocka_unit_test_setup_teardown(test_migrating_full_old_table, setup_migrating, teardown),
        cmocka_unit_test_setup_teardown(test_migrating_random_corruption, setup_migrating,
                                        teardown),
        cmocka_unit_test(test_hostile_full_tables_bounded),
        cmocka_unit_test(test_hostile_entries_at_the_bound),
        cmocka_unit_test(test_entry_exactly_at_the_bound),
        cmocka_unit_test(test_hex_roundtrip),
        cmocka_unit_test(test_hex_rejects),
    };
    return cmocka_run_group_tests_name("reader", tests, NULL, NULL);
}
