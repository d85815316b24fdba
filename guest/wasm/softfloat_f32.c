/* binary32 arithmetic in integer code: add, sub, mul, div, min, max,
 * rounding to integral values and comparisons (sqrt: softfloat_sqrt.c).
 * Each operation takes the short path for normal operands and leaves
 * zeros, subnormals, infinities and NaNs to a branch of its own. */
#include "softfloat_internal.h"

/* |a| + |b| with the common sign of a and b. */
static nub_f32 f32_add_mags(nub_f32 a, nub_f32 b, uint32_t flip)
{
    uint32_t sign = a & F32_SIGN;
    uint32_t ma = a & ~F32_SIGN, mb = b & ~F32_SIGN;
    uint32_t t = (ma ^ mb) & (0 - (uint32_t)(ma < mb)); /* swap without a branch */
    ma ^= t;
    mb ^= t;
    uint32_t ea = ma >> 23, eb = mb >> 23;
    if (ea == 0xff)
        return ma > F32_INF ? f32_nan2(a, b ^ flip) : sign | F32_INF;
    if (ea == 0) /* two subnormals: the sum is exact, a carry makes it normal */
        return sign | (ma + mb);
    uint32_t sa = ((ma & F32_FRAC) | 0x00800000u) << 7;
    uint32_t sb = (mb & F32_FRAC) << 7;
    if (eb != 0)
        sb |= 0x40000000u;
    else
        eb = 1; /* a subnormal has the exponent of the smallest normal */
    uint32_t sig = sa + jam32(sb, ea - eb);
    uint32_t carry = sig >> 31; /* the sum may reach bit 31: shift back, sticky */
    sig = (sig >> carry) | (sig & carry);
    return f32_round_pack(sign, (int32_t)(ea - 1 + carry), sig);
}

/* a + b where a and b have opposite signs: the larger magnitude minus the
 * smaller, with the larger one's sign; an exact zero is +0. */
static nub_f32 f32_sub_mags(nub_f32 a, nub_f32 b, uint32_t flip)
{
    uint32_t sign = a & F32_SIGN;
    uint32_t ma = a & ~F32_SIGN, mb = b & ~F32_SIGN;
    uint32_t swap = 0 - (uint32_t)(ma < mb), t = (ma ^ mb) & swap;
    ma ^= t;
    mb ^= t;
    sign ^= swap & F32_SIGN;
    uint32_t ea = ma >> 23, eb = mb >> 23;
    if (ea == 0xff) {
        if (ma > F32_INF)
            return f32_nan2(a, b ^ flip);
        return mb == F32_INF ? F32_CANON : sign | F32_INF;
    }
    if (ma == mb)
        return 0;
    if (ea == 0)
        return sign | (ma - mb);
    uint32_t sa = ((ma & F32_FRAC) | 0x00800000u) << 7;
    uint32_t sb = (mb & F32_FRAC) << 7;
    if (eb != 0)
        sb |= 0x40000000u;
    else
        eb = 1;
    /* With an exponent gap of 2 or more at most one bit cancels, so the
     * sticky bit stays far below the rounding position; with a smaller
     * gap nothing was shifted out and the difference is exact. */
    uint32_t sig = sa - jam32(sb, ea - eb);
    int32_t e = (int32_t)ea - 1;
    int32_t s = clz32(sig) - 1;
    if (s > e)
        s = e; /* subnormal result */
    return f32_round_pack(sign, e - s, sig << s);
}

nub_f32 nub_f32_add(nub_f32 a, nub_f32 b)
{
    return ((a ^ b) & F32_SIGN) == 0 ? f32_add_mags(a, b, 0) : f32_sub_mags(a, b, 0);
}

/* a - b is a + (-b); a NaN b gets its own sign back (flip). */
nub_f32 nub_f32_sub(nub_f32 a, nub_f32 b)
{
    b ^= F32_SIGN;
    return ((a ^ b) & F32_SIGN) == 0 ? f32_add_mags(a, b, F32_SIGN) : f32_sub_mags(a, b, F32_SIGN);
}

