/* Benchmark of publishing caps into the real guest (issue 8 item 10,
 * issue 11 item 7), counted with the emulated-instruction stat (on
 * kvm-pvm every guest instruction is emulated, so the count is the cost):
 *
 *   preload: N distinct blobs of 16..512 bytes into the cap store, then
 *     PUT_CAPS in batches of NUB_PUT_CAPS_BATCH (what -o preload does): guest
 *     instructions per cap and time for each tenth of the run (a cost that
 *     grows with the directory shows up as rising tenths), the whole time
 *     and the store's share of it;
 *   mount: then, into that directory of N caps, PKGS packages of REGIONS
 *     immutable regions each (REGIONS data caps + a module + the manifest,
 *     all new), mounted through nub_intake with the store (ABI 2 MOUNT):
 *     guest instructions per new cap of the MOUNT call; and the same
 *     packages again under other names (every cap shared).
 *
 *   bench_publish [mem_mib [regions [pkgs [N ...]]]]
 *       (defaults 512 255 4 1000 100000)
 *
 * Not a test (never in ctest). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cap_store.h"
#include "clock.h"
#include "guest_calls.h"
#include "intake.h"
#include "rvf_build.h"
#include "sandbox.h"

#define MIB (1ull << 20)

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

static void log_line(void *ctx, const char *line)
{
    (void)ctx;
    if (strncmp(line, "sandbox: ", 9) == 0)
        fprintf(stderr, "%s\n", line);
}

/* A distinct blob of 16..max bytes (its first 8 bytes are the counter). */
static size_t make_blob(uint8_t *blob, size_t max, uint64_t k)
{
    size_t len = 16 + next_rand() % (max - 16 + 1);
    memcpy(blob, &k, sizeof k);
    for (size_t j = sizeof k; j < len; j += 8) {
        uint64_t v = next_rand();
        memcpy(blob + j, &v, len - j < 8 ? len - j : 8);
    }
    return len;
}

static uint64_t serial; /* distinct content across packages and blobs */

/* Preload: n blobs into the store, then PUT_CAPS in batches. */
static int preload(struct nub_sandbox *sb, struct nub_cap_store *st, unsigned n,
                   struct nub_cap_obj ***objs_out)
{
    struct nub_cap_obj **objs = calloc(n ? n : 1, sizeof(*objs));
    struct nub_cap_desc *d = calloc(NUB_PUT_CAPS_BATCH, sizeof(*d));
    uint8_t blob[512];
    uint64_t store_ns = 0, t0 = nub_now_ns(), i0 = insns(sb), tp = t0, ip = i0;
    unsigned tenth = n >= 10 ? n / 10 : 1, done = 0, nd = 0;
    int rc = 0;
    printf("  preload %u caps, PUT_CAPS batches of %u\n", n, NUB_PUT_CAPS_BATCH);
    for (unsigned k = 0; k < n && rc == 0; k++) {
        size_t len = make_blob(blob, sizeof blob, serial++);
        uint8_t h[16];
        bool created;
        uint64_t ts = nub_now_ns();
        rvf_hash128(blob, len, h);
        nub_sandbox_seq_begin(sb);
        rc = nub_cap_store_put(st, h, blob, len, NUB_CAP_BLOB, &objs[k], &created);
        nub_sandbox_seq_end(sb);
        store_ns += nub_now_ns() - ts;
        if (rc != 0) {
            fprintf(stderr, "store put %u: %s\n", k, strerror(-rc));
            break;
        }
        d[nd++] = (struct nub_cap_desc){.gpa = objs[k]->gpa, .len = len, .kind = NUB_CAP_BLOB};
        memcpy(d[nd - 1].hash, h, 16);
        bool last = k + 1 == n;
        if (nd == NUB_PUT_CAPS_BATCH || last || (k + 1) % tenth == 0) {
            char msg[NUB_MAILBOX_MSG];
            uint32_t created_n;
            rc = nub_call_put_caps(sb, d, nd, &created_n, msg);
            if (rc != 0) {
                fprintf(stderr, "PUT_CAPS at %u: %s: %s\n", k, strerror(-rc), msg);
                break;
            }
            done += nd;
            nd = 0;
        }
        if (rc == 0 && done % tenth == 0 && done == k + 1) {
            uint64_t t = nub_now_ns(), i = insns(sb);
            printf("    caps %8u: last %u: %8.1f us/cap %7.0f insns/cap\n", done, tenth,
                   (t - tp) / 1e3 / tenth, (double)(i - ip) / tenth);
            tp = t;
            ip = i;
        }
    }
    uint64_t t = nub_now_ns() - t0, i = insns(sb) - i0;
    printf("  preload total: %u caps in %.2f s (store %.2f s): %.1f us/cap, %.0f insns/cap\n",
           done, t / 1e9, store_ns / 1e9, done ? t / 1e3 / done : 0.0,
           done ? (double)i / done : 0.0);
    free(d);
    *objs_out = objs;
    return rc;
}

