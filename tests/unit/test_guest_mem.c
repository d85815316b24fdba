/* Unit tests of the guest memory API (src/guest_mem.c): region set, range
 * checks at the 2^64 edge, holes, copies across regions, all-or-nothing
 * copies, host pointers, fd ranges and read-only views. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "guest_mem.h"

#define PG 4096u
#define TOP (UINT64_MAX - PG + 1) /* a page ending exactly at 2^64 */

static uint8_t buf_a[2 * PG], buf_b[2 * PG], buf_c[PG], buf_top[PG];

/* Regions: A [0x1000, 0x3000), B [0x3000, 0x5000) adjacent to A,
 * hole [0x5000, 0x8000), C [0x8000, 0x9000), TOP [2^64-4096, 2^64). */
static void setup_mem(struct nub_guest_mem *gm)
{
    nub_gm_init(gm);
    for (size_t i = 0; i < sizeof(buf_a); i++) {
        buf_a[i] = (uint8_t)i;
        buf_b[i] = (uint8_t)(0x80 + i);
    }
    memset(buf_c, 0xcc, sizeof(buf_c));
    memset(buf_top, 0xee, sizeof(buf_top));
    /* Added out of order: the set must sort them. */
    assert_int_equal(nub_gm_add_region(gm, 0x8000, PG, buf_c, -1, 0), 0);
    assert_int_equal(nub_gm_add_region(gm, TOP, PG, buf_top, -1, 0), 0);
    assert_int_equal(nub_gm_add_region(gm, 0x3000, 2 * PG, buf_b, -1, 0), 0);
    assert_int_equal(nub_gm_add_region(gm, 0x1000, 2 * PG, buf_a, -1, 0), 0);
}

static void test_add_region_rules(void **state)
{
    (void)state;
    struct nub_guest_mem gm;
    uint8_t h[16];
    nub_gm_init(&gm);
    assert_int_equal(nub_gm_num_regions(&gm), 0);
    assert_int_equal(nub_gm_last_addr(&gm), 0);
    assert_int_equal(nub_gm_add_region(&gm, 0x1000, 0, h, -1, 0), -EINVAL);
    assert_int_equal(nub_gm_add_region(&gm, 0x1000, 16, NULL, -1, 0), -EINVAL);
    /* Wrapping past 2^64 is refused, ending exactly at 2^64 is fine. */
    assert_int_equal(nub_gm_add_region(&gm, UINT64_MAX, 2, h, -1, 0), -EINVAL);
    assert_int_equal(nub_gm_add_region(&gm, UINT64_MAX - 14, 16, h, -1, 0), -EINVAL);
    assert_int_equal(nub_gm_add_region(&gm, UINT64_MAX - 15, 16, h, -1, 0), 0);
    assert_int_equal(nub_gm_last_addr(&gm), UINT64_MAX);
    /* Overlaps in every shape. */
    assert_int_equal(nub_gm_add_region(&gm, 0x100, 16, h, -1, 0), 0);
    assert_int_equal(nub_gm_add_region(&gm, 0x100, 16, h, -1, 0), -EINVAL);  /* same */
    assert_int_equal(nub_gm_add_region(&gm, 0xf8, 16, h, -1, 0), -EINVAL);   /* left */
    assert_int_equal(nub_gm_add_region(&gm, 0x108, 16, h, -1, 0), -EINVAL);  /* right */
    assert_int_equal(nub_gm_add_region(&gm, 0x104, 4, h, -1, 0), -EINVAL);   /* inside */
    assert_int_equal(nub_gm_add_region(&gm, 0x0, 0x1000, h, -1, 0), -EINVAL); /* around */
    assert_int_equal(nub_gm_add_region(&gm, 0x10f, 1, h, -1, 0), -EINVAL);   /* last byte */
    assert_int_equal(nub_gm_add_region(&gm, UINT64_MAX, 1, h, -1, 0), -EINVAL);
    /* Adjacent on both sides is fine. */
    assert_int_equal(nub_gm_add_region(&gm, 0xf0, 16, h, -1, 0), 0);
    assert_int_equal(nub_gm_add_region(&gm, 0x110, 16, h, -1, 0), 0);
    assert_int_equal(nub_gm_num_regions(&gm), 4);
    /* No fixed cap: past the inline storage, onto the heap. */
    for (size_t i = nub_gm_num_regions(&gm); i < 40; i++)
        assert_int_equal(nub_gm_add_region(&gm, 0x10000 * (i + 1), 16, h, -1, 0), 0);
    assert_int_equal(nub_gm_add_region(&gm, 0x7000000, 16, h, -1, 0), 0);
    /* Sorted: every region is found by its first and last byte. */
    nub_gpa prev = 0;
    for (size_t i = 0; i < nub_gm_num_regions(&gm); i++) {
        const struct nub_gm_region *r = nub_gm_region_at(&gm, i);
        assert_true(i == 0 || r->gpa > prev);
        prev = r->gpa;
        assert_ptr_equal(nub_gm_find_region(&gm, prev), r);
        assert_ptr_equal(nub_gm_find_region(&gm, prev + r->size - 1), r);
    }
    assert_null(nub_gm_region_at(&gm, nub_gm_num_regions(&gm)));
    /* Removal: only by a region's first byte. */
    assert_int_equal(nub_gm_remove_region(&gm, 0x101), -ENOENT);
    assert_int_equal(nub_gm_remove_region(&gm, 0x100), 0);
    assert_null(nub_gm_find_region(&gm, 0x108));
    assert_int_equal(nub_gm_remove_region(&gm, 0x100), -ENOENT);
    assert_int_equal(nub_gm_add_region(&gm, 0x104, 4, h, -1, 0), 0); /* the hole is free */
    nub_gm_destroy(&gm);
    assert_int_equal(nub_gm_num_regions(&gm), 0);
}

