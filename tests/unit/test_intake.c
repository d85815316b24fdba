/* nub_intake / nub_call_unmount against the REAL guest kernel
 * in KVM: a signed package mounts and shows up in the cap directory and
 * the mount table; every error row of nubfs(8) ERRORS is produced by a real bad
 * package and leaves the guest exactly as it was; injected faults at
 * steps 2-7 roll back; unmount returns the heap to its baseline; caps
 * shared by two packages live until the last holder goes; a guest crash
 * during MOUNT is EIO and a reboot + re-mount recovers.
 * Exits 77 (skipped) when /dev/kvm cannot be opened. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "guest_calls.h"
#include "intake.h"
#include "mount_reader.h"
#include "nub/guest_heap.h"
#include "reader.h"
#include "rvf_build.h"
#include "sandbox.h"
#include "sign.h"

#define MIB (1ull << 20)

/* ---- keys --------------------------------------------------------------- */

static struct nub_seckey key, other_key; /* key is trusted, other_key not */
static struct nub_trust trust;

/* ---- packages ------------------------------------------------------------ */

struct spec {
    const char *name;
    uint32_t ncomp;        /* components c<i>, each with its own module exporting "e<i>" */
    uint32_t nregions;     /* slab regions r<i> of region_size bytes, owner 0 */
    uint64_t region_size;
    uint32_t nqueues;      /* c0.o<i> -> c<last>.i<i> */
    const void *data;      /* a DATA segment ... */
    size_t dlen;
    bool data_region;      /* ... with an immutable region "blob" on it */
    bool bad_wasm;         /* component 0's module has an unknown section id */
    bool bad_manifest;     /* the manifest segment is garbage */
};

enum sig { SIG_NONE, SIG_GOOD, SIG_BAD, SIG_UNTRUSTED };

static void wasm_for(uint32_t i, uint8_t w[64], size_t *n, bool bad)
{
    char entry[16];
    snprintf(entry, sizeof(entry), "e%u", i);
    *n = sample_wasm(w, entry);
    if (bad)
        w[18] = 0x0d; /* the export section's id -> 13: unknown */
}

/* Builds the package described by s into p, signed as asked. */
static void build(struct tpkg *p, const struct spec *s, enum sig sig)
{
    uint32_t nc = s->ncomp;
    struct rvf_component_desc *comps = calloc(nc ? nc : 1, sizeof(*comps));
    char (*cnames)[16] = calloc(nc ? nc : 1, 16);
    char (*enames)[16] = calloc(nc ? nc : 1, 16);
    const char **eptr = calloc(nc ? nc : 1, sizeof(char *));
    for (uint32_t i = 0; i < nc; i++) {
        uint8_t w[64];
        size_t n;
        wasm_for(i, w, &n, s->bad_wasm && i == 0);
        snprintf(cnames[i], 16, "c%u", i);
        snprintf(enames[i], 16, "e%u", i);
        eptr[i] = enames[i];
        comps[i].name = cnames[i];
        comps[i].priority = i % 256;
        rvf_hash128(w, n, comps[i].wasm_hash);
        comps[i].entries = &eptr[i];
        comps[i].nentries = 1;
    }
    uint32_t nr = s->nregions + (s->data_region ? 1 : 0);
    struct rvf_region_desc *regs = calloc(nr ? nr : 1, sizeof(*regs));
    char (*rnames)[16] = calloc(nr ? nr : 1, 16);
    static const uint32_t c0[] = {0};
    for (uint32_t i = 0; i < s->nregions; i++) {
        snprintf(rnames[i], 16, "r%u", i);
        regs[i] = (struct rvf_region_desc){.name = rnames[i], .policy = RVF_REGION_SLAB,
                                           .slot_size = s->region_size, .slot_count = 1,
                                           .readers = c0, .nreaders = 1, .writers = c0,
                                           .nwriters = 1};
    }
    if (s->data_region) {
        struct rvf_region_desc *d = &regs[s->nregions];
        *d = (struct rvf_region_desc){.name = "blob", .policy = RVF_REGION_IMMUTABLE,
                                      .readers = c0, .nreaders = 1};
        rvf_hash128(s->data, s->dlen, d->init_hash);
    }
    struct rvf_queue_desc *qs = calloc(s->nqueues ? s->nqueues : 1, sizeof(*qs));
    char (*qnames)[2][16] = calloc(s->nqueues ? s->nqueues : 1, 32);
    for (uint32_t i = 0; i < s->nqueues; i++) {
        snprintf(qnames[i][0], 16, "o%u", i);
        snprintf(qnames[i][1], 16, "i%u", i);
        qs[i] = (struct rvf_queue_desc){.src = 0, .dst = nc - 1, .src_port = qnames[i][0],
                                        .dst_port = qnames[i][1], .capacity = 4, .max_msg = 32};
    }
    /* A few grants within the access sets, when there is something to grant. */
    struct rvf_grant grants[2];
    uint32_t ng = 0;
    if (nc > 0 && nr > 0)
        grants[ng++] = (struct rvf_grant){0, RVF_OBJ_REGION, 0, RVF_RIGHT_READ};
    if (nc > 0 && s->nqueues > 0)
        grants[ng++] = (struct rvf_grant){0, RVF_OBJ_QUEUE, 0, RVF_RIGHT_WRITE};
    struct rvf_manifest_desc d = {.name = s->name, .version = "1.0", .components = comps,
                                  .ncomponents = nc, .regions = regs, .nregions = nr,
                                  .queues = qs, .nqueues = s->nqueues, .grants = grants,
                                  .ngrants = ng};
    /* Generous limits: the over-limit packages must still encode. */
    struct rvf_limits big;
    rvf_limits_default(&big);
    big.max_components = big.max_regions = big.max_queues = big.max_tasks = 4096;
    big.max_region_size = 1ull << 40;
    size_t need = 0;
    struct rvf_result res;
    assert_int_equal(rvf_manifest_encode(&d, &big, NULL, 0, &need, &res), RVF_E_NOSPACE);
    uint8_t *mf = malloc(need);
    if (rvf_manifest_encode(&d, &big, mf, need, &need, &res) != RVF_OK)
        fail_msg("encode: %s", res.msg);

    tpkg_init(p);
    if (s->bad_manifest)
        tpkg_add(p, RVF_SEG_MANIFEST, "this is no manifest", 19);
    else
        tpkg_add(p, RVF_SEG_MANIFEST, mf, need);
    for (uint32_t i = 0; i < nc; i++) {
        uint8_t w[64];
        size_t n;
        wasm_for(i, w, &n, s->bad_wasm && i == 0);
        tpkg_add(p, RVF_SEG_WASM, w, n);
    }
    if (s->data)
        tpkg_add(p, RVF_SEG_DATA, s->data, s->dlen);
    if (sig != SIG_NONE) {
        const struct nub_seckey *k = sig == SIG_UNTRUSTED ? &other_key : &key;
        uint8_t sg[NUB_SIGN_BYTES];
        if (sig == SIG_BAD)
            nub_sign_detached(k, (const uint8_t *)"something else", 14, sg);
        else
            nub_sign_detached(k, p->buf, p->len, sg);
        tpkg_add_crypto(p, k->pub.pk, sg);
    }
    free(mf);
    free(comps);
    free(cnames);
    free(enames);
    free(eptr);
    free(regs);
    free(rnames);
    free(qs);
    free(qnames);
}

