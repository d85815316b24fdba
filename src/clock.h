/* Monotonic time in nanoseconds, for boot and call timings; deadlines for
 * timed waits. */
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

/* The time ms milliseconds from now on clock clk (the clock of the
 * condition variable or call it is a deadline for). */
static inline struct timespec nub_deadline_ms(clockid_t clk, unsigned ms)
{
    struct timespec t;
    clock_gettime(clk, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

#endif /* NUB_CLOCK_H */
