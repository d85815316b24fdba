/* IEEE 754 binary32/binary64 arithmetic on raw bit patterns, in integer
 * code only: the guest is built with -mgeneral-regs-only (no x87, no SSE),
 * so every WebAssembly f32/f64 instruction the interpreter runs comes here.
 * Round to nearest, ties to even (the only mode WebAssembly has); no
 * exception flags. NaN results follow the WebAssembly rules: an operation
 * whose inputs hold no NaN and that has an invalid result (0/0, inf-inf,
 * sqrt(-1), ...) returns the canonical NaN (0x7fc00000 / 0x7ff8000000000000);
 * an operation with a NaN input returns that NaN quieted (an "arithmetic
 * NaN"). Plain C, freestanding (only <stdint.h>/<stdbool.h>), built into the
 * guest kernel and into the host library. */
#ifndef NUB_SOFTFLOAT_H
#define NUB_SOFTFLOAT_H

#include <stdbool.h>
#include <stdint.h>

typedef uint32_t nub_f32; /* bit pattern of a binary32 */
typedef uint64_t nub_f64; /* bit pattern of a binary64 */

/* Arithmetic. */
nub_f32 nub_f32_add(nub_f32 a, nub_f32 b);
nub_f32 nub_f32_sub(nub_f32 a, nub_f32 b);
nub_f32 nub_f32_mul(nub_f32 a, nub_f32 b);
nub_f32 nub_f32_div(nub_f32 a, nub_f32 b);
nub_f32 nub_f32_sqrt(nub_f32 a);
nub_f32 nub_f32_min(nub_f32 a, nub_f32 b); /* wasm: NaN if either is; -0 < +0 */
nub_f32 nub_f32_max(nub_f32 a, nub_f32 b);
nub_f32 nub_f32_ceil(nub_f32 a);
nub_f32 nub_f32_floor(nub_f32 a);
nub_f32 nub_f32_trunc(nub_f32 a);
nub_f32 nub_f32_nearest(nub_f32 a); /* round to integral, ties to even */
/* abs, neg, copysign are sign-bit operations: the interpreter does them. */

nub_f64 nub_f64_add(nub_f64 a, nub_f64 b);
nub_f64 nub_f64_sub(nub_f64 a, nub_f64 b);
nub_f64 nub_f64_mul(nub_f64 a, nub_f64 b);
nub_f64 nub_f64_div(nub_f64 a, nub_f64 b);
nub_f64 nub_f64_sqrt(nub_f64 a);
nub_f64 nub_f64_min(nub_f64 a, nub_f64 b);
nub_f64 nub_f64_max(nub_f64 a, nub_f64 b);
nub_f64 nub_f64_ceil(nub_f64 a);
nub_f64 nub_f64_floor(nub_f64 a);
nub_f64 nub_f64_trunc(nub_f64 a);
nub_f64 nub_f64_nearest(nub_f64 a);

/* Comparisons (false whenever either operand is NaN; -0 == +0). gt/ge are
 * lt/le with the operands swapped; ne is !eq. */
bool nub_f32_eq(nub_f32 a, nub_f32 b);
bool nub_f32_lt(nub_f32 a, nub_f32 b);
bool nub_f32_le(nub_f32 a, nub_f32 b);
bool nub_f64_eq(nub_f64 a, nub_f64 b);
bool nub_f64_lt(nub_f64 a, nub_f64 b);
bool nub_f64_le(nub_f64 a, nub_f64 b);

/* Integer -> float, correctly rounded. */
nub_f32 nub_f32_from_i32(int32_t v);
nub_f32 nub_f32_from_u32(uint32_t v);
nub_f32 nub_f32_from_i64(int64_t v);
nub_f32 nub_f32_from_u64(uint64_t v);
nub_f64 nub_f64_from_i32(int32_t v);
nub_f64 nub_f64_from_u32(uint32_t v);
nub_f64 nub_f64_from_i64(int64_t v);
nub_f64 nub_f64_from_u64(uint64_t v);

/* Between formats: demote rounds, promote is exact (NaNs quieted). */
nub_f32 nub_f32_demote(nub_f64 a);
nub_f64 nub_f64_promote(nub_f32 a);

/* Float -> integer, truncating toward zero (i32.trunc_f32_s etc.). The
 * trapping forms return false (and leave *out alone) for NaN or a value
 * out of the destination's range; the saturating forms (trunc_sat) never
 * fail: NaN -> 0, below range -> min, above range -> max. */
bool nub_f32_to_i32(nub_f32 a, int32_t *out);
bool nub_f32_to_u32(nub_f32 a, uint32_t *out);
bool nub_f32_to_i64(nub_f32 a, int64_t *out);
bool nub_f32_to_u64(nub_f32 a, uint64_t *out);
bool nub_f64_to_i32(nub_f64 a, int32_t *out);
bool nub_f64_to_u32(nub_f64 a, uint32_t *out);
bool nub_f64_to_i64(nub_f64 a, int64_t *out);
bool nub_f64_to_u64(nub_f64 a, uint64_t *out);
int32_t nub_f32_to_i32_sat(nub_f32 a);
uint32_t nub_f32_to_u32_sat(nub_f32 a);
int64_t nub_f32_to_i64_sat(nub_f32 a);
uint64_t nub_f32_to_u64_sat(nub_f32 a);
int32_t nub_f64_to_i32_sat(nub_f64 a);
uint32_t nub_f64_to_u32_sat(nub_f64 a);
int64_t nub_f64_to_i64_sat(nub_f64 a);
uint64_t nub_f64_to_u64_sat(nub_f64 a);

#endif /* NUB_SOFTFLOAT_H */