/* A package: one component, `regions` immutable regions, each with a
 * data segment of its own (16..256 bytes). */
static void build_pkg(struct tpkg *p, const char *name, unsigned regions)
{
    uint8_t w[64];
    size_t wn = sample_wasm(w, "run");
    /* a distinct module per package: a custom section would do, but a
     * different export name is simpler */
    static const char *const entries[] = {"run"};
    struct rvf_component_desc c = {.name = "c", .entries = entries, .nentries = 1};
    rvf_hash128(w, wn, c.wasm_hash);
    struct rvf_region_desc *r = calloc(regions ? regions : 1, sizeof(*r));
    char (*names)[16] = calloc(regions ? regions : 1, sizeof(*names));
    uint8_t(*data)[256] = calloc(regions ? regions : 1, sizeof(*data));
    size_t *dlen = calloc(regions ? regions : 1, sizeof(*dlen));
    for (unsigned i = 0; i < regions; i++) {
        snprintf(names[i], sizeof names[i], "r%u", i);
        dlen[i] = make_blob(data[i], sizeof data[i], serial++);
        r[i] = (struct rvf_region_desc){.name = names[i], .policy = RVF_REGION_IMMUTABLE};
        rvf_hash128(data[i], dlen[i], r[i].init_hash);
    }
    struct rvf_manifest_desc md = {.name = name, .version = "1", .components = &c,
                                   .ncomponents = 1, .regions = r, .nregions = regions};
    uint8_t *mf;
    size_t mlen = encode_desc(&md, &mf);
    tpkg_init(p);
    tpkg_add(p, RVF_SEG_MANIFEST, mf, mlen);
    free(mf);
    tpkg_add(p, RVF_SEG_WASM, w, wn);
    for (unsigned i = 0; i < regions; i++)
        tpkg_add(p, RVF_SEG_DATA, data[i], dlen[i]);
    free(r);
    free(names);
    free(data);
    free(dlen);
}

static int mount_round(struct nub_sandbox *sb, struct nub_cap_store *st, struct tpkg *pk,
                       unsigned pkgs, const char *what, uint64_t *handles,
                       struct nub_cap_obj ***held_objs, uint32_t *held_n)
{
    struct nub_intake_opts o;
    nub_intake_opts_default(&o);
    o.allow_unsigned = true;
    o.store = st;
    o.limits.max_segments = NUB_MOUNT_MAX_CAPS;
    uint64_t ins = 0, call_ns = 0, total_ns = 0, fresh = 0, held = 0;
    for (unsigned k = 0; k < pkgs; k++) {
        struct nub_intake_result res;
        uint64_t i0 = insns(sb);
        int r = nub_intake(sb, NULL, &o, pk[k].buf, pk[k].len, &res);
        if (r != 0) {
            fprintf(stderr, "mount %s %u: %s\n", what, k, res.reason);
            return 1;
        }
        ins += insns(sb) - i0;
        call_ns += res.times.call_ns;
        total_ns += res.times.total_ns;
        fresh += res.caps_new;
        held += res.caps_held;
        handles[k] = res.handle;
        /* kept as the daemon's ctl/ entry keeps them, freed at exit */
        held_objs[k] = res.objs;
        held_n[k] = res.nobjs;
    }
    double per = fresh ? (double)ins / fresh : (double)ins / held;
    printf("  mount %s: %u packages, %llu caps (%llu new): %.0f insns per %s cap, "
           "MOUNT %.1f ms, intake %.1f ms per package\n",
           what, pkgs, (unsigned long long)held, (unsigned long long)fresh, per,
           fresh ? "new" : "shared", call_ns / 1e6 / pkgs, total_ns / 1e6 / pkgs);
    return 0;
}