/* Thousands of regions (one per cap slot): lookups stay binary searches,
 * a range across many adjacent regions copies and compares, a hole or a
 * read-only region anywhere in it fails the whole range. */
static void test_many_regions(void **state)
{
    (void)state;
    enum { N = 5000 };
    struct nub_guest_mem gm;
    nub_gm_init(&gm);
    uint8_t *mem = malloc((size_t)N * 64);
    assert_non_null(mem);
    for (size_t i = 0; i < (size_t)N * 64; i++)
        mem[i] = (uint8_t)(i * 7);
    /* Added in a scrambled order (i * 2003 mod N visits every index). */
    for (size_t k = 0; k < N; k++) {
        size_t i = (k * 2003) % N;
        if (i == 3000)
            assert_int_equal(nub_gm_add_ro_region(&gm, 0x100000 + i * 64, 64, mem + i * 64, -1, 0),
                             0);
        else
            assert_int_equal(nub_gm_add_region(&gm, 0x100000 + i * 64, 64, mem + i * 64, -1, 0), 0);
    }
    assert_int_equal(nub_gm_num_regions(&gm), N);
    assert_int_equal(nub_gm_find_region(&gm, 0x100000 + 4321 * 64 + 5)->gpa, 0x100000 + 4321 * 64);
    uint8_t *out = malloc((size_t)N * 64);
    assert_int_equal(nub_gm_read(&gm, 0x100000, out, (size_t)N * 64), 0);
    assert_memory_equal(out, mem, (size_t)N * 64);
    assert_int_equal(nub_gm_compare(&gm, 0x100000 + 10, mem + 10, 64 * 2000), 0);
    out[0] = 1;
    /* Writes across the read-only region fail whole; below it they work. */
    assert_int_equal(nub_gm_write(&gm, 0x100000 + 2990 * 64, out, 64 * 20), -EFAULT);
    assert_int_equal(mem[2990 * 64], (uint8_t)(2990 * 64 * 7));
    assert_int_equal(nub_gm_zero(&gm, 0x100000 + 3000 * 64, 1), -EFAULT);
    assert_int_equal(nub_gm_write(&gm, 0x100000, out, 64 * 100), 0);
    assert_int_equal(nub_gm_read(&gm, 0x100000 + 3000 * 64, out, 64), 0); /* reads are fine */
    /* A hole in the middle fails a range that spans it. */
    assert_int_equal(nub_gm_remove_region(&gm, 0x100000 + 2500 * 64), 0);
    assert_false(nub_gm_check_range(&gm, 0x100000, 64 * 3000));
    assert_true(nub_gm_check_range(&gm, 0x100000, 64 * 2500));
    assert_true(nub_gm_check_range(&gm, 0x100000 + 2501 * 64, 64 * 2499));
    nub_gm_destroy(&gm);
    free(out);
    free(mem);
}

