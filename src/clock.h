/* Monotonic time in nanoseconds, for boot and call timings. */
#ifndef NUB_CLOCK_H
#define NUB_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t nub_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif /* NUB_CLOCK_H */
