/* Unit tests of the softfloat library against the host CPU's own IEEE
 * arithmetic (softfloat_ref.h): every edge value crossed with every other,
 * millions of seeded pseudo-random bit patterns per operation (biased to
 * special exponents, ties and nearby operands), and a list of cases
 * straight from the WebAssembly spec, so a wrong native helper cannot
 * hide a wrong softfloat result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "softfloat_ref.h"

/* ---- inputs ---------------------------------------------------------------- */

static const uint32_t edges32[] = {
    0x00000000, 0x00000001, 0x00000002, 0x00000003, 0x003fffff, 0x00400000, 0x007ffffe,
    0x007fffff, 0x00800000, 0x00800001, 0x00ffffff, 0x01000000, 0x0c000000, 0x33800000,
    0x33800001, 0x34000000, 0x3eaaaaab, 0x3effffff, 0x3f000000, 0x3f000001, 0x3f7fffff,
    0x3f800000, 0x3f800001, 0x3fc00000, 0x3fffffff, 0x40000000, 0x40200000, 0x40400000,
    0x40600000, 0x4affffff, 0x4b000000, 0x4b000001, 0x4b7fffff, 0x4b800000, 0x4effffff,
    0x4f000000, 0x4f000001, 0x4f7fffff, 0x4f800000, 0x4f800001, 0x5effffff, 0x5f000000,
    0x5f000001, 0x5f7fffff, 0x5f800000, 0x5f800001, 0x7f000000, 0x7f7ffffe, 0x7f7fffff,
    0x7f800000, 0x7f800001, 0x7fa00000, 0x7fbfffff, 0x7fc00000, 0x7fc00001, 0x7fd23456,
    0x7fffffff,
};

static const uint64_t edges64[] = {
    0x0000000000000000, 0x0000000000000001, 0x0000000000000003, 0x0008000000000000,
    0x000fffffffffffff, 0x0010000000000000, 0x0010000000000001, 0x001fffffffffffff,
    0x3690000000000000, 0x3690000000000001, 0x36a0000000000000, 0x380fffffc0000000,
    0x380fffffe0000000, 0x3810000000000000, 0x3ca0000000000000, 0x3cb0000000000000,
    0x3fd5555555555555, 0x3fdfffffffffffff, 0x3fe0000000000000, 0x3fe0000000000001,
    0x3fefffffffffffff, 0x3ff0000000000000, 0x3ff0000000000001, 0x3ff8000000000000,
    0x3fffffffffffffff, 0x4000000000000000, 0x4004000000000000, 0x4008000000000000,
    0x432fffffffffffff, 0x4330000000000000, 0x4330000000000001, 0x4340000000000000,
    0x41dfffffffc00000, 0x41dfffffffe00000, 0x41dfffffffffffff, 0x41e0000000000000,
    0x41e0000000000001, 0x41e0000000100000, 0x41e0000000200000, 0x41efffffffe00000,
    0x41efffffffefffff, 0x41effffffff00000, 0x41efffffffffffff, 0x41f0000000000000,
    0x43dfffffffffffff, 0x43e0000000000000, 0x43e0000000000001, 0x43efffffffffffff,
    0x43f0000000000000, 0x43f0000000000001, 0x47efffffe0000000, 0x47efffffefffffff,
    0x47effffff0000000, 0x47f0000000000000, 0x7fe0000000000000, 0x7feffffffffffffe,
    0x7fefffffffffffff, 0x7ff0000000000000, 0x7ff0000000000001, 0x7ff4000000000000,
    0x7ff7ffffffffffff, 0x7ff8000000000000, 0x7ff8000000000001, 0x7ff80000deadbeef,
    0x7fffffffffffffff,
};