static const struct spec hello_spec = {
    .name = "hello", .ncomp = 2, .nregions = 1, .region_size = 8192, .nqueues = 1,
    .data = "banner: hello, world\n", .dlen = 21, .data_region = true};

/* ---- sandbox helpers ------------------------------------------------------ */

static void quiet(void *ctx, const char *line)
{
    (void)ctx;
    if (getenv("NUB_TEST_VERBOSE"))
        fprintf(stderr, "  log: %s\n", line);
}

static struct nub_sandbox *boot(uint64_t mem)
{
    struct nub_sandbox_opts o = {.mem_size = mem, .test_ops = true, .log = quiet};
    struct nub_sandbox *sb = NULL;
    char err[512] = "";
    if (nub_sandbox_create(&o, &sb, err, sizeof(err)) != 0)
        fail_msg("sandbox_create: %s", err);
    return sb;
}

static struct nub_call stats(struct nub_sandbox *sb)
{
    struct nub_call c = {.op = NUB_OP_STATS};
    assert_int_equal(nub_sandbox_call(sb, &c), 0);
    assert_int_equal(c.status, NUB_ST_OK);
    return c;
}

/* What must not change when a mount fails. */
struct snap {
    uint64_t caps, cap_bytes, heap_used, mounts;
    uint64_t dir_count, dir_capacity, dir_bytes;
    uint64_t mt_count, mt_generation, mt_next_handle;
};

static struct snap snapshot(struct nub_sandbox *sb)
{
    struct snap s = {0};
    struct nub_call c = stats(sb);
    s.caps = c.ret[NUB_STAT_CAPS];
    s.cap_bytes = c.ret[NUB_STAT_CAP_BYTES];
    s.heap_used = c.ret[NUB_STAT_HEAP_USED];
    s.mounts = c.ret[NUB_STAT_MOUNTS];
    nub_sandbox_rdlock(sb);
    struct nub_reader rd;
    struct nub_dir_header h;
    assert_int_equal(nub_reader_open(&rd, nub_sandbox_mem(sb), nub_sandbox_boot_info_gpa(sb)),
                     NUB_READER_OK);
    assert_int_equal(nub_reader_header(&rd, &h), 0);
    s.dir_count = h.count;
    s.dir_capacity = h.capacity;
    s.dir_bytes = h.total_bytes;
    struct nub_mtab_reader mr;
    struct nub_mount_table t;
    assert_int_equal(nub_mtab_open(&mr, nub_sandbox_mem(sb),
                                           nub_sandbox_boot_info_gpa(sb)),
                     0);
    assert_int_equal(nub_mtab_header(&mr, &t), 0);
    s.mt_count = t.count;
    s.mt_generation = t.generation;
    s.mt_next_handle = t.next_handle;
    nub_sandbox_rdunlock(sb);
    return s;
}

static void assert_same_at(const struct snap *a, const struct snap *b, const char *what)
{
    if (memcmp(a, b, sizeof(*a)) != 0)
        fail_msg("%s changed the guest: caps %lu->%lu bytes %lu->%lu heap %lu->%lu mounts "
                 "%lu->%lu dir %lu/%lu->%lu/%lu table %lu gen %lu->%lu gen %lu",
                 what, a->caps, b->caps, a->cap_bytes, b->cap_bytes, a->heap_used, b->heap_used,
                 a->mounts, b->mounts, a->dir_count, a->dir_capacity, b->dir_count,
                 b->dir_capacity, a->mt_count, b->mt_count, a->mt_generation, b->mt_generation);
}

/* Compares a snapshot taken before with the guest now. */
static void assert_same(const struct snap *before, struct nub_sandbox *sb, const char *what)
{
    struct snap now = snapshot(sb);
    assert_same_at(before, &now, what);
}

static void mount_opts(struct nub_intake_opts *o)
{
    nub_intake_opts_default(o);
    o->name = "test.rvf";
}

/* Every non-signature segment of the package is a cap with its bytes. */
static void assert_caps_present(struct nub_sandbox *sb, const struct tpkg *p, bool present)
{
    struct rvf_segment segs[64];
    struct rvf_package pkg;
    struct rvf_result res;
    assert_int_equal(rvf_parse(p->buf, p->len, segs, 64, NULL, &pkg, &res), RVF_OK);
    nub_sandbox_rdlock(sb);
    struct nub_reader rd;
    assert_int_equal(nub_reader_open(&rd, nub_sandbox_mem(sb), nub_sandbox_boot_info_gpa(sb)),
                     NUB_READER_OK);
    for (uint32_t i = 0; i < pkg.nsegs; i++) {
        if (segs[i].type == RVF_SEG_CRYPTO)
            continue;
        struct nub_cap cap;
        int r = nub_reader_get(&rd, segs[i].hash, &cap);
        if (!present) {
            assert_int_equal(r, -ENOENT);
            continue;
        }
        assert_int_equal(r, 0);
        assert_int_equal(cap.len, segs[i].payload_len);
        uint8_t *buf = malloc(cap.len + 1);
        assert_int_equal(nub_gm_read(nub_sandbox_mem(sb), cap.data_gpa, buf, cap.len), 0);
        assert_memory_equal(buf, rvf_payload(&pkg, &segs[i]), cap.len);
        free(buf);
    }
    nub_sandbox_rdunlock(sb);
}

static void print_times(const char *what, size_t len, const struct nub_intake_times *t)
{
    print_message("    %s (%zu bytes): parse %.1f us, hash %.1f us, signature %.1f us, "
                  "compare %.1f us, alloc %.1f us, copy %.1f us, MOUNT %.1f us, total %.1f us\n",
                  what, len, t->parse_ns / 1e3, t->hash_ns / 1e3, t->sig_ns / 1e3,
                  t->compare_ns / 1e3, t->alloc_ns / 1e3, t->copy_ns / 1e3, t->call_ns / 1e3,
                  t->total_ns / 1e3);
}

/* ---- tests --------------------------------------------------------------- */

