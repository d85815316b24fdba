/* Unit tests of the daemon's pure parts: the cap inode map (stable inodes
 * from hashes, prefix collisions, lookup counting, growth to many entries,
 * batched references and forgets, concurrent lookups and forgets), option
 * parsing and UTC timestamps. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../../fs/nubfs.h"
#include "../../fs/preflight.h"

static void hash_with_prefix(uint8_t h[16], uint64_t prefix, uint8_t tail)
{
    for (int i = 0; i < 8; i++)
        h[i] = (uint8_t)(prefix >> (56 - 8 * i));
    memset(h + 8, tail, 8);
}

static int setup(void **state)
{
    (void)state;
    nubfs_inodes_init();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nubfs_inodes_destroy();
    return 0;
}

static void test_inode_from_hash(void **state)
{
    (void)state;
    uint8_t h[16];
    hash_with_prefix(h, 0x0123456789abcdefull, 1);
    uint64_t ino, again;
    assert_int_equal(nubfs_ino_peek(h), 0x8123456789abcdefull);
    assert_int_equal(nubfs_ino_ref(h, &ino), 0);
    assert_int_equal(ino, 0x8123456789abcdefull); /* top bit set: never a fixed inode */
    assert_int_equal(nubfs_ino_ref(h, &again), 0);
    assert_int_equal(again, ino);
    uint8_t back[16];
    assert_int_equal(nubfs_ino_hash(ino, back), 0);
    assert_memory_equal(back, h, 16);
    assert_int_equal(nubfs_inodes_count(), 1);
    /* Two references: one forget keeps it, the second drops it. */
    nubfs_ino_forget(ino, 1);
    assert_int_equal(nubfs_ino_hash(ino, back), 0);
    nubfs_ino_forget(ino, 1);
    assert_int_equal(nubfs_ino_hash(ino, back), -ENOENT);
    assert_int_equal(nubfs_inodes_count(), 0);
    /* Fixed inodes are never in the map; forgetting them is harmless. */
    nubfs_ino_forget(NUBFS_INO_CAPS, 5);
    assert_int_equal(nubfs_ino_hash(NUBFS_INO_ROOT, back), -ENOENT);
}

static void test_inode_prefix_collision(void **state)
{
    (void)state;
    /* Same first 8 bytes, different hashes: distinct inodes, each stable,
     * each mapping back to its own hash. */
    uint8_t a[16], b[16], c[16];
    hash_with_prefix(a, 42, 0xaa);
    hash_with_prefix(b, 42, 0xbb);
    hash_with_prefix(c, 43, 0xcc); /* owns the inode b would probe next */
    uint64_t ia, ib, ic, x;
    assert_int_equal(nubfs_ino_ref(c, &ic), 0);
    assert_int_equal(nubfs_ino_ref(a, &ia), 0);
    assert_int_equal(nubfs_ino_ref(b, &ib), 0);
    assert_int_equal(ia, 42 | NUBFS_INO_CAP_BIT);
    assert_int_equal(ic, 43 | NUBFS_INO_CAP_BIT);
    assert_true(ib != ia && ib != ic);
    assert_int_equal(nubfs_ino_ref(b, &x), 0);
    assert_int_equal(x, ib);
    uint8_t back[16];
    assert_int_equal(nubfs_ino_hash(ib, back), 0);
    assert_memory_equal(back, b, 16);
    /* The first owner goes: b keeps its inode (the kernel still has it). */
    nubfs_ino_forget(ia, 1);
    assert_int_equal(nubfs_ino_ref(b, &x), 0);
    assert_int_equal(x, ib);
    /* Readdir's peek agrees with what lookup returns. */
    assert_int_equal(nubfs_ino_peek(b), ib);
}

static void test_inode_probe_exhausted(void **state)
{
    (void)state;
    /* 64 hashes sharing a prefix fill the probe path: the 65th is refused
     * (EIO), never aliased to another cap's inode. */
    uint8_t h[16];
    uint64_t ino;
    for (int i = 0; i < 64; i++) {
        hash_with_prefix(h, 1000, (uint8_t)i);
        assert_int_equal(nubfs_ino_ref(h, &ino), 0);
    }
    hash_with_prefix(h, 1000, 200);
    assert_int_equal(nubfs_ino_ref(h, &ino), -EIO);
}

