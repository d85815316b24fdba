/* Unit tests of fs/frame.c: a package frame round-trips (pieces, caps,
 * metadata), and a frame that is damaged in any way decodes to an error,
 * never to pieces that point outside it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"

static uint8_t pkg[1000];
static const struct nubfs_frame_meta meta = {
    .mode = 0640, .uid = 1000, .gid = 100,
    .atime = {1, 2}, .mtime = {-3, 999999999}, .ctime = {5, 0}};

/* Caps at [64, 164) and [300, 300) (empty) and [900, 1000): literals
 * between and before. */
static const struct nubfs_frame_cap caps[3] = {
    {.off = 64, .len = 100, .kind = 2, .hash = {1}},
    {.off = 300, .len = 0, .kind = 3, .hash = {2}},
    {.off = 900, .len = 100, .kind = 4, .hash = {3}}};

static void encode(uint8_t **b, size_t *n)
{
    for (size_t i = 0; i < sizeof(pkg); i++)
        pkg[i] = (uint8_t)(i * 7);
    assert_int_equal(nubfs_frame_encode(&meta, pkg, sizeof(pkg), caps, 3, b, n), 0);
}

static void test_roundtrip(void **state)
{
    (void)state;
    uint8_t *b;
    size_t n;
    encode(&b, &n);
    struct nubfs_frame f;
    assert_int_equal(nubfs_frame_decode(b, n, sizeof(pkg), &f), 0);
    assert_int_equal(f.pkg_len, sizeof(pkg));
    assert_int_equal(f.meta.mode, 0640);
    assert_int_equal(f.meta.mtime.tv_sec, -3);
    assert_int_equal(f.meta.mtime.tv_nsec, 999999999);
    /* lit 64, cap, lit 136, cap(0), lit 600, cap: 6 pieces. */
    assert_int_equal(f.npieces, 6);
    uint8_t out[1000];
    uint64_t at = 0;
    int ncap = 0;
    for (uint32_t i = 0; i < f.npieces; i++) {
        if (f.pieces[i].cap) {
            assert_memory_equal(f.pieces[i].hash, caps[ncap].hash, 16);
            assert_int_equal(f.pieces[i].kind, caps[ncap].kind);
            memcpy(out + at, pkg + caps[ncap].off, f.pieces[i].len);
            ncap++;
        } else {
            memcpy(out + at, f.pieces[i].bytes, f.pieces[i].len);
        }
        at += f.pieces[i].len;
    }
    assert_int_equal(ncap, 3);
    assert_memory_equal(out, pkg, sizeof(pkg));
    nubfs_frame_free(&f);
    /* New metadata keeps it valid. */
    struct nubfs_frame_meta m2 = meta;
    m2.mode = 0600;
    nubfs_frame_set_meta(b, n, &m2);
    assert_int_equal(nubfs_frame_decode(b, n, sizeof(pkg), &f), 0);
    assert_int_equal(f.meta.mode, 0600);
    nubfs_frame_free(&f);
    free(b);
}

static void test_damage(void **state)
{
    (void)state;
    uint8_t *b;
    size_t n;
    encode(&b, &n);
    struct nubfs_frame f;
    /* Every single flipped byte is caught (the sum). */
    for (size_t i = 0; i < n; i++) {
        b[i] ^= 0x40;
        assert_int_not_equal(nubfs_frame_decode(b, n, sizeof(pkg), &f), 0);
        b[i] ^= 0x40;
    }
    /* Every truncation. */
    for (size_t k = 0; k < n; k++)
        assert_int_not_equal(nubfs_frame_decode(b, k, sizeof(pkg), &f), 0);
    /* A package over the limit. */
    assert_int_equal(nubfs_frame_decode(b, n, sizeof(pkg) - 1, &f), -EFBIG);
    free(b);
}

static void test_bad_caps(void **state)
{
    (void)state;
    uint8_t *b;
    size_t n;
    struct nubfs_frame_cap c[2] = {{.off = 10, .len = 20}, {.off = 15, .len = 1}};
    assert_int_equal(nubfs_frame_encode(&meta, pkg, sizeof(pkg), c, 2, &b, &n), -EINVAL);
    c[1] = (struct nubfs_frame_cap){.off = 990, .len = 11};
    assert_int_equal(nubfs_frame_encode(&meta, pkg, sizeof(pkg), c, 2, &b, &n), -EINVAL);
    c[1] = (struct nubfs_frame_cap){.off = UINT64_MAX, .len = 2};
    assert_int_equal(nubfs_frame_encode(&meta, pkg, sizeof(pkg), c, 2, &b, &n), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_damage),
        cmocka_unit_test(test_bad_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
