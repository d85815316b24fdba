/* Helpers shared by the softfloat files: field extraction, sticky shifts,
 * the one rounding step of each format, NaN quieting and 128-bit integer
 * arithmetic. Internal to softfloat_*.c; the interpreter uses softfloat.h.
 *
 * Working form of a finite value during an operation: a sign, an integer
 * significand `sig` and an exponent `e`. For binary32, sig has its leading
 * one at bit 30 (7 bits below the 23 fraction bits: round bit 6, sticky
 * bits 5..0) and e is the biased exponent minus one, so that packing is
 * (e << 23) + (sig >> 7): the leading one adds the missing 1 to the
 * exponent field, and a carry out of rounding moves into the exponent (and
 * into infinity) by itself. Binary64 is the same with the leading one at
 * bit 62 and 10 extra bits. A subnormal result is e == 0 with the leading
 * one below its usual place. */
#ifndef NUB_SOFTFLOAT_INTERNAL_H
#define NUB_SOFTFLOAT_INTERNAL_H

#include "softfloat.h"

#ifndef __SIZEOF_INT128__
#error "softfloat needs unsigned __int128 (64x64->128 multiply)"
#endif
__extension__ typedef unsigned __int128 sf_u128;

#define SF_INLINE static inline __attribute__((always_inline))

#define F32_SIGN 0x80000000u
#define F32_INF 0x7f800000u
#define F32_QUIET 0x00400000u
#define F32_CANON 0x7fc00000u
#define F32_FRAC 0x007fffffu

#define F64_SIGN 0x8000000000000000ull
#define F64_INF 0x7ff0000000000000ull
#define F64_QUIET 0x0008000000000000ull
#define F64_CANON 0x7ff8000000000000ull
#define F64_FRAC 0x000fffffffffffffull

SF_INLINE bool f32_is_nan(nub_f32 a) { return (a & ~F32_SIGN) > F32_INF; }
SF_INLINE bool f64_is_nan(nub_f64 a) { return (a & ~F64_SIGN) > F64_INF; }

/* The NaN result of an operation with at least one NaN operand: the first
 * NaN operand, quieted (what x86 SSE does; WebAssembly allows any
 * arithmetic NaN, and keeps a canonical NaN canonical this way). */
SF_INLINE nub_f32 f32_nan2(nub_f32 a, nub_f32 b)
{
    return (f32_is_nan(a) ? a : b) | F32_QUIET;
}
SF_INLINE nub_f64 f64_nan2(nub_f64 a, nub_f64 b)
{
    return (f64_is_nan(a) ? a : b) | F64_QUIET;
}

/* Count leading zeros; x must not be 0. */
SF_INLINE int clz32(uint32_t x) { return __builtin_clz(x); }
SF_INLINE int clz64(uint64_t x) { return __builtin_clzll(x); }

/* Shift right by d (any d >= 0), OR-ing every bit shifted out into bit 0
 * ("sticky"), so that rounding still sees whether the value was exact.
 * x must be below 2^31 (2^63): then a shift by 31 (63) already leaves
 * only the sticky bit, so larger d are clamped instead of branched on. */
SF_INLINE uint32_t jam32(uint32_t x, uint32_t d)
{
    d = d < 31 ? d : 31;
    return (x >> d) | ((x & ((1u << d) - 1)) != 0);
}
SF_INLINE uint64_t jam64(uint64_t x, uint64_t d)
{
    d = d < 63 ? d : 63;
    return (x >> d) | ((x & ((1ull << d) - 1)) != 0);
}

/* Round a working-form binary32 (see the top of the file) to nearest,
 * ties to even, and pack it. Handles overflow (to infinity) and underflow
 * (e < 0: denormalize with sticky, then round once). */
SF_INLINE nub_f32 f32_round_pack(uint32_t sign, int32_t e, uint32_t sig)
{
    if ((uint32_t)e >= 0xfe) {
        if (e >= 0)
            return sign | F32_INF;
        sig = jam32(sig, (uint32_t)-e);
        e = 0;
    }
    uint32_t rest = sig & 0x7f;
    sig = (sig + 0x40) >> 7;
    if (rest == 0x40) /* a tie goes to the even one */
        sig &= ~1u;
    return sign | (((uint32_t)e << 23) + sig);
}

SF_INLINE nub_f64 f64_round_pack(uint64_t sign, int32_t e, uint64_t sig)
{
    if ((uint32_t)e >= 0x7fe) {
        if (e >= 0)
            return sign | F64_INF;
        sig = jam64(sig, (uint64_t)(uint32_t)-e);
        e = 0;
    }
    uint64_t rest = sig & 0x3ff;
    sig = (sig + 0x200) >> 10;
    if (rest == 0x200)
        sig &= ~1ull;
    return sign | (((uint64_t)(uint32_t)e << 52) + sig);
}

/* Normalize the fraction of a subnormal (nonzero) so that its leading one
 * is at bit 23 / 52, and return the exponent it then has (1 - shift). */
SF_INLINE int32_t f32_norm_sub(uint32_t *frac)
{
    int s = clz32(*frac) - 8;
    *frac <<= s;
    return 1 - s;
}
SF_INLINE int32_t f64_norm_sub(uint64_t *frac)
{
    int s = clz64(*frac) - 11;
    *frac <<= s;
    return 1 - s;
}

/* (hi:lo) / d for d >= 2^63 and hi < d (so the quotient fits in 64 bits),
 * with the remainder. Schoolbook division in two 32-bit digits: each
 * digit is estimated from the divisor's top half and corrected at most
 * twice (Knuth's algorithm D), using only 64-bit hardware division (a
 * 128-bit `/` would call libgcc, which the guest does not link). */
SF_INLINE uint64_t div128(uint64_t hi, uint64_t lo, uint64_t d, uint64_t *rem)
{
    uint64_t d1 = d >> 32, d0 = d & 0xffffffffu;
    uint64_t n1 = lo >> 32, n0 = lo & 0xffffffffu;

    uint64_t q1 = hi / d1, r = hi % d1;
    while ((q1 >> 32) != 0 || q1 * d0 > ((r << 32) | n1)) {
        q1--;
        r += d1;
        if ((r >> 32) != 0)
            break;
    }
    uint64_t u = ((hi << 32) | n1) - q1 * d; /* < d, exact mod 2^64 */

    uint64_t q0 = u / d1;
    r = u % d1;
    while ((q0 >> 32) != 0 || q0 * d0 > ((r << 32) | n0)) {
        q0--;
        r += d1;
        if ((r >> 32) != 0)
            break;
    }
    *rem = ((u << 32) | n0) - q0 * d;
    return (q1 << 32) | q0;
}

/* floor(sqrt(y)) for y in [2^62, 2^64) (softfloat_sqrt.c). */
uint32_t nub_sf_isqrt64(uint64_t y);

#endif /* NUB_SOFTFLOAT_INTERNAL_H */
