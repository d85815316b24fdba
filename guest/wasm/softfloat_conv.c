/* Conversions: integers to binary32/64 (correctly rounded), binary64 to
 * binary32 (rounded) and back (exact), and binary32/64 to integers by
 * truncation, in trapping (false when out of range) and saturating form. */
#include "softfloat_internal.h"

/* ---- integer -> float ------------------------------------------------- */

static inline nub_f32 f32_from_mag(uint32_t sign, uint64_t m)
{
    if (m == 0)
        return sign;
    int l = clz64(m);
    m <<= l; /* leading one at bit 63 -> 30 below, the rest sticky */
    uint32_t sig = (uint32_t)(m >> 33) | ((m & 0x1ffffffffull) != 0);
    return f32_round_pack(sign, 189 - l, sig);
}

static inline nub_f64 f64_from_mag(uint64_t sign, uint64_t m)
{
    if (m == 0)
        return sign;
    int l = clz64(m);
    m <<= l;
    return f64_round_pack(sign, 1085 - l, (m >> 1) | (m & 1));
}

/* |v| as an unsigned value, defined for INT64_MIN too. */
static inline uint64_t mag64(int64_t v)
{
    return v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
}

nub_f32 nub_f32_from_i32(int32_t v) { return f32_from_mag(v < 0 ? F32_SIGN : 0, mag64(v)); }
nub_f32 nub_f32_from_u32(uint32_t v) { return f32_from_mag(0, v); }
nub_f32 nub_f32_from_i64(int64_t v) { return f32_from_mag(v < 0 ? F32_SIGN : 0, mag64(v)); }
nub_f32 nub_f32_from_u64(uint64_t v) { return f32_from_mag(0, v); }
nub_f64 nub_f64_from_i32(int32_t v) { return f64_from_mag(v < 0 ? F64_SIGN : 0, mag64(v)); }
nub_f64 nub_f64_from_u32(uint32_t v) { return f64_from_mag(0, v); }
nub_f64 nub_f64_from_i64(int64_t v) { return f64_from_mag(v < 0 ? F64_SIGN : 0, mag64(v)); }
nub_f64 nub_f64_from_u64(uint64_t v) { return f64_from_mag(0, v); }

/* ---- between formats -------------------------------------------------- */

nub_f32 nub_f32_demote(nub_f64 a)
{
    uint32_t sign = (uint32_t)(a >> 32) & F32_SIGN;
    uint32_t e = (uint32_t)(a >> 52) & 0x7ff;
    uint64_t frac = a & F64_FRAC;
    if (e == 0x7ff) /* a NaN keeps the top of its payload, quieted */
        return frac ? sign | F32_CANON | (uint32_t)(frac >> 29) : sign | F32_INF;
    if (e == 0) /* zero or binary64 subnormal: far below the smallest binary32 */
        return sign;
    uint64_t s = frac | (1ull << 52);
    uint32_t sig = (uint32_t)(s >> 22) | ((s & 0x3fffff) != 0);
    return f32_round_pack(sign, (int32_t)e - 897, sig);
}

nub_f64 nub_f64_promote(nub_f32 a)
{
    uint64_t sign = (uint64_t)(a & F32_SIGN) << 32;
    uint32_t e = (a >> 23) & 0xff;
    uint32_t frac = a & F32_FRAC;
    if (e == 0xff)
        return sign | F64_INF | ((uint64_t)frac << 29) | (frac ? F64_QUIET : 0);
    if (e == 0) {
        if (frac == 0)
            return sign;
        int32_t x = f32_norm_sub(&frac); /* every binary32 subnormal is a normal binary64 */
        return sign | ((uint64_t)(x + 896) << 52) | ((uint64_t)(frac & F32_FRAC) << 29);
    }
    return sign | ((uint64_t)(e + 896) << 52) | ((uint64_t)frac << 29);
}

/* ---- float -> integer ------------------------------------------------- */

/* A value truncated toward zero: its sign and, when below 2^64, floor(|a|). */
typedef struct {
    bool nan, neg, fits;
    uint64_t mag;
} sf_trunc;

static inline sf_trunc f32_trunc_mag(nub_f32 a)
{
    sf_trunc t = {f32_is_nan(a), (a & F32_SIGN) != 0, false, 0};
    uint32_t e = (a >> 23) & 0xff;
    if (e >= 127 + 64) /* |a| >= 2^64, infinity or NaN */
        return t;
    t.fits = true;
    if (e >= 127) {
        uint64_t m = (a & F32_FRAC) | 0x00800000u;
        t.mag = e >= 150 ? m << (e - 150) : m >> (150 - e);
    }
    return t;
}