static void test_find_and_last(void **state)
{
    (void)state;
    struct nub_guest_mem gm;
    setup_mem(&gm);
    assert_int_equal(nub_gm_num_regions(&gm), 4);
    assert_null(nub_gm_find_region(&gm, 0));
    assert_null(nub_gm_find_region(&gm, 0xfff));
    assert_int_equal(nub_gm_find_region(&gm, 0x1000)->gpa, 0x1000);
    assert_int_equal(nub_gm_find_region(&gm, 0x2fff)->gpa, 0x1000);
    assert_int_equal(nub_gm_find_region(&gm, 0x3000)->gpa, 0x3000);
    assert_null(nub_gm_find_region(&gm, 0x5000));
    assert_null(nub_gm_find_region(&gm, 0x7fff));
    assert_int_equal(nub_gm_find_region(&gm, 0x8fff)->gpa, 0x8000);
    assert_null(nub_gm_find_region(&gm, 0x9000));
    assert_null(nub_gm_find_region(&gm, TOP - 1));
    assert_int_equal(nub_gm_find_region(&gm, UINT64_MAX)->gpa, TOP);
    assert_int_equal(nub_gm_last_addr(&gm), UINT64_MAX);
}

static void test_check_range(void **state)
{
    (void)state;
    struct nub_guest_mem gm;
    setup_mem(&gm);
    /* len 0 is always in range, even in a hole or at UINT64_MAX. */
    assert_true(nub_gm_check_range(&gm, 0, 0));
    assert_true(nub_gm_check_range(&gm, 0x6000, 0));
    assert_true(nub_gm_check_range(&gm, UINT64_MAX, 0));
    /* Across adjacent regions: fine. Into a hole: not. */
    assert_true(nub_gm_check_range(&gm, 0x1000, 4 * PG));
    assert_true(nub_gm_check_range(&gm, 0x2fff, 2));
    assert_false(nub_gm_check_range(&gm, 0x1000, 4 * PG + 1));
    assert_false(nub_gm_check_range(&gm, 0x4fff, 2));
    assert_false(nub_gm_check_range(&gm, 0x1000, 0x8000)); /* spans the hole */
    assert_false(nub_gm_check_range(&gm, 0xfff, 2));
    assert_false(nub_gm_check_range(&gm, 0x6000, 1));
    /* The 2^64 edge. */
    assert_true(nub_gm_check_range(&gm, TOP, PG));
    assert_true(nub_gm_check_range(&gm, UINT64_MAX, 1));
    assert_false(nub_gm_check_range(&gm, UINT64_MAX, 2));
    assert_false(nub_gm_check_range(&gm, TOP + 1, PG));
    assert_false(nub_gm_check_range(&gm, TOP, UINT64_MAX));
    assert_false(nub_gm_check_range(&gm, 0x1000, UINT64_MAX));
    assert_false(nub_gm_check_range(&gm, TOP - 1, 2));
}

static void test_checked_offset(void **state)
{
    (void)state;
    struct nub_guest_mem gm;
    setup_mem(&gm);
    nub_gpa out = 1;
    assert_true(nub_gm_checked_offset(&gm, 0x1000, 0x3fff, &out));
    assert_int_equal(out, 0x4fff);
    out = 7;
    assert_false(nub_gm_checked_offset(&gm, 0x1000, 0x4000, &out)); /* hole */
    assert_int_equal(out, 7);
    assert_true(nub_gm_checked_offset(&gm, TOP, PG - 1, &out));
    assert_int_equal(out, UINT64_MAX);
    assert_false(nub_gm_checked_offset(&gm, TOP, PG, &out)); /* wraps to 0 */
    assert_false(nub_gm_checked_offset(&gm, UINT64_MAX, UINT64_MAX, &out));
    assert_false(nub_gm_checked_offset(&gm, 0, 0, &out)); /* gpa 0 is a hole */
}