/* A pseudo-random hash from i (splitmix64), as caps have. */
static void hash_of(uint8_t h[16], uint64_t i)
{
    for (int k = 0; k < 2; k++) {
        uint64_t z = (i * 2 + (uint64_t)k + 1) * 0x9e3779b97f4a7c15ull;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        memcpy(h + 8 * k, &z, 8);
    }
}

static void test_inode_many(void **state)
{
    (void)state;
    /* Far past the initial table: every entry found again, by hash and by
     * inode, after the table has grown several times; then all forgotten. */
    enum { N = 200000 };
    uint64_t *inos = malloc(N * sizeof(*inos));
    assert_non_null(inos);
    uint8_t h[16], back[16];
    for (uint64_t i = 0; i < N; i++) {
        hash_of(h, i);
        assert_int_equal(nubfs_ino_ref(h, &inos[i]), 0);
    }
    assert_int_equal(nubfs_inodes_count(), N);
    for (uint64_t i = 0; i < N; i++) {
        hash_of(h, i);
        assert_int_equal(nubfs_ino_peek(h), inos[i]);
        assert_int_equal(nubfs_ino_hash(inos[i], back), 0);
        assert_memory_equal(back, h, 16);
    }
    uint8_t(*all)[16];
    size_t n;
    assert_int_equal(nubfs_inodes_hashes(&all, &n), 0);
    assert_int_equal(n, N);
    free(all);
    for (uint64_t i = 0; i < N; i += 2)
        nubfs_ino_forget(inos[i], 1);
    assert_int_equal(nubfs_inodes_count(), N / 2);
    for (uint64_t i = 0; i < N; i++)
        assert_int_equal(nubfs_ino_hash(inos[i], back), i % 2 ? 0 : -ENOENT);
    for (uint64_t i = 1; i < N; i += 2)
        nubfs_ino_forget(inos[i], 5); /* more than held: dropped, no underflow */
    assert_int_equal(nubfs_inodes_count(), 0);
    nubfs_inodes_reserve(1 << 20); /* sizing an empty map is harmless */
    hash_of(h, 7);
    uint64_t ino;
    assert_int_equal(nubfs_ino_ref(h, &ino), 0);
    assert_int_equal(ino, inos[7]);
    free(inos);
}

static void test_inode_forget_many(void **state)
{
    (void)state;
    /* One FORGET_MULTI batch, longer than a lock chunk, mixing what the
     * kernel may send: the last references of some caps, part of another's,
     * the same inode twice, more than is held, zero, a fixed inode and an
     * inode the map never gave out. Only the caps with nothing left go. */
    enum { N = 1000 };
    uint64_t inos[N];
    uint8_t h[16], back[16];
    for (uint64_t i = 0; i < N; i++) {
        hash_of(h, i);
        for (uint64_t k = 0; k < 1 + i % 3; k++) /* i % 3 + 1 references */
            assert_int_equal(nubfs_ino_ref(h, &inos[i]), 0);
    }
    struct fuse_forget_data *f = calloc(2 * N + 4, sizeof(*f));
    assert_non_null(f);
    size_t n = 0;
    for (uint64_t i = 0; i < N; i++) {
        switch (i % 3) {
        case 0: f[n++] = (struct fuse_forget_data){inos[i], 1}; break;  /* its last */
        case 1: f[n++] = (struct fuse_forget_data){inos[i], 1}; break;  /* one of two */
        case 2: /* three, as two entries, the second more than is left */
            f[n++] = (struct fuse_forget_data){inos[i], 1};
            f[n++] = (struct fuse_forget_data){inos[i], 7};
            break;
        }
    }
    f[n++] = (struct fuse_forget_data){inos[1], 0};
    f[n++] = (struct fuse_forget_data){NUBFS_INO_CAPS, 3};
    f[n++] = (struct fuse_forget_data){NUBFS_INO_CAP_BIT | 12345, 1};
    f[n++] = (struct fuse_forget_data){inos[0], 1}; /* gone already: ignored */
    nubfs_ino_forget_many(f, n);
    for (uint64_t i = 0; i < N; i++) {
        hash_of(h, i);
        assert_int_equal(nubfs_ino_hash(inos[i], back), i % 3 == 1 ? 0 : -ENOENT);
    }
    assert_int_equal(nubfs_inodes_count(), (N + 1) / 3);
    /* The survivors still count one reference each, and come back with
     * the same inode; an empty batch changes nothing. */
    nubfs_ino_forget_many(f, 0);
    n = 0;
    for (uint64_t i = 1; i < N; i += 3)
        f[n++] = (struct fuse_forget_data){inos[i], 1};
    nubfs_ino_forget_many(f, n);
    assert_int_equal(nubfs_inodes_count(), 0);
    hash_of(h, 4);
    uint64_t ino;
    assert_int_equal(nubfs_ino_ref(h, &ino), 0);
    assert_int_equal(ino, inos[4]);
    free(f);
}