static int run(uint64_t mem, unsigned n, unsigned regions, unsigned pkgs)
{
    struct nub_sandbox_opts so = {.mem_size = mem, .log = log_line};
    struct nub_sandbox *sb;
    char err[512];
    if (nub_sandbox_create(&so, &sb, err, sizeof(err)) != 0) {
        fprintf(stderr, "sandbox: %s\n", err);
        return 77;
    }
    struct nub_cap_store_opts co = {
        .window_gpa = NUB_CAP_WINDOW_BASE,
        .window_size = NUB_CAP_WINDOW_SIZE,
        .mapper = nub_sandbox_cap_mapper(sb),
    };
    struct nub_cap_store *st;
    if (nub_cap_store_new(&co, &st) != 0) {
        fprintf(stderr, "cap store\n");
        return 1;
    }
    printf("N=%u, guest %llu MiB\n", n, (unsigned long long)(mem / MIB));
    struct nub_cap_obj **objs = NULL;
    int rc = preload(sb, st, n, &objs);
    struct tpkg *pk = calloc(pkgs ? pkgs : 1, sizeof(*pk));
    uint64_t *handles = calloc(2 * (pkgs ? pkgs : 1), sizeof(*handles));
    struct nub_cap_obj ***held = calloc(2 * (pkgs ? pkgs : 1), sizeof(*held));
    uint32_t *held_n = calloc(2 * (pkgs ? pkgs : 1), sizeof(*held_n));
    for (unsigned k = 0; k < pkgs; k++) {
        char name[32];
        snprintf(name, sizeof name, "p%u", k);
        build_pkg(&pk[k], name, regions);
    }
    if (rc == 0)
        rc = mount_round(sb, st, pk, pkgs, "new", handles, held, held_n);
    if (rc == 0)
        rc = mount_round(sb, st, pk, pkgs, "again", handles + pkgs, held + pkgs, held_n + pkgs);
    uint64_t ret[NUB_MAILBOX_ARGS];
    if (nub_call_stats(sb, ret) == 0)
        printf("  guest: %llu caps, heap used %llu KiB of %llu MiB\n",
               (unsigned long long)ret[NUB_STAT_CAPS],
               (unsigned long long)(ret[NUB_STAT_HEAP_USED] >> 10),
               (unsigned long long)(ret[NUB_STAT_HEAP_TOTAL] >> 20));
    for (unsigned k = 0; k < pkgs; k++)
        tpkg_free(&pk[k]);
    free(pk);
    free(handles);
    nub_sandbox_destroy(sb);
    for (unsigned k = 0; k < 2 * pkgs; k++)
        free(held[k]);
    free(held);
    free(held_n);
    nub_cap_store_free(st); /* frees every object, referenced or not */
    free(objs);
    fflush(stdout);
    return rc;
}

int main(int argc, char **argv)
{
    uint64_t mem = (argc > 1 ? strtoull(argv[1], NULL, 0) : 512) * MIB;
    unsigned regions = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 255;
    unsigned pkgs = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 0) : 4;
    bool pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("%s\n", pvm ? "kvm-pvm (no hardware virtualization: guest instructions are emulated)"
                       : "hardware KVM");
    if (regions > NUB_MOUNT_MAX_REGIONS) {
        fprintf(stderr, "at most %u regions\n", NUB_MOUNT_MAX_REGIONS);
        return 2;
    }
    int rc = 0;
    if (argc > 4) {
        for (int a = 4; a < argc; a++)
            rc |= run(mem, (unsigned)strtoul(argv[a], NULL, 0), regions, pkgs);
    } else {
        rc |= run(mem, 1000, regions, pkgs);
        rc |= run(mem, 100000, regions, pkgs);
    }
    return rc;
}