static const uint64_t edges_int[] = {
    0, 1, 2, 3, 0x7f, 0xffffff, 0x1000000, 0x1000001, 0x1000002, 0x1000003, 0x2000001,
    0x2000003, 0x7fffff80, 0x7fffffbf, 0x7fffffc0, 0x7fffffff, 0x80000000, 0x80000001,
    0xffffff7f, 0xffffff80, 0xffffffff, 0x100000000, 0x1fffffffffffff, 0x20000000000000,
    0x20000000000001, 0x20000000000003, 0x7ffffe8000000000, 0x7fffff4000000000,
    0x7fffffffffffffff, 0x8000000000000000, 0x8000000000000001, 0xffffff7fffffffff,
    0xffffff8000000000, 0xfffffffffffffbff, 0xfffffffffffffc00, 0xfffffffffffff800,
    0xffffffff7fffffff, 0xffffffff80000000, 0xfffffffffffffffe, 0xffffffffffffffff,
};

#define NE32 (sizeof edges32 / sizeof edges32[0])
#define NE64 (sizeof edges64 / sizeof edges64[0])
#define NEINT (sizeof edges_int / sizeof edges_int[0])

static uint64_t rng(uint64_t *s) /* splitmix64 */
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A bit pattern of a float with `ebits` exponent bits and `fbits` fraction
 * bits, biased to what goes wrong: special exponents, fractions that end
 * in runs of zeros or ones (ties, exact values), values near integers. */
static uint64_t gen_float(uint64_t *s, int ebits, int fbits)
{
    uint64_t r = rng(s), r2 = rng(s);
    uint64_t emax = (1ull << ebits) - 1, bias = emax >> 1;
    uint64_t fmask = (1ull << fbits) - 1;
    uint64_t sign = (r2 >> 63) << (ebits + fbits);
    uint64_t e, f = r & fmask;
    switch (r2 & 7) {
    case 0:
    case 1:
    case 2: /* uniform over all patterns */
        return r ^ (r2 << 40); /* the caller keeps the low 32 or 64 bits */
    case 3: { /* special and integer-boundary exponents */
        static const int64_t off[] = {0, 1, 2, -1, -2, 22, 23, 24, 30, 31, 32, 52, 53, 62, 63, 64};
        uint64_t k = (r2 >> 8) % 20;
        e = k < 16 ? bias + (uint64_t)off[k] : (k == 16 ? 0 : k == 17 ? 1 : k == 18 ? emax - 1 : emax);
        break;
    }
    case 4: { /* a short random fraction, then zeros or ones (ties) */
        int keep = (int)((r2 >> 8) % (uint64_t)(fbits + 1));
        uint64_t low = keep >= fbits ? 0 : fmask >> keep;
        f &= ~low;
        if ((r2 >> 16) & 1)
            f |= low;
        else if ((r2 >> 17) & 1)
            f |= (low + 1) >> 1; /* exactly one half below the kept bits */
        e = (r2 >> 20) & emax;
        break;
    }
    case 5: /* around the integers and the rounding region */
        e = bias - 2 + (r2 >> 8) % (uint64_t)(fbits + 12);
        break;
    case 6: /* tiny: subnormals and the smallest normals */
        e = (r2 >> 8) % 4;
        break;
    default: /* anywhere, with the fraction from the top of r */
        e = (r2 >> 8) & emax;
        f = (r >> 11) & fmask;
        break;
    }
    return sign | (e << fbits) | f;
}

/* A second operand near the first (same or nearby exponent, either sign,
 * a few units away) half of the time: cancellation, ties, equal values. */
static uint64_t gen_pair(uint64_t *s, uint64_t a, int ebits, int fbits)
{
    uint64_t r = rng(s);
    uint64_t emax = (1ull << ebits) - 1, fmask = (1ull << fbits) - 1;
    uint64_t mag = (1ull << (ebits + fbits)) - 1;
    uint64_t sign = ((r >> 63) & 1) << (ebits + fbits);
    uint64_t ea = (a >> fbits) & emax;
    switch (r & 7) {
    case 0:
    case 1:
    case 2:
    case 3:
        return gen_float(s, ebits, fbits);
    case 4: { /* exponent within 3, random fraction */
        uint64_t e = (ea + ((r >> 8) & 7) - 3) & emax;
        return sign | (e << fbits) | (rng(s) & fmask);
    }
    case 5: { /* exponent a fraction-width away: the sticky bits */
        uint64_t e = (ea + (uint64_t)fbits - 4 + ((r >> 8) & 7)) & emax;
        if ((r >> 12) & 1)
            e = (ea - (uint64_t)fbits - 4 + ((r >> 8) & 7)) & emax;
        return sign | (e << fbits) | (rng(s) & fmask);
    }
    case 6: /* a few units from a */
        return sign | ((a + ((r >> 8) & 15) - 8) & mag);
    default: /* a's magnitude */
        return sign | (a & mag);
    }
}