static void test_copy_across_regions(void **state)
{
    (void)state;
    struct nub_guest_mem gm;
    setup_mem(&gm);
    uint8_t in[64], out[64];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(0xa0 ^ i);
    /* 32 bytes at the end of A, 32 at the start of B. */
    assert_int_equal(nub_gm_write(&gm, 0x3000 - 32, in, sizeof(in)), 0);
    assert_memory_equal(buf_a + sizeof(buf_a) - 32, in, 32);
    assert_memory_equal(buf_b, in + 32, 32);
    memset(out, 0, sizeof(out));
    assert_int_equal(nub_gm_read(&gm, 0x3000 - 32, out, sizeof(out)), 0);
    assert_memory_equal(out, in, sizeof(out));
    /* A whole region set read back. */
    static uint8_t big[4 * PG];
    assert_int_equal(nub_gm_read(&gm, 0x1000, big, sizeof(big)), 0);
    assert_memory_equal(big, buf_a, sizeof(buf_a));
    assert_memory_equal(big + sizeof(buf_a), buf_b, sizeof(buf_b));
    /* The last byte of the address space. */
    uint8_t one = 0x5a;
    assert_int_equal(nub_gm_write(&gm, UINT64_MAX, &one, 1), 0);
    assert_int_equal(buf_top[PG - 1], 0x5a);
    one = 0;
    assert_int_equal(nub_gm_read(&gm, UINT64_MAX, &one, 1), 0);
    assert_int_equal(one, 0x5a);
    /* len 0 copies succeed anywhere and touch nothing. */
    assert_int_equal(nub_gm_read(&gm, 0x6000, NULL, 0), 0);
    assert_int_equal(nub_gm_write(&gm, UINT64_MAX, NULL, 0), 0);
}

static void test_compare(void **state)
{
    (void)state;
    struct nub_guest_mem gm;
    setup_mem(&gm);
    /* Equal across the A|B boundary, then one byte off on the B side. */
    static uint8_t same[2 * PG];
    memcpy(same, buf_a + PG, PG);
    memcpy(same + PG, buf_b, PG);
    assert_int_equal(nub_gm_compare(&gm, 0x2000, same, sizeof(same)), 0);
    same[PG + 7] ^= 1;
    assert_int_equal(nub_gm_compare(&gm, 0x2000, same, sizeof(same)), 1);
    /* Into the hole, or wrapping past 2^64: not guest memory. */
    assert_int_equal(nub_gm_compare(&gm, 0x4800, same, 0x1000), -EFAULT);
    assert_int_equal(nub_gm_compare(&gm, UINT64_MAX, same, 2), -EFAULT);
    /* Empty ranges are equal anywhere. */
    assert_int_equal(nub_gm_compare(&gm, 0x6000, NULL, 0), 0);
}

static void test_copy_all_or_nothing(void **state)
{
    (void)state;
    struct nub_guest_mem gm;
    setup_mem(&gm);
    uint8_t in[64], out[64], before_b[sizeof(buf_b)];
    memset(in, 0x11, sizeof(in));
    memcpy(before_b, buf_b, sizeof(buf_b));
    /* B's tail then the hole: nothing may be written. */
    assert_int_equal(nub_gm_write(&gm, 0x5000 - 32, in, sizeof(in)), -EFAULT);
    assert_memory_equal(buf_b, before_b, sizeof(buf_b));
    /* Across the 2^64 edge: refused, nothing written. */
    uint8_t top_before[PG];
    memcpy(top_before, buf_top, PG);
    assert_int_equal(nub_gm_write(&gm, UINT64_MAX - 3, in, 8), -EFAULT);
    assert_memory_equal(buf_top, top_before, PG);
    /* Reads that fail leave dst alone. */
    memset(out, 0x77, sizeof(out));
    assert_int_equal(nub_gm_read(&gm, 0x5000 - 32, out, sizeof(out)), -EFAULT);
    for (size_t i = 0; i < sizeof(out); i++)
        assert_int_equal(out[i], 0x77);
    assert_int_equal(nub_gm_read(&gm, 0x7ff0, out, 32), -EFAULT);
    assert_int_equal(nub_gm_read(&gm, 0, out, 1), -EFAULT);
    /* Zeroing is all-or-nothing too. */
    assert_int_equal(nub_gm_zero(&gm, 0x4ff0, 0x20), -EFAULT);
    assert_memory_equal(buf_b, before_b, sizeof(buf_b));
    assert_int_equal(nub_gm_zero(&gm, TOP, UINT64_MAX), -EFAULT);
}

/* Guest memory of two regions: size bytes at 0x10000 backed by a memfd
 * (mapped from its offset PG: *fd, returned), then plain right after. */
static uint8_t *memfd_then_plain(struct nub_guest_mem *gm, int *fd, size_t size, uint8_t *plain,
                                 size_t plain_size)
{
    *fd = memfd_create("test-gm", MFD_CLOEXEC);
    assert_true(*fd >= 0);
    assert_int_equal(ftruncate(*fd, (off_t)(size + PG)), 0);
    uint8_t *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, PG);
    assert_true(m != MAP_FAILED);
    nub_gm_init(gm);
    assert_int_equal(nub_gm_add_region(gm, 0x10000, size, m, *fd, PG), 0);
    assert_int_equal(nub_gm_add_region(gm, 0x10000 + size, plain_size, plain, -1, 0), 0);
    return m;
}