static void test_mount_unmount(void **state)
{
    (void)state;
    struct nub_sandbox *sb = boot(64 * MIB);
    struct snap base = snapshot(sb);
    struct tpkg p;
    build(&p, &hello_spec, SIG_GOOD);
    struct nub_intake_opts o;
    mount_opts(&o);
    struct nub_intake_result res;
    int r = nub_intake(sb, &trust, &o, p.buf, p.len, &res);
    if (r != 0)
        fail_msg("mount: %d %s", r, res.reason);
    print_times("hello", p.len, &res.times);
    assert_int_not_equal(res.handle, 0);
    assert_string_equal(res.reason, "");
    assert_string_equal(res.name, "hello");
    assert_true(res.signed_pkg);
    char kid[NUB_KEYID_HEX];
    nub_key_id_hex(key.pub.id, kid);
    assert_string_equal(res.signer_hex, kid);
    assert_int_equal(res.caps_new, 4); /* manifest, 2 modules, data */
    assert_int_equal(res.caps_held, 4);
    assert_caps_present(sb, &p, true);

    /* The record in the mount table, read from guest memory. */
    nub_sandbox_rdlock(sb);
    struct nub_mtab_reader mr;
    assert_int_equal(nub_mtab_open(&mr, nub_sandbox_mem(sb),
                                           nub_sandbox_boot_info_gpa(sb)),
                     0);
    struct nub_mtab_mount m;
    assert_int_equal(nub_mtab_find(&mr, res.handle, &m), 0);
    assert_string_equal(m.name, "hello");
    assert_string_equal(m.version, "1.0");
    assert_memory_equal(m.signer, key.pub.id, NUB_KEYID_BYTES);
    assert_int_equal(m.ncomponents, 2);
    assert_int_equal(m.nregions, 2);
    assert_int_equal(m.nqueues, 1);
    assert_int_equal(m.ntasks, 2);
    assert_int_equal(m.ngrants, 2);
    assert_int_equal(m.ncaps, 4);
    assert_int_equal(m.package_len, p.len);
    struct nub_mount_component comps[2];
    assert_int_equal(nub_mtab_components(&mr, &m, 0, 2, comps), 0);
    assert_string_equal(comps[1].name, "c1");
    struct nub_mount_region regs[2];
    assert_int_equal(nub_mtab_regions(&mr, &m, 0, 2, regs), 0);
    assert_string_equal(regs[1].name, "blob");
    char buf[64] = "";
    assert_int_equal(nub_mtab_region_read(&mr, &m, 1, 0, buf, sizeof(buf)), 21);
    assert_memory_equal(buf, "banner: hello, world\n", 21);
    assert_int_equal(nub_mtab_region_read(&mr, &m, 0, 0, buf, sizeof(buf)), 64);
    struct nub_mount_queue q;
    assert_int_equal(nub_mtab_queues(&mr, &m, 0, 1, &q), 0);
    struct nub_ring ring;
    assert_int_equal(nub_mtab_ring(&mr, &q, &ring), 0);
    assert_int_equal(ring.head, 0);
    assert_int_equal(ring.tail, 0);
    struct nub_mount_task tasks[2];
    assert_int_equal(nub_mtab_tasks(&mr, &m, 0, 2, tasks), 0);
    assert_string_equal(tasks[1].entry, "e1");
    assert_int_equal(tasks[1].state, NUB_TASK_READY);
    struct nub_mount_grant g[2];
    assert_int_equal(nub_mtab_grants(&mr, &m, 0, 2, g), 0);
    uint64_t cur = 0, bad = 0;
    assert_int_equal(nub_mtab_next(&mr, &cur, &m, &bad), 1);
    assert_int_equal(nub_mtab_next(&mr, &cur, &m, &bad), 0);
    assert_int_equal(bad, 0);
    nub_sandbox_rdunlock(sb);

    /* Unmount: caps gone, heap back to the baseline, table empty. */
    struct nub_call_unmount_result u;
    assert_int_equal(nub_call_unmount(sb, res.handle, &u), 0);
    assert_int_equal(u.caps_removed, 4);
    assert_false(u.zombie);
    print_message("    UNMOUNT %.1f us\n", u.call_ns / 1e3);
    assert_caps_present(sb, &p, false);
    struct snap after = snapshot(sb);
    assert_int_equal(after.heap_used, base.heap_used);
    assert_int_equal(after.caps, base.caps);
    assert_int_equal(after.mounts, 0);
    assert_int_equal(after.mt_count, 0);
    assert_int_equal(nub_call_unmount(sb, res.handle, &u), -ENOENT);
    assert_int_equal(nub_call_unmount(sb, 12345, NULL), -ENOENT);

    /* Unsigned mounts only when allowed; its signer id is zero. */
    tpkg_free(&p);
    build(&p, &hello_spec, SIG_NONE);
    o.allow_unsigned = true;
    assert_int_equal(nub_intake(sb, &trust, &o, p.buf, p.len, &res), 0);
    assert_false(res.signed_pkg);
    assert_string_equal(res.signer_hex, "");
    nub_sandbox_rdlock(sb);
    assert_int_equal(nub_mtab_open(&mr, nub_sandbox_mem(sb),
                                           nub_sandbox_boot_info_gpa(sb)),
                     0);
    assert_int_equal(nub_mtab_find(&mr, res.handle, &m), 0);
    static const uint8_t zero[NUB_KEYID_BYTES];
    assert_memory_equal(m.signer, zero, sizeof(zero));
    nub_sandbox_rdunlock(sb);
    assert_int_equal(nub_call_unmount(sb, res.handle, NULL), 0);
    assert_int_equal(snapshot(sb).heap_used, base.heap_used);
    tpkg_free(&p);
    nub_sandbox_destroy(sb);
}

struct bad_case {
    const char *what;
    struct spec spec;
    enum sig sig;
    int err;
    void (*mutate)(struct tpkg *p, struct nub_intake_opts *o);
};

static void flip_data_byte(struct tpkg *p, struct nub_intake_opts *o)
{
    (void)o;
    p->buf[p->len - 64] ^= 0x01; /* inside the last (DATA) payload or its padding */
}

/* Signs p again with the trusted key after an edit of its signed bytes:
 * a trusted signer's broken package, which only the parsers can refuse. */
static void resign(struct tpkg *p)
{
    p->len -= RVF_CRYPTO_SEGMENT_SIZE;
    p->nseg--;
    uint8_t sg[NUB_SIGN_BYTES];
    nub_sign_detached(&key, p->buf, p->len, sg);
    tpkg_add_crypto(p, key.pub.pk, sg);
}

static void not_rvf(struct tpkg *p, struct nub_intake_opts *o)
{
    o->allow_unsigned = true; /* nothing signs it: only the parser can refuse it */
    memset(p->buf, 'x', p->len);
}

/* Signature first: whatever else is wrong, an unsigned package is ENOKEY
 * and a package no trusted key signed is EKEYREJECTED. */
static void not_rvf_unsigned(struct tpkg *p, struct nub_intake_opts *o)
{
    o->allow_unsigned = false;
    memset(p->buf, 'x', p->len);
}

static void flip_manifest_byte(struct tpkg *p, struct nub_intake_opts *o)
{
    (void)o;
    p->buf[RVF_SEG_HEADER_SIZE + 3] ^= 0x01; /* the manifest's magic */
}

static void flip_manifest_byte_unsigned(struct tpkg *p, struct nub_intake_opts *o)
{
    o->allow_unsigned = false;
    flip_manifest_byte(p, o);
}

static void flip_data_byte_signed(struct tpkg *p, struct nub_intake_opts *o)
{
    (void)o;
    p->buf[p->len - RVF_CRYPTO_SEGMENT_SIZE - 64] ^= 0x01; /* the DATA payload */
}