static void test_inode_ref_many(void **state)
{
    (void)state;
    /* One READDIRPLUS chunk: caps the kernel holds already (one reference
     * more, same inode), new ones (the inode lookup would give), the same
     * hash twice, and hashes whose probe path is full (0: no inode, and
     * no other cap's inode either). */
    enum { K = NUBFS_INO_REF_MANY_MAX };
    uint8_t hs[K][16], h[16], back[16];
    uint64_t inos[K], ino;
    for (int i = 0; i < 64; i++) { /* fill the probe path of prefix 77 */
        hash_with_prefix(h, 77, (uint8_t)i);
        assert_int_equal(nubfs_ino_ref(h, &ino), 0);
    }
    for (uint64_t i = 0; i < K; i++)
        hash_of(hs[i], i);
    for (uint64_t i = 0; i < K; i += 4) /* every fourth held already */
        assert_int_equal(nubfs_ino_ref(hs[i], &ino), 0);
    memcpy(hs[K - 1], hs[K - 2], 16);       /* twice in one chunk */
    hash_with_prefix(hs[5], 77, 200);       /* unnamable */
    hash_with_prefix(hs[9], 77, 201);       /* unnamable */
    assert_int_equal(nubfs_ino_ref_many((const uint8_t(*)[16])hs, K, inos), K - 2);
    assert_int_equal(inos[5], 0);
    assert_int_equal(inos[9], 0);
    assert_int_equal(inos[K - 1], inos[K - 2]);
    for (uint64_t i = 0; i < K; i++) {
        if (i == 5 || i == 9)
            continue;
        assert_int_equal(inos[i], nubfs_ino_peek(hs[i]));
        assert_int_equal(nubfs_ino_hash(inos[i], back), 0);
        assert_memory_equal(back, hs[i], 16);
    }
    /* 64 + the K - 3 distinct named hashes. */
    assert_int_equal(nubfs_inodes_count(), 64 + K - 3);
    /* References: one each, two where held before or named twice. */
    for (uint64_t i = 0; i < K; i++) {
        if (i == 5 || i == 9 || i == K - 1)
            continue;
        nubfs_ino_forget(inos[i], 1);
        bool twice = i % 4 == 0 || i == K - 2;
        assert_int_equal(nubfs_ino_hash(inos[i], back), twice ? 0 : -ENOENT);
        if (twice)
            nubfs_ino_forget(inos[i], 1);
        assert_int_equal(nubfs_ino_hash(inos[i], back), -ENOENT);
    }
    assert_int_equal(nubfs_inodes_count(), 64);
    /* Past the maximum: only the maximum is done. */
    uint8_t(*big)[16] = calloc(K + 10, 16);
    uint64_t *bi = calloc(K + 10, sizeof(*bi));
    assert_non_null(big);
    assert_non_null(bi);
    for (uint64_t i = 0; i < K + 10; i++)
        hash_of(big[i], 1000 + i);
    assert_int_equal(nubfs_ino_ref_many((const uint8_t(*)[16])big, K + 10, bi), K);
    assert_int_equal(nubfs_inodes_count(), 64 + K);
    assert_int_equal(nubfs_ino_ref_many((const uint8_t(*)[16])big, 0, bi), 0);
    free(big);
    free(bi);
}

