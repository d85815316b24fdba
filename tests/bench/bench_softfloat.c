/* Benchmark: nanoseconds per softfloat operation next to the host CPU's
 * native instruction, both called through the same function pointer so
 * that the call costs the same on both sides. Operands are 4096 seeded
 * random normal values (the fast path the interpreter mostly takes), or
 * in-range values for conversions. Usage: bench_softfloat [iterations]. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "softfloat.h"

#define N 4096

static uint64_t A[N], B[N];

typedef uint64_t (*op_fn)(uint64_t, uint64_t);

static float f(uint64_t b)
{
    uint32_t u = (uint32_t)b;
    float x;
    memcpy(&x, &u, 4);
    return x;
}
static double d(uint64_t b)
{
    double x;
    memcpy(&x, &b, 8);
    return x;
}
static uint64_t fb(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    return u;
}
static uint64_t db(double x)
{
    uint64_t u;
    memcpy(&u, &x, 8);
    return u;
}

#define PAIR(name, soft, native)                                                \
    static uint64_t s_##name(uint64_t a, uint64_t b) { return soft; }           \
    static uint64_t n_##name(uint64_t a, uint64_t b) { return native; }
PAIR(f32_add, nub_f32_add(a, b), fb(f(a) + f(b)))
PAIR(f32_mul, nub_f32_mul(a, b), fb(f(a) * f(b)))
PAIR(f32_div, nub_f32_div(a, b), fb(f(a) / f(b)))
PAIR(f32_sqrt, ((void)b, nub_f32_sqrt(a)), ((void)b, fb(sqrtf(f(a)))))
PAIR(f32_lt, nub_f32_lt(a, b), f(a) < f(b))
PAIR(f32_min, nub_f32_min(a, b), fb(isnan(f(a)) || isnan(f(b)) ? NAN : f(a) < f(b) ? f(a) : f(b)))
PAIR(f32_nearest, ((void)b, nub_f32_nearest(a)), ((void)b, fb(nearbyintf(f(a)))))
PAIR(f64_add, nub_f64_add(a, b), db(d(a) + d(b)))
PAIR(f64_sub, nub_f64_sub(a, b), db(d(a) - d(b)))
PAIR(f64_mul, nub_f64_mul(a, b), db(d(a) * d(b)))
PAIR(f64_div, nub_f64_div(a, b), db(d(a) / d(b)))
PAIR(f64_sqrt, ((void)b, nub_f64_sqrt(a)), ((void)b, db(sqrt(d(a)))))
PAIR(f64_lt, nub_f64_lt(a, b), d(a) < d(b))
PAIR(f64_floor, ((void)b, nub_f64_floor(a)), ((void)b, db(floor(d(a)))))
PAIR(f64_from_i64, ((void)b, nub_f64_from_i64((int64_t)a)), ((void)b, db((double)(int64_t)a)))
PAIR(f64_to_i32, ((void)b, (uint64_t)nub_f64_to_i32_sat(a)),
     ((void)b, (uint64_t)(int32_t)d(a)))
PAIR(f64_promote, ((void)b, nub_f64_promote((uint32_t)a)), ((void)b, db((double)f(a))))
PAIR(f32_demote, ((void)b, nub_f32_demote(a)), ((void)b, fb((float)d(a))))

struct bench {
    const char *name;
    int kind; /* 0: f32 operands, 1: f64, 2: int64, 3: f64 in int32 range */
    op_fn soft, native;
};
#define B(name, kind) {#name, kind, s_##name, n_##name}
static const struct bench benches[] = {
    B(f32_add, 0), B(f32_mul, 0), B(f32_div, 0), B(f32_sqrt, 0), B(f32_lt, 0),
    B(f32_min, 0), B(f32_nearest, 0), B(f64_add, 1), B(f64_sub, 1), B(f64_mul, 1),
    B(f64_div, 1), B(f64_sqrt, 1), B(f64_lt, 1), B(f64_floor, 1), B(f64_from_i64, 2),
    B(f64_to_i32, 3), B(f64_promote, 0), B(f32_demote, 1),
};

static uint64_t seed = 42;
static uint64_t rng(void)
{
    uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void fill(int kind)
{
    for (int i = 0; i < N; i++) {
        uint64_t r = rng(), s = rng();
        switch (kind) {
        case 0: /* positive normal binary32, exponents 2^-20..2^20 */
            A[i] = ((uint64_t)(107 + r % 40) << 23) | (r >> 41);
            B[i] = ((uint64_t)(107 + s % 40) << 23) | (s >> 41);
            break;
        case 1:
            A[i] = ((1003 + r % 40) << 52) | (r >> 12);
            B[i] = ((1003 + s % 40) << 52) | (s >> 12);
            break;
        case 2:
            A[i] = r >> (s % 64);
            B[i] = 0;
            break;
        default:
            A[i] = db((double)(int32_t)r + 0.25);
            B[i] = 0;
        }
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ns per call of fn over the operand arrays, best of 3. The pointer goes
 * through a volatile so the compiler cannot inline either side. */
static op_fn volatile current;

static double run(op_fn fn, long iters, uint64_t *sink)
{
    double best = 1e30;
    current = fn;
    for (int rep = 0; rep < 3; rep++) {
        op_fn g = current;
        uint64_t acc = 0;
        double t0 = now();
        for (long k = 0; k < iters; k++)
            for (int i = 0; i < N; i++)
                acc += g(A[i], B[i]);
        double t = (now() - t0) / ((double)iters * N) * 1e9;
        *sink += acc;
        if (t < best)
            best = t;
    }
    return best;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 500;
    uint64_t sink = 0;
    printf("%-14s %10s %10s %7s\n", "op", "soft ns", "native ns", "ratio");
    for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++) {
        fill(benches[i].kind);
        double s = run(benches[i].soft, iters, &sink);
        double n = run(benches[i].native, iters, &sink);
        printf("%-14s %10.2f %10.2f %7.1f\n", benches[i].name, s, n, s / n);
    }
    fprintf(stderr, "(checksum %llx)\n", (unsigned long long)sink);
    return 0;
}