static uint64_t gen_int(uint64_t *s)
{
    uint64_t r = rng(s), r2 = rng(s);
    switch (r2 & 3) {
    case 0:
        return r;
    case 1: { /* any magnitude, either sign */
        uint64_t v = r >> (r2 >> 8) % 64;
        return (r2 >> 16) & 1 ? 0 - v : v;
    }
    case 2: { /* a 24- or 53-bit value with a tail: ties of the conversion */
        int width = (r2 >> 8) & 1 ? 24 : 53, shift = (int)((r2 >> 16) % (uint64_t)(65 - width));
        uint64_t v = (r >> (64 - width)) | (1ull << (width - 1));
        v = (v << shift) | ((r2 >> 24) & 1 ? (1ull << shift) >> 1 : 0);
        return (r2 >> 40) & 1 ? 0 - v : v;
    }
    default: /* an edge, a few units off */
        return edges_int[(r2 >> 8) % NEINT] + ((r >> 60) & 7) - 4;
    }
}

static uint64_t gen_for(uint64_t *s, enum ref_kind k)
{
    if (k == REF_F32)
        return gen_float(s, 8, 23);
    if (k == REF_F64)
        return gen_float(s, 11, 52);
    return gen_int(s);
}

static uint64_t edge_count(enum ref_kind k)
{
    return k == REF_F32 ? NE32 : k == REF_F64 ? NE64 : NEINT;
}

/* Edge i of kind k, with the sign of bit 0 of j (negated for integers). */
static uint64_t edge(enum ref_kind k, size_t i, int neg)
{
    if (k == REF_F32)
        return edges32[i] | (neg ? 0x80000000u : 0);
    if (k == REF_F64)
        return edges64[i] | (neg ? 0x8000000000000000ull : 0);
    return neg ? 0 - edges_int[i] : edges_int[i];
}

/* ---- tests ----------------------------------------------------------------- */

static unsigned long long total_checks;

/* Every edge value (both signs) with every other, and for unary operations
 * every edge with its neighbours a few bits either side. */
static void test_edges(void **state)
{
    (void)state;
    int budget = 20;
    unsigned long long bad = 0, n = 0;
    for (size_t o = 0; o < REF_NOPS; o++) {
        const struct ref_op *op = &ref_ops[o];
        size_t ne = edge_count(op->in);
        for (size_t i = 0; i < 2 * ne; i++) {
            uint64_t a = edge(op->in, i / 2, i & 1);
            if (op->arity == 1) {
                for (int d = -4; d <= 4; d++) {
                    n++;
                    bad += !ref_check(op, a + (uint64_t)(int64_t)d, 0, &budget);
                }
                continue;
            }
            for (size_t j = 0; j < 2 * ne; j++) {
                n++;
                bad += !ref_check(op, a, edge(op->in, j / 2, j & 1), &budget);
            }
        }
    }
    total_checks += n;
    printf("edges: %llu checks, %llu wrong\n", n, bad);
    assert_int_equal(bad, 0);
}

/* Seeded pseudo-random operands: 2^21 per arithmetic operation, 2^20 per
 * comparison and conversion. */
