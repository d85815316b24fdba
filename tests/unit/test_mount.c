/* Unit tests of the guest's mount pipeline (host build of the guest logic,
 * over a buffer standing in for guest RAM): packages built in memory with
 * the RVF encoder and tiny hand-written WASM modules, mounted through the
 * mailbox as the host does it, then checked as the host reader would see
 * them: directory, mount table, regions, rings, tasks, grants, heap level.
 * Every failure (limits, out of memory, malformed input, an injected fault
 * after each step) must leave directory, table and heap exactly as before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "guest_test_mem.h"
#include "nub/guest_core.h"
#include "nub/guest_mount.h"
#include "rvf.h"

#define MEM (64ull << 20)
#define IMAGE_END 0x219000ull

/* ---- tiny WASM modules --------------------------------------------------- */

#define EXP_FUNC 0x00
#define EXP_GLOBAL 0x03

/* A valid module with one function and one i32 global; exports[i] is
 * exported with kinds[i] (index 0 of that kind). Returns the length. */
static size_t make_wasm(uint8_t *out, const char *const *names, const uint8_t *kinds, int n)
{
    static const uint8_t head[] = {
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, /* \0asm, version 1 */
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00,             /* type: () -> () */
        0x03, 0x02, 0x01, 0x00,                         /* function: type 0 */
        0x06, 0x06, 0x01, 0x7f, 0x00, 0x41, 0x00, 0x0b, /* global: i32 const 0 */
    };
    size_t i = sizeof head;
    memcpy(out, head, i);
    uint8_t sec[256];
    size_t s = 0;
    sec[s++] = (uint8_t)n;
    for (int e = 0; e < n; e++) {
        size_t len = strlen(names[e]);
        sec[s++] = (uint8_t)len;
        memcpy(sec + s, names[e], len);
        s += len;
        sec[s++] = kinds ? kinds[e] : EXP_FUNC;
        sec[s++] = 0x00;
    }
    out[i++] = 0x07;
    out[i++] = (uint8_t)s;
    memcpy(out + i, sec, s);
    i += s;
    static const uint8_t code[] = {0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b}; /* body: end */
    memcpy(out + i, code, sizeof code);
    return i + sizeof code;
}

/* ---- package builder ----------------------------------------------------- */

struct pkg {
    uint8_t buf[1 << 20];
    size_t len;
    uint32_t nseg;
};

static void add_seg(struct pkg *p, uint8_t type, const void *payload, size_t len)
{
    uint8_t hash[16];
    rvf_hash128(payload, len, hash);
    uint64_t total = rvf_segment_size(len);
    assert_true(total && p->len + total <= sizeof p->buf);
    rvf_segment_header_encode(p->buf + p->len, type, p->nseg, len, 0, hash);
    memcpy(p->buf + p->len + RVF_SEG_HEADER_SIZE, payload, len);
    memset(p->buf + p->len + RVF_SEG_HEADER_SIZE + len, 0, total - RVF_SEG_HEADER_SIZE - len);
    p->len += total;
    p->nseg++;
}

/* Variations of the sample package. Zero = the sample. */
struct knobs {
    const char *name;
    const uint8_t *wasm_a; /* module of "producer" (default exports run, main) */
    size_t wasm_a_len;
    uint8_t data_byte;     /* fill of the immutable region's content */
    uint32_t extra_data;   /* unreferenced DATA segments (distinct) */
    uint32_t extra_components, extra_regions, extra_queues;
    uint32_t extra_entries; /* more entry points on "producer" */
    int bad_grant;         /* patch a grant beyond the access sets */
    int bad_manifest;      /* corrupt the manifest magic */
    uint64_t log_size;     /* append-only region size, default 8192 */
    uint32_t q0_max_msg;   /* first queue's message size, default 100 */
    int dup_data;          /* the data segment twice (one hash, two segments) */
};

static const char *const entries_a[] = {"run", "main"};
static const char *const entries_b[] = {"run"};
static char names_pool[4096][16];

static const char *pool_name(unsigned i, const char *prefix)
{
    snprintf(names_pool[i], sizeof names_pool[i], "%s%u", prefix, i);
    return names_pool[i];
}

static void build(struct pkg *p, const struct knobs *k)
{
    p->len = 0;
    p->nseg = 0;
    uint8_t wa[4096], wb[256], data[300];
    size_t la = k->wasm_a_len, lb;
    if (k->wasm_a)
        memcpy(wa, k->wasm_a, la);
    else
        la = make_wasm(wa, entries_a, NULL, 2);
    lb = make_wasm(wb, entries_b, NULL, 1);
    memset(data, k->data_byte ? k->data_byte : 0xd1, sizeof data);

    /* entries of the producer: run, main, then e0.. (all exported only if
     * the module is the default and extra_entries is 0) */
    static const char *ents[128];
    uint32_t nent = 2 + k->extra_entries;
    assert_true(nent <= 128);
    ents[0] = "run";
    ents[1] = "main";
    for (uint32_t i = 2; i < nent; i++)
        ents[i] = pool_name(i, "e");

    uint32_t nc = 2 + k->extra_components;
    struct rvf_component_desc *comps = calloc(nc, sizeof *comps);
    comps[0] = (struct rvf_component_desc){.name = "producer", .priority = 10, .entries = ents,
                                           .nentries = nent};
    rvf_hash128(wa, la, comps[0].wasm_hash);
    comps[1] = (struct rvf_component_desc){.name = "consumer", .priority = 20,
                                           .entries = entries_b, .nentries = 1};
    rvf_hash128(wb, lb, comps[1].wasm_hash);
    for (uint32_t i = 2; i < nc; i++) {
        comps[i] = (struct rvf_component_desc){.name = pool_name(1000 + i, "c")};
        memcpy(comps[i].wasm_hash, comps[1].wasm_hash, 16);
    }

    static const uint32_t both[] = {0, 1}, c0[] = {0}, c1[] = {1};
    uint32_t nr = 3 + k->extra_regions;
    struct rvf_region_desc *regs = calloc(nr, sizeof *regs);
    regs[0] = (struct rvf_region_desc){.name = "config", .policy = RVF_REGION_IMMUTABLE,
                                       .owner = 0, .readers = both, .nreaders = 2};
    rvf_hash128(data, sizeof data, regs[0].init_hash);
    regs[1] = (struct rvf_region_desc){.name = "log", .policy = RVF_REGION_APPEND_ONLY,
                                       .owner = 0, .max_size = k->log_size ? k->log_size : 8192,
                                       .readers = both, .nreaders = 2, .writers = c0,
                                       .nwriters = 1};
    regs[2] = (struct rvf_region_desc){.name = "slots", .policy = RVF_REGION_SLAB, .owner = 1,
                                       .slot_size = 64, .slot_count = 16, .readers = c1,
                                       .nreaders = 1, .writers = c1, .nwriters = 1};
    for (uint32_t i = 3; i < nr; i++)
        regs[i] = (struct rvf_region_desc){.name = pool_name(2000 + i, "r"),
                                           .policy = RVF_REGION_APPEND_ONLY, .max_size = 64};

    uint32_t nq = 1 + k->extra_queues;
    struct rvf_queue_desc *qs = calloc(nq, sizeof *qs);
    qs[0] = (struct rvf_queue_desc){.src = 0, .dst = 1, .src_port = "out", .dst_port = "in",
                                    .capacity = 8,
                                    .max_msg = k->q0_max_msg ? k->q0_max_msg : 100};
    for (uint32_t i = 1; i < nq; i++)
        qs[i] = (struct rvf_queue_desc){.src = 0, .dst = 1, .src_port = pool_name(3000 + i, "o"),
                                        .dst_port = "in", .capacity = 2, .max_msg = 8};

    const struct rvf_grant grants[] = {
        {0, RVF_OBJ_REGION, 0, RVF_RIGHT_READ},
        {0, RVF_OBJ_REGION, 1, RVF_RIGHT_READ | RVF_RIGHT_WRITE | RVF_RIGHT_GRANT},
        {0, RVF_OBJ_QUEUE, 0, RVF_RIGHT_WRITE},
        {1, RVF_OBJ_REGION, 2, RVF_RIGHT_READ | RVF_RIGHT_WRITE},
        {1, RVF_OBJ_QUEUE, 0, RVF_RIGHT_READ},
        {1, RVF_OBJ_COMPONENT, 0, RVF_RIGHT_READ | RVF_RIGHT_EXECUTE},
    };
    struct rvf_manifest_desc d = {
        .name = k->name ? k->name : "hello", .version = "1.2.3",
        .components = comps, .ncomponents = nc, .regions = regs, .nregions = nr,
        .queues = qs, .nqueues = nq, .grants = grants, .ngrants = 6,
    };
    static uint8_t mf[1 << 18];
    size_t mlen = 0;
    struct rvf_result res;
    /* Encode with generous limits: the limit tests need manifests over
     * the defaults (the encoder checks its output with the parser). */
    struct rvf_limits lim;
    rvf_limits_default(&lim);
    lim.max_tasks = lim.max_components = lim.max_regions = lim.max_queues = 4096;
    lim.max_message = 1u << 20;
    enum rvf_status st = rvf_manifest_encode(&d, &lim, mf, sizeof mf, &mlen, &res);
    if (st != RVF_OK)
        fail_msg("encode: %s", res.msg);
    if (k->bad_grant) { /* consumer (1) WRITE on region config (0): not in its write set */
        struct rvf_manifest m;
        assert_int_equal(rvf_manifest_parse(mf, mlen, NULL, 0, NULL, &m, NULL), RVF_OK);
        uint8_t *g = mf + m.grant_off + 3 * RVF_MF_GRANT_SIZE; /* {1, region, 2} */
        g[12] |= RVF_RIGHT_EXECUTE;
    }
    if (k->bad_manifest)
        mf[0] ^= 0xff;
    add_seg(p, RVF_SEG_MANIFEST, mf, mlen);
    add_seg(p, RVF_SEG_WASM, wa, la);
    add_seg(p, RVF_SEG_WASM, wb, lb);
    add_seg(p, RVF_SEG_DATA, data, sizeof data);
    if (k->dup_data)
        add_seg(p, RVF_SEG_DATA, data, sizeof data);
    for (uint32_t i = 0; i < k->extra_data; i++) {
        uint8_t blob[64];
        memset(blob, 0, sizeof blob);
        memcpy(blob, &i, sizeof i);
        blob[63] = k->data_byte;
        add_seg(p, RVF_SEG_DATA, blob, sizeof blob);
    }
    free(comps);
    free(regs);
    free(qs);
}