static void flip_magic_resigned(struct tpkg *p, struct nub_intake_opts *o)
{
    (void)o;
    p->buf[0] ^= 0x01;
    resign(p);
}

static void flip_payload_resigned(struct tpkg *p, struct nub_intake_opts *o)
{
    (void)o;
    p->buf[p->len - RVF_CRYPTO_SEGMENT_SIZE - 64] ^= 0x01; /* the DATA payload */
    resign(p);
}

static void truncate_signed(struct tpkg *p, struct nub_intake_opts *o)
{
    (void)o;
    p->len -= 100; /* cuts into the signature: the tail is no CRYPTO segment */
}

static void tiny_max_package(struct tpkg *p, struct nub_intake_opts *o)
{
    o->limits.max_package = p->len - 1;
}

static void big_region_limit(struct tpkg *p, struct nub_intake_opts *o)
{
    (void)p;
    o->limits.max_region_size = 1ull << 30; /* host and guest allow it; the heap cannot */
}

static void unsigned_ok(struct tpkg *p, struct nub_intake_opts *o)
{
    (void)p;
    o->allow_unsigned = false;
}

static void test_errors(void **state)
{
    (void)state;
    static uint8_t payload[200];
    memset(payload, 0xa5, sizeof(payload));
    /* flip_data_byte needs the data payload to end the file: 192 bytes
     * fill the segment exactly, so the last 64 bytes are payload. */
    const struct bad_case cases[] = {
        {"unsigned", hello_spec, SIG_NONE, ENOKEY, unsigned_ok},
        {"bad signature", hello_spec, SIG_BAD, EKEYREJECTED, NULL},
        {"untrusted key", hello_spec, SIG_UNTRUSTED, EKEYREJECTED, NULL},
        {"not RVF", hello_spec, SIG_GOOD, EBADMSG, not_rvf},
        {"not RVF, unsigned", hello_spec, SIG_GOOD, ENOKEY, not_rvf_unsigned},
        {"unsigned, bad manifest", hello_spec, SIG_NONE, ENOKEY, flip_manifest_byte_unsigned},
        {"untrusted, bad manifest", hello_spec, SIG_UNTRUSTED, EKEYREJECTED, flip_manifest_byte},
        {"untrusted, bad hash", {.name = "h", .ncomp = 1, .data = payload, .dlen = 192},
         SIG_UNTRUSTED, EKEYREJECTED, flip_data_byte_signed},
        {"trusted, edited after signing", {.name = "h", .ncomp = 1, .data = payload, .dlen = 192},
         SIG_GOOD, EKEYREJECTED, flip_data_byte_signed},
        {"trusted, truncated", hello_spec, SIG_GOOD, ENOKEY, truncate_signed},
        {"trusted signer, bad magic", hello_spec, SIG_GOOD, EBADMSG, flip_magic_resigned},
        {"trusted signer, bad hash", {.name = "h", .ncomp = 1, .data = payload, .dlen = 192},
         SIG_GOOD, EUCLEAN, flip_payload_resigned},
        {"bad manifest", {.name = "m", .ncomp = 1, .bad_manifest = true}, SIG_GOOD, EBADMSG, NULL},
        {"bad WASM", {.name = "w", .ncomp = 1, .bad_wasm = true}, SIG_GOOD, EBADMSG, NULL},
        {"content hash", {.name = "h", .ncomp = 1, .data = payload, .dlen = 192}, SIG_NONE,
         EUCLEAN, flip_data_byte},
        {"max_package", hello_spec, SIG_GOOD, EFBIG, tiny_max_package},
        {"components", {.name = "q", .ncomp = 257}, SIG_GOOD, EDQUOT, NULL},
        {"regions", {.name = "q", .ncomp = 1, .nregions = 257, .region_size = 64}, SIG_GOOD,
         EDQUOT, NULL},
        {"queues", {.name = "q", .ncomp = 1, .nqueues = 1025}, SIG_GOOD, EDQUOT, NULL},
        {"tasks", {.name = "q", .ncomp = 65}, SIG_GOOD, EDQUOT, NULL},
        {"raised region limit", {.name = "g", .ncomp = 1, .nregions = 1, .region_size = 65 * MIB},
         SIG_GOOD, ENOSPC, big_region_limit},
        {"heap exhausted by regions",
         {.name = "g", .ncomp = 1, .nregions = 2, .region_size = 40 * MIB}, SIG_GOOD, ENOSPC,
         NULL},
    };
    struct nub_sandbox *sb = boot(64 * MIB);
    /* Something mounted already, so "unchanged" is not just "empty". */
    struct tpkg base_pkg;
    build(&base_pkg, &hello_spec, SIG_GOOD);
    struct nub_intake_opts o;
    mount_opts(&o);
    struct nub_intake_result res;
    assert_int_equal(nub_intake(sb, &trust, &o, base_pkg.buf, base_pkg.len, &res), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct bad_case *c = &cases[i];
        struct tpkg p;
        build(&p, &c->spec, c->sig);
        mount_opts(&o);
        o.allow_unsigned = c->sig == SIG_NONE;
        if (c->mutate)
            c->mutate(&p, &o);
        struct snap before = snapshot(sb);
        int r = nub_intake(sb, &trust, &o, p.buf, p.len, &res);
        print_message("    %-26s -> %-13s %s\n", c->what, strerror(-r), res.reason);
        if (r != -c->err)
            fail_msg("%s: got %d (%s), want -%d (%s): %s", c->what, r, strerror(-r), c->err,
                     strerror(c->err), res.reason);
        assert_int_equal(res.handle, 0);
        assert_true(strncmp(res.reason, "test.rvf: ", 10) == 0 && strlen(res.reason) > 12);
        assert_same(&before, sb, c->what);
        tpkg_free(&p);
    }
    /* Reasons name what matters. */
    struct tpkg p;
    build(&p, &hello_spec, SIG_UNTRUSTED);
    mount_opts(&o);
    assert_int_equal(nub_intake(sb, &trust, &o, p.buf, p.len, &res), -EKEYREJECTED);
    char kid[NUB_KEYID_HEX];
    nub_key_id_hex(other_key.pub.id, kid);
    assert_non_null(strstr(res.reason, kid));
    assert_non_null(strstr(res.reason, "untrusted"));
    tpkg_free(&p);
    tpkg_free(&base_pkg);
    nub_sandbox_destroy(sb);
}

/* A package larger than guest memory (but within max_package) is ENOSPC
 * from ALLOC, before anything is copied. */
static void test_package_larger_than_guest(void **state)
{
    (void)state;
    struct nub_sandbox *sb = boot(32 * MIB);
    size_t n = 40 * MIB;
    uint8_t *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (uint8_t)(i * 7);
    struct spec s = {.name = "big", .ncomp = 1, .data = big, .dlen = n};
    struct tpkg p;
    build(&p, &s, SIG_GOOD);
    struct nub_intake_opts o;
    mount_opts(&o);
    struct nub_intake_result res;
    struct snap before = snapshot(sb);
    assert_int_equal(nub_intake(sb, &trust, &o, p.buf, p.len, &res), -ENOSPC);
    print_message("    40 MiB package, 32 MiB guest -> %s\n", res.reason);
    assert_same(&before, sb, "oversized package");
    tpkg_free(&p);
    free(big);
    nub_sandbox_destroy(sb);
}