static void test_random(void **state)
{
    (void)state;
    int budget = 20;
    unsigned long long bad = 0, n = 0;
    for (size_t o = 0; o < REF_NOPS; o++) {
        const struct ref_op *op = &ref_ops[o];
        uint64_t seed = 0x5eed0000 + o;
        bool arith = op->in == op->out && op->in != REF_BOOL;
        uint64_t count = arith ? 1u << 21 : 1u << 20;
        int fb = op->in == REF_F32 ? 23 : 52, eb = op->in == REF_F32 ? 8 : 11;
        for (uint64_t k = 0; k < count; k++) {
            uint64_t a = gen_for(&seed, op->in), b = 0;
            if (op->arity == 2)
                b = gen_pair(&seed, a, eb, fb);
            bad += !ref_check(op, a, b, &budget);
        }
        n += count;
    }
    total_checks += n;
    printf("random: %llu checks, %llu wrong\n", n, bad);
    assert_int_equal(bad, 0);
}

/* Cases written down from the WebAssembly spec and IEEE 754, independent
 * of the native helpers. */
static void test_spec_cases(void **state)
{
    (void)state;
    int32_t i32 = 7;
    uint32_t u32 = 7;
    int64_t i64 = 7;
    uint64_t u64 = 7;
    /* NaN results: canonical from non-NaN operands, quieted payloads. */
    assert_int_equal(nub_f32_div(0, 0) & 0x7fffffffu, 0x7fc00000u);
    assert_int_equal(nub_f32_sub(0x7f800000u, 0x7f800000u) & 0x7fffffffu, 0x7fc00000u);
    assert_int_equal(nub_f32_sqrt(0xbf800000u) & 0x7fffffffu, 0x7fc00000u);
    assert_int_equal(nub_f64_mul(0x7ff0000000000000ull, 0) & ~(1ull << 63), 0x7ff8000000000000ull);
    assert_int_equal(nub_f32_add(0x7fa00001u, 0x3f800000u), 0x7fe00001u);
    assert_int_equal(nub_f64_add(0x3ff0000000000000ull, 0x7ff0000000000123ull), 0x7ff8000000000123ull);
    assert_int_equal(nub_f32_ceil(0x7f800001u), 0x7fc00001u);
    assert_int_equal(nub_f64_promote(0x7f800001u), 0x7ff8000020000000ull);
    assert_int_equal(nub_f32_demote(0x7ff4000000000000ull), 0x7fe00000u);
    /* min/max: -0 below +0, NaN wins. */
    assert_int_equal(nub_f32_min(0, 0x80000000u), 0x80000000u);
    assert_int_equal(nub_f32_max(0x80000000u, 0), 0);
    assert_int_equal(nub_f64_min(0x8000000000000000ull, 0), 0x8000000000000000ull);
    assert_int_equal(nub_f64_max(0, 0x8000000000000000ull), 0);
    assert_true(((nub_f32_min(0x7fc00000u, 0xff800000u)) & 0x7fffffffu) == 0x7fc00000u);
    /* nearest: ties to even; signs kept. */
    assert_int_equal(nub_f32_nearest(0x3f000000u), 0);          /* 0.5 -> 0 */
    assert_int_equal(nub_f32_nearest(0xbf000000u), 0x80000000u); /* -0.5 -> -0 */
    assert_int_equal(nub_f32_nearest(0x3fc00000u), 0x40000000u); /* 1.5 -> 2 */
    assert_int_equal(nub_f32_nearest(0x40200000u), 0x40000000u); /* 2.5 -> 2 */
    assert_int_equal(nub_f64_nearest(0x4004000000000000ull), 0x4000000000000000ull);
    assert_int_equal(nub_f64_nearest(0xc00c000000000000ull), 0xc010000000000000ull); /* -3.5 */
    assert_int_equal(nub_f32_ceil(0xbf000000u), 0x80000000u);  /* ceil(-0.5) = -0 */
    assert_int_equal(nub_f64_floor(0x3fe0000000000000ull), 0); /* floor(0.5) = +0 */
    assert_int_equal(nub_f64_floor(0xbfe0000000000000ull), 0xbff0000000000000ull);
    /* Exact zero sums are +0, except -0 + -0. */
    assert_int_equal(nub_f32_add(0x3f800000u, 0xbf800000u), 0);
    assert_int_equal(nub_f32_add(0x80000000u, 0x80000000u), 0x80000000u);
    assert_int_equal(nub_f64_sub(0x8000000000000000ull, 0), 0x8000000000000000ull);
    /* Rounding: 1 + 2^-24 ties to 1, 1 + 3*2^-24 to 1 + 2^-22. */
    assert_int_equal(nub_f32_add(0x3f800000u, 0x33800000u), 0x3f800000u);
    assert_int_equal(nub_f32_add(0x3f800000u, 0x34400000u), 0x3f800002u);
    assert_int_equal(nub_f32_mul(0x7f7fffffu, 0x40000000u), 0x7f800000u); /* overflow */
    assert_int_equal(nub_f32_mul(0x00000001u, 0x3f000000u), 0);           /* tie to 0 */
    assert_int_equal(nub_f32_mul(0x00000003u, 0x3f000000u), 0x00000002u); /* 1.5 -> 2 */
    assert_int_equal(nub_f64_div(0x3ff0000000000000ull, 0x4008000000000000ull), 0x3fd5555555555555ull);
    assert_int_equal(nub_f64_sqrt(0x4000000000000000ull), 0x3ff6a09e667f3bcdull);
    assert_int_equal(nub_f32_sqrt(0x80000000u), 0x80000000u);
    /* Comparisons. */
    assert_true(nub_f32_eq(0, 0x80000000u));
    assert_false(nub_f32_lt(0x80000000u, 0));
    assert_true(nub_f32_le(0x80000000u, 0));
    assert_false(nub_f64_eq(0x7ff8000000000000ull, 0x7ff8000000000000ull));
    assert_false(nub_f64_le(0x7ff0000000000001ull, 0x7ff0000000000000ull));
    assert_true(nub_f64_lt(0xfff0000000000000ull, 0x8000000000000001ull));
    /* Conversions from integers round to nearest even. */
    assert_int_equal(nub_f32_from_i32(16777217), 0x4b800000u);
    assert_int_equal(nub_f32_from_i32(INT32_MIN), 0xcf000000u);
    assert_int_equal(nub_f32_from_u64(UINT64_MAX), 0x5f800000u);
    assert_int_equal(nub_f64_from_i64(INT64_MIN), 0xc3e0000000000000ull);
    assert_int_equal(nub_f64_from_u64(0x20000000000003ull), 0x4340000000000002ull);
    assert_int_equal(nub_f32_demote(0x36a0000000000000ull), 1);  /* 2^-149 */
    assert_int_equal(nub_f32_demote(0x3690000000000000ull), 0);  /* 2^-150: tie to 0 */
    assert_int_equal(nub_f32_demote(0x47effffff0000000ull), 0x7f800000u);
    /* Trapping truncation: the exact range ends. */
    assert_true(nub_f32_to_i32(0xcf000000u, &i32) && i32 == INT32_MIN); /* -2^31 */
    assert_false(nub_f32_to_i32(0x4f000000u, &i32));                    /* 2^31 */
    assert_true(nub_f64_to_i32(0xc1e00000001fffffull, &i32) && i32 == INT32_MIN);
    assert_false(nub_f64_to_i32(0xc1e0000000200000ull, &i32)); /* -2^31 - 1 */
    assert_true(nub_f32_to_u32(0xbf7fffffu, &u32) && u32 == 0); /* -0.99.. -> 0 */
    assert_false(nub_f32_to_u32(0xbf800000u, &u32));            /* -1 */
    assert_true(nub_f64_to_u32(0x41efffffffffffffull, &u32) && u32 == UINT32_MAX);
    assert_false(nub_f64_to_u32(0x41f0000000000000ull, &u32));
    assert_true(nub_f32_to_i64(0xdf000000u, &i64) && i64 == INT64_MIN);
    assert_false(nub_f64_to_i64(0x43e0000000000000ull, &i64));
    assert_true(nub_f64_to_u64(0x43efffffffffffffull, &u64) && u64 == 0xfffffffffffff800ull);
    assert_false(nub_f32_to_u64(0x5f800000u, &u64));
    assert_false(nub_f32_to_i32(0x7fc00000u, &i32));
    assert_false(nub_f64_to_u64(0xfff0000000000000ull, &u64));
    assert_int_equal(i32, INT32_MIN); /* failures leave *out alone */
    /* Saturating truncation. */
    assert_int_equal(nub_f32_to_i32_sat(0x7fc00000u), 0);
    assert_int_equal(nub_f32_to_i32_sat(0x4f000000u), INT32_MAX);
    assert_int_equal(nub_f64_to_i32_sat(0xfff0000000000000ull), INT32_MIN);
    assert_int_equal(nub_f32_to_u32_sat(0xbf800000u), 0);
    assert_int_equal(nub_f64_to_u64_sat(0x7ff0000000000000ull), UINT64_MAX);
    assert_int_equal(nub_f64_to_i64_sat(0xc3e0000000000001ull), INT64_MIN);
}