/* ---- fixture: the guest behind a mailbox, as in test_guest_core.c ------- */

struct fx {
    uint8_t *base;
    struct nub_boot_info bi;
    struct nub_mailbox mb;
    struct nub_log_ring ring;
    struct nub_core core;
    uint64_t seq;
    struct pkg pkg;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f || !(f->base = guest_test_boot(MEM, 7, IMAGE_END, &f->bi, &f->mb, &f->ring,
                                          &f->core)))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    guest_test_mem_close(f->base, MEM);
    free(f);
    return 0;
}

/* One call with all NUB_MAILBOX_ARGS arguments; returns its status. */
static uint32_t call_args(struct fx *f, uint32_t op, const uint64_t args[NUB_MAILBOX_ARGS],
                          const uint8_t *hash)
{
    memcpy(f->mb.args, args, sizeof f->mb.args);
    memset(f->mb.hash, 0, sizeof f->mb.hash);
    f->mb.op = op;
    f->mb.seq = ++f->seq;
    if (hash)
        memcpy(f->mb.hash, hash, 16);
    f->mb.status = NUB_ST_PENDING;
    nub_core_call(&f->core);
    assert_int_equal(f->mb.seq_done, f->seq);
    assert_true(guest_test_scrub(&f->mb, f->bi.heap_start, MEM) >= 0);
    uint32_t st = f->mb.status;
    while (f->mb.scrub_more) { /* drain, keeping the status of the real call */
        uint64_t ret[NUB_MAILBOX_ARGS];
        char msg[NUB_MAILBOX_MSG];
        memcpy(ret, f->mb.ret, sizeof ret);
        memcpy(msg, f->mb.msg, sizeof msg);
        f->mb.op = NUB_OP_NOP;
        f->mb.seq = ++f->seq;
        nub_core_call(&f->core);
        assert_true(guest_test_scrub(&f->mb, f->bi.heap_start, MEM) >= 0);
        memcpy(f->mb.ret, ret, sizeof ret);
        memcpy(f->mb.msg, msg, sizeof msg);
    }
    return st;
}

static uint32_t call(struct fx *f, uint32_t op, uint64_t a0, uint64_t a1, uint64_t a2,
                     const uint8_t *hash)
{
    const uint64_t args[NUB_MAILBOX_ARGS] = {a0, a1, a2};
    return call_args(f, op, args, hash);
}

static void init(struct fx *f) { assert_int_equal(call(f, NUB_OP_INIT, 0, 0, 0, NULL), NUB_ST_OK); }

/* The host's half: ALLOC the package size and copy the package in. */
static uint64_t load(struct fx *f, const struct pkg *p)
{
    assert_int_equal(call(f, NUB_OP_ALLOC, p->len, 0, 0, NULL), NUB_ST_OK);
    uint64_t gpa = f->mb.ret[0];
    memcpy(nub_mem_ptr(gpa), p->buf, p->len);
    return gpa;
}

static const uint8_t signer[16] = {0x5e, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};

static uint32_t mount(struct fx *f, uint64_t gpa, uint64_t len, uint64_t flags)
{
    return call(f, NUB_OP_MOUNT, gpa, len, flags, signer);
}

static uint64_t mount_ok(struct fx *f, const struct pkg *p, uint64_t *gpa_out)
{
    uint64_t gpa = load(f, p);
    uint32_t st = mount(f, gpa, p->len, 0);
    if (st != NUB_ST_OK)
        fail_msg("mount failed (%u): %s", st, f->mb.msg);
    if (gpa_out)
        *gpa_out = gpa;
    return f->mb.ret[0];
}

static uint64_t heap_used(struct fx *f) { return nub_heap_used(&f->core.heap); }

static const struct nub_mount_table *table(struct fx *f)
{
    return nub_mem_ptr(f->bi.mount_table_gpa);
}

static const struct nub_mount_rec *rec_of(struct fx *f, uint64_t handle)
{
    const struct nub_mount_table *t = table(f);
    const struct nub_mount_rec *r = nub_mem_ptr(t->slots_gpa);
    for (uint64_t i = 0; i < t->capacity; i++)
        if (r[i].state != NUB_MOUNT_S_FREE && r[i].handle == handle)
            return &r[i];
    return NULL;
}

static void consistent(struct fx *f)
{
    assert_int_equal(nub_heap_check(&f->core.heap), 0);
    assert_int_equal(nub_dir_check(&f->core.dir), 0);
    assert_int_equal(nub_mounts_check(&f->core.mounts), 0);
}

/* ---- snapshots for the all-or-nothing checks ----------------------------- */

struct snap {
    uint64_t used, dir_count, dir_cap, dir_bytes, dir_entries_gpa;
    struct nub_dir_entry *entries;
    uint8_t *table;
    size_t table_len;
};

static void snap_take(const struct nub_mounts *m, struct snap *s)
{
    const struct nub_dir *d = m->dir;
    s->used = nub_heap_used(m->heap);
    s->dir_count = d->count;
    s->dir_cap = d->capacity;
    s->dir_bytes = d->total_bytes;
    s->dir_entries_gpa = d->entries_gpa;
    s->entries = malloc(d->capacity * sizeof *s->entries);
    memcpy(s->entries, nub_mem_ptr(d->entries_gpa), d->capacity * sizeof *s->entries);
    s->table_len = sizeof(struct nub_mount_table) + m->capacity * sizeof(struct nub_mount_rec);
    s->table = malloc(s->table_len);
    memcpy(s->table, nub_mem_ptr(m->table_gpa), sizeof(struct nub_mount_table));
    memcpy(s->table + sizeof(struct nub_mount_table), nub_mem_ptr(m->slots_gpa),
           m->capacity * sizeof(struct nub_mount_rec));
}

/* Directory contents (entries, count, bytes, capacity), the whole mount
 * table and the heap's used level are exactly as in s; the directory
 * generation may have advanced. */
static void snap_same(const struct nub_mounts *m, struct snap *s)
{
    const struct nub_dir *d = m->dir;
    assert_int_equal(nub_heap_used(m->heap), s->used);
    assert_int_equal(nub_heap_check(m->heap), 0);
    assert_int_equal(nub_dir_check(d), 0);
    assert_int_equal(d->count, s->dir_count);
    assert_int_equal(d->capacity, s->dir_cap);
    assert_int_equal(d->total_bytes, s->dir_bytes);
    for (uint64_t i = 0; i < s->dir_cap; i++) {
        if (!(s->entries[i].flags & NUB_DIR_F_USED))
            continue;
        const struct nub_dir_entry *e = nub_dir_lookup(d, s->entries[i].hash);
        assert_non_null(e);
        assert_memory_equal(e, &s->entries[i], sizeof *e);
    }
    if (d->entries_gpa == s->dir_entries_gpa) /* no growth: the very same layout */
        assert_memory_equal(nub_mem_ptr(d->entries_gpa), s->entries,
                            s->dir_cap * sizeof *s->entries);
    assert_memory_equal(nub_mem_ptr(m->table_gpa), s->table, sizeof(struct nub_mount_table));
    assert_memory_equal(nub_mem_ptr(m->slots_gpa), s->table + sizeof(struct nub_mount_table),
                        s->table_len - sizeof(struct nub_mount_table));
    assert_int_equal(nub_mounts_check(m), 0);
    free(s->entries);
    free(s->table);
}

