/* Sandbox tests in a real KVM VM: boot, the call protocol, blob publishing,
 * and recovery from every kind of guest misbehaviour. Two guests: the REAL
 * embedded kernel (guest/), and the tiny test kernel (tests/unit/fixtures)
 * which misbehaves in ways the real one never should (stale seq, bad
 * scrub ranges, endless scrub lists, hlt, unknown ports).
 * Exits 77 (skipped) when /dev/kvm cannot be opened. Prints boot and call
 * timings for the reports. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <xxhash.h>

#include <cmocka.h>

#include "clock.h"
#include "elf_load.h"
#include "errors.h"
#include "guest_calls.h"
#include "guest_image.h"
#include "reader.h"
#include "sandbox.h"

/* ---- log capture -------------------------------------------------------- */

#define LOG_KEEP 64
struct logcap {
    char lines[LOG_KEEP][600];
    int n;
};

static void capture(void *ctx, const char *line)
{
    struct logcap *c = ctx;
    if (getenv("NUB_TEST_VERBOSE"))
        fprintf(stderr, "  log: %s\n", line);
    snprintf(c->lines[c->n % LOG_KEEP], sizeof(c->lines[0]), "%s", line);
    c->n++;
}

static bool logged(const struct logcap *c, const char *needle)
{
    for (int i = 0; i < c->n && i < LOG_KEEP; i++)
        if (strstr(c->lines[i], needle) != NULL)
            return true;
    return false;
}

/* ---- helpers ------------------------------------------------------------ */

static void *tiny;
static size_t tiny_size;
static bool have_real;

static struct nub_sandbox *boot_with(const void *kernel, size_t size, bool test_ops,
                                     uint32_t watchdog_ms, struct logcap *log)
{
    struct nub_sandbox_opts o = {.kernel = kernel,
                                 .kernel_size = size,
                                 .mem_size = 64ull << 20,
                                 .watchdog_ms = watchdog_ms,
                                 .test_ops = test_ops,
                                 .log = capture,
                                 .log_ctx = log};
    struct nub_sandbox *sb = NULL;
    char err[512] = "";
    int r = nub_sandbox_create(&o, &sb, err, sizeof(err));
    if (r != 0)
        fail_msg("sandbox_create: %d: %s", r, err);
    return sb;
}

static struct nub_sandbox *boot_real(bool test_ops, uint32_t watchdog_ms, struct logcap *log)
{
    return boot_with(NULL, 0, test_ops, watchdog_ms, log);
}

static int call0(struct nub_sandbox *sb, uint32_t op, uint64_t a0, uint64_t a1,
                 struct nub_call *out)
{
    struct nub_call c = {.op = op, .args = {a0, a1}};
    int r = nub_sandbox_call(sb, &c);
    if (out != NULL)
        *out = c;
    return r;
}

static void expect_ok(struct nub_sandbox *sb, uint32_t op, uint64_t a0, uint64_t a1,
                      struct nub_call *out)
{
    struct nub_call c;
    int r = call0(sb, op, a0, a1, &c);
    if (r != 0 || c.status != NUB_ST_OK)
        fail_msg("op 0x%x: r=%d status=%u msg=%s reason=%s", op, r, c.status, c.msg,
                 nub_sandbox_poison_reason(sb));
    if (out != NULL)
        *out = c;
}

static void read_boot_info(struct nub_sandbox *sb, struct nub_boot_info *bi)
{
    assert_int_equal(nub_gm_read(nub_sandbox_mem(sb), nub_sandbox_boot_info_gpa(sb), bi,
                                 sizeof(*bi)),
                     0);
}

static uint64_t stat_of(struct nub_sandbox *sb, int idx)
{
    struct nub_call c;
    expect_ok(sb, NUB_OP_STATS, 0, 0, &c);
    return c.ret[idx];
}

/* Misbehaviour: the call fails with -EIO, the reason names what happened,
 * the next call is refused, and a reboot brings back a working guest. */
