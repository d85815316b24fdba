/* Freestanding <assert.h> for the guest kernel: static_assert only; runtime
 * invariants use nub_panic() instead. */
#ifndef NUB_FREESTANDING_ASSERT_H
#define NUB_FREESTANDING_ASSERT_H

#define static_assert _Static_assert
#define assert(c) ((void)0)

#endif