/* The product of normalized significands (leading one at bit 23) with
 * exponents xa, xb: 48 bits, brought to the working form with the low
 * bits as sticky. */
SF_INLINE nub_f32 f32_mul_core(uint32_t sign, int32_t xa, uint32_t fa, int32_t xb, uint32_t fb)
{
    uint64_t p = (uint64_t)fa * fb; /* in [2^46, 2^48) */
    uint32_t top = (uint32_t)(p >> 47);
    p <<= 1 - top; /* leading one at bit 47, then at 30 after the shift */
    int32_t e = xa + xb - 128 + (int32_t)top;
    return f32_round_pack(sign, e, (uint32_t)(p >> 17) | ((p & 0x1ffff) != 0));
}

/* The quotient with its leading one at bit 30 (the numerator shifted one
 * more when fa < fb); a nonzero remainder is sticky. */
SF_INLINE nub_f32 f32_div_core(uint32_t sign, int32_t xa, uint32_t fa, int32_t xb, uint32_t fb)
{
    uint32_t lt = fa < fb;
    int32_t e = xa - xb + 126 - (int32_t)lt;
    uint64_t n = (uint64_t)fa << (30 + lt);
    uint32_t q = (uint32_t)(n / fb);
    return f32_round_pack(sign, e, q | ((uint64_t)q * fb != n));
}

/* mul/div with an operand that is not normal: NaN, infinity and zero
 * results, or subnormals normalized and handed to the core. Kept out of
 * line so the normal path has no stack traffic. */
static __attribute__((noinline)) nub_f32 f32_mul_div_slow(nub_f32 a, nub_f32 b, bool div)
{
    uint32_t sign = (a ^ b) & F32_SIGN;
    uint32_t ma = a & ~F32_SIGN, mb = b & ~F32_SIGN;
    if (ma > F32_INF || mb > F32_INF)
        return f32_nan2(a, b);
    bool ia = ma == F32_INF, ib = mb == F32_INF, za = ma == 0, zb = mb == 0;
    if (!div) {
        if ((ia && zb) || (za && ib))
            return F32_CANON;
        if (ia || ib)
            return sign | F32_INF;
        if (za || zb)
            return sign;
    } else {
        if ((ia && ib) || (za && zb))
            return F32_CANON;
        if (ia || zb)
            return sign | F32_INF;
        if (za || ib)
            return sign;
    }
    uint32_t fa = ma & F32_FRAC, fb = mb & F32_FRAC;
    int32_t xa = (int32_t)(ma >> 23), xb = (int32_t)(mb >> 23);
    if (xa == 0)
        xa = f32_norm_sub(&fa);
    else
        fa |= 0x00800000u;
    if (xb == 0)
        xb = f32_norm_sub(&fb);
    else
        fb |= 0x00800000u;
    return div ? f32_div_core(sign, xa, fa, xb, fb) : f32_mul_core(sign, xa, fa, xb, fb);
}

nub_f32 nub_f32_mul(nub_f32 a, nub_f32 b)
{
    uint32_t ea = (a >> 23) & 0xff, eb = (b >> 23) & 0xff;
    if (__builtin_expect(ea - 1 >= 0xfe || eb - 1 >= 0xfe, 0))
        return f32_mul_div_slow(a, b, false);
    return f32_mul_core((a ^ b) & F32_SIGN, (int32_t)ea, (a & F32_FRAC) | 0x00800000u,
                        (int32_t)eb, (b & F32_FRAC) | 0x00800000u);
}

nub_f32 nub_f32_div(nub_f32 a, nub_f32 b)
{
    uint32_t ea = (a >> 23) & 0xff, eb = (b >> 23) & 0xff;
    if (__builtin_expect(ea - 1 >= 0xfe || eb - 1 >= 0xfe, 0))
        return f32_mul_div_slow(a, b, true);
    return f32_div_core((a ^ b) & F32_SIGN, (int32_t)ea, (a & F32_FRAC) | 0x00800000u,
                        (int32_t)eb, (b & F32_FRAC) | 0x00800000u);
}