static void expect_poison_and_recover(struct nub_sandbox *sb, struct logcap *log, uint32_t op,
                                      const char *const *any_of, bool real)
{
    struct nub_sandbox_counters before, after;
    nub_sandbox_counters(sb, &before);
    struct nub_call c;
    uint64_t t0 = nub_now_ns();
    int r = call0(sb, op, 0, 0, &c);
    uint64_t dt = nub_now_ns() - t0;
    assert_int_equal(r, -EIO);
    assert_true(nub_sandbox_poisoned(sb));
    const char *why = nub_sandbox_poison_reason(sb);
    print_message("    op 0x%x -> poisoned after %.1f ms: %s\n", op, dt / 1e6, why);
    bool named = false;
    for (int i = 0; any_of[i] != NULL; i++)
        named |= strstr(why, any_of[i]) != NULL;
    if (!named)
        fail_msg("reason \"%s\" names none of the expected exits (first: %s)", why, any_of[0]);
    char opstr[16];
    snprintf(opstr, sizeof(opstr), "op 0x%x", op);
    assert_non_null(strstr(why, opstr));
    assert_true(logged(log, "poisoned"));
    nub_sandbox_counters(sb, &after);
    assert_int_equal(after.poisoned, before.poisoned + 1);

    assert_int_equal(call0(sb, NUB_OP_STATS, 0, 0, NULL), -ESHUTDOWN);
    uint8_t h[16];
    assert_int_equal(nub_call_put(sb, "x", 1, NUB_CAP_BLOB, h), -ESHUTDOWN);

    char err[512] = "";
    r = nub_sandbox_reboot(sb, err, sizeof(err));
    if (r != 0)
        fail_msg("reboot: %d %s", r, err);
    assert_false(nub_sandbox_poisoned(sb));
    assert_string_equal(nub_sandbox_poison_reason(sb), "");
    nub_sandbox_counters(sb, &after);
    assert_int_equal(after.reboots, before.reboots + 1);
    struct nub_call ok;
    expect_ok(sb, real ? NUB_OP_STATS : NUB_OP_NOP, 0, 0, &ok);
    if (real) {
        assert_int_equal(ok.ret[NUB_STAT_CAPS], 0); /* a fresh guest */
        assert_int_equal(nub_call_put(sb, "back", 4, NUB_CAP_BLOB, h), 0);
    }
}

/* ---- the tiny test kernel ------------------------------------------------ */

static void test_tiny_boot_and_calls(void **state)
{
    (void)state;
    struct logcap log = {.n = 0};
    struct nub_sandbox *sb = boot_with(tiny, tiny_size, false, 2000, &log);
    const struct nub_boot_times *t = nub_sandbox_boot_times(sb);
    assert_true(t->ready_ns > 0 && t->init_ns > 0 && t->vm_create_ns <= t->ready_ns);
    struct nub_boot_info bi;
    read_boot_info(sb, &bi);
    assert_int_equal(bi.mem_size, 64ull << 20);
    assert_int_equal(bi.flags, NUB_BOOT_F_INIT);
    assert_int_equal(bi.directory_gpa, 0x400000);
    struct nub_sandbox_counters c0, c1;
    nub_sandbox_counters(sb, &c0);
    expect_ok(sb, NUB_OP_NOP, 1, 2, NULL);
    nub_sandbox_counters(sb, &c1);
    assert_int_equal(c1.calls, c0.calls + 1);
    assert_true(c1.exits > c0.exits);

    /* Log lines reach the callback, sanitized. */
    expect_ok(sb, 0x1f0, 0, 0, NULL);
    assert_true(logged(&log, "guest: hello from tiny"));
    assert_true(logged(&log, "guest: ?[31mred"));

    /* The host zeroes heap ranges the guest freed. */
    const struct nub_guest_mem *gm = nub_sandbox_mem(sb);
    uint8_t pat[0x3000];
    memset(pat, 0x5a, sizeof(pat));
    assert_int_equal(nub_gm_write(gm, 0x500000 - 0x100, pat, sizeof(pat)), 0);
    expect_ok(sb, 0x1f1, 0x500000, 0x2000, NULL);
    uint8_t back[0x3000];
    assert_int_equal(nub_gm_read(gm, 0x500000 - 0x100, back, sizeof(back)), 0);
    for (size_t i = 0; i < sizeof(back); i++)
        assert_int_equal(back[i], i < 0x100 || i >= 0x2100 ? 0x5a : 0);

    /* scrub_more: the host drains with one NOP. */
    nub_sandbox_counters(sb, &c0);
    expect_ok(sb, 0x1f2, 0, 0, NULL);
    nub_sandbox_counters(sb, &c1);
    assert_int_equal(c1.calls, c0.calls + 2);
    nub_sandbox_destroy(sb);
}