/* A different blob under an existing cap hash: the guest cannot be made
 * to publish one honestly (PUT hashes on the host), so a raw PUT with a
 * forged hash plays the corrupt/hostile guest entry. */
static void raw_put(struct nub_sandbox *sb, const void *data, size_t len, const uint8_t hash[16])
{
    nub_sandbox_lock(sb);
    nub_gpa gpa;
    assert_int_equal(nub_sandbox_alloc_locked(sb, len, NUB_PAGE_SIZE, &gpa, NULL), 0);
    assert_int_equal(nub_gm_write(nub_sandbox_mem(sb), gpa, data, len), 0);
    struct nub_call c = {.op = NUB_OP_PUT, .args = {gpa, len, NUB_CAP_BLOB}};
    memcpy(c.hash, hash, 16);
    assert_int_equal(nub_sandbox_call_locked(sb, &c), 0);
    assert_int_equal(c.status, NUB_ST_OK);
    nub_sandbox_unlock(sb);
}

static void test_eexist(void **state)
{
    (void)state;
    struct nub_sandbox *sb = boot(64 * MIB);
    const char *real = "the real banner text.";
    const char *fake = "a forged banner text!"; /* same length */
    struct spec s = {.name = "ex", .ncomp = 1, .data = real, .dlen = strlen(real)};
    uint8_t h[16];
    rvf_hash128(real, strlen(real), h);
    raw_put(sb, fake, strlen(fake), h);
    struct tpkg p;
    build(&p, &s, SIG_GOOD);
    struct nub_intake_opts o;
    mount_opts(&o);
    struct nub_intake_result res;
    struct snap before = snapshot(sb);
    assert_int_equal(nub_intake(sb, &trust, &o, p.buf, p.len, &res), -EEXIST);
    print_message("    same length, other bytes -> %s\n", res.reason);
    assert_non_null(strstr(res.reason, "already exists"));
    assert_same(&before, sb, "EEXIST (same length)");

    /* Another length under the hash of a module of the package. */
    uint8_t w[64];
    size_t n;
    wasm_for(0, w, &n, false);
    rvf_hash128(w, n, h);
    raw_put(sb, "short", 5, h);
    struct spec s2 = {.name = "ex2", .ncomp = 1};
    tpkg_free(&p);
    build(&p, &s2, SIG_GOOD);
    before = snapshot(sb);
    assert_int_equal(nub_intake(sb, &trust, &o, p.buf, p.len, &res), -EEXIST);
    assert_same(&before, sb, "EEXIST (other length)");
    /* An equal blob PUT earlier is shared, not refused. */
    const char *same = "shared data blob";
    uint8_t hh[16];
    assert_int_equal(nub_call_put(sb, same, strlen(same), NUB_CAP_BLOB, hh), 0);
    struct spec s3 = {.name = "ok", .ncomp = 0, .data = same, .dlen = strlen(same)};
    tpkg_free(&p);
    build(&p, &s3, SIG_GOOD);
    assert_int_equal(nub_intake(sb, &trust, &o, p.buf, p.len, &res), 0);
    assert_int_equal(res.caps_held, 2);
    assert_int_equal(res.caps_new, 1); /* the manifest; the data was there */
    tpkg_free(&p);
    nub_sandbox_destroy(sb);
}

/* Fault injection after each guest step rolls back everything, also when
 * publishing the caps had to grow the directory. */
static void test_fault_injection(void **state)
{
    (void)state;
    struct nub_sandbox *sb = boot(64 * MIB);
    /* 29 blobs: the package's 4 caps take the directory past 1/2 of 64. */
    for (int i = 0; i < 29; i++) {
        char b[32];
        uint8_t h[16];
        snprintf(b, sizeof(b), "filler blob %d", i);
        assert_int_equal(nub_call_put(sb, b, strlen(b), NUB_CAP_BLOB, h), 0);
    }
    struct tpkg p;
    build(&p, &hello_spec, SIG_GOOD);
    struct nub_intake_opts o;
    mount_opts(&o);
    struct nub_intake_result res;
    for (uint32_t step = NUB_MOUNT_STEP_PARSE; step <= NUB_MOUNT_STEP_TASKS; step++) {
        struct snap before = snapshot(sb);
        o.fail_step = step;
        int r = nub_intake(sb, &trust, &o, p.buf, p.len, &res);
        print_message("    fail after step %u -> %s\n", step, res.reason);
        assert_int_equal(r, -EINVAL);
        assert_non_null(strstr(res.reason, "fault injected"));
        assert_same(&before, sb, "injected fault");
        assert_caps_present(sb, &p, false);
    }
    o.fail_step = 0;
    uint64_t cap0 = snapshot(sb).dir_capacity;
    assert_int_equal(nub_intake(sb, &trust, &o, p.buf, p.len, &res), 0);
    assert_true(snapshot(sb).dir_capacity > cap0); /* the real mount did grow it */
    assert_caps_present(sb, &p, true);
    tpkg_free(&p);
    nub_sandbox_destroy(sb);
}

/* Two packages share a DATA cap: it lives until the last holder goes, and
 * its bytes stay readable after the first (which published it) is gone. */
static void test_shared_cap(void **state)
{
    (void)state;
    struct nub_sandbox *sb = boot(64 * MIB);
    struct snap base = snapshot(sb);
    const char *shared = "one blob, two packages";
    struct spec sa = {.name = "a", .ncomp = 1, .data = shared, .dlen = strlen(shared)};
    struct spec sbs = {.name = "b", .ncomp = 2, .data = shared, .dlen = strlen(shared)};
    struct tpkg a, b;
    build(&a, &sa, SIG_GOOD);
    build(&b, &sbs, SIG_GOOD);
    struct nub_intake_opts o;
    mount_opts(&o);
    struct nub_intake_result ra, rb;
    assert_int_equal(nub_intake(sb, &trust, &o, a.buf, a.len, &ra), 0);
    assert_int_equal(nub_intake(sb, &trust, &o, b.buf, b.len, &rb), 0);
    /* b shares a's data and its module e0 (same bytes, same hash). */
    assert_int_equal(rb.caps_held, 4);
    assert_int_equal(rb.caps_new, 2);
    uint8_t h[16];
    rvf_hash128(shared, strlen(shared), h);

    struct nub_call_unmount_result u;
    assert_int_equal(nub_call_unmount(sb, ra.handle, &u), 0);
    assert_true(u.zombie); /* a's package holds bytes b still uses */
    assert_int_equal(u.caps_removed, 1); /* a's manifest */
    assert_caps_present(sb, &b, true);   /* incl. the shared bytes, read from guest memory */
    nub_sandbox_rdlock(sb);
    struct nub_reader rd;
    assert_int_equal(nub_reader_open(&rd, nub_sandbox_mem(sb), nub_sandbox_boot_info_gpa(sb)),
                     NUB_READER_OK);
    struct nub_cap cap;
    assert_int_equal(nub_reader_get(&rd, h, &cap), 0);
    assert_int_equal(cap.refcount, 1);
    nub_sandbox_rdunlock(sb);

    assert_int_equal(nub_call_unmount(sb, rb.handle, &u), 0);
    assert_int_equal(u.caps_removed, 4);
    assert_true(u.zombies_freed >= 2); /* its own package and a's */
    assert_caps_present(sb, &a, false);
    assert_caps_present(sb, &b, false);
    struct snap after = snapshot(sb);
    assert_int_equal(after.heap_used, base.heap_used);
    assert_int_equal(after.caps, base.caps);
    tpkg_free(&a);
    tpkg_free(&b);
    nub_sandbox_destroy(sb);
}

