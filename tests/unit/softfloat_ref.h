/* The softfloat library (guest/wasm/softfloat.h) next to the host CPU's
 * own IEEE arithmetic (SSE: correctly rounded, ties to even), one table
 * entry per operation, and the WebAssembly rule for comparing results.
 * Native min/max/nearest/trunc-to-int are written to WebAssembly's
 * semantics here, not C's fmin or casts. Shared by test_softfloat.c and
 * the libFuzzer target fuzz_softfloat.c. */
#ifndef NUB_SOFTFLOAT_REF_H
#define NUB_SOFTFLOAT_REF_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "softfloat.h"

/* ---- bit casts ---------------------------------------------------------- */

static inline float ref_f(uint64_t b)
{
    uint32_t u = (uint32_t)b;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline double ref_d(uint64_t b)
{
    double d;
    memcpy(&d, &b, 8);
    return d;
}
static inline uint64_t ref_fb(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline uint64_t ref_db(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

/* ---- operation table ------------------------------------------------------ */

enum ref_kind { REF_F32, REF_F64, REF_INT32, REF_INT64, REF_BOOL };

/* A result: the bits, and for trapping conversions whether it succeeded. */
typedef struct {
    uint64_t v;
    bool ok;
} ref_res;

typedef ref_res (*ref_fn)(uint64_t a, uint64_t b);

struct ref_op {
    const char *name;
    enum ref_kind in, out; /* in: operand kind; out: result kind */
    int arity;
    ref_fn soft, native;
};

#define REF_OK(x) ((ref_res){(uint64_t)(x), true})

/* f32/f64 binary and unary arithmetic. */
#define REF_BIN(T, name)                                                  \
    static ref_res soft_##T##_##name(uint64_t a, uint64_t b)                     \
    {                                                                           \
        return REF_OK(nub_##T##_##name((nub_##T)a, (nub_##T)b));                \
    }
#define REF_UN(T, name)                                                         \
    static ref_res soft_##T##_##name(uint64_t a, uint64_t b)                     \
    {                                                                           \
        (void)b;                                                                \
        return REF_OK(nub_##T##_##name((nub_##T)a));                            \
    }

REF_BIN(f32, add)
REF_BIN(f32, sub)
REF_BIN(f32, mul)
REF_BIN(f32, div)
REF_BIN(f32, min)
REF_BIN(f32, max)
REF_BIN(f32, eq)
REF_BIN(f32, lt)
REF_BIN(f32, le)
REF_UN(f32, sqrt)
REF_UN(f32, ceil)
REF_UN(f32, floor)
REF_UN(f32, trunc)
REF_UN(f32, nearest)
REF_BIN(f64, add)
REF_BIN(f64, sub)
REF_BIN(f64, mul)
REF_BIN(f64, div)
REF_BIN(f64, min)
REF_BIN(f64, max)
REF_BIN(f64, eq)
REF_BIN(f64, lt)
REF_BIN(f64, le)
REF_UN(f64, sqrt)
REF_UN(f64, ceil)
REF_UN(f64, floor)
REF_UN(f64, trunc)
REF_UN(f64, nearest)

static ref_res nat_f32_add(uint64_t a, uint64_t b) { return REF_OK(ref_fb(ref_f(a) + ref_f(b))); }
static ref_res nat_f32_sub(uint64_t a, uint64_t b) { return REF_OK(ref_fb(ref_f(a) - ref_f(b))); }
static ref_res nat_f32_mul(uint64_t a, uint64_t b) { return REF_OK(ref_fb(ref_f(a) * ref_f(b))); }
static ref_res nat_f32_div(uint64_t a, uint64_t b) { return REF_OK(ref_fb(ref_f(a) / ref_f(b))); }
static ref_res nat_f32_eq(uint64_t a, uint64_t b) { return REF_OK(ref_f(a) == ref_f(b)); }
static ref_res nat_f32_lt(uint64_t a, uint64_t b) { return REF_OK(ref_f(a) < ref_f(b)); }
static ref_res nat_f32_le(uint64_t a, uint64_t b) { return REF_OK(ref_f(a) <= ref_f(b)); }
static ref_res nat_f64_add(uint64_t a, uint64_t b) { return REF_OK(ref_db(ref_d(a) + ref_d(b))); }
static ref_res nat_f64_sub(uint64_t a, uint64_t b) { return REF_OK(ref_db(ref_d(a) - ref_d(b))); }
static ref_res nat_f64_mul(uint64_t a, uint64_t b) { return REF_OK(ref_db(ref_d(a) * ref_d(b))); }
static ref_res nat_f64_div(uint64_t a, uint64_t b) { return REF_OK(ref_db(ref_d(a) / ref_d(b))); }
static ref_res nat_f64_eq(uint64_t a, uint64_t b) { return REF_OK(ref_d(a) == ref_d(b)); }
static ref_res nat_f64_lt(uint64_t a, uint64_t b) { return REF_OK(ref_d(a) < ref_d(b)); }
static ref_res nat_f64_le(uint64_t a, uint64_t b) { return REF_OK(ref_d(a) <= ref_d(b)); }

/* WebAssembly min/max: NaN if either is; -0 is below +0 (C's fmin may
 * return either zero and ignores a NaN). */
static ref_res nat_f32_min(uint64_t a, uint64_t b)
{
    float x = ref_f(a), y = ref_f(b);
    if (isnan(x) || isnan(y))
        return REF_OK(ref_fb(x + y));
    if (x == y)
        return REF_OK((a | b) & 0xffffffffu); /* -0 if either zero is -0 */
    return REF_OK(ref_fb(x < y ? x : y));
}
static ref_res nat_f32_max(uint64_t a, uint64_t b)
{
    float x = ref_f(a), y = ref_f(b);
    if (isnan(x) || isnan(y))
        return REF_OK(ref_fb(x + y));
    if (x == y)
        return REF_OK(a & b & 0xffffffffu);
    return REF_OK(ref_fb(x > y ? x : y));
}
static ref_res nat_f64_min(uint64_t a, uint64_t b)
{
    double x = ref_d(a), y = ref_d(b);
    if (isnan(x) || isnan(y))
        return REF_OK(ref_db(x + y));
    if (x == y)
        return REF_OK(a | b);
    return REF_OK(ref_db(x < y ? x : y));
}
static ref_res nat_f64_max(uint64_t a, uint64_t b)
{
    double x = ref_d(a), y = ref_d(b);
    if (isnan(x) || isnan(y))
        return REF_OK(ref_db(x + y));
    if (x == y)
        return REF_OK(a & b);
    return REF_OK(ref_db(x > y ? x : y));
}

/* nearest is round-half-even: nearbyint in the default rounding mode. */
static ref_res nat_f32_sqrt(uint64_t a, uint64_t b) { (void)b; return REF_OK(ref_fb(sqrtf(ref_f(a)))); }
static ref_res nat_f32_ceil(uint64_t a, uint64_t b) { (void)b; return REF_OK(ref_fb(ceilf(ref_f(a)))); }
static ref_res nat_f32_floor(uint64_t a, uint64_t b) { (void)b; return REF_OK(ref_fb(floorf(ref_f(a)))); }
static ref_res nat_f32_trunc(uint64_t a, uint64_t b) { (void)b; return REF_OK(ref_fb(truncf(ref_f(a)))); }
static ref_res nat_f32_nearest(uint64_t a, uint64_t b) { (void)b; return REF_OK(ref_fb(nearbyintf(ref_f(a)))); }
static ref_res nat_f64_sqrt(uint64_t a, uint64_t b) { (void)b; return REF_OK(ref_db(sqrt(ref_d(a)))); }
static ref_res nat_f64_ceil(uint64_t a, uint64_t b) { (void)b; return REF_OK(ref_db(ceil(ref_d(a)))); }
static ref_res nat_f64_floor(uint64_t a, uint64_t b) { (void)b; return REF_OK(ref_db(floor(ref_d(a)))); }
static ref_res nat_f64_trunc(uint64_t a, uint64_t b) { (void)b; return REF_OK(ref_db(trunc(ref_d(a)))); }
static ref_res nat_f64_nearest(uint64_t a, uint64_t b) { (void)b; return REF_OK(ref_db(nearbyint(ref_d(a)))); }

/* ---- conversions ---------------------------------------------------------- */

#define REF_CONV(name, call)                                                    \
    static ref_res soft_##name(uint64_t a, uint64_t b)                           \
    {                                                                           \
        (void)b;                                                                \
        return REF_OK(call);                                                    \
    }
REF_CONV(f32_from_i32, nub_f32_from_i32((int32_t)(uint32_t)a))
REF_CONV(f32_from_u32, nub_f32_from_u32((uint32_t)a))
REF_CONV(f32_from_i64, nub_f32_from_i64((int64_t)a))
REF_CONV(f32_from_u64, nub_f32_from_u64(a))
REF_CONV(f64_from_i32, nub_f64_from_i32((int32_t)(uint32_t)a))
REF_CONV(f64_from_u32, nub_f64_from_u32((uint32_t)a))
REF_CONV(f64_from_i64, nub_f64_from_i64((int64_t)a))
REF_CONV(f64_from_u64, nub_f64_from_u64(a))
REF_CONV(f32_demote, nub_f32_demote(a))
REF_CONV(f64_promote, nub_f64_promote((nub_f32)a))
REF_CONV(f32_to_i32_sat, (uint32_t)nub_f32_to_i32_sat((nub_f32)a))
REF_CONV(f32_to_u32_sat, nub_f32_to_u32_sat((nub_f32)a))
REF_CONV(f32_to_i64_sat, (uint64_t)nub_f32_to_i64_sat((nub_f32)a))
REF_CONV(f32_to_u64_sat, nub_f32_to_u64_sat((nub_f32)a))
REF_CONV(f64_to_i32_sat, (uint32_t)nub_f64_to_i32_sat(a))
REF_CONV(f64_to_u32_sat, nub_f64_to_u32_sat(a))
REF_CONV(f64_to_i64_sat, (uint64_t)nub_f64_to_i64_sat(a))
REF_CONV(f64_to_u64_sat, nub_f64_to_u64_sat(a))

#define REF_NCONV(name, call)                                                   \
    static ref_res nat_##name(uint64_t a, uint64_t b)                            \
    {                                                                           \
        (void)b;                                                                \
        return REF_OK(call);                                                    \
    }

REF_NCONV(f32_from_i32, ref_fb((float)(int32_t)(uint32_t)a))
REF_NCONV(f32_from_u32, ref_fb((float)(uint32_t)a))
REF_NCONV(f32_from_i64, ref_fb((float)(int64_t)a))
REF_NCONV(f32_from_u64, ref_fb((float)a))
REF_NCONV(f64_from_i32, ref_db((double)(int32_t)(uint32_t)a))
REF_NCONV(f64_from_u32, ref_db((double)(uint32_t)a))
REF_NCONV(f64_from_i64, ref_db((double)(int64_t)a))
REF_NCONV(f64_from_u64, ref_db((double)a))
REF_NCONV(f32_demote, ref_fb((float)ref_d(a)))
REF_NCONV(f64_promote, ref_db((double)ref_f(a)))

/* Trapping truncation: soft side. */
#define REF_TRUNC(name, T, arg)                                                 \
    static ref_res soft_##name(uint64_t a, uint64_t b)                           \
    {                                                                           \
        (void)b;                                                                \
        T v = 0;                                                                \
        bool ok = nub_##name(arg, &v);                                          \
        return (ref_res){ok ? (uint64_t)v : 0, ok};                             \
    }
REF_TRUNC(f32_to_i32, int32_t, (nub_f32)a)
REF_TRUNC(f32_to_u32, uint32_t, (nub_f32)a)
REF_TRUNC(f32_to_i64, int64_t, (nub_f32)a)
REF_TRUNC(f32_to_u64, uint64_t, (nub_f32)a)
REF_TRUNC(f64_to_i32, int32_t, a)
REF_TRUNC(f64_to_u32, uint32_t, a)
REF_TRUNC(f64_to_i64, int64_t, a)
REF_TRUNC(f64_to_u64, uint64_t, a)

/* Native side: the value's range check in double (every f32 is exact in
 * double, and the bounds are exact), then C's conversion, which truncates
 * toward zero and is defined for every value inside the range. Saturating
 * forms clamp instead of failing, NaN -> 0. */
#define REF_NTRUNC(name, T, val, lo, hi, tmin, tmax)                            \
    static ref_res nat_##name(uint64_t a, uint64_t b)                            \
    {                                                                           \
        (void)b;                                                                \
        double x = (val);                                                       \
        if (isnan(x) || !(x > (lo) && x < (hi)))                                \
            return (ref_res){0, false};                                         \
        return REF_OK((T)x);                                                    \
    }                                                                           \
    static ref_res nat_##name##_sat(uint64_t a, uint64_t b)                      \
    {                                                                           \
        double x = (val);                                                       \
        if (isnan(x))                                                           \
            return REF_OK(0);                                                   \
        if (!(x > (lo)))                                                        \
            return REF_OK((T)(tmin));                                           \
        if (!(x < (hi)))                                                        \
            return REF_OK((T)(tmax));                                           \
        return nat_##name(a, b);                                                \
    }
/* Exclusive bounds: -2^31 - 1 < x < 2^31 etc. (-2^63 - 1 is not a double:
 * -2^63 itself is in range, so that bound is written with >= below). */
REF_NTRUNC(f32_to_i32, int32_t, ref_f(a), -2147483649.0, 2147483648.0, INT32_MIN, INT32_MAX)
REF_NTRUNC(f32_to_u32, uint32_t, ref_f(a), -1.0, 4294967296.0, 0, UINT32_MAX)
REF_NTRUNC(f32_to_u64, uint64_t, ref_f(a), -1.0, 18446744073709551616.0, 0, UINT64_MAX)
REF_NTRUNC(f64_to_i32, int32_t, ref_d(a), -2147483649.0, 2147483648.0, INT32_MIN, INT32_MAX)
REF_NTRUNC(f64_to_u32, uint32_t, ref_d(a), -1.0, 4294967296.0, 0, UINT32_MAX)
REF_NTRUNC(f64_to_u64, uint64_t, ref_d(a), -1.0, 18446744073709551616.0, 0, UINT64_MAX)

static ref_res ref_trunc_i64(double x)
{
    if (isnan(x) || !(x >= -9223372036854775808.0 && x < 9223372036854775808.0))
        return (ref_res){0, false};
    return REF_OK((uint64_t)(int64_t)x);
}
static ref_res ref_trunc_i64_sat(double x)
{
    if (isnan(x))
        return REF_OK(0);
    if (!(x >= -9223372036854775808.0))
        return REF_OK((uint64_t)INT64_MIN);
    if (!(x < 9223372036854775808.0))
        return REF_OK((uint64_t)INT64_MAX);
    return ref_trunc_i64(x);
}
static ref_res nat_f32_to_i64(uint64_t a, uint64_t b) { (void)b; return ref_trunc_i64(ref_f(a)); }
static ref_res nat_f64_to_i64(uint64_t a, uint64_t b) { (void)b; return ref_trunc_i64(ref_d(a)); }
static ref_res nat_f32_to_i64_sat(uint64_t a, uint64_t b) { (void)b; return ref_trunc_i64_sat(ref_f(a)); }
static ref_res nat_f64_to_i64_sat(uint64_t a, uint64_t b) { (void)b; return ref_trunc_i64_sat(ref_d(a)); }

#define REF_OP(T, n, in, out, ar) {#T "." #n, in, out, ar, soft_##T##_##n, nat_##T##_##n}
static const struct ref_op ref_ops[] = {
    REF_OP(f32, add, REF_F32, REF_F32, 2),
    REF_OP(f32, sub, REF_F32, REF_F32, 2),
    REF_OP(f32, mul, REF_F32, REF_F32, 2),
    REF_OP(f32, div, REF_F32, REF_F32, 2),
    REF_OP(f32, min, REF_F32, REF_F32, 2),
    REF_OP(f32, max, REF_F32, REF_F32, 2),
    REF_OP(f32, eq, REF_F32, REF_BOOL, 2),
    REF_OP(f32, lt, REF_F32, REF_BOOL, 2),
    REF_OP(f32, le, REF_F32, REF_BOOL, 2),
    REF_OP(f32, sqrt, REF_F32, REF_F32, 1),
    REF_OP(f32, ceil, REF_F32, REF_F32, 1),
    REF_OP(f32, floor, REF_F32, REF_F32, 1),
    REF_OP(f32, trunc, REF_F32, REF_F32, 1),
    REF_OP(f32, nearest, REF_F32, REF_F32, 1),
    REF_OP(f64, add, REF_F64, REF_F64, 2),
    REF_OP(f64, sub, REF_F64, REF_F64, 2),
    REF_OP(f64, mul, REF_F64, REF_F64, 2),
    REF_OP(f64, div, REF_F64, REF_F64, 2),
    REF_OP(f64, min, REF_F64, REF_F64, 2),
    REF_OP(f64, max, REF_F64, REF_F64, 2),
    REF_OP(f64, eq, REF_F64, REF_BOOL, 2),
    REF_OP(f64, lt, REF_F64, REF_BOOL, 2),
    REF_OP(f64, le, REF_F64, REF_BOOL, 2),
    REF_OP(f64, sqrt, REF_F64, REF_F64, 1),
    REF_OP(f64, ceil, REF_F64, REF_F64, 1),
    REF_OP(f64, floor, REF_F64, REF_F64, 1),
    REF_OP(f64, trunc, REF_F64, REF_F64, 1),
    REF_OP(f64, nearest, REF_F64, REF_F64, 1),
    REF_OP(f32, demote, REF_F64, REF_F32, 1),
    REF_OP(f64, promote, REF_F32, REF_F64, 1),
    REF_OP(f32, to_i32, REF_F32, REF_INT32, 1),
    REF_OP(f32, to_u32, REF_F32, REF_INT32, 1),
    REF_OP(f32, to_i64, REF_F32, REF_INT64, 1),
    REF_OP(f32, to_u64, REF_F32, REF_INT64, 1),
    REF_OP(f64, to_i32, REF_F64, REF_INT32, 1),
    REF_OP(f64, to_u32, REF_F64, REF_INT32, 1),
    REF_OP(f64, to_i64, REF_F64, REF_INT64, 1),
    REF_OP(f64, to_u64, REF_F64, REF_INT64, 1),
    REF_OP(f32, to_i32_sat, REF_F32, REF_INT32, 1),
    REF_OP(f32, to_u32_sat, REF_F32, REF_INT32, 1),
    REF_OP(f32, to_i64_sat, REF_F32, REF_INT64, 1),
    REF_OP(f32, to_u64_sat, REF_F32, REF_INT64, 1),
    REF_OP(f64, to_i32_sat, REF_F64, REF_INT32, 1),
    REF_OP(f64, to_u32_sat, REF_F64, REF_INT32, 1),
    REF_OP(f64, to_i64_sat, REF_F64, REF_INT64, 1),
    REF_OP(f64, to_u64_sat, REF_F64, REF_INT64, 1),
    REF_OP(f32, from_i32, REF_INT32, REF_F32, 1),
    REF_OP(f32, from_u32, REF_INT32, REF_F32, 1),
    REF_OP(f32, from_i64, REF_INT64, REF_F32, 1),
    REF_OP(f32, from_u64, REF_INT64, REF_F32, 1),
    REF_OP(f64, from_i32, REF_INT32, REF_F64, 1),
    REF_OP(f64, from_u32, REF_INT32, REF_F64, 1),
    REF_OP(f64, from_i64, REF_INT64, REF_F64, 1),
    REF_OP(f64, from_u64, REF_INT64, REF_F64, 1),
};
#define REF_NOPS (sizeof ref_ops / sizeof ref_ops[0])

/* ---- the comparison rule -------------------------------------------------- */

static inline bool ref_is_nan(enum ref_kind k, uint64_t v)
{
    if (k == REF_F32)
        return ((uint32_t)v & 0x7fffffffu) > 0x7f800000u;
    if (k == REF_F64)
        return (v & 0x7fffffffffffffffull) > 0x7ff0000000000000ull;
    return false;
}
static inline bool ref_is_canon(enum ref_kind k, uint64_t v)
{
    if (k == REF_F32)
        return ((uint32_t)v & 0x7fffffffu) == 0x7fc00000u;
    return (v & 0x7fffffffffffffffull) == 0x7ff8000000000000ull;
}
static inline uint64_t ref_mask(enum ref_kind k)
{
    return k == REF_F32 || k == REF_INT32 ? 0xffffffffull : k == REF_BOOL ? 1 : ~0ull;
}

/* Whether `got` is a correct result of `op` on (a, b) given the native
 * `want`: bit-exact, except that where the native result is a NaN any
 * quiet NaN passes, and it must be canonical unless an operand was a
 * non-canonical NaN (WebAssembly's nans rule). */
static inline bool ref_agrees(const struct ref_op *op, uint64_t a, uint64_t b, ref_res got, ref_res want)
{
    if (got.ok != want.ok)
        return false;
    if (!want.ok)
        return true;
    uint64_t m = ref_mask(op->out);
    if (ref_is_nan(op->out, want.v)) {
        if (!ref_is_nan(op->out, got.v))
            return false;
        uint64_t quiet = op->out == REF_F32 ? 0x00400000u : 0x0008000000000000ull;
        if (!(got.v & quiet))
            return false;
        bool free_payload = (ref_is_nan(op->in, a) && !ref_is_canon(op->in, a)) ||
                            (op->arity == 2 && ref_is_nan(op->in, b) && !ref_is_canon(op->in, b));
        return free_payload || ref_is_canon(op->out, got.v);
    }
    return (got.v & m) == (want.v & m);
}

/* Runs op on (a, b) both ways; prints the first `*budget` disagreements
 * and returns false on one. */
static inline bool ref_check(const struct ref_op *op, uint64_t a, uint64_t b, int *budget)
{
    uint64_t im = ref_mask(op->in);
    a &= im;
    b &= im;
    ref_res got = op->soft(a, b), want = op->native(a, b);
    if (ref_agrees(op, a, b, got, want))
        return true;
    if (*budget > 0) {
        (*budget)--;
        fprintf(stderr, "%s(0x%llx, 0x%llx): softfloat 0x%llx%s, native 0x%llx%s\n", op->name,
                (unsigned long long)a, (unsigned long long)b, (unsigned long long)got.v,
                got.ok ? "" : " (trap)", (unsigned long long)want.v, want.ok ? "" : " (trap)");
    }
    return false;
}

#endif /* NUB_SOFTFLOAT_REF_H */