static void test_tiny_misbehaviour(void **state)
{
    (void)state;
    struct logcap log = {.n = 0};
    struct nub_sandbox *sb = boot_with(tiny, tiny_size, false, 300, &log);
    static const char *const triple[] = {"KVM_EXIT_SHUTDOWN", NULL};
    static const char *const mmio[] = {"KVM_EXIT_MMIO", "0x40000000", NULL};
    static const char *const sse[] = {"KVM_EXIT_INTERNAL_ERROR", "KVM_EXIT_SHUTDOWN", NULL};
    static const char *const hang[] = {"watchdog", NULL};
    static const char *const panic[] = {"guest panic (ABORT port): tiny kernel panic", NULL};
    static const char *const scrub_bad[] = {"outside the heap", NULL};
    static const char *const forever[] = {"not drained", NULL};
    static const char *const stale[] = {"DONE for call", NULL};
    static const char *const hlt[] = {"KVM_EXIT_HLT", NULL};
    static const char *const port[] = {"port 0x1234", NULL};
    expect_poison_and_recover(sb, &log, 0x100, triple, false);
    expect_poison_and_recover(sb, &log, 0x101, mmio, false);
    expect_poison_and_recover(sb, &log, 0x102, sse, false);
    expect_poison_and_recover(sb, &log, 0x103, hang, false);
    expect_poison_and_recover(sb, &log, 0x104, panic, false);
    expect_poison_and_recover(sb, &log, 0x1f3, forever, false);
    expect_poison_and_recover(sb, &log, 0x1f4, stale, false);
    expect_poison_and_recover(sb, &log, 0x1f5, hlt, false);
    expect_poison_and_recover(sb, &log, 0x1f6, port, false);
    /* A scrub range over the kernel image is refused. */
    struct nub_call c = {.op = 0x1f1, .args = {0x200000, 0x1000}};
    assert_int_equal(nub_sandbox_call(sb, &c), -EIO);
    assert_non_null(strstr(nub_sandbox_poison_reason(sb), scrub_bad[0]));
    nub_sandbox_destroy(sb);
}

/* Read-only cap slots (docs/cap-store.md): the guest reads a slot in
 * the cap window, a store to it is KVM_EXIT_MMIO (poisoned), the slot
 * survives the reboot, and an unmapped slot is gone from guest memory. */
static void test_tiny_readonly_slots(void **state)
{
    (void)state;
    struct logcap log = {.n = 0};
    struct nub_sandbox *sb = boot_with(tiny, tiny_size, false, 2000, &log);
    int fd = memfd_create("slot", MFD_CLOEXEC);
    assert_true(fd >= 0);
    uint64_t words[512];
    for (int i = 0; i < 512; i++)
        words[i] = 0xcafe0000ull + (uint64_t)i;
    assert_int_equal(pwrite(fd, words, sizeof(words), 0), (ssize_t)sizeof(words));
    const void *host = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(host != MAP_FAILED);
    const nub_gpa at = NUB_CAP_WINDOW_BASE + 0x10000;
    nub_sandbox_lock(sb);
    /* Outside the window, unaligned, overlapping: refused. */
    assert_int_equal(nub_sandbox_map_ro(sb, 0x800000, 4096, host, fd, 0), -EINVAL);
    assert_int_equal(nub_sandbox_map_ro(sb, at + 8, 4096, host, fd, 0), -EINVAL);
    assert_int_equal(nub_sandbox_map_ro(sb, at, 4096, host, fd, 0), 0);
    assert_int_equal(nub_sandbox_map_ro(sb, at, 4096, host, fd, 0), -EINVAL);
    nub_sandbox_unlock(sb);

    const struct nub_guest_mem *gm = nub_sandbox_mem(sb);
    uint64_t v = 0;
    assert_int_equal(nub_gm_read(gm, at + 8 * 7, &v, 8), 0);
    assert_int_equal(v, 0xcafe0007ull);
    assert_int_equal(nub_gm_write(gm, at, &v, 8), -EFAULT); /* the host does not write caps */
    int sfd;
    off_t soff;
    assert_int_equal(nub_gm_fd_range(gm, at + 64, 64, &sfd, &soff), 0);
    assert_int_equal(sfd, fd);
    assert_int_equal(soff, 64);

    struct nub_call c = {.op = 0x1f7, .args = {at + 8 * 3}};
    assert_int_equal(nub_sandbox_call(sb, &c), 0);
    assert_int_equal(c.ret[0], 0xcafe0003ull);

    static const char *const mmio[] = {"KVM_EXIT_MMIO", NULL};
    struct nub_call w = {.op = 0x1f8, .args = {at + 16, 7}};
    assert_int_equal(nub_sandbox_call(sb, &w), -EIO);
    assert_non_null(strstr(nub_sandbox_poison_reason(sb), mmio[0]));
    char err[256];
    assert_int_equal(nub_sandbox_reboot(sb, err, sizeof(err)), 0);
    struct nub_call c2 = {.op = 0x1f7, .args = {at + 16}};
    assert_int_equal(nub_sandbox_call(sb, &c2), 0);
    assert_int_equal(c2.ret[0], 0xcafe0002ull); /* the slot came back, unchanged */

    /* Unmapped: gone from guest memory and from the guest (MMIO). */
    assert_int_equal(nub_sandbox_unmap(sb, at, NULL, NULL), 0);
    assert_false(nub_gm_check_range(gm, at, 8));
    struct nub_call c3 = {.op = 0x1f7, .args = {at}};
    assert_int_equal(nub_sandbox_call(sb, &c3), -EIO);
    munmap((void *)host, 4096);
    close(fd);
    nub_sandbox_destroy(sb);
}

