/* Benchmark of publishing many small blobs with nub_call_put (hash on
 * the host, ALLOC, copy, PUT) against the real guest: for each count N, a
 * fresh guest, N distinct random blobs of 16..512 bytes, and the time and
 * emulated guest instructions per PUT, overall and for each tenth of the
 * run (a per-PUT cost that grows with N shows up as rising tenths). Not a
 * test (never in ctest).
 *
 *   bench_put [mem_mib [time_limit_s [N ...]]]   (defaults 512 600 1000 5000 20000)
 *
 * A run that exceeds time_limit_s stops and reports how far it got. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guest_calls.h"
#include "sandbox.h"

#define MIB (1ull << 20)

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t insns(struct nub_sandbox *sb)
{
    struct nub_sandbox_counters c;
    nub_sandbox_counters(sb, &c);
    return c.emulated_insns;
}

/* Sandbox events (poisoning, reboots) explain a failed PUT. */
static void log_line(void *ctx, const char *line)
{
    (void)ctx;
    if (strncmp(line, "sandbox: ", 9) == 0)
        fprintf(stderr, "%s\n", line);
}

static int run(uint64_t mem, unsigned n, double limit_s)
{
    struct nub_sandbox_opts so = {.mem_size = mem, .log = log_line};
    struct nub_sandbox *sb;
    char err[512];
    if (nub_sandbox_create(&so, &sb, err, sizeof(err)) != 0) {
        fprintf(stderr, "sandbox: %s\n", err);
        return 1;
    }
    unsigned tenth = n >= 10 ? n / 10 : 1, done = 0;
    uint64_t t0 = now_ns(), i0 = insns(sb), tp = t0, ip = i0;
    uint8_t blob[512 + 8], hash[16];
    printf("N=%u, guest %llu MiB\n", n, (unsigned long long)(mem / MIB));
    for (unsigned k = 0; k < n; k++) {
        size_t len = 16 + next_rand() % (sizeof(blob) - 8 - 16 + 1);
        memcpy(blob, &k, sizeof k); /* distinct even if the random bytes repeat */
        for (size_t j = sizeof k; j < len; j += 8) {
            uint64_t v = next_rand();
            memcpy(blob + j, &v, 8);
        }
        int r = nub_call_put(sb, blob, len, NUB_CAP_BLOB, hash);
        if (r != 0) {
            fprintf(stderr, "put %u: %s\n", k, strerror(-r));
            break;
        }
        done++;
        if (done % tenth == 0 || done == n) {
            uint64_t t = now_ns(), i = insns(sb);
            unsigned span = done % tenth ? done % tenth : tenth;
            printf("  puts %6u: last %u: %8.3f ms/put %9.0f insns/put\n", done, span,
                   (t - tp) / 1e6 / span, (double)(i - ip) / span);
            tp = t;
            ip = i;
            if ((t - t0) / 1e9 > limit_s) {
                printf("  time limit %.0f s reached\n", limit_s);
                break;
            }
        }
    }
    uint64_t t = now_ns() - t0, i = insns(sb) - i0;
    printf("  total: %u puts in %.2f s: %.3f ms/put, %.0f insns/put\n", done, t / 1e9,
           done ? t / 1e6 / done : 0.0, done ? (double)i / done : 0.0);
    struct nub_call st = {.op = NUB_OP_STATS};
    if (nub_sandbox_call(sb, &st) == 0 && st.status == NUB_ST_OK)
        printf("  guest: %llu caps, heap used %llu KiB of %llu MiB\n",
               (unsigned long long)st.ret[NUB_STAT_CAPS],
               (unsigned long long)(st.ret[NUB_STAT_HEAP_USED] >> 10),
               (unsigned long long)(st.ret[NUB_STAT_HEAP_TOTAL] >> 20));
    nub_sandbox_destroy(sb);
    fflush(stdout);
    return done == n ? 0 : 2;
}

int main(int argc, char **argv)
{
    uint64_t mem = (argc > 1 ? strtoull(argv[1], NULL, 0) : 512) * MIB;
    double limit = argc > 2 ? atof(argv[2]) : 600;
    bool pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("%s\n", pvm ? "kvm-pvm (no hardware virtualization: guest instructions are emulated)"
                       : "hardware KVM");
    static const unsigned defaults[] = {1000, 5000, 20000};
    int rc = 0;
    if (argc > 3) {
        for (int a = 3; a < argc; a++)
            rc |= run(mem, (unsigned)strtoul(argv[a], NULL, 0), limit);
    } else {
        for (unsigned a = 0; a < 3; a++)
            rc |= run(mem, defaults[a], limit);
    }
    return rc;
}