static const struct knobs sample = {0};
static void fault_each_step(struct fx *f, const struct pkg *p);

/* ---- tests --------------------------------------------------------------- */

static void test_mount_creates_everything(void **state)
{
    struct fx *f = *state;
    init(f);
    build(&f->pkg, &sample);
    uint64_t used0 = heap_used(f), caps0 = f->core.dir.count;
    uint64_t gpa;
    uint64_t h = mount_ok(f, &f->pkg, &gpa);
    assert_int_not_equal(h, 0);
    assert_int_equal(f->mb.ret[2], 4); /* manifest, two modules, one data blob */
    assert_int_equal(f->mb.ret[3], 4);
    consistent(f);

    const struct nub_mount_table *t = table(f);
    assert_int_equal(t->magic, NUB_MOUNT_MAGIC);
    assert_int_equal(t->count, 1);
    assert_int_equal(t->capacity, NUB_MOUNT_SLOTS);
    const struct nub_mount_rec *r = rec_of(f, h);
    assert_non_null(r);
    assert_int_equal(f->mb.ret[1], (uint64_t)((const uint8_t *)r - f->base));
    assert_int_equal(r->state, NUB_MOUNT_S_LIVE);
    assert_string_equal(r->name, "hello");
    assert_string_equal(r->version, "1.2.3");
    assert_memory_equal(r->signer, signer, 8);
    assert_int_equal(r->package_gpa, gpa);
    assert_int_equal(r->package_len, f->pkg.len);
    assert_int_equal(r->ncomponents, 2);
    assert_int_equal(r->nregions, 3);
    assert_int_equal(r->nqueues, 1);
    assert_int_equal(r->ntasks, 3);
    assert_int_equal(r->ngrants, 6);
    assert_int_equal(r->ncaps, 4);
    assert_int_equal(t->generation, r->generation);

    /* The package is the mount's now: the host cannot free it. */
    assert_int_equal(call(f, NUB_OP_FREE, gpa, 0, 0, NULL), NUB_ST_INVAL);

    /* Components: modules in place in the package. */
    const struct nub_mount_component *c = nub_mem_ptr(r->components_gpa);
    assert_string_equal(c[0].name, "producer");
    assert_string_equal(c[1].name, "consumer");
    assert_true(c[0].wasm_gpa > gpa && c[0].wasm_gpa + c[0].wasm_len <= gpa + f->pkg.len);
    uint8_t wa[256];
    size_t la = make_wasm(wa, entries_a, NULL, 2);
    assert_int_equal(c[0].wasm_len, la);
    assert_memory_equal(nub_mem_ptr(c[0].wasm_gpa), wa, la);
    uint8_t ha[16];
    rvf_hash128(wa, la, ha);
    assert_memory_equal(c[0].wasm_hash, ha, 16);
    assert_int_equal(c[0].priority, 10);
    assert_int_equal(c[0].nentries, 2);
    assert_int_equal(c[0].first_task, 0);
    assert_int_equal(c[1].first_task, 2);

    /* Regions. */
    const struct nub_mount_region *rg = nub_mem_ptr(r->regions_gpa);
    assert_string_equal(rg[0].name, "config");
    assert_int_equal(rg[0].policy, NUB_REGION_IMMUTABLE);
    assert_int_equal(rg[0].size, 300);
    assert_int_equal(rg[0].length, 300);
    assert_true(rg[0].gpa > gpa && rg[0].gpa + 300 <= gpa + f->pkg.len);
    assert_int_equal(((const uint8_t *)nub_mem_ptr(rg[0].gpa))[299], 0xd1);
    assert_int_equal(rg[0].readers[0], 0x3);
    assert_int_equal(rg[0].writers[0], 0);
    assert_string_equal(rg[1].name, "log");
    assert_int_equal(rg[1].policy, NUB_REGION_APPEND_ONLY);
    assert_int_equal(rg[1].size, 8192);
    assert_int_equal(rg[1].length, 0);
    assert_int_equal(rg[1].gpa % NUB_PAGE_SIZE, 0);
    assert_true(guest_test_is_zero(rg[1].gpa, 8192));
    assert_int_equal(rg[1].writers[0], 0x1);
    assert_string_equal(rg[2].name, "slots");
    assert_int_equal(rg[2].size, 64 * 16);
    assert_int_equal(rg[2].length, 64 * 16);
    assert_int_equal(rg[2].slot_size, 64);
    assert_int_equal(rg[2].slot_count, 16);
    assert_int_equal(rg[2].owner, 1);
    assert_true(guest_test_is_zero(rg[2].gpa, 1024));

    /* Queue and its ring. */
    const struct nub_mount_queue *q = nub_mem_ptr(r->queues_gpa);
    assert_string_equal(q[0].src_port, "out");
    assert_string_equal(q[0].dst_port, "in");
    assert_int_equal(q[0].src, 0);
    assert_int_equal(q[0].dst, 1);
    assert_int_equal(q[0].capacity, 8);
    assert_int_equal(q[0].max_msg, 100);
    const struct nub_ring *ring = nub_mem_ptr(q[0].ring_gpa);
    assert_int_equal(ring->magic, NUB_RING_MAGIC);
    assert_int_equal(ring->capacity, 8);
    assert_int_equal(ring->max_msg, 100);
    assert_int_equal(ring->slot_size, 112);
    assert_int_equal(ring->head, 0);
    assert_int_equal(ring->tail, 0);
    assert_int_equal(q[0].ring_len, 64 + 8 * 112);
    assert_true(guest_test_is_zero(q[0].ring_gpa + 64, 8 * 112));

    /* Tasks: one per entry point, READY. */
    const struct nub_mount_task *tk = nub_mem_ptr(r->tasks_gpa);
    assert_string_equal(tk[0].entry, "run");
    assert_string_equal(tk[1].entry, "main");
    assert_string_equal(tk[2].entry, "run");
    assert_int_equal(tk[0].component, 0);
    assert_int_equal(tk[2].component, 1);
    assert_int_equal(tk[2].priority, 20);
    for (int i = 0; i < 3; i++)
        assert_int_equal(tk[i].state, NUB_TASK_READY);

    /* Per-component grant tables. */
    assert_int_equal(c[0].ngrants, 3);
    assert_int_equal(c[1].ngrants, 3);
    const struct nub_mount_grant *g0 = nub_mem_ptr(c[0].grants_gpa);
    const struct nub_mount_grant *g1 = nub_mem_ptr(c[1].grants_gpa);
    assert_int_equal(g0[1].kind, NUB_OBJ_REGION);
    assert_int_equal(g0[1].object, 1);
    assert_int_equal(g0[1].rights, NUB_RIGHT_READ | NUB_RIGHT_WRITE | NUB_RIGHT_GRANT);
    assert_int_equal(g1[0].component, 1);
    assert_int_equal(g1[2].kind, NUB_OBJ_COMPONENT);
    assert_int_equal(g1[2].rights, NUB_RIGHT_READ | NUB_RIGHT_EXECUTE);

    /* Caps in the directory, pointing in place into the package. */
    assert_int_equal(f->core.dir.count, caps0 + 4);
    const struct nub_mount_cap *caps = nub_mem_ptr(r->caps_gpa);
    const uint16_t kinds[] = {NUB_CAP_MANIFEST, NUB_CAP_WASM, NUB_CAP_WASM, NUB_CAP_DATA};
    for (int i = 0; i < 4; i++) {
        const struct nub_dir_entry *e = nub_dir_lookup(&f->core.dir, caps[i].hash);
        assert_non_null(e);
        assert_int_equal(e->kind, kinds[i]);
        assert_int_equal(e->refcount, 1);
        assert_int_equal(e->data_gpa, caps[i].gpa);
        assert_int_equal(caps[i].flags, NUB_MCAP_F_FIRST);
        uint8_t h2[16];
        rvf_hash128(nub_mem_ptr(e->data_gpa), e->len, h2);
        assert_memory_equal(h2, e->hash, 16); /* what `xxhsum -H2` would check */
    }
    assert_memory_equal(caps[0].hash, r->manifest_hash, 16);

    assert_int_equal(call(f, NUB_OP_STATS, 0, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(f->mb.ret[NUB_STAT_MOUNTS], 1);

    /* Unmount: everything goes, the heap returns to its level before ALLOC. */
    uint64_t gen = t->generation;
    assert_int_equal(call(f, NUB_OP_UNMOUNT, h, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(f->mb.ret[0], 4);
    assert_int_equal(f->mb.ret[1], 0);
    assert_int_equal(f->mb.ret[2], 1);
    assert_int_equal(t->count, 0);
    assert_true(t->generation > gen);
    assert_null(rec_of(f, h));
    assert_int_equal(f->core.dir.count, caps0);
    assert_int_equal(heap_used(f), used0);
    consistent(f);
    assert_int_equal(call(f, NUB_OP_UNMOUNT, h, 0, 0, NULL), NUB_ST_NOENT);
    assert_non_null(strstr(f->mb.msg, "no mount"));
    assert_int_equal(call(f, NUB_OP_UNMOUNT, 0, 0, 0, NULL), NUB_ST_NOENT);
}


/* NUB_OP_RUN over a mounted package: each task gets an instance of its
 * own, its entry point (an empty function) returns, the record says done
 * with its fuel; after the unmount a slice drops the run state and the
 * heap is back where it was before the first slice. */
static void test_run_tasks(void **state)
{
    struct fx *f = *state;
    init(f);
    build(&f->pkg, &sample);
    uint64_t h = mount_ok(f, &f->pkg, NULL);
    const struct nub_mount_rec *r = rec_of(f, h);
    assert_non_null(r);
    uint32_t nt = r->ntasks;
    assert_true(nt > 0);
    const struct nub_mount_task *t = nub_mem_ptr(r->tasks_gpa);
    for (uint32_t i = 0; i < nt; i++)
        assert_int_equal(t[i].state, NUB_TASK_READY);
    uint64_t used0 = heap_used(f);
    assert_int_equal(call(f, NUB_OP_RUN, 0, 0, 0, NULL), NUB_ST_INVAL); /* fuel 0 */
    /* A first turn only instantiates, and costs more than this slice
     * (abi.h: 16000 + the module's length): one start a slice, then the
     * entry points run. */
    uint64_t done = 0, slices = 0;
    do {
        assert_int_equal(call(f, NUB_OP_RUN, 1000, 100, 0, NULL), NUB_ST_OK);
        assert_true(f->mb.ret[1] >= 1000 || f->mb.ret[0] == 0);
        done += f->mb.ret[4];
        assert_int_equal(f->mb.ret[3], 0);
        slices++;
    } while (f->mb.ret[0] != 0 && slices < 4 * nt);
    assert_int_equal(f->mb.ret[0], 0); /* nothing runnable left */
    assert_int_equal(f->mb.ret[2], 0);
    assert_int_equal(done, nt);
    assert_true(slices >= nt); /* at most one start a slice */
    for (uint32_t i = 0; i < nt; i++) {
        assert_int_equal(t[i].state, NUB_TASK_DONE);
        assert_int_equal(t[i].trap, 0);
        assert_true(t[i].fuel_used >= 1);
    }
    assert_int_equal(call(f, NUB_OP_RUN, 1000, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(f->mb.ret[1], 0); /* done tasks cost nothing */
    assert_int_equal(call(f, NUB_OP_UNMOUNT, h, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(call(f, NUB_OP_RUN, 1000, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(f->mb.ret[0], 0);
    assert_true(heap_used(f) < used0);
    consistent(f);
}


/* The test package with run_imports.wat as the producer's module. */
static void build_run_imports(struct fx *f)
{
    static uint8_t mod[4096];
    FILE *fp = fopen(NUB_TEST_RUN_IMPORTS, "rb");
    assert_non_null(fp);
    size_t n = fread(mod, 1, sizeof mod, fp);
    fclose(fp);
    build(&f->pkg, &(struct knobs){.wasm_a = mod, .wasm_a_len = n});
}

/* The nub imports against the package's grants (run_imports.wat: any
 * unexpected result traps): "run" sends, appends, reads, is refused
 * without grants, logs and yields, then returns; "main" fills the queue
 * (nobody receives) and blocks there. */
static void test_run_imports(void **state)
{
    struct fx *f = *state;
    init(f);
    build_run_imports(f);
    uint64_t h = mount_ok(f, &f->pkg, NULL);
    const struct nub_mount_rec *r = rec_of(f, h);
    const struct nub_mount_task *t = nub_mem_ptr(r->tasks_gpa);
    assert_int_equal(call(f, NUB_OP_RUN, 200000, 1000, 0, NULL), NUB_ST_OK);
    if (t[0].state != NUB_TASK_DONE)
        fail_msg("run: state %u trap %u", t[0].state, t[0].trap);
    assert_int_equal(t[1].state, NUB_TASK_BLOCKED);
    assert_int_equal(f->mb.ret[2], 1);
    const struct nub_mount_queue *q = nub_mem_ptr(r->queues_gpa);
    const struct nub_ring *ring = nub_mem_ptr(q[0].ring_gpa);
    assert_int_equal(ring->tail - ring->head, 8); /* full */
    const struct nub_mount_region *g = nub_mem_ptr(r->regions_gpa);
    assert_int_equal(g[1].length, 5);
    assert_memory_equal(nub_mem_ptr(g[1].gpa), "hello", 5);
    /* Blocked costs nothing while the ring stands still. */
    assert_int_equal(call(f, NUB_OP_RUN, 200000, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(f->mb.ret[1], 0);
    /* A receive frees a slot: the sender wakes, fills it, blocks again. */
    ((struct nub_ring *)nub_mem_ptr(q[0].ring_gpa))->head++;
    assert_int_equal(call(f, NUB_OP_RUN, 200000, 0, 0, NULL), NUB_ST_OK);
    assert_true(f->mb.ret[1] > 0);
    assert_int_equal(t[1].state, NUB_TASK_BLOCKED);
    assert_int_equal(ring->tail - ring->head, 8);
    assert_int_equal(call(f, NUB_OP_UNMOUNT, h, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(call(f, NUB_OP_RUN, 1000, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(f->mb.ret[2], 0);
    consistent(f);
}

/* RUN args[2], the fuel a task may use without waiting on a queue: a
 * task that loops for ever ends TRAPPED "out of fuel" just past it; one
 * that blocks on its queue between bursts goes on, though it uses more
 * than that in all. */
static void test_run_fuel_max(void **state)
{
    struct fx *f = *state;
    init(f);
    /* (func (export "run") (export "main") (loop (br 0))) */
    static const uint8_t spin[] = {
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
        0x03, 0x02, 0x01, 0x00, 0x07, 0x0e, 0x02, 0x03, 'r',  'u',  'n',  0x00, 0x00, 0x04,
        'm',  'a',  'i',  'n',  0x00, 0x00, 0x0a, 0x09, 0x01, 0x07, 0x00, 0x03, 0x40, 0x0c,
        0x00, 0x0b, 0x0b};
    build(&f->pkg, &(struct knobs){.wasm_a = spin, .wasm_a_len = sizeof spin});
    uint64_t h = mount_ok(f, &f->pkg, NULL);
    const struct nub_mount_rec *r = rec_of(f, h);
    const struct nub_mount_task *t = nub_mem_ptr(r->tasks_gpa);
    uint64_t trapped = 0;
    for (int i = 0; i < 100 && trapped < 2; i++) {
        const uint64_t args[NUB_MAILBOX_ARGS] = {5000, 1000, 3000};
        assert_int_equal(call_args(f, NUB_OP_RUN, args, NULL), NUB_ST_OK);
        trapped += f->mb.ret[3];
    }
    assert_int_equal(trapped, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(t[i].state, NUB_TASK_TRAPPED);
        assert_int_equal(t[i].trap, NUB_TASK_TRAP_FUEL);
        assert_true(t[i].fuel_used >= 3000 && t[i].fuel_used < 3100);
    }
    assert_int_equal(t[2].state, NUB_TASK_DONE); /* the other component's */
    assert_int_equal(call(f, NUB_OP_UNMOUNT, h, 0, 0, NULL), NUB_ST_OK);

    /* run_imports.wat's "main" fills its queue and blocks, again after
     * every slot a receive frees. */
    build_run_imports(f);
    h = mount_ok(f, &f->pkg, NULL);
    r = rec_of(f, h);
    t = nub_mem_ptr(r->tasks_gpa);
    const struct nub_mount_queue *q = nub_mem_ptr(r->queues_gpa);
    struct nub_ring *ring = nub_mem_ptr(q[0].ring_gpa);
    assert_int_equal(call(f, NUB_OP_RUN, 200000, 1000, 0, NULL), NUB_ST_OK);
    assert_int_equal(t[1].state, NUB_TASK_BLOCKED);
    uint64_t f0 = t[1].fuel_used;
    ring->head++;
    assert_int_equal(call(f, NUB_OP_RUN, 200000, 0, 0, NULL), NUB_ST_OK);
    uint64_t burst = t[1].fuel_used - f0;
    assert_true(burst > 0);
    for (int i = 0; i < 20; i++) {
        ring->head++;
        const uint64_t args[NUB_MAILBOX_ARGS] = {200000, 0, 2 * burst};
        assert_int_equal(call_args(f, NUB_OP_RUN, args, NULL), NUB_ST_OK);
        assert_int_equal(t[1].state, NUB_TASK_BLOCKED);
    }
    assert_true(t[1].fuel_used - f0 > 4 * burst); /* more than the limit in all */
    assert_int_equal(call(f, NUB_OP_UNMOUNT, h, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(call(f, NUB_OP_RUN, 1000, 0, 0, NULL), NUB_ST_OK);
    consistent(f);
}

/* A module importing anything but a nub function is refused at mount,
 * and the reason names the import. */
static void test_foreign_import_refused(void **state)
{
    struct fx *f = *state;
    init(f);
    /* (import "env" "now" (func)) and an export "run" of a function. */
    static const uint8_t bad[] = {
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
        0x02, 0x0b, 0x01, 0x03, 'e',  'n',  'v',  0x03, 'n',  'o',  'w',  0x00, 0x00,
        0x03, 0x02, 0x01, 0x00, 0x07, 0x07, 0x01, 0x03, 'r',  'u',  'n',  0x00, 0x01,
        0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b};
    struct rvf_result res;
    assert_int_equal(rvf_wasm_validate(bad, sizeof bad, NULL, NULL, &res), RVF_E_WASM);
    assert_non_null(strstr(res.msg, "env.now"));
    static const uint8_t good[] = {
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
        0x02, 0x0d, 0x01, 0x03, 'n',  'u',  'b',  0x05, 'y',  'i',  'e',  'l',  'd',  0x00, 0x00,
        0x03, 0x02, 0x01, 0x00, 0x07, 0x07, 0x01, 0x03, 'r',  'u',  'n',  0x00, 0x01,
        0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b};
    assert_int_equal(rvf_wasm_validate(good, sizeof good, NULL, NULL, &res), RVF_OK);
}

static void test_shared_cap_outlives_first_mount(void **state)
{
    struct fx *f = *state;
    init(f);
    uint64_t used0 = heap_used(f);
    struct pkg *b = malloc(sizeof *b);
    build(&f->pkg, &(struct knobs){.name = "alpha"});
    build(b, &(struct knobs){.name = "beta", .data_byte = 0x77}); /* same modules, other data */
    uint64_t ga, gb;
    uint64_t ha = mount_ok(f, &f->pkg, &ga);
    assert_int_equal(f->mb.ret[2], 4);
    uint64_t hb = mount_ok(f, b, &gb);
    assert_int_equal(f->mb.ret[2], 2); /* its manifest and data; both modules shared */
    assert_int_equal(f->mb.ret[3], 4);
    assert_int_equal(f->core.dir.count, 6);
    consistent(f);

    const struct nub_mount_rec *ra = rec_of(f, ha);
    const struct nub_mount_cap *ca = nub_mem_ptr(ra->caps_gpa);
    uint8_t wasm_hash[16];
    memcpy(wasm_hash, ca[1].hash, 16);
    const struct nub_dir_entry *e = nub_dir_lookup(&f->core.dir, wasm_hash);
    assert_int_equal(e->refcount, 2);
    assert_true(e->data_gpa > ga && e->data_gpa < ga + f->pkg.len); /* alpha's bytes */
    const struct nub_mount_cap *cb = nub_mem_ptr(rec_of(f, hb)->caps_gpa);
    assert_int_equal(cb[1].flags, 0);

    /* alpha goes; its modules are still held by beta and still readable. */
    assert_int_equal(call(f, NUB_OP_UNMOUNT, ha, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(f->mb.ret[0], 2); /* its manifest and data */
    assert_int_equal(f->mb.ret[1], 1); /* package kept */
    assert_int_equal(f->mb.ret[2], 0);
    consistent(f);
    assert_int_equal(table(f)->count, 1);
    assert_int_equal(table(f)->zombies, 1);
    assert_non_null(rec_of(f, ha));
    assert_int_equal(rec_of(f, ha)->state, NUB_MOUNT_S_ZOMBIE);
    e = nub_dir_lookup(&f->core.dir, wasm_hash);
    assert_non_null(e);
    assert_int_equal(e->refcount, 1);
    enum nub_heap_owner o = 0;
    assert_true(nub_heap_block_size(&f->core.heap, ga, &o) >= f->pkg.len);
    assert_int_equal(o, NUB_OWNER_MOUNT);
    uint8_t h2[16];
    rvf_hash128(nub_mem_ptr(e->data_gpa), e->len, h2);
    assert_memory_equal(h2, wasm_hash, 16);
    assert_int_equal(f->core.dir.count, 4);

    /* beta goes too: the modules and alpha's package with them. */
    assert_int_equal(call(f, NUB_OP_UNMOUNT, hb, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(f->mb.ret[0], 4);
    assert_int_equal(f->mb.ret[1], 0);
    assert_int_equal(f->mb.ret[2], 2);
    assert_null(nub_dir_lookup(&f->core.dir, wasm_hash));
    assert_int_equal(f->core.dir.count, 0);
    assert_int_equal(table(f)->zombies, 0);
    assert_int_equal(heap_used(f), used0);
    consistent(f);

    /* Other order: no zombie at all. */
    ha = mount_ok(f, &f->pkg, NULL);
    hb = mount_ok(f, b, NULL);
    assert_int_equal(call(f, NUB_OP_UNMOUNT, hb, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(f->mb.ret[1], 0);
    assert_int_equal(call(f, NUB_OP_UNMOUNT, ha, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(heap_used(f), used0);
    consistent(f);
    free(b);
}

/* A blob the host PUT with the same bytes as a package's data segment
 * shares the cap; when the host releases it last, the unmounted package
 * behind it is freed. */
static void test_put_pins_unmounted_package(void **state)
{
    struct fx *f = *state;
    init(f);
    uint64_t used0 = heap_used(f);
    build(&f->pkg, &sample);
    uint64_t h = mount_ok(f, &f->pkg, NULL);
    const struct nub_mount_cap *caps = nub_mem_ptr(rec_of(f, h)->caps_gpa);
    uint8_t hash[16];
    memcpy(hash, caps[3].hash, 16);
    assert_int_equal(call(f, NUB_OP_ALLOC, 300, 0, 0, NULL), NUB_ST_OK);
    uint64_t blob = f->mb.ret[0];
    memset(nub_mem_ptr(blob), 0xd1, 300);
    assert_int_equal(call(f, NUB_OP_PUT, blob, 300, NUB_CAP_DATA, hash), NUB_ST_OK);
    assert_int_equal(f->mb.ret[1], 1); /* existed: the host's copy was freed */

    assert_int_equal(call(f, NUB_OP_UNMOUNT, h, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(f->mb.ret[1], 1);
    assert_int_equal(table(f)->zombies, 1);
    consistent(f);
    assert_int_equal(call(f, NUB_OP_RELEASE, 0, 0, 0, hash), NUB_ST_OK);
    assert_int_equal(f->mb.ret[0], 0);
    assert_int_equal(table(f)->zombies, 0);
    assert_int_equal(heap_used(f), used0);
    consistent(f);

    /* And the other way round: PUT first, then a mount takes a reference
     * on the host's block; releasing both frees the block. */
    assert_int_equal(call(f, NUB_OP_ALLOC, 300, 0, 0, NULL), NUB_ST_OK);
    blob = f->mb.ret[0];
    memset(nub_mem_ptr(blob), 0xd1, 300);
    assert_int_equal(call(f, NUB_OP_PUT, blob, 300, NUB_CAP_DATA, hash), NUB_ST_OK);
    h = mount_ok(f, &f->pkg, NULL);
    assert_int_equal(f->mb.ret[2], 3);
    assert_int_equal(call(f, NUB_OP_RELEASE, 0, 0, 0, hash), NUB_ST_OK);
    assert_int_equal(f->mb.ret[0], 1);
    assert_int_equal(call(f, NUB_OP_UNMOUNT, h, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(f->mb.ret[0], 4);
    assert_int_equal(f->mb.ret[1], 0);
    assert_int_equal(heap_used(f), used0);
    consistent(f);
}

/* One blob twice in a package: two references to one cap. A blob with
 * that hash but another length already present: refused, rolled back. */
static void test_duplicate_and_conflicting_caps(void **state)
{
    struct fx *f = *state;
    init(f);
    uint64_t used0 = heap_used(f);
    build(&f->pkg, &(struct knobs){.dup_data = 1});
    uint64_t h = mount_ok(f, &f->pkg, NULL);
    assert_int_equal(f->mb.ret[2], 4);
    assert_int_equal(f->mb.ret[3], 5);
    const struct nub_mount_cap *caps = nub_mem_ptr(rec_of(f, h)->caps_gpa);
    uint8_t hash[16];
    memcpy(hash, caps[3].hash, 16);
    assert_memory_equal(caps[4].hash, hash, 16);
    assert_int_equal(nub_dir_lookup(&f->core.dir, hash)->refcount, 2);
    consistent(f);
    assert_int_equal(call(f, NUB_OP_UNMOUNT, h, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(f->mb.ret[0], 4);
    assert_int_equal(heap_used(f), used0);
    fault_each_step(f, &f->pkg);

    /* A 299-byte blob under the data segment's hash. */
    assert_int_equal(call(f, NUB_OP_ALLOC, 299, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(call(f, NUB_OP_PUT, f->mb.ret[0], 299, NUB_CAP_BLOB, hash), NUB_ST_OK);
    uint64_t gpa = load(f, &f->pkg);
    struct snap s;
    snap_take(&f->core.mounts, &s);
    assert_int_equal(mount(f, gpa, f->pkg.len, 0), NUB_ST_EXISTS);
    assert_non_null(strstr(f->mb.msg, "segment 3"));
    snap_same(&f->core.mounts, &s);
    assert_int_equal(call(f, NUB_OP_FREE, gpa, 0, 0, NULL), NUB_ST_OK);
}

/* Replacing is mount-new-then-unmount-old: two mounts of one name. */
static void test_same_name_twice(void **state)
{
    struct fx *f = *state;
    init(f);
    uint64_t used0 = heap_used(f);
    build(&f->pkg, &sample);
    uint64_t h1 = mount_ok(f, &f->pkg, NULL);
    uint64_t h2 = mount_ok(f, &f->pkg, NULL);
    assert_int_not_equal(h1, h2);
    assert_int_equal(f->mb.ret[2], 0); /* every cap shared */
    assert_int_equal(table(f)->count, 2);
    assert_string_equal(rec_of(f, h1)->name, rec_of(f, h2)->name);
    consistent(f);
    assert_int_equal(call(f, NUB_OP_UNMOUNT, h1, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(f->mb.ret[1], 1); /* h2 reads its caps from h1's package */
    assert_int_equal(call(f, NUB_OP_UNMOUNT, h2, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(heap_used(f), used0);
    consistent(f);
}

static void test_table_full(void **state)
{
    struct fx *f = *state;
    init(f);
    uint64_t used0 = heap_used(f);
    build(&f->pkg, &sample);
    static uint64_t handles[NUB_MOUNT_SLOTS];
    for (unsigned i = 0; i < NUB_MOUNT_SLOTS; i++)
        handles[i] = mount_ok(f, &f->pkg, NULL);
    uint64_t gpa = load(f, &f->pkg);
    struct snap s;
    snap_take(&f->core.mounts, &s);
    assert_int_equal(mount(f, gpa, f->pkg.len, 0), NUB_ST_QUOTA);
    assert_non_null(strstr(f->mb.msg, "table full"));
    snap_same(&f->core.mounts, &s);
    assert_int_equal(call(f, NUB_OP_FREE, gpa, 0, 0, NULL), NUB_ST_OK);
    for (unsigned i = NUB_MOUNT_SLOTS; i-- > 0;)
        assert_int_equal(call(f, NUB_OP_UNMOUNT, handles[i], 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(heap_used(f), used0);
    consistent(f);
}

/* Each limit, with a mount table of its own over the same heap. */
static void test_limits(void **state)
{
    struct fx *f = *state;
    init(f);
    build(&f->pkg, &sample);
    uint64_t gpa = load(f, &f->pkg);
    struct rvf_limits base;
    rvf_limits_default(&base);
    base.max_package = NUB_MAX_MEM;
    struct rvf_limits cases[9];
    const char *names[9] = {"components", "regions", "queues", "tasks", "grants",
                            "segments", "region size", "queue bytes", "message size"};
    for (int i = 0; i < 9; i++)
        cases[i] = base;
    cases[0].max_components = 1;
    cases[1].max_regions = 2;
    cases[2].max_queues = 0;
    cases[3].max_tasks = 2;
    cases[4].max_grants = 5;
    cases[5].max_segments = 3;
    cases[6].max_region_size = 4096;
    cases[7].max_queue_bytes = 100;
    cases[8].max_message = 50;
    for (int i = 0; i < 9; i++) {
        struct nub_mounts m;
        assert_int_equal(nub_mounts_create(&m, &f->core.heap, &f->core.dir, &cases[i]), NUB_ST_OK);
        struct snap s;
        snap_take(&m, &s);
        struct nub_mount_req req = {.pkg_gpa = gpa, .pkg_len = f->pkg.len};
        struct nub_mount_out out;
        char msg[256];
        enum nub_status st = nub_mount(&m, &req, &out, msg, sizeof msg);
        if (st != NUB_ST_QUOTA)
            fail_msg("limit %s: status %d (%s)", names[i], st, msg);
        assert_true(strlen(msg) > 0);
        snap_same(&m, &s);
    }
    /* Within the limits the same package mounts. */
    struct nub_mounts ok;
    assert_int_equal(nub_mounts_create(&ok, &f->core.heap, &f->core.dir, &base), NUB_ST_OK);
    struct nub_mount_req req = {.pkg_gpa = gpa, .pkg_len = f->pkg.len};
    struct nub_mount_out out;
    char msg[256];
    assert_int_equal(nub_mount(&ok, &req, &out, msg, sizeof msg), NUB_ST_OK);
    assert_int_equal(nub_mounts_check(&ok), 0);
    /* The default limits through the mailbox: 65 tasks. */
    build(&f->pkg, &(struct knobs){.extra_entries = 63});
    uint64_t g2 = load(f, &f->pkg);
    struct snap s;
    snap_take(&f->core.mounts, &s);
    assert_int_equal(mount(f, g2, f->pkg.len, 0), NUB_ST_QUOTA);
    assert_non_null(strstr(f->mb.msg, "manifest"));
    snap_same(&f->core.mounts, &s);
}

static void test_malformed(void **state)
{
    struct fx *f = *state;
    init(f);
    struct {
        const char *what, *needle;
        struct knobs k;
    } cases[] = {
        {"bad manifest", "manifest", {.bad_manifest = 1}},
        {"grant beyond access sets", "manifest", {.bad_grant = 1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        build(&f->pkg, &cases[i].k);
        uint64_t gpa = load(f, &f->pkg);
        struct snap s;
        snap_take(&f->core.mounts, &s);
        assert_int_equal(mount(f, gpa, f->pkg.len, 0), NUB_ST_BADMSG);
        if (!strstr(f->mb.msg, cases[i].needle))
            fail_msg("%s: message '%s'", cases[i].what, f->mb.msg);
        snap_same(&f->core.mounts, &s);
        assert_int_equal(call(f, NUB_OP_FREE, gpa, 0, 0, NULL), NUB_ST_OK);
    }

    /* WASM: bad section order (export before function), an entry point
     * that is not exported, one exported as a global. */
    static const char *const only_run[] = {"run"};
    static const char *const run_main[] = {"run", "main"};
    static const uint8_t kinds[] = {EXP_FUNC, EXP_GLOBAL};
    struct {
        const char *needle;
        size_t len;
        uint8_t mod[256];
    } mods[3];
    mods[0].len = make_wasm(mods[0].mod, run_main, NULL, 2);
    /* swap the function section (bytes 14..17) behind the global one */
    uint8_t fn[4];
    memcpy(fn, mods[0].mod + 14, 4);
    memmove(mods[0].mod + 14, mods[0].mod + 18, 8);
    memcpy(mods[0].mod + 22, fn, 4);
    mods[0].needle = "segment 1";
    mods[1].len = make_wasm(mods[1].mod, only_run, NULL, 1);
    mods[1].needle = "entry point main";
    mods[2].len = make_wasm(mods[2].mod, run_main, kinds, 2);
    mods[2].needle = "not an exported function";
    for (int i = 0; i < 3; i++) {
        build(&f->pkg, &(struct knobs){.wasm_a = mods[i].mod, .wasm_a_len = mods[i].len});
        uint64_t gpa = load(f, &f->pkg);
        struct snap s;
        snap_take(&f->core.mounts, &s);
        assert_int_equal(mount(f, gpa, f->pkg.len, 0), NUB_ST_BADMSG);
        if (!strstr(f->mb.msg, mods[i].needle))
            fail_msg("wasm case %d: message '%s'", i, f->mb.msg);
        snap_same(&f->core.mounts, &s);
        assert_int_equal(call(f, NUB_OP_FREE, gpa, 0, 0, NULL), NUB_ST_OK);
    }

    /* Not a package at all; truncated; bad arguments. */
    build(&f->pkg, &sample);
    uint64_t gpa = load(f, &f->pkg);
    struct snap s;
    snap_take(&f->core.mounts, &s);
    assert_int_equal(mount(f, gpa, f->pkg.len - 64, 0), NUB_ST_BADMSG);
    assert_non_null(strstr(f->mb.msg, "package"));
    memset(nub_mem_ptr(gpa), 'x', 64);
    assert_int_equal(mount(f, gpa, f->pkg.len, 0), NUB_ST_BADMSG);
    memcpy(nub_mem_ptr(gpa), f->pkg.buf, 64);
    assert_int_equal(mount(f, gpa + 64, 64, 0), NUB_ST_INVAL);       /* not a block */
    assert_int_equal(mount(f, gpa, f->pkg.len + 4096, 0), NUB_ST_INVAL); /* past its end */
    assert_int_equal(mount(f, gpa, 0, 0), NUB_ST_INVAL);
    assert_int_equal(mount(f, gpa, f->pkg.len, 0x100), NUB_ST_INVAL); /* unknown flag */
    assert_int_equal(mount(f, gpa, f->pkg.len, 1), NUB_ST_INVAL);     /* no step 1 */
    assert_int_equal(mount(f, gpa, f->pkg.len, 8), NUB_ST_INVAL);
    assert_int_equal(mount(f, f->bi.directory_gpa, 64, 0), NUB_ST_INVAL); /* not the host's */
    snap_same(&f->core.mounts, &s);
    /* Fault injection is refused when test ops are off (the kernel's rule). */
    uint64_t args[NUB_MAILBOX_ARGS] = {gpa, f->pkg.len, NUB_MOUNT_STEP_TASKS};
    uint64_t ret[NUB_MAILBOX_ARGS];
    char msg[256];
    assert_int_equal(nub_mount_call(&f->core.mounts, 0, args, signer, ret, msg, sizeof msg),
                     NUB_ST_INVAL);
    assert_non_null(strstr(msg, "test ops"));
    /* The good package still mounts after all that. */
    assert_int_equal(mount(f, gpa, f->pkg.len, 0), NUB_ST_OK);
    consistent(f);
}

/* Out of heap at many points of the pipeline: either it mounts, or it
 * fails with NOMEM and everything is as before. Returns the NOMEM count. */
static uint64_t largest_free_block(struct fx *f)
{
    uint64_t lo = 0, hi = nub_heap_total(&f->core.heap) + 1; /* lo fits, hi does not */
    while (hi - lo > NUB_HEAP_GRANULE) {
        uint64_t mid = (lo + hi) / 2 & ~(NUB_HEAP_GRANULE - 1);
        if (call(f, NUB_OP_ALLOC, mid, 0, 0, NULL) == NUB_ST_OK) {
            assert_int_equal(call(f, NUB_OP_FREE, f->mb.ret[0], 0, 0, NULL), NUB_ST_OK);
            lo = mid;
        } else {
            hi = mid;
        }
    }
    assert_int_equal(call(f, NUB_OP_NOP, 0, 0, 0, NULL), NUB_ST_OK);
    return lo;
}

static int squeeze(struct fx *f, const struct pkg *p)
{
    uint64_t gpa = load(f, p);
    int nomem = 0, ok = 0;
    uint64_t largest = largest_free_block(f);
    for (uint64_t room = 0; room < 192 * 1024 && !ok; room += 64) {
        /* Leave `room` bytes (plus small fragments elsewhere): one
         * ballast block takes the rest of the largest free block. */
        if (call(f, NUB_OP_ALLOC, largest - room, 0, 0, NULL) != NUB_ST_OK)
            fail_msg("room %llu: no ballast (%s)", (unsigned long long)room, f->mb.msg);
        uint64_t ballast = f->mb.ret[0];
        struct snap s;
        snap_take(&f->core.mounts, &s);
        uint32_t st = mount(f, gpa, p->len, 0);
        if (st == NUB_ST_OK) {
            ok = 1;
            consistent(f);
            free(s.entries);
            free(s.table);
        } else {
            if (st != NUB_ST_NOMEM)
                fail_msg("room %llu: status %u (%s)", (unsigned long long)room, st, f->mb.msg);
            nomem++;
            snap_same(&f->core.mounts, &s);
        }
        assert_int_equal(call(f, NUB_OP_FREE, ballast, 0, 0, NULL), NUB_ST_OK);
        assert_int_equal(call(f, NUB_OP_NOP, 0, 0, 0, NULL), NUB_ST_OK);
    }
    assert_true(ok);
    return nomem;
}

static void test_out_of_memory(void **state)
{
    struct fx *f = *state;
    init(f);
    build(&f->pkg, &(struct knobs){.extra_queues = 3, .extra_regions = 3, .q0_max_msg = 8000});
    assert_true(squeeze(f, &f->pkg) > 100);
    /* Again where publishing the caps must grow the directory. */
    build(&f->pkg, &(struct knobs){.extra_data = 40, .data_byte = 3});
    mount_ok(f, &f->pkg, NULL);
    build(&f->pkg, &(struct knobs){.name = "big", .extra_data = 60});
    assert_true(squeeze(f, &f->pkg) > 100);
    assert_true(f->core.dir.capacity > NUB_DIR_MIN_CAPACITY);
}

/* A fault injected after each step N rolls back completely. */
static void fault_each_step(struct fx *f, const struct pkg *p)
{
    uint64_t gpa = load(f, p);
    for (uint32_t n = NUB_MOUNT_STEP_PARSE; n <= NUB_MOUNT_STEP_TASKS; n++) {
        struct snap s;
        snap_take(&f->core.mounts, &s);
        assert_int_equal(mount(f, gpa, p->len, n), NUB_ST_INVAL);
        char want[32];
        snprintf(want, sizeof want, "after step %u", n);
        assert_non_null(strstr(f->mb.msg, want));
        snap_same(&f->core.mounts, &s);
        enum nub_heap_owner o = 0;
        assert_true(nub_heap_block_size(&f->core.heap, gpa, &o) >= p->len);
        assert_int_equal(o, NUB_OWNER_HOST);
    }
    assert_int_equal(call(f, NUB_OP_FREE, gpa, 0, 0, NULL), NUB_ST_OK);
}

static void test_fault_injection(void **state)
{
    struct fx *f = *state;
    init(f);
    uint64_t used0 = heap_used(f);
    build(&f->pkg, &sample);
    fault_each_step(f, &f->pkg);
    /* with a mount already there sharing caps */
    uint64_t h = mount_ok(f, &f->pkg, NULL);
    fault_each_step(f, &f->pkg);
    assert_int_equal(call(f, NUB_OP_UNMOUNT, h, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(heap_used(f), used0);
    consistent(f);
}

/* A mount that grows the directory and then fails shrinks it back. */
static void test_fault_after_directory_growth(void **state)
{
    struct fx *f = *state;
    init(f);
    struct pkg *big = malloc(sizeof *big);
    build(big, &(struct knobs){.name = "big", .extra_data = 60});
    assert_int_equal(f->core.dir.capacity, NUB_DIR_MIN_CAPACITY);
    /* fill to just under the growth point (load 1/2: 32 of 64) */
    build(&f->pkg, &(struct knobs){.extra_data = 26, .data_byte = 3});
    uint64_t h = mount_ok(f, &f->pkg, NULL);
    assert_int_equal(f->core.dir.count, 30);
    fault_each_step(f, big);
    assert_int_equal(f->core.dir.capacity, NUB_DIR_MIN_CAPACITY);
    /* and for real: it grows */
    uint64_t hb = mount_ok(f, big, NULL);
    assert_true(f->core.dir.capacity > NUB_DIR_MIN_CAPACITY);
    consistent(f);
    assert_int_equal(call(f, NUB_OP_UNMOUNT, hb, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(call(f, NUB_OP_UNMOUNT, h, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(f->core.dir.count, 0);
    consistent(f);
    free(big);
}

/* ---- limits passed with MOUNT (abi.h struct nub_mount_limits) ------------ */

#define LIM_OFF(len) (((len) + 63) & ~63ull)

/* What the host does: ALLOC the package plus its limits, copy both, point
 * args[3] at the limits (lim NULL: args[3] = 0). Returns the status; the
 * block is the host's again on failure, *gpa_out says where it is. */
static uint32_t mount_lim(struct fx *f, const struct pkg *p, const struct nub_mount_limits *lim,
                          uint64_t *gpa_out)
{
    uint64_t off = LIM_OFF(p->len);
    assert_int_equal(call(f, NUB_OP_ALLOC, off + sizeof *lim, 0, 0, NULL), NUB_ST_OK);
    uint64_t gpa = f->mb.ret[0];
    memcpy(nub_mem_ptr(gpa), p->buf, p->len);
    if (lim)
        memcpy(nub_mem_ptr(gpa + off), lim, sizeof *lim);
    *gpa_out = gpa;
    const uint64_t args[NUB_MAILBOX_ARGS] = {gpa, p->len, 0, lim ? gpa + off : 0};
    return call_args(f, NUB_OP_MOUNT, args, signer);
}

/* A refused mount_lim: status want, msg contains needle, nothing changed,
 * and the host FREEs its block. */
static void refused(struct fx *f, const struct pkg *p, const struct nub_mount_limits *lim,
                    uint32_t want, const char *needle)
{
    struct snap s;
    snap_take(&f->core.mounts, &s);
    uint64_t used = heap_used(f), gpa;
    uint32_t st = mount_lim(f, p, lim, &gpa);
    if (st != want || !strstr(f->mb.msg, needle))
        fail_msg("status %u (want %u): '%s' (want '%s')", st, want, f->mb.msg, needle);
    print_message("    refused: %s\n", f->mb.msg);
    s.used = heap_used(f); /* the ALLOC of the block is the one change */
    snap_same(&f->core.mounts, &s);
    assert_int_equal(call(f, NUB_OP_FREE, gpa, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(heap_used(f), used);
}

/* Lowered limits refuse (QUOTA) what the defaults allow; a raised one
 * admits what the defaults refuse; zero fields keep the default; counts
 * over the hard maxima are clamped to them. */
static void test_limits_with_mount(void **state)
{
    struct fx *f = *state;
    init(f);
    uint64_t used0 = heap_used(f), gpa;
    build(&f->pkg, &sample);
    struct nub_mount_limits lim = {0};
    /* All zero = the defaults: the sample mounts. */
    assert_int_equal(mount_lim(f, &f->pkg, &lim, &gpa), NUB_ST_OK);
    assert_int_equal(call(f, NUB_OP_UNMOUNT, f->mb.ret[0], 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(heap_used(f), used0);

    /* Lowered: one limit each, each a quota with the limit in the message. */
    const struct {
        struct nub_mount_limits lim;
        const char *needle;
    } low[] = {
        {{.max_tasks = 2}, "limit 2"},              /* 3 entry points */
        {{.max_components = 1}, "over the limit 1"},
        {{.max_region_size = 4096}, "max_region_size"}, /* the log region is 8192 */
        {{.max_package = 1024}, "the limit is 1024"},
        {{.max_segments = 3}, "more than 3 segments"},
        {{.max_message = 50}, "max_message"},      /* the queue takes 100 */
        {{.max_wasm_sections = 2}, "segment 1"},   /* the guest's own WASM walk */
    };
    for (size_t i = 0; i < sizeof low / sizeof low[0]; i++)
        refused(f, &f->pkg, &low[i].lim, NUB_ST_QUOTA, low[i].needle);

    /* Raised: a 100 KiB message is over the default 64 KiB... */
    build(&f->pkg, &(struct knobs){.q0_max_msg = 100 << 10});
    refused(f, &f->pkg, NULL, NUB_ST_QUOTA, "max_message");
    refused(f, &f->pkg, &lim, NUB_ST_QUOTA, "max_message"); /* zero = default */
    /* ... and mounts with max_message raised to 128 KiB. */
    lim.max_message = 128 << 10;
    assert_int_equal(mount_lim(f, &f->pkg, &lim, &gpa), NUB_ST_OK);
    uint64_t h = f->mb.ret[0];
    const struct nub_mount_rec *r = rec_of(f, h);
    assert_non_null(r);
    assert_int_equal(r->package_len, f->pkg.len);
    const struct nub_mount_queue *q = nub_mem_ptr(r->queues_gpa);
    assert_int_equal(q[0].max_msg, 100 << 10);
    consistent(f);
    /* The limits are per mount: the next one without them is refused. */
    refused(f, &f->pkg, NULL, NUB_ST_QUOTA, "max_message");
    assert_int_equal(call(f, NUB_OP_UNMOUNT, h, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(heap_used(f), used0);

    /* Counts above the hard maxima are clamped, not refused: 65 tasks stay
     * too many (the parser names the hard limit), the sample mounts. */
    const struct nub_mount_limits huge = {.max_tasks = 1000, .max_components = 100000,
                                          .max_regions = 100000, .max_queues = 100000,
                                          .max_grants = 100000, .max_segments = 100000};
    build(&f->pkg, &(struct knobs){.extra_entries = 62});
    refused(f, &f->pkg, &huge, NUB_ST_QUOTA, "limit 64");
    build(&f->pkg, &sample);
    assert_int_equal(mount_lim(f, &f->pkg, &huge, &gpa), NUB_ST_OK);
    assert_int_equal(call(f, NUB_OP_UNMOUNT, f->mb.ret[0], 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(heap_used(f), used0);
    consistent(f);
}

/* args[3] must point at a whole struct in the package block after the
 * package; reserved fields and args[4..7] must be zero. */
static void test_limits_placement(void **state)
{
    struct fx *f = *state;
    init(f);
    build(&f->pkg, &sample);
    uint64_t off = LIM_OFF(f->pkg.len), len = f->pkg.len;
    assert_int_equal(call(f, NUB_OP_ALLOC, off + sizeof(struct nub_mount_limits), 0, 0, NULL),
                     NUB_ST_OK);
    uint64_t gpa = f->mb.ret[0];
    enum nub_heap_owner o = 0;
    uint64_t block = nub_heap_block_size(&f->core.heap, gpa, &o);
    memcpy(nub_mem_ptr(gpa), f->pkg.buf, len);
    struct snap s;
    snap_take(&f->core.mounts, &s);
    const struct {
        uint64_t a3, a4;
        const char *needle;
    } bad[] = {
        {gpa, 0, "after the package"},                 /* on the package */
        {gpa + len - 8, 0, "after the package"},       /* overlaps its end */
        {gpa + off + 4, 0, "after the package"},       /* misaligned */
        {gpa + block - 8, 0, "after the package"},     /* runs past the block */
        {gpa + block + 64, 0, "after the package"},    /* outside the block */
        {UINT64_MAX - 7, 0, "after the package"},
        {gpa + off, 1, "reserved"},                    /* args[4] */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const uint64_t args[NUB_MAILBOX_ARGS] = {gpa, len, 0, bad[i].a3, bad[i].a4};
        uint32_t st = call_args(f, NUB_OP_MOUNT, args, signer);
        if (st != NUB_ST_INVAL || !strstr(f->mb.msg, bad[i].needle))
            fail_msg("case %zu: status %u: '%s'", i, st, f->mb.msg);
    }
    struct nub_mount_limits lim = {.reserved = {0, 1}};
    memcpy(nub_mem_ptr(gpa + off), &lim, sizeof lim);
    const uint64_t args[NUB_MAILBOX_ARGS] = {gpa, len, 0, gpa + off};
    assert_int_equal(call_args(f, NUB_OP_MOUNT, args, signer), NUB_ST_INVAL);
    assert_non_null(strstr(f->mb.msg, "reserved"));
    snap_same(&f->core.mounts, &s);
    assert_int_equal(nub_heap_block_size(&f->core.heap, gpa, &o), block);
    assert_int_equal(o, NUB_OWNER_HOST);
    /* Fixed, the same block mounts; its limits ride along inside it. */
    lim.reserved[1] = 0;
    memcpy(nub_mem_ptr(gpa + off), &lim, sizeof lim);
    assert_int_equal(call_args(f, NUB_OP_MOUNT, args, signer), NUB_ST_OK);
    consistent(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mount_creates_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_cap_outlives_first_mount, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_pins_unmounted_package, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_and_conflicting_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_name_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_injection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_after_directory_growth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_with_mount, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_placement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_tasks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_imports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_fuel_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_import_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