/* The guest's CPUID (build_cpuid in kvm_vm.c), as the guest's own CPUID
 * instruction reads it, before and after a reboot: the host's vendor and
 * signature, long mode and the address widths, and nothing of leaf 7 or
 * the other extended features. Not leaf 1's feature bits: kvm-pvm fills
 * those (and leaf 0xd) in from the host whatever the VMM sets. */
static void guest_cpuid(struct nub_sandbox *sb, uint32_t leaf, uint64_t r[4])
{
    struct nub_call c = {.op = 0x1f9, .args = {leaf, 0}};
    assert_int_equal(nub_sandbox_call(sb, &c), 0);
    memcpy(r, c.ret, 4 * sizeof(uint64_t));
}

static void expect_minimal_cpuid(struct nub_sandbox *sb)
{
    unsigned a, b, c, d;
    uint64_t r[4];
    guest_cpuid(sb, 0, r);
    __cpuid(0, a, b, c, d);
    assert_int_equal(r[0], 1); /* the highest basic leaf */
    assert_int_equal(r[1], b); /* the host's vendor */
    assert_int_equal(r[2], c);
    assert_int_equal(r[3], d);
    guest_cpuid(sb, 1, r);
    __cpuid(1, a, b, c, d);
    assert_int_equal(r[0], a); /* the host's signature */
    assert_int_equal(r[1], 0); /* no APIC id, no CLFLUSH size */
    guest_cpuid(sb, 7, r);
    assert_int_equal(r[1] | r[2] | r[3], 0); /* no SMEP, SMAP, AVX2, ... */
    guest_cpuid(sb, 0x80000000u, r);
    assert_int_equal(r[0], 0x80000008u);
    guest_cpuid(sb, 0x80000001u, r);
    assert_int_equal(r[2], 0);
    assert_int_equal(r[3], 1u << 29); /* long mode alone: no NX, SYSCALL, 1 GiB pages */
    guest_cpuid(sb, 0x80000008u, r);
    assert_true((r[0] & 0xff) >= 38); /* the cap window's top */
    assert_int_equal(r[1] | r[2] | r[3], 0);
    guest_cpuid(sb, 0x8000001fu, r); /* e.g. AMD's memory encryption: absent */
    assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);
}

static void test_tiny_minimal_cpuid(void **state)
{
    (void)state;
    struct logcap log = {.n = 0};
    struct nub_sandbox *sb = boot_with(tiny, tiny_size, false, 2000, &log);
    expect_minimal_cpuid(sb);
    char err[256];
    assert_int_equal(nub_sandbox_reboot(sb, err, sizeof(err)), 0);
    expect_minimal_cpuid(sb);
    nub_sandbox_destroy(sb);
}

/* Many slots: the guest_mem set and KVM take thousands, and an unmap
 * queued while a call sequence runs happens when it ends. */
static void set_flag(void *arg)
{
    *(int *)arg = 1;
}

