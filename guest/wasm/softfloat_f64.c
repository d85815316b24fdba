/* binary64 arithmetic in integer code: add, sub, mul, div, min, max,
 * rounding to integral values and comparisons (sqrt: softfloat_sqrt.c).
 * The same algorithms as softfloat_f32.c on 64-bit significands; the
 * products and quotients need 128 bits (softfloat_internal.h). */
#include "softfloat_internal.h"

#define F64_ONE 0x3ff0000000000000ull
#define F64_HALF 0x3fe0000000000000ull
#define F64_IMPLICIT 0x0010000000000000ull

/* |a| + |b| with the common sign of a and b. */
static nub_f64 f64_add_mags(nub_f64 a, nub_f64 b, uint64_t flip)
{
    uint64_t sign = a & F64_SIGN;
    uint64_t ma = a & ~F64_SIGN, mb = b & ~F64_SIGN;
    uint64_t t = (ma ^ mb) & (0 - (uint64_t)(ma < mb)); /* swap without a branch */
    ma ^= t;
    mb ^= t;
    uint32_t ea = (uint32_t)(ma >> 52), eb = (uint32_t)(mb >> 52);
    if (ea == 0x7ff)
        return ma > F64_INF ? f64_nan2(a, b ^ flip) : sign | F64_INF;
    if (ea == 0) /* two subnormals: the sum is exact, a carry makes it normal */
        return sign | (ma + mb);
    uint64_t sa = ((ma & F64_FRAC) | F64_IMPLICIT) << 10;
    uint64_t sb = (mb & F64_FRAC) << 10;
    if (eb != 0)
        sb |= 1ull << 62;
    else
        eb = 1; /* a subnormal has the exponent of the smallest normal */
    uint64_t sig = sa + jam64(sb, ea - eb);
    uint64_t carry = sig >> 63; /* the sum may reach bit 63: shift back, sticky */
    sig = (sig >> carry) | (sig & carry);
    return f64_round_pack(sign, (int32_t)(ea - 1 + (uint32_t)carry), sig);
}

/* a + b where a and b have opposite signs (see f32_sub_mags). */
static nub_f64 f64_sub_mags(nub_f64 a, nub_f64 b, uint64_t flip)
{
    uint64_t sign = a & F64_SIGN;
    uint64_t ma = a & ~F64_SIGN, mb = b & ~F64_SIGN;
    uint64_t swap = 0 - (uint64_t)(ma < mb), t = (ma ^ mb) & swap;
    ma ^= t;
    mb ^= t;
    sign ^= swap & F64_SIGN;
    uint32_t ea = (uint32_t)(ma >> 52), eb = (uint32_t)(mb >> 52);
    if (ea == 0x7ff) {
        if (ma > F64_INF)
            return f64_nan2(a, b ^ flip);
        return mb == F64_INF ? F64_CANON : sign | F64_INF;
    }
    if (ma == mb)
        return 0;
    if (ea == 0)
        return sign | (ma - mb);
    uint64_t sa = ((ma & F64_FRAC) | F64_IMPLICIT) << 10;
    uint64_t sb = (mb & F64_FRAC) << 10;
    if (eb != 0)
        sb |= 1ull << 62;
    else
        eb = 1;
    uint64_t sig = sa - jam64(sb, ea - eb);
    int32_t e = (int32_t)ea - 1;
    int32_t s = clz64(sig) - 1;
    if (s > e)
        s = e; /* subnormal result */
    return f64_round_pack(sign, e - s, sig << s);
}

nub_f64 nub_f64_add(nub_f64 a, nub_f64 b)
{
    return ((a ^ b) & F64_SIGN) == 0 ? f64_add_mags(a, b, 0) : f64_sub_mags(a, b, 0);
}

/* a - b is a + (-b); a NaN b gets its own sign back (flip). */
nub_f64 nub_f64_sub(nub_f64 a, nub_f64 b)
{
    b ^= F64_SIGN;
    return ((a ^ b) & F64_SIGN) == 0 ? f64_add_mags(a, b, F64_SIGN) : f64_sub_mags(a, b, F64_SIGN);
}

/* Both significands with the leading one at bit 63: the product is in
 * [2^126, 2^128); its high half, with the low half as sticky, has its
 * leading one at bit 62 or 63. */
SF_INLINE nub_f64 f64_mul_core(uint64_t sign, int32_t xa, uint64_t fa, int32_t xb, uint64_t fb)
{
    sf_u128 p = (sf_u128)(fa << 11) * (fb << 11);
    uint64_t hi = (uint64_t)(p >> 64), lo = (uint64_t)p;
    uint32_t top = (uint32_t)(hi >> 63);
    uint64_t sig = (hi >> top) | (hi & top) | (lo != 0);
    return f64_round_pack(sign, xa + xb - 1024 + (int32_t)top, sig);
}

/* fa * 2^62 / fb (or 2^63 when fa < fb), leading one at bit 62, as
 * (fa << 9 or 10) * 2^64 over the normalized divisor fb << 11. */
SF_INLINE nub_f64 f64_div_core(uint64_t sign, int32_t xa, uint64_t fa, int32_t xb, uint64_t fb)
{
    uint32_t lt = fa < fb;
    int32_t e = xa - xb + 1022 - (int32_t)lt;
    uint64_t hi = fa << (9 + lt);
    uint64_t rem;
    uint64_t q = div128(hi, 0, fb << 11, &rem);
    return f64_round_pack(sign, e, q | (rem != 0));
}