/* Threads looking up and forgetting the same small set of caps: every
 * reference taken is given back, so the map ends empty, and an inode
 * never maps to another hash meanwhile. */
enum { RACE_CAPS = 64, RACE_ROUNDS = 20000 };
static uint64_t g_race_ino[RACE_CAPS];

static void *race(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int r = 0; r < RACE_ROUNDS; r++) {
        seed = seed * 1103515245u + 12345u;
        uint64_t i = (seed >> 8) % RACE_CAPS;
        uint8_t h[16], back[16];
        uint64_t ino;
        hash_of(h, i);
        if (nubfs_ino_ref(h, &ino) != 0 || ino != g_race_ino[i])
            return (void *)1;
        if (nubfs_ino_hash(ino, back) != 0 || memcmp(back, h, 16) != 0)
            return (void *)1;
        if (seed & 1) {
            nubfs_ino_forget(ino, 1);
        } else {
            struct fuse_forget_data f = {ino, 1};
            nubfs_ino_forget_many(&f, 1);
        }
    }
    return NULL;
}

static void test_inode_concurrent(void **state)
{
    (void)state;
    uint8_t h[16];
    for (uint64_t i = 0; i < RACE_CAPS; i++) {
        hash_of(h, i);
        g_race_ino[i] = nubfs_ino_peek(h);
    }
    pthread_t th[4];
    for (uintptr_t t = 0; t < 4; t++)
        assert_int_equal(pthread_create(&th[t], NULL, race, (void *)(t + 1)), 0);
    for (int t = 0; t < 4; t++) {
        void *ret;
        pthread_join(th[t], &ret);
        assert_null(ret);
    }
    assert_int_equal(nubfs_inodes_count(), 0);
}