/* A key whose unsigned order is the numeric order of non-NaN values, with
 * -0 just below +0: negatives reversed below all positives. */
static inline uint32_t f32_key(nub_f32 a)
{
    return a ^ ((0u - (a >> 31)) | F32_SIGN);
}

nub_f32 nub_f32_min(nub_f32 a, nub_f32 b)
{
    if (f32_is_nan(a) || f32_is_nan(b))
        return f32_nan2(a, b);
    return f32_key(a) < f32_key(b) ? a : b;
}

nub_f32 nub_f32_max(nub_f32 a, nub_f32 b)
{
    if (f32_is_nan(a) || f32_is_nan(b))
        return f32_nan2(a, b);
    return f32_key(a) > f32_key(b) ? a : b;
}

bool nub_f32_eq(nub_f32 a, nub_f32 b)
{
    if (f32_is_nan(a) || f32_is_nan(b))
        return false;
    return a == b || ((a | b) << 1) == 0;
}

bool nub_f32_lt(nub_f32 a, nub_f32 b)
{
    if (f32_is_nan(a) || f32_is_nan(b))
        return false;
    return f32_key(a) < f32_key(b) && ((a | b) << 1) != 0;
}

bool nub_f32_le(nub_f32 a, nub_f32 b)
{
    if (f32_is_nan(a) || f32_is_nan(b))
        return false;
    return f32_key(a) <= f32_key(b) || ((a | b) << 1) == 0;
}

/* Rounding to an integral value. mode: 0 toward zero, 1 toward +inf (ceil),
 * 2 toward -inf (floor), 3 to nearest even. Works on the bit pattern:
 * clearing the fraction bits below the binary point truncates, and adding
 * one unit of that position first rounds the magnitude up (a carry into
 * the exponent is the right answer, e.g. 1.5 -> 2). */
enum { RND_TRUNC, RND_CEIL, RND_FLOOR, RND_NEAREST };

static nub_f32 f32_round_int(nub_f32 a, int mode)
{
    uint32_t e = (a >> 23) & 0xff;
    uint32_t sign = a & F32_SIGN;
    if (e >= 127 + 23) /* already integral, infinite or NaN */
        return f32_is_nan(a) ? a | F32_QUIET : a;
    if (e < 127) { /* |a| < 1 */
        if ((a << 1) == 0)
            return a;
        switch (mode) {
        case RND_CEIL:
            return sign ? sign : 0x3f800000u;
        case RND_FLOOR:
            return sign ? 0xbf800000u : 0;
        case RND_NEAREST: /* above one half rounds to 1, one half to 0 */
            return (a & ~F32_SIGN) > 0x3f000000u ? sign | 0x3f800000u : sign;
        default:
            return sign;
        }
    }
    uint32_t bits = 127 + 23 - e; /* fraction bits below the point, 1..23 */
    uint32_t mask = (1u << bits) - 1;
    uint32_t rest = a & mask;
    if (rest == 0)
        return a;
    bool up;
    switch (mode) {
    case RND_CEIL:
        up = sign == 0;
        break;
    case RND_FLOOR:
        up = sign != 0;
        break;
    case RND_NEAREST: {
        uint32_t half = 1u << (bits - 1);
        /* bit `bits` of the pattern is the integer's parity (for bits ==
         * 23 it is the exponent's low bit, odd exactly for [1, 2)) */
        up = rest > half || (rest == half && ((a >> bits) & 1));
        break;
    }
    default:
        up = false;
    }
    return ((up ? a + mask + 1 : a) & ~mask);
}

nub_f32 nub_f32_trunc(nub_f32 a) { return f32_round_int(a, RND_TRUNC); }
nub_f32 nub_f32_ceil(nub_f32 a) { return f32_round_int(a, RND_CEIL); }
nub_f32 nub_f32_floor(nub_f32 a) { return f32_round_int(a, RND_FLOOR); }
nub_f32 nub_f32_nearest(nub_f32 a) { return f32_round_int(a, RND_NEAREST); }