/* mul/div with an operand that is not normal (see f32_mul_div_slow). */
static __attribute__((noinline)) nub_f64 f64_mul_div_slow(nub_f64 a, nub_f64 b, bool div)
{
    uint64_t sign = (a ^ b) & F64_SIGN;
    uint64_t ma = a & ~F64_SIGN, mb = b & ~F64_SIGN;
    if (ma > F64_INF || mb > F64_INF)
        return f64_nan2(a, b);
    bool ia = ma == F64_INF, ib = mb == F64_INF, za = ma == 0, zb = mb == 0;
    if (!div) {
        if ((ia && zb) || (za && ib))
            return F64_CANON;
        if (ia || ib)
            return sign | F64_INF;
        if (za || zb)
            return sign;
    } else {
        if ((ia && ib) || (za && zb))
            return F64_CANON;
        if (ia || zb)
            return sign | F64_INF;
        if (za || ib)
            return sign;
    }
    uint64_t fa = ma & F64_FRAC, fb = mb & F64_FRAC;
    int32_t xa = (int32_t)(ma >> 52), xb = (int32_t)(mb >> 52);
    if (xa == 0)
        xa = f64_norm_sub(&fa);
    else
        fa |= F64_IMPLICIT;
    if (xb == 0)
        xb = f64_norm_sub(&fb);
    else
        fb |= F64_IMPLICIT;
    return div ? f64_div_core(sign, xa, fa, xb, fb) : f64_mul_core(sign, xa, fa, xb, fb);
}

nub_f64 nub_f64_mul(nub_f64 a, nub_f64 b)
{
    uint32_t ea = (uint32_t)(a >> 52) & 0x7ff, eb = (uint32_t)(b >> 52) & 0x7ff;
    if (__builtin_expect(ea - 1 >= 0x7fe || eb - 1 >= 0x7fe, 0))
        return f64_mul_div_slow(a, b, false);
    return f64_mul_core((a ^ b) & F64_SIGN, (int32_t)ea, (a & F64_FRAC) | F64_IMPLICIT,
                        (int32_t)eb, (b & F64_FRAC) | F64_IMPLICIT);
}

nub_f64 nub_f64_div(nub_f64 a, nub_f64 b)
{
    uint32_t ea = (uint32_t)(a >> 52) & 0x7ff, eb = (uint32_t)(b >> 52) & 0x7ff;
    if (__builtin_expect(ea - 1 >= 0x7fe || eb - 1 >= 0x7fe, 0))
        return f64_mul_div_slow(a, b, true);
    return f64_div_core((a ^ b) & F64_SIGN, (int32_t)ea, (a & F64_FRAC) | F64_IMPLICIT,
                        (int32_t)eb, (b & F64_FRAC) | F64_IMPLICIT);
}

/* Unsigned order of the key = numeric order, -0 just below +0. */
static inline uint64_t f64_key(nub_f64 a)
{
    return a ^ ((0ull - (a >> 63)) | F64_SIGN);
}

nub_f64 nub_f64_min(nub_f64 a, nub_f64 b)
{
    if (f64_is_nan(a) || f64_is_nan(b))
        return f64_nan2(a, b);
    return f64_key(a) < f64_key(b) ? a : b;
}

nub_f64 nub_f64_max(nub_f64 a, nub_f64 b)
{
    if (f64_is_nan(a) || f64_is_nan(b))
        return f64_nan2(a, b);
    return f64_key(a) > f64_key(b) ? a : b;
}

bool nub_f64_eq(nub_f64 a, nub_f64 b)
{
    if (f64_is_nan(a) || f64_is_nan(b))
        return false;
    return a == b || ((a | b) << 1) == 0;
}

bool nub_f64_lt(nub_f64 a, nub_f64 b)
{
    if (f64_is_nan(a) || f64_is_nan(b))
        return false;
    return f64_key(a) < f64_key(b) && ((a | b) << 1) != 0;
}

bool nub_f64_le(nub_f64 a, nub_f64 b)
{
    if (f64_is_nan(a) || f64_is_nan(b))
        return false;
    return f64_key(a) <= f64_key(b) || ((a | b) << 1) == 0;
}

/* Rounding to an integral value on the bit pattern (see f32_round_int). */
enum { RND_TRUNC, RND_CEIL, RND_FLOOR, RND_NEAREST };

static nub_f64 f64_round_int(nub_f64 a, int mode)
{
    uint32_t e = (uint32_t)(a >> 52) & 0x7ff;
    uint64_t sign = a & F64_SIGN;
    if (e >= 1023 + 52) /* already integral, infinite or NaN */
        return f64_is_nan(a) ? a | F64_QUIET : a;
    if (e < 1023) { /* |a| < 1 */
        if ((a << 1) == 0)
            return a;
        switch (mode) {
        case RND_CEIL:
            return sign ? sign : F64_ONE;
        case RND_FLOOR:
            return sign ? sign | F64_ONE : 0;
        case RND_NEAREST:
            return (a & ~F64_SIGN) > F64_HALF ? sign | F64_ONE : sign;
        default:
            return sign;
        }
    }
    uint32_t bits = 1023 + 52 - e; /* fraction bits below the point, 1..52 */
    uint64_t mask = (1ull << bits) - 1;
    uint64_t rest = a & mask;
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
        uint64_t half = 1ull << (bits - 1);
        up = rest > half || (rest == half && ((a >> bits) & 1));
        break;
    }
    default:
        up = false;
    }
    return (up ? a + mask + 1 : a) & ~mask;
}

nub_f64 nub_f64_trunc(nub_f64 a) { return f64_round_int(a, RND_TRUNC); }
nub_f64 nub_f64_ceil(nub_f64 a) { return f64_round_int(a, RND_CEIL); }
nub_f64 nub_f64_floor(nub_f64 a) { return f64_round_int(a, RND_FLOOR); }
nub_f64 nub_f64_nearest(nub_f64 a) { return f64_round_int(a, RND_NEAREST); }