static void test_zero(void **state)
{
    (void)state;
    /* One memfd-backed region (punch-hole path) next to a plain one. */
    const size_t size = 8 * PG;
    static uint8_t plain[2 * PG];
    struct nub_guest_mem gm;
    int fd;
    uint8_t *m = memfd_then_plain(&gm, &fd, size, plain, sizeof(plain));
    memset(m, 0xab, size);
    memset(plain, 0xab, sizeof(plain));
    /* Unaligned start and end, several whole pages in between, into the
     * plain region. */
    const uint64_t start = 0x10000 + 100, len = size - 100 + 50;
    assert_int_equal(nub_gm_zero(&gm, start, len), 0);
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(m[i], 0xab);
    for (size_t i = 100; i < size; i++)
        assert_int_equal(m[i], 0);
    for (size_t i = 0; i < 50; i++)
        assert_int_equal(plain[i], 0);
    for (size_t i = 50; i < sizeof(plain); i++)
        assert_int_equal(plain[i], 0xab);
    /* The backing file reads zeros too (pages punched or written). */
    uint8_t pg[PG];
    assert_int_equal(pread(fd, pg, PG, (off_t)(PG + 2 * PG)), (ssize_t)PG);
    for (size_t i = 0; i < PG; i++)
        assert_int_equal(pg[i], 0);
    /* A small range inside one page. */
    memset(m, 0xcd, PG);
    assert_int_equal(nub_gm_zero(&gm, 0x10000 + 10, 20), 0);
    assert_int_equal(m[9], 0xcd);
    assert_int_equal(m[10], 0);
    assert_int_equal(m[29], 0);
    assert_int_equal(m[30], 0xcd);
    assert_int_equal(nub_gm_zero(&gm, 0x10000, 0), 0);
    munmap(m, size);
    close(fd);
}

static void test_write_through_fd(void **state)
{
    (void)state;
    /* A write large enough to go through the memfd (pwrite) that runs on
     * into a plain region: every byte lands, seen through the mapping,
     * the file and a read back. */
    const size_t size = 16 * PG;
    static uint8_t plain[4 * PG];
    struct nub_guest_mem gm;
    int fd;
    uint8_t *m = memfd_then_plain(&gm, &fd, size, plain, sizeof(plain));
    static uint8_t src[12 * PG], back[12 * PG];
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i * 7 + 3);
    /* 9 pages and a bit into the memfd, the rest into plain. */
    const uint64_t at = 0x10000 + size - 9 * PG - 100;
    assert_int_equal(nub_gm_write(&gm, at, src, sizeof(src)), 0);
    const size_t in_fd = 9 * PG + 100;
    assert_memory_equal(m + (at - 0x10000), src, in_fd);
    assert_memory_equal(plain, src + in_fd, sizeof(src) - in_fd);
    assert_int_equal(pread(fd, back, in_fd, (off_t)(PG + (at - 0x10000))), (ssize_t)in_fd);
    assert_memory_equal(back, src, in_fd);
    memset(back, 0, sizeof(back));
    assert_int_equal(nub_gm_read(&gm, at, back, sizeof(back)), 0);
    assert_memory_equal(back, src, sizeof(src));
    /* The bytes before it are untouched (still the file's zeros). */
    assert_int_equal(m[at - 0x10000 - 1], 0);
    munmap(m, size);
    close(fd);
}

static void test_host_addr(void **state)
{
    (void)state;
    struct nub_guest_mem gm;
    setup_mem(&gm);
    assert_ptr_equal(nub_gm_host_addr(&gm, 0x1000, 2 * PG), buf_a);
    assert_ptr_equal(nub_gm_host_addr(&gm, 0x1000 + 5, 0), buf_a + 5);
    assert_ptr_equal(nub_gm_host_addr(&gm, 0x3000, 1), buf_b);
    /* Adjacent regions are not contiguous on the host: NULL. */
    assert_null(nub_gm_host_addr(&gm, 0x2fff, 2));
    assert_null(nub_gm_host_addr(&gm, 0x1000, 2 * PG + 1));
    assert_null(nub_gm_host_addr(&gm, 0x6000, 1));
    assert_null(nub_gm_host_addr(&gm, 0x6000, 0));
    assert_ptr_equal(nub_gm_host_addr(&gm, TOP, PG), buf_top);
    assert_ptr_equal(nub_gm_host_addr(&gm, UINT64_MAX, 1), buf_top + PG - 1);
    assert_null(nub_gm_host_addr(&gm, UINT64_MAX, 2));
    assert_null(nub_gm_host_addr(&gm, TOP, UINT64_MAX));
}