static inline sf_trunc f64_trunc_mag(nub_f64 a)
{
    sf_trunc t = {f64_is_nan(a), (a >> 63) != 0, false, 0};
    uint32_t e = (uint32_t)(a >> 52) & 0x7ff;
    if (e >= 1023 + 64)
        return t;
    t.fits = true;
    if (e >= 1023) {
        uint64_t m = (a & F64_FRAC) | (1ull << 52);
        t.mag = e >= 1075 ? m << (e - 1075) : m >> (1075 - e);
    }
    return t;
}

/* -mag as int64 for mag <= 2^63, without overflow. */
static inline int64_t neg64(uint64_t mag)
{
    return mag ? -(int64_t)(mag - 1) - 1 : 0;
}

static inline bool t_i32(sf_trunc t, int32_t *out)
{
    if (!t.fits || t.mag > (t.neg ? 0x80000000u : 0x7fffffffu))
        return false;
    *out = (int32_t)(t.neg ? neg64(t.mag) : (int64_t)t.mag);
    return true;
}

static inline bool t_u32(sf_trunc t, uint32_t *out)
{
    if (!t.fits || t.mag > (t.neg ? 0 : 0xffffffffu))
        return false; /* a negative value above -1 truncates to 0: allowed */
    *out = (uint32_t)t.mag;
    return true;
}

static inline bool t_i64(sf_trunc t, int64_t *out)
{
    if (!t.fits || t.mag > (t.neg ? 0x8000000000000000ull : 0x7fffffffffffffffull))
        return false;
    *out = t.neg ? neg64(t.mag) : (int64_t)t.mag;
    return true;
}

static inline bool t_u64(sf_trunc t, uint64_t *out)
{
    if (!t.fits || (t.neg && t.mag != 0))
        return false;
    *out = t.mag;
    return true;
}

static inline int32_t t_i32_sat(sf_trunc t)
{
    int32_t v;
    if (t.nan)
        return 0;
    if (t_i32(t, &v))
        return v;
    return t.neg ? INT32_MIN : INT32_MAX;
}

static inline uint32_t t_u32_sat(sf_trunc t)
{
    uint32_t v;
    if (t.nan)
        return 0;
    if (t_u32(t, &v))
        return v;
    return t.neg ? 0 : UINT32_MAX;
}

static inline int64_t t_i64_sat(sf_trunc t)
{
    int64_t v;
    if (t.nan)
        return 0;
    if (t_i64(t, &v))
        return v;
    return t.neg ? INT64_MIN : INT64_MAX;
}

static inline uint64_t t_u64_sat(sf_trunc t)
{
    uint64_t v;
    if (t.nan)
        return 0;
    if (t_u64(t, &v))
        return v;
    return t.neg ? 0 : UINT64_MAX;
}

bool nub_f32_to_i32(nub_f32 a, int32_t *out) { return t_i32(f32_trunc_mag(a), out); }
bool nub_f32_to_u32(nub_f32 a, uint32_t *out) { return t_u32(f32_trunc_mag(a), out); }
bool nub_f32_to_i64(nub_f32 a, int64_t *out) { return t_i64(f32_trunc_mag(a), out); }
bool nub_f32_to_u64(nub_f32 a, uint64_t *out) { return t_u64(f32_trunc_mag(a), out); }
bool nub_f64_to_i32(nub_f64 a, int32_t *out) { return t_i32(f64_trunc_mag(a), out); }
bool nub_f64_to_u32(nub_f64 a, uint32_t *out) { return t_u32(f64_trunc_mag(a), out); }
bool nub_f64_to_i64(nub_f64 a, int64_t *out) { return t_i64(f64_trunc_mag(a), out); }
bool nub_f64_to_u64(nub_f64 a, uint64_t *out) { return t_u64(f64_trunc_mag(a), out); }

int32_t nub_f32_to_i32_sat(nub_f32 a) { return t_i32_sat(f32_trunc_mag(a)); }
uint32_t nub_f32_to_u32_sat(nub_f32 a) { return t_u32_sat(f32_trunc_mag(a)); }
int64_t nub_f32_to_i64_sat(nub_f32 a) { return t_i64_sat(f32_trunc_mag(a)); }
uint64_t nub_f32_to_u64_sat(nub_f32 a) { return t_u64_sat(f32_trunc_mag(a)); }
int32_t nub_f64_to_i32_sat(nub_f64 a) { return t_i32_sat(f64_trunc_mag(a)); }
uint32_t nub_f64_to_u32_sat(nub_f64 a) { return t_u32_sat(f64_trunc_mag(a)); }
int64_t nub_f64_to_i64_sat(nub_f64 a) { return t_i64_sat(f64_trunc_mag(a)); }
uint64_t nub_f64_to_u64_sat(nub_f64 a) { return t_u64_sat(f64_trunc_mag(a)); }
