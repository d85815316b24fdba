/* Benchmark of the host mount path (nub_intake) per phase: parse,
 * hashing, signature, compare, ALLOC, copy into guest memory, the guest's
 * MOUNT call, and UNMOUNT; for a small package (the rvf_build sample:
 * 2 components, 3 regions, 1 queue) and a package of max_package size (one
 * big DATA segment), in a guest of 1 GiB. Not a test (never in ctest).
 *
 *   bench_mount [runs_small [runs_big [big_bytes]]]
 *
 * Prints whether /dev/kvm is kvm-pvm (guest instructions emulated). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "guest_calls.h"
#include "intake.h"
#include "rvf_build.h"
#include "sandbox.h"
#include "sign.h"

#define MIB (1ull << 20)

static struct nub_seckey key;

static void sign_pkg(struct tpkg *p)
{
    uint8_t sig[NUB_SIGN_BYTES];
    nub_sign_detached(&key, p->buf, p->len, sig);
    tpkg_add_crypto(p, key.pub.pk, sig);
}

/* One component plus a DATA segment making the package total bytes. */
static void big_package(struct tpkg *p, uint64_t total)
{
    uint8_t w[64];
    size_t wn = sample_wasm(w, "run");
    static const char *const entries[] = {"run"};
    struct rvf_component_desc c = {.name = "big", .entries = entries, .nentries = 1};
    rvf_hash128(w, wn, c.wasm_hash);
    struct rvf_manifest_desc d = {.name = "big", .version = "1", .components = &c,
                                  .ncomponents = 1};
    uint8_t *mf;
    size_t mlen = encode_desc(&d, &mf);
    tpkg_init(p);
    tpkg_add(p, RVF_SEG_MANIFEST, mf, mlen);
    free(mf);
    tpkg_add(p, RVF_SEG_WASM, w, wn);
    uint64_t used = p->len + RVF_SEG_HEADER_SIZE + rvf_segment_size(RVF_CRYPTO_PAYLOAD_LEN);
    uint64_t n = (total - used) & ~63ull;
    uint8_t *data = malloc(n);
    for (uint64_t i = 0; i < n; i += 8) { /* not zero, not compressible-looking */
        uint64_t v = i * 0x9e3779b97f4a7c15ull;
        memcpy(data + i, &v, 8);
    }
    tpkg_add(p, RVF_SEG_DATA, data, n);
    free(data);
    sign_pkg(p);
}

struct acc {
    struct nub_intake_times t;
    uint64_t unmount_ns;
    int n;
};

static void add(struct acc *a, const struct nub_intake_times *t, uint64_t un)
{
    a->t.parse_ns += t->parse_ns;
    a->t.hash_ns += t->hash_ns;
    a->t.sig_ns += t->sig_ns;
    a->t.compare_ns += t->compare_ns;
    a->t.alloc_ns += t->alloc_ns;
    a->t.copy_ns += t->copy_ns;
    a->t.call_ns += t->call_ns;
    a->t.total_ns += t->total_ns;
    a->unmount_ns += un;
    a->n++;
}

static int run(struct nub_sandbox *sb, const struct nub_trust *trust, const char *what,
               const struct tpkg *p, int runs)
{
    struct nub_intake_opts o;
    nub_intake_opts_default(&o);
    o.name = what;
    struct acc a = {0};
    for (int i = 0; i < runs; i++) {
        struct nub_intake_result res;
        int r = nub_intake(sb, trust, &o, p->buf, p->len, &res);
        if (r != 0) {
            fprintf(stderr, "mount %s: %s\n", what, res.reason);
            return 1;
        }
        struct nub_call_unmount_result u;
        if (nub_call_unmount(sb, res.handle, &u) != 0) {
            fprintf(stderr, "unmount %s: %s\n", what, u.reason);
            return 1;
        }
        add(&a, &res.times, u.call_ns);
    }
    double n = a.n, mb = p->len / 1e6;
#define MS(x) ((x) / n / 1e6)
    printf("%s: %zu bytes, %d runs, mean ms: parse %.3f  hash %.3f  signature %.3f  "
           "compare %.3f  alloc %.3f  copy %.3f  MOUNT %.3f  | total %.3f  (%.2f MB/s)  "
           "UNMOUNT %.3f\n",
           what, p->len, a.n, MS(a.t.parse_ns), MS(a.t.hash_ns), MS(a.t.sig_ns),
           MS(a.t.compare_ns), MS(a.t.alloc_ns), MS(a.t.copy_ns), MS(a.t.call_ns),
           MS(a.t.total_ns), mb / (a.t.total_ns / n / 1e9), MS(a.unmount_ns));
    if (p->len > MIB)
        printf("  per byte: hash %.0f MB/s, signature %.0f MB/s, copy %.0f MB/s\n",
               mb / (a.t.hash_ns / n / 1e9), mb / (a.t.sig_ns / n / 1e9),
               mb / (a.t.copy_ns / n / 1e9));
    return 0;
}

int main(int argc, char **argv)
{
    int runs_small = argc > 1 ? atoi(argv[1]) : 50;
    int runs_big = argc > 2 ? atoi(argv[2]) : 3;
    uint64_t big = argc > 3 ? strtoull(argv[3], NULL, 0) : 256 * MIB;
    struct utsname u;
    uname(&u);
    bool pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
    printf("host kernel %s, %s\n", u.release,
           pvm ? "kvm-pvm (no hardware virtualization: guest instructions are emulated)"
               : "hardware KVM");
    if (nub_sign_init() != 0 || nub_key_generate(&key) != 0)
        return 1;
    struct nub_trust trust;
    nub_trust_init(&trust);
    nub_trust_add(&trust, &key.pub);
    struct nub_sandbox_opts so = {.mem_size = 1024 * MIB};
    struct nub_sandbox *sb;
    char err[512];
    if (nub_sandbox_create(&so, &sb, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 77;
    }
    struct tpkg small;
    sample_package(&small, false);
    sign_pkg(&small);
    struct tpkg bigp;
    big_package(&bigp, big);
    int r = run(sb, &trust, "small", &small, runs_small);
    if (r == 0)
        r = run(sb, &trust, "big", &bigp, runs_big);
    struct nub_sandbox_counters c;
    nub_sandbox_counters(sb, &c);
    printf("guest: %llu calls, %llu emulated instructions\n", (unsigned long long)c.calls,
           (unsigned long long)c.emulated_insns);
    tpkg_free(&small);
    tpkg_free(&bigp);
    nub_sandbox_destroy(sb);
    nub_trust_free(&trust);
    return r;
}