static void test_fd_range(void **state)
{
    (void)state;
    struct nub_guest_mem gm;
    nub_gm_init(&gm);
    static uint8_t a[PG], b[PG];
    assert_int_equal(nub_gm_add_region(&gm, 0x1000, PG, a, 42, 0x10000), 0);
    assert_int_equal(nub_gm_add_region(&gm, 0x2000, PG, b, -1, 0), 0);
    int fd = -1;
    off_t off = -1;
    assert_int_equal(nub_gm_fd_range(&gm, 0x1100, 0x100, &fd, &off), 0);
    assert_int_equal(fd, 42);
    assert_int_equal(off, 0x10100);
    assert_int_equal(nub_gm_fd_range(&gm, 0x1000, PG, &fd, &off), 0);
    assert_int_equal(nub_gm_fd_range(&gm, 0x1001, PG, &fd, &off), -EFAULT);
    assert_int_equal(nub_gm_fd_range(&gm, 0x2000, 1, &fd, &off), -ENOTSUP);
    assert_int_equal(nub_gm_fd_range(&gm, 0x3000, 1, &fd, &off), -EFAULT);
}

static void test_ro_view(void **state)
{
    (void)state;
    struct nub_guest_mem gm;
    setup_mem(&gm);
    struct nub_ro_view v;
    /* Zero-length views may carry any address and never dereference it. */
    assert_int_equal(nub_ro_view_make(&gm, 0x6000, 0, &v), 0);
    assert_null((const void *)v.host);
    assert_int_equal(v.len, 0);
    assert_int_equal(nub_ro_view_make(&gm, UINT64_MAX, 0, &v), 0);
    assert_int_equal(nub_ro_view_copy(&v, 0, NULL, 0), 0);
    uint8_t out[16];
    assert_int_equal(nub_ro_view_copy(&v, 0, out, 1), -EFAULT);
    /* Other views lie wholly inside one region. */
    assert_int_equal(nub_ro_view_make(&gm, 0x2fff, 2, &v), -EFAULT);
    assert_int_equal(nub_ro_view_make(&gm, 0x4ff0, 0x20, &v), -EFAULT);
    assert_int_equal(nub_ro_view_make(&gm, UINT64_MAX, 2, &v), -EFAULT);
    assert_int_equal(nub_ro_view_make(&gm, 0x1010, 0x20, &v), 0);
    assert_int_equal(v.gpa, 0x1010);
    assert_int_equal(nub_ro_view_copy(&v, 0, out, 16), 0);
    assert_memory_equal(out, buf_a + 0x10, 16);
    assert_int_equal(nub_ro_view_copy(&v, 0x10, out, 16), 0);
    assert_memory_equal(out, buf_a + 0x20, 16);
    assert_int_equal(nub_ro_view_copy(&v, 0x11, out, 16), -EFAULT);
    assert_int_equal(nub_ro_view_copy(&v, 0x21, out, 0), -EFAULT);
    assert_int_equal(nub_ro_view_copy(&v, 0x20, out, 0), 0);
    assert_int_equal(nub_ro_view_copy(&v, UINT64_MAX, out, 2), -EFAULT);
    assert_int_equal(nub_ro_view_copy(&v, 1, out, SIZE_MAX), -EFAULT);
    assert_int_equal(nub_ro_view_make(&gm, TOP, PG, &v), 0);
    assert_int_equal(nub_ro_view_copy(&v, PG - 1, out, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_region_rules),
        cmocka_unit_test(test_many_regions),
        cmocka_unit_test(test_find_and_last),
        cmocka_unit_test(test_check_range),
        cmocka_unit_test(test_checked_offset),
        cmocka_unit_test(test_copy_across_regions),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_copy_all_or_nothing),
        cmocka_unit_test(test_zero),
        cmocka_unit_test(test_write_through_fd),
        cmocka_unit_test(test_host_addr),
        cmocka_unit_test(test_fd_range),
        cmocka_unit_test(test_ro_view),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