/* The guest crashes inside MOUNT: the heap metadata is scribbled over
 * (as a corrupt guest would) right before the call, so MOUNT's first heap
 * lookup panics. The mount is EIO, the sandbox poisoned; after a reboot
 * the same package bytes mount again (what the daemon does). */
static void corrupt_heap_meta(void *ctx, struct nub_sandbox *sb, nub_gpa pkg_gpa)
{
    (void)ctx;
    (void)pkg_gpa;
    struct nub_boot_info bi;
    const struct nub_guest_mem *gm = nub_sandbox_mem(sb);
    assert_int_equal(nub_gm_read(gm, nub_sandbox_boot_info_gpa(sb), &bi, sizeof(bi)), 0);
    /* The descriptor pool and the used-block map start the heap
     * (guest/lib/heap.c); its first 64 KiB hold both's beginnings. Every
     * map slot then names descriptor 0xffffffff. */
    uint64_t descs = (bi.mem_size - bi.heap_start) / NUB_HEAP_BYTES_PER_DESC;
    if (descs < NUB_HEAP_MIN_DESCS)
        descs = NUB_HEAP_MIN_DESCS;
    uint64_t map_cap = 1;
    while (map_cap < 2 * descs)
        map_cap <<= 1;
    uint64_t map_gpa = bi.heap_start + ((descs * 40 + 63) & ~63ull);
    uint8_t *ff = malloc(map_cap * 4);
    memset(ff, 0xff, map_cap * 4);
    assert_int_equal(nub_gm_write(gm, map_gpa, ff, map_cap * 4), 0);
    free(ff);
}

static void test_crash_during_mount(void **state)
{
    (void)state;
    struct nub_sandbox *sb = boot(64 * MIB);
    struct tpkg p;
    build(&p, &hello_spec, SIG_GOOD);
    struct nub_intake_opts o;
    mount_opts(&o);
    o.test_before_mount = corrupt_heap_meta;
    struct nub_intake_result res;
    assert_int_equal(nub_intake(sb, &trust, &o, p.buf, p.len, &res), -EIO);
    print_message("    crash -> %s\n", res.reason);
    assert_true(nub_sandbox_poisoned(sb));
    assert_non_null(strstr(res.reason, "crashed during the mount"));
    /* Poisoned: refused with EIO until rebooted. */
    o.test_before_mount = NULL;
    assert_int_equal(nub_intake(sb, &trust, &o, p.buf, p.len, &res), -EIO);
    assert_int_equal(nub_call_unmount(sb, 1, NULL), -EIO);
    char err[512];
    assert_int_equal(nub_sandbox_reboot(sb, err, sizeof(err)), 0);
    assert_int_equal(nub_intake(sb, &trust, &o, p.buf, p.len, &res), 0);
    assert_caps_present(sb, &p, true);
    tpkg_free(&p);
    nub_sandbox_destroy(sb);
}

/* A reader thread walks the mount table and the directory (shared lock)
 * while the main thread mounts and unmounts: every live record it sees
 * must be whole, with each of its caps present in the directory. */
struct walker {
    struct nub_sandbox *sb;
    volatile bool stop;
    uint64_t walks, records, problems;
};

static void *walk(void *arg)
{
    struct walker *w = arg;
    while (!w->stop) {
        nub_sandbox_rdlock(w->sb);
        const struct nub_guest_mem *gm = nub_sandbox_mem(w->sb);
        nub_gpa bi = nub_sandbox_boot_info_gpa(w->sb);
        struct nub_mtab_reader mr;
        struct nub_reader rd;
        if (nub_mtab_open(&mr, gm, bi) != 0 || nub_reader_open(&rd, gm, bi) != NUB_READER_OK) {
            w->problems++;
        } else {
            uint64_t cur = 0, bad = 0, live = 0;
            struct nub_mtab_mount m;
            struct nub_mount_table t;
            while (nub_mtab_next(&mr, &cur, &m, &bad) == 1) {
                live++;
                struct nub_mount_cap caps[8];
                if (m.ncaps > 8 || nub_mtab_caps(&mr, &m, 0, m.ncaps, caps) != 0) {
                    w->problems++;
                    continue;
                }
                for (uint32_t i = 0; i < m.ncaps; i++)
                    if (!nub_reader_contains(&rd, caps[i].hash))
                        w->problems++;
            }
            if (bad != 0 || nub_mtab_header(&mr, &t) != 0 || t.count != live)
                w->problems++;
            w->records += live;
        }
        w->walks++;
        nub_sandbox_rdunlock(w->sb);
    }
    return NULL;
}

static void test_concurrent_readers(void **state)
{
    (void)state;
    struct nub_sandbox *sb = boot(64 * MIB);
    struct tpkg a, b;
    build(&a, &hello_spec, SIG_GOOD);
    struct spec sbs = hello_spec;
    sbs.name = "other";
    build(&b, &sbs, SIG_GOOD);
    struct walker w = {.sb = sb};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, walk, &w), 0);
    struct nub_intake_opts o;
    mount_opts(&o);
    struct nub_intake_result ra, rb, rf;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(nub_intake(sb, &trust, &o, a.buf, a.len, &ra), 0);
        assert_int_equal(nub_intake(sb, &trust, &o, b.buf, b.len, &rb), 0);
        o.fail_step = NUB_MOUNT_STEP_TASKS; /* a failed mount in between */
        assert_int_equal(nub_intake(sb, &trust, &o, a.buf, a.len, &rf), -EINVAL);
        o.fail_step = 0;
        assert_int_equal(nub_call_unmount(sb, ra.handle, NULL), 0);
        assert_int_equal(nub_call_unmount(sb, rb.handle, NULL), 0);
    }
    w.stop = true;
    pthread_join(th, NULL);
    print_message("    %lu walks saw %lu live records, %lu problems\n", w.walks, w.records,
                  w.problems);
    assert_int_equal(w.problems, 0);
    assert_true(w.walks > 0);
    tpkg_free(&a);
    tpkg_free(&b);
    nub_sandbox_destroy(sb);
}