static void test_tiny_many_slots(void **state)
{
    (void)state;
    struct logcap log = {.n = 0};
    struct nub_sandbox *sb = boot_with(tiny, tiny_size, false, 2000, &log);
    enum { N = 3000 };
    int fd = memfd_create("slots", MFD_CLOEXEC);
    assert_int_equal(ftruncate(fd, (off_t)N * 4096), 0);
    uint64_t *host = mmap(NULL, (size_t)N * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(host != MAP_FAILED);
    for (int i = 0; i < N; i++)
        host[(size_t)i * 512] = 1000u + (uint64_t)i;
    uint32_t free0 = nub_sandbox_slots_free(sb);
    nub_sandbox_seq_begin(sb);
    /* Every other page, in reverse: the set sorts them; holes between. */
    for (int i = N - 1; i >= 0; i--)
        assert_int_equal(nub_sandbox_map_ro(sb, NUB_CAP_WINDOW_BASE + (uint64_t)i * 8192,
                                            4096, host + (size_t)i * 512, fd,
                                            (off_t)i * 4096),
                         0);
    nub_sandbox_seq_end(sb);
    assert_int_equal(nub_sandbox_slots_free(sb), free0 - N);
    const struct nub_guest_mem *gm = nub_sandbox_mem(sb);
    assert_int_equal(nub_gm_num_regions(gm), 1 + N);
    for (int i = 0; i < N; i += 97) {
        struct nub_call c = {.op = 0x1f7, .args = {NUB_CAP_WINDOW_BASE + (uint64_t)i * 8192}};
        assert_int_equal(nub_sandbox_call(sb, &c), 0);
        assert_int_equal(c.ret[0], 1000u + (uint64_t)i);
    }
    assert_false(nub_gm_check_range(gm, NUB_CAP_WINDOW_BASE, 8192)); /* a hole */

    int done = 0;
    nub_sandbox_seq_begin(sb);
    assert_int_equal(nub_sandbox_unmap(sb, NUB_CAP_WINDOW_BASE + 8192 * 5, set_flag, &done), 0);
    assert_int_equal(done, 0); /* deferred: this thread holds the sequence */
    nub_sandbox_seq_end(sb);
    assert_int_equal(done, 1);
    assert_int_equal(nub_gm_num_regions(gm), N);
    nub_sandbox_destroy(sb);
    munmap(host, (size_t)N * 4096);
    close(fd);
}

/* ---- the real guest -------------------------------------------------------- */

#define SKIP_WITHOUT_REAL()                                                                 \
    do {                                                                                     \
        if (!have_real) {                                                                    \
            print_message("no embedded guest kernel in this build\n");                       \
            skip();                                                                          \
        }                                                                                    \
    } while (0)

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_real_boot(void **state)
{
    (void)state;
    SKIP_WITHOUT_REAL();
    enum { N = 5 };
    uint64_t create[N], ready[N], init[N], insns = 0;
    for (int i = 0; i < N; i++) {
        struct logcap log = {.n = 0};
        struct nub_sandbox *sb = boot_real(false, 0, &log);
        const struct nub_boot_times *t = nub_sandbox_boot_times(sb);
        create[i] = t->vm_create_ns;
        ready[i] = t->ready_ns;
        init[i] = t->init_ns;
        struct nub_sandbox_counters c;
        nub_sandbox_counters(sb, &c);
        insns = c.emulated_insns;
        struct nub_boot_info bi;
        read_boot_info(sb, &bi);
        assert_int_equal(bi.magic, NUB_BOOT_MAGIC);
        assert_int_equal(bi.abi_version, NUB_ABI_VERSION);
        assert_int_equal(bi.mem_size, 64ull << 20);
        assert_int_equal(bi.flags, NUB_BOOT_F_INIT);
        assert_true(bi.directory_gpa >= NUB_KERNEL_BASE && bi.directory_gpa < bi.mem_size);
        assert_true(bi.heap_start % NUB_PAGE_SIZE == 0 && bi.heap_start < bi.mem_size);
        assert_true(bi.mount_table_gpa != 0);
        static uint64_t last_seed;
        assert_true(bi.hasher_seed != last_seed); /* fresh per boot */
        last_seed = bi.hasher_seed;
        struct nub_reader rd;
        assert_int_equal(nub_reader_open(&rd, nub_sandbox_mem(sb), nub_sandbox_boot_info_gpa(sb)),
                         NUB_READER_OK);
        assert_int_equal(nub_reader_len(&rd), 0);
        nub_sandbox_destroy(sb);
    }
    qsort(create, N, sizeof(uint64_t), cmp_u64);
    qsort(ready, N, sizeof(uint64_t), cmp_u64);
    qsort(init, N, sizeof(uint64_t), cmp_u64);
    print_message("    boot of the real guest, median of %d (64 MiB): VM setup %.3f ms, "
                  "READY (INIT included) %.3f ms, host checks after it %.3f ms\n",
                  N, create[N / 2] / 1e6, ready[N / 2] / 1e6, init[N / 2] / 1e6);
    print_message("    guest instructions emulated by KVM for boot + INIT: %llu "
                  "(KVM vCPU stat insn_emulation; 0 = not available)\n",
                  (unsigned long long)insns);
}

static void test_real_calls(void **state)
{
    (void)state;
    SKIP_WITHOUT_REAL();
    struct logcap log = {.n = 0};
    struct nub_sandbox *sb = boot_real(false, 0, &log);
    struct nub_boot_info bi;
    read_boot_info(sb, &bi);
    const struct nub_guest_mem *gm = nub_sandbox_mem(sb);

    struct nub_call st;
    expect_ok(sb, NUB_OP_STATS, 0, 0, &st);
    assert_int_equal(st.ret[NUB_STAT_CAPS], 0);
    assert_true(st.ret[NUB_STAT_HEAP_TOTAL] > 0);
    uint64_t used0 = st.ret[NUB_STAT_HEAP_USED];

    /* ALLOC returns zeroed, aligned heap memory; FREE gives it back. */
    struct nub_call a;
    expect_ok(sb, NUB_OP_ALLOC, 10000, 4096, &a);
    nub_gpa gpa = a.ret[0];
    assert_true(gpa % 4096 == 0 && gpa >= bi.heap_start && gpa + 10000 <= bi.mem_size);
    uint8_t buf[10000];
    assert_int_equal(nub_gm_read(gm, gpa, buf, sizeof(buf)), 0);
    for (size_t i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0);
    assert_true(stat_of(sb, NUB_STAT_HEAP_USED) >= used0 + 10000);
    memset(buf, 0xee, sizeof(buf));
    assert_int_equal(nub_gm_write(gm, gpa, buf, sizeof(buf)), 0);
    expect_ok(sb, NUB_OP_FREE, gpa, 0, NULL);
    assert_int_equal(stat_of(sb, NUB_STAT_HEAP_USED), used0);
    /* Freed memory was scrubbed by the host. */
    assert_int_equal(nub_gm_read(gm, gpa, buf, sizeof(buf)), 0);
    for (size_t i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0);

    /* PUT by hand: ALLOC, copy, PUT; then RELEASE. */
    const char blob[] = "hello, cap directory";
    XXH128_canonical_t h;
    XXH128_canonicalFromHash(&h, XXH3_128bits(blob, sizeof(blob)));
    expect_ok(sb, NUB_OP_ALLOC, sizeof(blob), 4096, &a);
    assert_int_equal(nub_gm_write(gm, a.ret[0], blob, sizeof(blob)), 0);
    struct nub_call p = {.op = NUB_OP_PUT, .args = {a.ret[0], sizeof(blob), NUB_CAP_BLOB}};
    memcpy(p.hash, h.digest, 16);
    assert_int_equal(nub_sandbox_call(sb, &p), 0);
    assert_int_equal(p.status, NUB_ST_OK);
    assert_int_equal(p.ret[0], 1);
    assert_int_equal(p.ret[1], 0);
    assert_int_equal(stat_of(sb, NUB_STAT_CAPS), 1);
    assert_int_equal(stat_of(sb, NUB_STAT_CAP_BYTES), sizeof(blob));
    /* The same blob again through the sandbox API: one more reference. */
    uint8_t hash[16];
    assert_int_equal(nub_call_put(sb, blob, sizeof(blob), NUB_CAP_BLOB, hash), 0);
    assert_memory_equal(hash, h.digest, 16);
    assert_int_equal(stat_of(sb, NUB_STAT_CAPS), 1);
    struct nub_call rel = {.op = NUB_OP_RELEASE};
    memcpy(rel.hash, h.digest, 16);
    assert_int_equal(nub_sandbox_call(sb, &rel), 0);
    assert_int_equal(rel.status, NUB_ST_OK);
    assert_int_equal(rel.ret[0], 1);
    assert_int_equal(nub_sandbox_call(sb, &rel), 0);
    assert_int_equal(rel.ret[0], 0);
    assert_int_equal(stat_of(sb, NUB_STAT_CAPS), 0);
    assert_int_equal(nub_sandbox_call(sb, &rel), 0);
    assert_int_equal(nub_errno_guest(rel.status), -ENOENT);
    assert_int_equal(stat_of(sb, NUB_STAT_HEAP_USED), used0);

    /* Bad arguments are statuses, not crashes. */
    struct nub_call bad;
    assert_int_equal(call0(sb, NUB_OP_FREE, 12345, 0, &bad), 0);
    assert_int_not_equal(bad.status, NUB_ST_OK);
    assert_int_equal(call0(sb, NUB_OP_ALLOC, 1ull << 40, 4096, &bad), 0);
    assert_int_equal(nub_errno_guest(bad.status), -ENOSPC);
    assert_int_equal(call0(sb, 0x7777, 0, 0, &bad), 0);
    assert_int_equal(bad.status, NUB_ST_INVAL);

    /* Test ops are refused unless enabled, and do no harm. */
    static const uint32_t test_ops[] = {NUB_OP_TEST_TRIPLE_FAULT, NUB_OP_TEST_MMIO,
                                        NUB_OP_TEST_SSE, NUB_OP_TEST_HANG,
                                        NUB_OP_TEST_PANIC, NUB_OP_TEST_CORRUPT};
    for (size_t i = 0; i < sizeof(test_ops) / sizeof(test_ops[0]); i++) {
        assert_int_equal(call0(sb, test_ops[i], 0, 0, &bad), 0);
        assert_int_equal(bad.status, NUB_ST_INVAL);
    }
    assert_false(nub_sandbox_poisoned(sb));
    nub_sandbox_destroy(sb);
}

static void test_real_put_many(void **state)
{
    (void)state;
    SKIP_WITHOUT_REAL();
    struct logcap log = {.n = 0};
    struct nub_sandbox *sb = boot_real(false, 0, &log);
    enum { N = 200 };
    static uint8_t *blobs[N];
    static size_t lens[N];
    static uint8_t hashes[N][16];
    /* The bare call round trip. */
    struct nub_sandbox_counters c0, c1;
    nub_sandbox_counters(sb, &c0);
    uint64_t t0 = nub_now_ns();
    for (int i = 0; i < 50; i++)
        expect_ok(sb, NUB_OP_NOP, 0, 0, NULL);
    uint64_t dt = nub_now_ns() - t0;
    nub_sandbox_counters(sb, &c1);
    print_message("    NOP call: %.1f us, %llu emulated guest instructions per call\n",
                  dt / 1e3 / 50, (unsigned long long)(c1.emulated_insns - c0.emulated_insns) / 50);
    nub_sandbox_counters(sb, &c0);
    srand(12345);
    uint64_t total_ns = 0, bytes = 0;
    for (int i = 0; i < N; i++) {
        lens[i] = i == 0 ? 0 : (size_t)(rand() % (i % 10 == 0 ? 300000 : 5000));
        blobs[i] = malloc(lens[i] ? lens[i] : 1);
        for (size_t j = 0; j < lens[i]; j++)
            blobs[i][j] = (uint8_t)rand();
        uint64_t t0 = nub_now_ns();
        int r = nub_call_put(sb, blobs[i], lens[i], NUB_CAP_BLOB, hashes[i]);
        total_ns += nub_now_ns() - t0;
        bytes += lens[i];
        if (r != 0)
            fail_msg("put %d (%zu bytes): %d %s", i, lens[i], r, nub_sandbox_poison_reason(sb));
    }
    nub_sandbox_counters(sb, &c1);
    print_message("    %d PUTs (%llu bytes total): %.1f us per PUT (hash + lookup + ALLOC + copy "
                  "+ PUT), %llu emulated guest instructions per PUT, %.1f calls per PUT\n",
                  N, (unsigned long long)bytes, total_ns / 1e3 / N,
                  (unsigned long long)(c1.emulated_insns - c0.emulated_insns) / N,
                  (double)(c1.calls - c0.calls) / N);
    struct nub_reader rd;
    nub_sandbox_rdlock(sb);
    assert_int_equal(nub_reader_open(&rd, nub_sandbox_mem(sb), nub_sandbox_boot_info_gpa(sb)),
                     NUB_READER_OK);
    assert_int_equal(nub_reader_len(&rd), N);
    const struct nub_guest_mem *gm = nub_sandbox_mem(sb);
    for (int i = 0; i < N; i++) {
        struct nub_cap cap;
        assert_int_equal(nub_reader_get(&rd, hashes[i], &cap), 0);
        assert_int_equal(cap.len, lens[i]);
        assert_int_equal(cap.refcount, 1);
        uint8_t *back = malloc(lens[i] ? lens[i] : 1);
        assert_int_equal(nub_gm_read(gm, cap.data_gpa, back, lens[i]), 0);
        assert_memory_equal(back, blobs[i], lens[i]);
        free(back);
    }
    nub_sandbox_rdunlock(sb);

    /* Same hash, different bytes: refused, never merged. Simulated by
     * changing the stored copy behind the guest's back. */
    struct nub_cap cap;
    assert_int_equal(nub_reader_get(&rd, hashes[5], &cap), 0);
    assert_true(cap.len > 0);
    uint8_t flip = blobs[5][0] ^ 0xff;
    assert_int_equal(nub_gm_write(gm, cap.data_gpa, &flip, 1), 0);
    uint8_t h[16];
    assert_int_equal(nub_call_put(sb, blobs[5], lens[5], NUB_CAP_BLOB, h), -EEXIST);
    assert_int_equal(nub_reader_get(&rd, hashes[5], &cap), 0);
    assert_int_equal(cap.refcount, 1);
    /* Equal bytes again: a second reference. */
    assert_int_equal(nub_call_put(sb, blobs[7], lens[7], NUB_CAP_BLOB, h), 0);
    assert_int_equal(nub_reader_get(&rd, hashes[7], &cap), 0);
    assert_int_equal(cap.refcount, 2);
    for (int i = 0; i < N; i++)
        free(blobs[i]);
    nub_sandbox_destroy(sb);
}

static void test_real_misbehaviour(void **state)
{
    (void)state;
    SKIP_WITHOUT_REAL();
    struct logcap log = {.n = 0};
    struct nub_sandbox *sb = boot_real(true, 500, &log);
    struct nub_boot_info bi;
    read_boot_info(sb, &bi);
    assert_int_equal(bi.flags, NUB_BOOT_F_INIT | NUB_BOOT_F_TEST_OPS);
    /* kvm-pvm reports some faults as emulation failures (internal error)
     * where hardware KVM reports a triple fault; both name the exit. */
    static const char *const triple[] = {"KVM_EXIT_SHUTDOWN", "KVM_EXIT_INTERNAL_ERROR", NULL};
    static const char *const mmio[] = {"KVM_EXIT_MMIO", NULL};
    static const char *const sse[] = {"KVM_EXIT_INTERNAL_ERROR", "KVM_EXIT_SHUTDOWN",
                                      "guest panic", NULL};
    static const char *const hang[] = {"watchdog", NULL};
    static const char *const panic[] = {"guest panic (ABORT port)", NULL};
    expect_poison_and_recover(sb, &log, NUB_OP_TEST_TRIPLE_FAULT, triple, true);
    expect_poison_and_recover(sb, &log, NUB_OP_TEST_MMIO, mmio, true);
    expect_poison_and_recover(sb, &log, NUB_OP_TEST_SSE, sse, true);
    expect_poison_and_recover(sb, &log, NUB_OP_TEST_HANG, hang, true);
    expect_poison_and_recover(sb, &log, NUB_OP_TEST_PANIC, panic, true);
    struct nub_sandbox_counters c;
    nub_sandbox_counters(sb, &c);
    assert_int_equal(c.reboots, 5);
    assert_int_equal(c.poisoned, 5);
    nub_sandbox_destroy(sb);
}

static void test_real_wrong_abi_refused(void **state)
{
    (void)state;
    SKIP_WITHOUT_REAL();
    const void *d;
    size_t n;
    nub_guest_image(&d, &n);
    uint8_t *img = malloc(n);
    memcpy(img, d, n);
    /* Find the NUBFS note and bump its version. */
    static const uint8_t needle[] = {6, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 'N', 'U', 'B', 'F', 'S', 0};
    uint8_t *p = memmem(img, n, needle, sizeof(needle));
    assert_non_null(p);
    uint32_t *ver = (uint32_t *)(p + 20);
    assert_int_equal(*ver, NUB_ABI_VERSION);
    *ver = NUB_ABI_VERSION + 1;
    char path[] = "/tmp/nub-test-kernel-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, img, n), (ssize_t)n);
    close(fd);
    free(img);
    /* As nubfs -o kernel=PATH does it. */
    void *file;
    size_t fsize;
    char err[512] = "";
    assert_int_equal(nub_elf_read_file(path, &file, &fsize, err, sizeof(err)), 0);
    unlink(path);
    struct nub_sandbox_opts o = {.kernel = file, .kernel_size = fsize};
    struct nub_sandbox *sb = NULL;
    int r = nub_sandbox_create(&o, &sb, err, sizeof(err));
    free(file);
    assert_int_equal(r, -EPROTO);
    assert_null(sb);
    print_message("    wrong ABI note: %s\n", err);
    assert_non_null(strstr(err, "ABI"));
}

int main(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        printf("SKIPPED: cannot open /dev/kvm (%s): these tests boot a real KVM guest\n",
               strerror(errno));
        return 77;
    }
    close(fd);
    struct utsname u;
    uname(&u);
    printf("# KVM host: %s %s\n", u.sysname, u.release);
    char err[256];
    if (nub_elf_read_file(NUB_TEST_KERNEL, &tiny, &tiny_size, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const void *d;
    size_t n;
    nub_guest_image(&d, &n);
    have_real = n > 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_boot_and_calls),
        cmocka_unit_test(test_tiny_misbehaviour),
        cmocka_unit_test(test_tiny_readonly_slots),
        cmocka_unit_test(test_tiny_minimal_cpuid),
        cmocka_unit_test(test_tiny_many_slots),
        cmocka_unit_test(test_real_boot),
        cmocka_unit_test(test_real_calls),
        cmocka_unit_test(test_real_put_many),
        cmocka_unit_test(test_real_misbehaviour),
        cmocka_unit_test(test_real_wrong_abi_refused),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    free(tiny);
    return r;
}