/* Beyond WebAssembly's "any arithmetic NaN": softfloat.h promises the
 * first NaN operand, quieted (sign and payload kept), so host and guest
 * builds agree bit for bit. */
static void test_nan_propagation(void **state)
{
    (void)state;
    nub_f32 (*const bin32[])(nub_f32, nub_f32) = {nub_f32_add, nub_f32_sub, nub_f32_mul,
                                                  nub_f32_div, nub_f32_min, nub_f32_max};
    nub_f32 (*const un32[])(nub_f32) = {nub_f32_sqrt, nub_f32_ceil, nub_f32_floor,
                                        nub_f32_trunc, nub_f32_nearest};
    nub_f64 (*const bin64[])(nub_f64, nub_f64) = {nub_f64_add, nub_f64_sub, nub_f64_mul,
                                                  nub_f64_div, nub_f64_min, nub_f64_max};
    nub_f64 (*const un64[])(nub_f64) = {nub_f64_sqrt, nub_f64_ceil, nub_f64_floor,
                                        nub_f64_trunc, nub_f64_nearest};
    unsigned long long n = 0;
    for (size_t i = 0; i < 2 * NE32; i++)
        for (size_t j = 0; j < 2 * NE32; j++) {
            nub_f32 a = (nub_f32)edge(REF_F32, i / 2, i & 1), b = (nub_f32)edge(REF_F32, j / 2, j & 1);
            bool na = ref_is_nan(REF_F32, a), nb = ref_is_nan(REF_F32, b);
            if (!na && !nb)
                continue;
            nub_f32 want = (na ? a : b) | 0x00400000u;
            for (size_t k = 0; k < sizeof bin32 / sizeof bin32[0]; k++, n++)
                assert_int_equal(bin32[k](a, b), want);
            if (na)
                for (size_t k = 0; k < sizeof un32 / sizeof un32[0]; k++, n++)
                    assert_int_equal(un32[k](a), want);
        }
    for (size_t i = 0; i < 2 * NE64; i++)
        for (size_t j = 0; j < 2 * NE64; j++) {
            nub_f64 a = edge(REF_F64, i / 2, i & 1), b = edge(REF_F64, j / 2, j & 1);
            bool na = ref_is_nan(REF_F64, a), nb = ref_is_nan(REF_F64, b);
            if (!na && !nb)
                continue;
            nub_f64 want = (na ? a : b) | 0x0008000000000000ull;
            for (size_t k = 0; k < sizeof bin64 / sizeof bin64[0]; k++, n++)
                assert_int_equal(bin64[k](a, b), want);
            if (na)
                for (size_t k = 0; k < sizeof un64 / sizeof un64[0]; k++, n++)
                    assert_int_equal(un64[k](a), want);
        }
    total_checks += n;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_cases),
        cmocka_unit_test(test_nan_propagation),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_random),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    printf("softfloat: %zu operations, %llu comparisons with native\n", (size_t)REF_NOPS,
           total_checks);
    return r;
}