/* A long copy does not stall readers: while a 64 MiB package sits in its
 * ALLOCed block between the copy and MOUNT (inside the mount's call
 * sequence, the state the copy runs in), a reader thread takes the read
 * lock and reads a published cap; it sees none of the new package yet.
 * Before readers were let in there, the hook's wait timed out. Then a
 * reader loop measures its longest wait for the read lock during a whole
 * mount of the same package (printed, not asserted: timing). */
struct copy_reader {
    struct nub_sandbox *sb;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool go, done, stop;
    int result;                /* 0: read the cap, saw no half state */
    uint8_t pub[16], fresh[16];/* a published cap; the package's DATA cap */
    uint64_t max_wait_ns, reads;
};

/* Under the read lock: the published cap reads back; if fresh_absent,
 * the new package's cap is not there yet. */
static int read_published(struct copy_reader *c, bool fresh_absent)
{
    nub_sandbox_rdlock(c->sb);
    struct nub_reader rd;
    struct nub_cap cap;
    char buf[32] = "";
    int r = nub_reader_open(&rd, nub_sandbox_mem(c->sb), nub_sandbox_boot_info_gpa(c->sb));
    if (r == NUB_READER_OK)
        r = nub_reader_get(&rd, c->pub, &cap);
    if (r == 0 && (cap.len != 21 || nub_gm_read(nub_sandbox_mem(c->sb), cap.data_gpa, buf, 21)))
        r = -EIO;
    if (r == 0 && memcmp(buf, "banner: hello, world\n", 21) != 0)
        r = -EBADMSG;
    if (r == 0 && fresh_absent && nub_reader_contains(&rd, c->fresh))
        r = -EEXIST; /* a half-mounted package would show here */
    nub_sandbox_rdunlock(c->sb);
    return r;
}

static void *copy_reader_main(void *arg)
{
    struct copy_reader *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->go)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    int r = read_published(c, true);
    pthread_mutex_lock(&c->mu);
    if (c->result != -ETIMEDOUT) /* too late: the mount was over by then */
        c->result = r;
    c->done = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* The test hook: wakes the reader and waits (bounded) for its answer. */
static void wait_for_reader(void *ctx, struct nub_sandbox *sb, nub_gpa gpa)
{
    (void)sb;
    (void)gpa;
    struct copy_reader *c = ctx;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 5;
    pthread_mutex_lock(&c->mu);
    c->go = true;
    pthread_cond_broadcast(&c->cv);
    while (!c->done)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &dl) == ETIMEDOUT)
            break;
    if (!c->done)
        c->result = -ETIMEDOUT; /* the reader is blocked behind the mount */
    pthread_mutex_unlock(&c->mu);
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *stall_reader_main(void *arg)
{
    struct copy_reader *c = arg;
    while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
        uint64_t t = mono_ns();
        nub_sandbox_rdlock(c->sb);
        uint64_t w = mono_ns() - t;
        nub_sandbox_rdunlock(c->sb);
        if (w > c->max_wait_ns)
            c->max_wait_ns = w;
        int r = read_published(c, false); /* MOUNT publishes it whole mid-loop */
        if (r != 0)
            c->result = r;
        c->reads++;
    }
    return NULL;
}

static void test_readers_during_copy(void **state)
{
    (void)state;
    struct nub_sandbox *sb = boot(256 * MIB);
    struct tpkg hello;
    build(&hello, &hello_spec, SIG_GOOD);
    struct nub_intake_opts o;
    mount_opts(&o);
    struct nub_intake_result rh, rb;
    assert_int_equal(nub_intake(sb, &trust, &o, hello.buf, hello.len, &rh), 0);

    size_t n = 64 * MIB;
    uint8_t *big = malloc(n);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (uint8_t)(i * 2654435761u >> 13);
    struct spec s = {.name = "big", .ncomp = 1, .data = big, .dlen = n};
    struct tpkg p;
    build(&p, &s, SIG_NONE);
    struct copy_reader c = {.sb = sb, .mu = PTHREAD_MUTEX_INITIALIZER,
                            .cv = PTHREAD_COND_INITIALIZER, .result = -EINPROGRESS};
    rvf_hash128(hello_spec.data, hello_spec.dlen, c.pub);
    rvf_hash128(big, n, c.fresh);
    o.allow_unsigned = true;
    o.limits.max_package = 128 * MIB;
    o.test_before_mount = wait_for_reader;
    o.test_ctx = &c;

    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, copy_reader_main, &c), 0);
    int r = nub_intake(sb, &trust, &o, p.buf, p.len, &rb);
    pthread_join(th, NULL);
    if (r != 0)
        fail_msg("64 MiB mount: %d %s", r, rb.reason);
    print_times("64 MiB, reader in the copy window", p.len, &rb.times);
    if (c.result != 0)
        fail_msg("reader during the mount's copy window: %s", strerror(-c.result));
    assert_int_equal(nub_call_unmount(sb, rb.handle, NULL), 0);

    /* The longest read-lock wait over a whole mount, for the record. */
    o.test_before_mount = NULL;
    c.result = 0;
    assert_int_equal(pthread_create(&th, NULL, stall_reader_main, &c), 0);
    r = nub_intake(sb, &trust, &o, p.buf, p.len, &rb);
    __atomic_store_n(&c.stop, true, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    assert_int_equal(r, 0);
    assert_int_equal(c.result, 0);
    print_message("    64 MiB mount: copy %.1f ms; %lu reads, longest read-lock wait %.1f ms\n",
                  rb.times.copy_ns / 1e6, c.reads, c.max_wait_ns / 1e6);
    assert_int_equal(nub_call_unmount(sb, rb.handle, NULL), 0);
    assert_int_equal(nub_call_unmount(sb, rh.handle, NULL), 0);
    tpkg_free(&p);
    tpkg_free(&hello);
    free(big);
    nub_sandbox_destroy(sb);
}

/* ---- configured limits reach the guest (abi.h struct nub_mount_limits) -- */

/* Mounts p with o; returns the handle after checking it is in the table. */
static uint64_t mount_checked(struct nub_sandbox *sb, const struct nub_intake_opts *o,
                              const struct tpkg *p, const char *what)
{
    struct nub_intake_result res;
    int r = nub_intake(sb, &trust, o, p->buf, p->len, &res);
    if (r != 0)
        fail_msg("%s: %d %s", what, r, res.reason);
    print_times(what, p->len, &res.times);
    assert_int_not_equal(res.handle, 0);
    return res.handle;
}

/* Refused with err, guest unchanged; returns nothing, prints the reason. */
static void mount_refused(struct nub_sandbox *sb, const struct nub_intake_opts *o,
                          const struct tpkg *p, int err, const char *needle, const char *what)
{
    struct nub_intake_result res;
    struct snap before = snapshot(sb);
    int r = nub_intake(sb, &trust, o, p->buf, p->len, &res);
    print_message("    %-32s -> %-13s %s\n", what, strerror(-r), res.reason);
    if (r != -err || strstr(res.reason, needle) == NULL)
        fail_msg("%s: got %d (%s), want -%d with '%s'", what, r, res.reason, err, needle);
    assert_same(&before, sb, what);
}