static void test_parse_size(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(nubfs_parse_size("4096", &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(nubfs_parse_size("256M", &v), 0);
    assert_int_equal(v, 256ull << 20);
    assert_int_equal(nubfs_parse_size("1g", &v), 0);
    assert_int_equal(v, 1ull << 30);
    assert_int_equal(nubfs_parse_size("512KiB", &v), 0);
    assert_int_equal(v, 512ull << 10);
    assert_int_equal(nubfs_parse_size("2T", &v), 0);
    assert_int_equal(v, 2ull << 40);
    const char *bad[] = {"", "M", "-1", "12Q", "1.5G", "10 M", "1MB", " 5", "0x10"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(nubfs_parse_size(bad[i], &v), -EINVAL);
    assert_int_equal(nubfs_parse_size("99999999999999999999", &v), -ERANGE);
    assert_int_equal(nubfs_parse_size("17179869184G", &v), -ERANGE); /* 2^34 G = 2^64 */
}

static void test_options(void **state)
{
    (void)state;
    char *argv[] = {"nubfs", "src", "/mnt", "-f", "-o",
                    "allow_other,guest_mem=1G,preload=/srv/b,watchdog=250", NULL};
    struct fuse_args args = FUSE_ARGS_INIT(6, argv);
    struct nubfs_opts o = {0};
    assert_int_equal(nubfs_opts_parse(&args, &o), 0);
    assert_string_equal(o.source, "src");
    assert_string_equal(o.mountpoint, "/mnt");
    assert_int_equal(o.guest_mem, 1ull << 30);
    assert_string_equal(o.preload, "/srv/b");
    assert_int_equal(o.watchdog_ms, 250);
    /* What is left for libfuse: -f and allow_other, not ours. */
    int saw_f = 0, saw_allow = 0;
    for (int i = 1; i < args.argc; i++) {
        saw_f |= strcmp(args.argv[i], "-f") == 0;
        saw_allow |= strstr(args.argv[i], "allow_other") != NULL;
        assert_null(strstr(args.argv[i], "guest_mem"));
        assert_null(strstr(args.argv[i], "preload"));
    }
    assert_true(saw_f && saw_allow);
    nubfs_opts_free(&o);
    fuse_opt_free_args(&args);
}

/* The task scheduler's options: tasks=on|off, task_fuel=, task_cpu=. */
static void test_task_options(void **state)
{
    (void)state;
    char *argv[] = {"nubfs", "/mnt", "-o", "tasks=off,task_fuel=5000,task_cpu=20", NULL};
    struct fuse_args args = FUSE_ARGS_INIT(4, argv);
    struct nubfs_opts o = {0};
    assert_int_equal(nubfs_opts_parse(&args, &o), 0);
    assert_int_equal(o.tasks_off, 1);
    assert_int_equal(o.task_fuel, 5000);
    assert_int_equal(o.task_cpu, 20);
    for (int i = 1; i < args.argc; i++)
        assert_null(strstr(args.argv[i], "task"));
    nubfs_opts_free(&o);
    fuse_opt_free_args(&args);

    char *on[] = {"nubfs", "/mnt", "-o", "tasks=on", NULL};
    struct fuse_args a2 = FUSE_ARGS_INIT(4, on);
    assert_int_equal(nubfs_opts_parse(&a2, &o), 0);
    assert_int_equal(o.tasks_off, 0);
    assert_int_equal(o.task_fuel, 0); /* the default */
    nubfs_opts_free(&o);
    fuse_opt_free_args(&a2);

    const char *bad[] = {"tasks=yes", "task_fuel=99", "task_cpu=0", "task_cpu=101"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *b[] = {"nubfs", "/mnt", "-o", (char *)bad[i], NULL};
        struct fuse_args a3 = FUSE_ARGS_INIT(4, b);
        assert_int_equal(nubfs_opts_parse(&a3, &o), -1);
        nubfs_opts_free(&o);
        fuse_opt_free_args(&a3);
    }
}

/* The hint for a /dev/kvm we may not open: join the kvm group, or make
 * one first where the system has none. */
static void test_kvm_hint(void **state)
{
    (void)state;
    const char *with = nubfs_kvm_denied_fix(true), *without = nubfs_kvm_denied_fix(false);
    assert_non_null(strstr(with, "usermod -aG kvm"));
    assert_null(strstr(with, "groupadd"));
    assert_non_null(strstr(without, "no kvm group"));
    assert_non_null(strstr(without, "groupadd -r kvm"));
    assert_non_null(strstr(without, "chgrp kvm /dev/kvm"));
    assert_non_null(strstr(without, "usermod -aG kvm"));
    assert_null(strchr(without, '\n'));
}

/* nubfs_utc_time(secs) says what gmtime_r and strftime say. */
static void expect_utc(int64_t secs)
{
    char got[NUBFS_UTC_TIME_MAX], want[64];
    struct tm tm;
    time_t t = (time_t)secs;
    assert_non_null(gmtime_r(&t, &tm));
    strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S", &tm);
    nubfs_utc_time(secs, got);
    if (strcmp(got, want) != 0)
        fail_msg("%lld s: %s, want %s", (long long)secs, got, want);
}

/* For every day from 1900 to 2499 (leap days, century years, 2000) at a
 * second that moves through the day, and at the edges of 1970. */
static void test_utc_time(void **state)
{
    (void)state;
    static const int64_t edges[] = {0, -1, 59, 86399, 86400, 951782400 /* 2000-02-29 */,
                                    4107542400 /* 2100-02-28 */, 4107628800, -2208988800};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        expect_utc(edges[i]);
    for (int64_t day = -25567; day < 193300; day++) /* 1900-01-01 .. 2499 */
        expect_utc(day * 86400 + (day * 7919) % 86400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_inode_from_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inode_prefix_collision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inode_probe_exhausted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inode_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inode_forget_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inode_ref_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inode_concurrent, setup, teardown),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_task_options),
        cmocka_unit_test(test_kvm_hint),
        cmocka_unit_test(test_utc_time),
    };
    return cmocka_run_group_tests_name("fs_units", tests, NULL, NULL);
}