/* max_package raised to 300 MiB: a ~260 MiB package (one DATA segment)
 * mounts in a 1 GiB guest and unmounts back to the heap baseline; with
 * the default max_package it is EFBIG on the host. The guest does no work
 * proportional to the bytes, so this stays quick even under emulation. */
static void test_max_package_raised(void **state)
{
    (void)state;
    struct nub_sandbox *sb = boot(1024 * MIB);
    struct snap base = snapshot(sb);
    size_t n = 260 * MIB;
    uint8_t *big = malloc(n);
    assert_non_null(big);
    memset(big, 0x5a, n);
    for (size_t i = 0; i < n; i += 4096)
        big[i] = (uint8_t)(i >> 12);
    struct spec s = {.name = "huge", .ncomp = 1, .data = big, .dlen = n};
    struct tpkg p;
    build(&p, &s, SIG_NONE); /* unsigned: signing 260 MiB twice adds nothing here */
    struct nub_intake_opts o;
    mount_opts(&o);
    o.allow_unsigned = true;
    mount_refused(sb, &o, &p, EFBIG, "max_package", "260 MiB, default max_package");

    o.limits.max_package = 300 * MIB;
    uint64_t h = mount_checked(sb, &o, &p, "260 MiB, max_package=300M");
    nub_sandbox_rdlock(sb);
    struct nub_reader rd;
    assert_int_equal(nub_reader_open(&rd, nub_sandbox_mem(sb), nub_sandbox_boot_info_gpa(sb)),
                     NUB_READER_OK);
    uint8_t hash[16];
    rvf_hash128(big, n, hash);
    struct nub_cap cap;
    assert_int_equal(nub_reader_get(&rd, hash, &cap), 0);
    assert_int_equal(cap.len, n);
    uint8_t probe[64]; /* spot checks; the host hashed every byte before MOUNT */
    for (uint64_t off = 0; off < n; off += 37 * MIB) {
        assert_int_equal(nub_gm_read(nub_sandbox_mem(sb), cap.data_gpa + off, probe, 64), 0);
        assert_memory_equal(probe, big + off, 64);
    }
    struct nub_mtab_reader mr;
    struct nub_mtab_mount m;
    assert_int_equal(nub_mtab_open(&mr, nub_sandbox_mem(sb), nub_sandbox_boot_info_gpa(sb)),
                     0);
    assert_int_equal(nub_mtab_find(&mr, h, &m), 0);
    assert_int_equal(m.package_len, p.len);
    nub_sandbox_rdunlock(sb);
    assert_true(snapshot(sb).heap_used >= base.heap_used + n);

    struct nub_call_unmount_result u;
    assert_int_equal(nub_call_unmount(sb, h, &u), 0);
    assert_int_equal(u.caps_removed, 3); /* manifest, module, data */
    struct snap after = snapshot(sb);
    assert_int_equal(after.heap_used, base.heap_used);
    assert_int_equal(after.caps, base.caps);
    assert_int_equal(after.mounts, 0);
    tpkg_free(&p);
    free(big);
    nub_sandbox_destroy(sb);
}

/* A raised max_region_size lets a region over the 64 MiB default mount
 * (the guest used to refuse it with its own defaults); a guest-only limit
 * (the WASM section walk, which the host does not do) is enforced in the
 * guest; counts over the hard maxima are clamped on both sides. */
static void test_raised_and_guest_limits(void **state)
{
    (void)state;
    struct nub_sandbox *sb = boot(256 * MIB);
    struct snap base = snapshot(sb);
    struct spec s = {.name = "wide", .ncomp = 1, .nregions = 1, .region_size = 80 * MIB};
    struct tpkg p;
    build(&p, &s, SIG_GOOD);
    struct nub_intake_opts o;
    mount_opts(&o);
    mount_refused(sb, &o, &p, EDQUOT, "max_region_size", "80 MiB region, default limit");
    o.limits.max_region_size = 128 * MIB;
    uint64_t h = mount_checked(sb, &o, &p, "80 MiB region, limit 128M");
    nub_sandbox_rdlock(sb);
    struct nub_mtab_reader mr;
    struct nub_mtab_mount m;
    struct nub_mount_region rg;
    assert_int_equal(nub_mtab_open(&mr, nub_sandbox_mem(sb), nub_sandbox_boot_info_gpa(sb)),
                     0);
    assert_int_equal(nub_mtab_find(&mr, h, &m), 0);
    assert_int_equal(nub_mtab_regions(&mr, &m, 0, 1, &rg), 0);
    assert_int_equal(rg.size, 80 * MIB);
    nub_sandbox_rdunlock(sb);
    assert_int_equal(nub_call_unmount(sb, h, NULL), 0);
    assert_int_equal(snapshot(sb).heap_used, base.heap_used);
    tpkg_free(&p);

    /* Only the guest walks WASM sections: its refusal proves the limits
     * arrived (the sample module has 4 sections). */
    build(&p, &hello_spec, SIG_GOOD);
    mount_opts(&o);
    o.limits.max_wasm_sections = 2;
    mount_refused(sb, &o, &p, EDQUOT, "guest: segment 1", "max_wasm_sections=2");

    /* Counts over the hard maxima: clamped, so 65 tasks are EDQUOT on the
     * host already, and an ordinary package mounts. */
    mount_opts(&o);
    o.limits.max_tasks = o.limits.max_components = 100000;
    tpkg_free(&p);
    build(&p, &(struct spec){.name = "q", .ncomp = 65}, SIG_GOOD);
    mount_refused(sb, &o, &p, EDQUOT, "limit 64", "65 tasks, max_tasks=100000");
    tpkg_free(&p);
    build(&p, &hello_spec, SIG_GOOD);
    h = mount_checked(sb, &o, &p, "hello, max_tasks=100000");
    assert_int_equal(nub_call_unmount(sb, h, NULL), 0);
    assert_int_equal(snapshot(sb).heap_used, base.heap_used);
    tpkg_free(&p);
    nub_sandbox_destroy(sb);
}

int main(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        printf("SKIPPED: cannot open /dev/kvm (%s): these tests boot the real guest\n",
               strerror(errno));
        return 77;
    }
    close(fd);
    if (nub_sign_init() != 0 || nub_key_generate(&key) != 0 || nub_key_generate(&other_key) != 0)
        return 1;
    nub_trust_init(&trust);
    if (nub_trust_add(&trust, &key.pub) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mount_unmount),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_package_larger_than_guest),
        cmocka_unit_test(test_eexist),
        cmocka_unit_test(test_fault_injection),
        cmocka_unit_test(test_shared_cap),
        cmocka_unit_test(test_crash_during_mount),
        cmocka_unit_test(test_concurrent_readers),
        cmocka_unit_test(test_readers_during_copy),
        cmocka_unit_test(test_max_package_raised),
        cmocka_unit_test(test_raised_and_guest_limits),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    nub_trust_free(&trust);
    nub_seckey_wipe(&key);
    nub_seckey_wipe(&other_key);
    return r;
}
