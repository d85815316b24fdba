/* Manifest codec catalog: the encoder's output round-trips through the
 * parser; counts and offsets that lie, bad strings, out-of-range indices,
 * duplicates, grants beyond the access sets, dangling hashes and limits
 * each get their specific status. Field offsets below are the ones
 * nubfs-rvf(5) documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rvf.h"
#include "rvf_build.h"

/* Documented layout (nubfs-rvf(5)). */
#define H_VERSION 4
#define H_HEADER_SIZE 6
#define H_TOTAL 8
#define H_FLAGS 12
#define H_NAME 16
#define H_COMP_OFF 24
#define H_COMP_COUNT 28
#define H_REGION_OFF 32
#define H_REGION_COUNT 36
#define H_QUEUE_COUNT 44
#define H_GRANT_COUNT 52
#define H_LIST_COUNT 60
#define H_STR_SIZE 68
#define C_PRIORITY 4
#define C_ENTRY_FIRST 8
#define C_ENTRY_COUNT 12
#define C_HASH 16
#define R_POLICY 4
#define R_OWNER 8
#define R_READ_FIRST 12
#define R_READ_COUNT 16
#define R_RESERVED 28
#define R_SIZE_A 32
#define R_SIZE_B 40
#define R_HASH 48
#define Q_SRC 0
#define Q_DST 8
#define Q_CAPACITY 16
#define Q_MAX_MSG 20
#define Q_RESERVED 24
#define G_KIND 4
#define G_OBJECT 8
#define G_RIGHTS 12

static struct tpkg pkg_bytes;
static struct rvf_package pkg;
static struct rvf_segment segs[8];
static uint8_t *mf;
static size_t mlen;
static struct rvf_manifest good;

static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void st32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void st64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static int setup(void **state)
{
    (void)state;
    struct rvf_result res;
    sample_package(&pkg_bytes, false);
    if (rvf_parse(pkg_bytes.buf, pkg_bytes.len, segs, 8, NULL, &pkg, &res) != RVF_OK)
        return -1;
    mlen = encode_desc(sample_desc(), &mf);
    return rvf_manifest_parse(mf, mlen, segs, pkg.nsegs, NULL, &good, &res) == RVF_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(mf);
    tpkg_free(&pkg_bytes);
    return 0;
}

/* A private copy of the sample manifest to corrupt. */
static uint8_t *copy(void)
{
    uint8_t *c = malloc(mlen);
    assert_non_null(c);
    memcpy(c, mf, mlen);
    return c;
}

static enum rvf_status check(uint8_t *c, size_t n, struct rvf_result *res)
{
    struct rvf_manifest m;
    enum rvf_status st = rvf_manifest_parse(c, n, segs, pkg.nsegs, NULL, &m, res);
    if (st != RVF_OK) {
        /* A refused manifest leaves no view behind. */
        assert_int_equal(m.ncomponents, 0);
        assert_null(m.name);
    }
    return st;
}

#define EXPECT(c, want, text)                                                   \
    do {                                                                        \
        struct rvf_result r_;                                                   \
        enum rvf_status s_ = check((c), mlen, &r_);                             \
        if (s_ != (want))                                                       \
            fail_msg("got %s (%s), want %s", rvf_strerror(s_), r_.msg,          \
                     rvf_strerror(want));                                       \
        if (!strstr(r_.msg, (text)))                                            \
            fail_msg("message \"%s\" lacks \"%s\"", r_.msg, (text));            \
    } while (0)

static uint8_t *comp_rec(uint8_t *c, uint32_t i) { return c + good.comp_off + i * 32; }
static uint8_t *region_rec(uint8_t *c, uint32_t i) { return c + good.region_off + i * 64; }
static uint8_t *queue_rec(uint8_t *c, uint32_t i) { return c + good.queue_off + i * 32; }
static uint8_t *grant_rec(uint8_t *c, uint32_t i) { return c + good.grant_off + i * 16; }

static void test_roundtrip(void **state)
{
    (void)state;
    const struct rvf_manifest *m = &good;
    assert_string_equal(m->name, "hello");
    assert_string_equal(m->pkg_version, "1.0.0");
    assert_int_equal(m->version, 1);
    assert_int_equal(m->ncomponents, 2);
    assert_int_equal(m->nregions, 3);
    assert_int_equal(m->nqueues, 1);
    assert_int_equal(m->ngrants, 6);
    assert_int_equal(m->ntasks, 2);

    struct rvf_component c;
    rvf_manifest_component(m, 1, &c);
    assert_string_equal(c.name, "logger");
    assert_int_equal(c.priority, 5);
    assert_int_equal(c.nentries, 1);
    assert_string_equal(rvf_manifest_entry(m, &c, 0), "main");
    assert_memory_equal(c.wasm_hash, segs[2].hash, 16);
    assert_ptr_equal(rvf_find_segment(segs, pkg.nsegs, c.wasm_hash, RVF_SEG_WASM), &segs[2]);

    struct rvf_region r;
    rvf_manifest_region(m, 0, &r);
    assert_string_equal(r.name, "config");
    assert_int_equal(r.policy, RVF_REGION_IMMUTABLE);
    assert_memory_equal(r.init_hash, segs[3].hash, 16);
    assert_true(rvf_region_readable_by(m, &r, 0));
    assert_true(rvf_region_readable_by(m, &r, 1));
    assert_false(rvf_region_writable_by(m, &r, 0));
    rvf_manifest_region(m, 1, &r);
    assert_int_equal(r.policy, RVF_REGION_APPEND_ONLY);
    assert_int_equal(r.max_size, 4096);
    assert_int_equal(r.owner, 1);
    assert_true(rvf_region_writable_by(m, &r, 1));
    assert_false(rvf_region_writable_by(m, &r, 0));
    rvf_manifest_region(m, 2, &r);
    assert_int_equal(r.policy, RVF_REGION_SLAB);
    assert_int_equal(r.slot_size, 64);
    assert_int_equal(r.slot_count, 16);
    assert_false(rvf_region_readable_by(m, &r, 1));

    struct rvf_queue q;
    rvf_manifest_queue(m, 0, &q);
    assert_int_equal(q.src, 0);
    assert_int_equal(q.dst, 1);
    assert_string_equal(q.src_port, "out");
    assert_string_equal(q.dst_port, "in");
    assert_int_equal(q.capacity, 16);
    assert_int_equal(q.max_msg, 256);

    /* Grants come back in canonical (component, kind, object) order. */
    struct rvf_grant g, prev = {0};
    for (uint32_t i = 0; i < m->ngrants; i++) {
        rvf_manifest_grant(m, i, &g);
        if (i)
            assert_true(g.component > prev.component ||
                        (g.component == prev.component &&
                         (g.kind > prev.kind ||
                          (g.kind == prev.kind && g.object > prev.object))));
        prev = g;
    }
    rvf_manifest_grant(m, 0, &g);
    assert_int_equal(g.component, 0);
    assert_int_equal(g.kind, RVF_OBJ_REGION);
    assert_int_equal(g.object, 0);
    assert_int_equal(g.rights, RVF_RIGHT_READ);

    assert_int_equal(rvf_manifest_find_component(m, "greeter"), 0);
    assert_int_equal(rvf_manifest_find_component(m, "nobody"), -1);
    assert_int_equal(rvf_manifest_find_region(m, "slots"), 2);
    /* Out-of-range accessors return empty views, never read past. */
    rvf_manifest_component(m, 99, &c);
    assert_null(c.name);
    assert_int_equal(rvf_manifest_list_item(m, 1u << 30), UINT32_MAX);
}

static void test_encoder_sizes(void **state)
{
    (void)state;
    size_t need = 0;
    struct rvf_result res;
    uint8_t small[100];
    assert_int_equal(rvf_manifest_encode(sample_desc(), NULL, NULL, 0, &need, &res),
                     RVF_E_NOSPACE);
    assert_int_equal(need, mlen);
    assert_int_equal(rvf_manifest_encode(sample_desc(), NULL, small, sizeof(small),
                                         &need, &res), RVF_E_NOSPACE);
    assert_int_equal(need, mlen);
    assert_int_equal(ld32(mf + H_TOTAL), mlen);

    /* The encoder refuses what the parser would and says why. */
    struct rvf_manifest_desc d = *sample_desc();
    uint8_t *out = malloc(mlen + 256);
    char longname[80];
    memset(longname, 'a', 64);
    longname[64] = 0;
    d.name = longname;
    assert_int_equal(rvf_manifest_encode(&d, NULL, out, mlen + 256, &need, &res),
                     RVF_E_STRING);
    longname[63] = 0; /* exactly 63 is fine */
    assert_int_equal(rvf_manifest_encode(&d, NULL, out, mlen + 256, &need, &res), RVF_OK);
    d.name = "he/llo";
    assert_int_equal(rvf_manifest_encode(&d, NULL, out, mlen + 256, &need, &res),
                     RVF_E_STRING);
    d.name = NULL;
    assert_int_equal(rvf_manifest_encode(&d, NULL, out, mlen + 256, &need, &res),
                     RVF_E_INVAL);
    free(out);
}

static void test_header(void **state)
{
    (void)state;
    uint8_t *c = copy();
    c[0] ^= 1;
    EXPECT(c, RVF_E_MAGIC, "RVFM");
    memcpy(c, mf, mlen);
    c[H_VERSION] = 2;
    EXPECT(c, RVF_E_VERSION, "newer");
    c[H_VERSION] = 0;
    EXPECT(c, RVF_E_VERSION, "version 0");
    memcpy(c, mf, mlen);
    c[H_HEADER_SIZE] = 97;
    EXPECT(c, RVF_E_MANIFEST, "header_size");
    memcpy(c, mf, mlen);
    st32(c + H_TOTAL, (uint32_t)mlen + 1);
    EXPECT(c, RVF_E_MANIFEST, "total_size");
    memcpy(c, mf, mlen);
    c[H_FLAGS] = 1;
    EXPECT(c, RVF_E_RESERVED, "flags");
    for (unsigned b = 72; b < 96; b++) {
        memcpy(c, mf, mlen);
        c[b] = 0x80;
        EXPECT(c, RVF_E_RESERVED, "reserved");
    }
    free(c);
}

/* Every shorter length is refused: under the header it is truncated,
 * past it total_size no longer matches. */
static void test_truncated(void **state)
{
    (void)state;
    struct rvf_result res;
    for (size_t n = 0; n < mlen; n++) {
        uint8_t *c = malloc(n ? n : 1);
        memcpy(c, mf, n);
        enum rvf_status st = check(c, n, &res);
        assert_int_equal(st, n < 96 ? RVF_E_TRUNCATED : RVF_E_MANIFEST);
        free(c);
    }
}

static void test_counts_offsets_lie(void **state)
{
    (void)state;
    struct rvf_limits lim;
    rvf_limits_default(&lim);
    uint8_t *c = copy();

    st32(c + H_COMP_COUNT, 3); /* one more component than there is */
    EXPECT(c, RVF_E_MANIFEST, "region table");
    st32(c + H_COMP_COUNT, 0xFFFFFFFFu);
    EXPECT(c, RVF_E_LIMIT, "component table");
    memcpy(c, mf, mlen);
    st32(c + H_COMP_OFF, 100);
    EXPECT(c, RVF_E_MANIFEST, "component table");
    memcpy(c, mf, mlen);
    st32(c + H_REGION_OFF, ld32(c + H_REGION_OFF) + 4);
    EXPECT(c, RVF_E_MANIFEST, "region table");
    memcpy(c, mf, mlen);
    st32(c + H_LIST_COUNT, 0x40000000u);
    EXPECT(c, RVF_E_MANIFEST, "list pool");
    memcpy(c, mf, mlen);
    st32(c + H_STR_SIZE, ld32(c + H_STR_SIZE) + 1);
    EXPECT(c, RVF_E_MANIFEST, "string table");
    memcpy(c, mf, mlen);
    st32(c + H_STR_SIZE, ld32(c + H_STR_SIZE) - 1);
    EXPECT(c, RVF_E_MANIFEST, "total_size");
    memcpy(c, mf, mlen);
    st32(c + H_QUEUE_COUNT, 5000);
    EXPECT(c, RVF_E_LIMIT, "queue table");
    memcpy(c, mf, mlen);
    st32(c + H_GRANT_COUNT, 0x10000000u);
    EXPECT(c, RVF_E_LIMIT, "grant table");
    /* A component's entry list running past the pool. */
    memcpy(c, mf, mlen);
    st32(comp_rec(c, 1) + C_ENTRY_FIRST, 0xFFFFFFFFu);
    EXPECT(c, RVF_E_INDEX, "list pool");
    memcpy(c, mf, mlen);
    st32(comp_rec(c, 1) + C_ENTRY_COUNT, 0xFFFFFFFFu);
    EXPECT(c, RVF_E_INDEX, "component 1");
    memcpy(c, mf, mlen);
    st32(region_rec(c, 0) + R_READ_COUNT, 1000);
    EXPECT(c, RVF_E_INDEX, "region 0");
    free(c);
}

static void test_strings(void **state)
{
    (void)state;
    uint8_t *c = copy();
    uint32_t str_off = good.str_off, str_size = good.str_size;

    /* The last string loses its NUL: unterminated. */
    c[mlen - 1] = 'x';
    EXPECT(c, RVF_E_STRING, "not NUL-terminated");
    /* A name reference outside the string table. */
    memcpy(c, mf, mlen);
    st32(c + H_NAME, str_size);
    EXPECT(c, RVF_E_STRING, "outside the string table");
    memcpy(c, mf, mlen);
    st32(comp_rec(c, 0), 0xFFFFFFF0u);
    EXPECT(c, RVF_E_STRING, "component 0");
    /* Bad characters, leading dot, empty name. */
    memcpy(c, mf, mlen);
    c[str_off + 1] = '/'; /* "hello" -> "h/llo" */
    EXPECT(c, RVF_E_STRING, "character");
    c[str_off + 1] = (char)0xC3;
    EXPECT(c, RVF_E_STRING, "character");
    c[str_off + 1] = 'e';
    c[str_off] = '.';
    EXPECT(c, RVF_E_STRING, "'.'");
    c[str_off] = 0;
    EXPECT(c, RVF_E_STRING, "empty");
    free(c);

    /* Overlong: a 63-byte package name whose NUL is overwritten runs on
     * into the version string. */
    struct rvf_manifest_desc d = *sample_desc();
    char name[64];
    memset(name, 'a', 63);
    name[63] = 0;
    d.name = name;
    size_t n = encode_desc(&d, &c);
    struct rvf_manifest m;
    struct rvf_result res;
    assert_int_equal(rvf_manifest_parse(c, n, segs, pkg.nsegs, NULL, &m, &res), RVF_OK);
    assert_int_equal(strlen(m.name), 63);
    c[m.str_off + 63] = 'b';
    assert_int_equal(rvf_manifest_parse(c, n, segs, pkg.nsegs, NULL, &m, &res), RVF_E_STRING);
    assert_non_null(strstr(res.msg, "longer than 63"));
    assert_non_null(strstr(res.msg, "package name"));
    free(c);
}

static void test_indices(void **state)
{
    (void)state;
    uint8_t *c = copy();
    st32(region_rec(c, 1) + R_OWNER, 2);
    EXPECT(c, RVF_E_INDEX, "owner");
    memcpy(c, mf, mlen);
    /* Region 0's read set {0,1}: make an item point past the components. */
    uint32_t first = ld32(region_rec(c, 0) + R_READ_FIRST);
    st32(c + good.list_off + (first + 1) * 4, 7);
    EXPECT(c, RVF_E_INDEX, "access set");
    st32(c + good.list_off + (first + 1) * 4, 0); /* {0, 0} */
    EXPECT(c, RVF_E_MANIFEST, "strictly increasing");
    memcpy(c, mf, mlen);
    st32(queue_rec(c, 0) + Q_SRC, 2);
    EXPECT(c, RVF_E_INDEX, "queue 0: source");
    memcpy(c, mf, mlen);
    st32(queue_rec(c, 0) + Q_DST, 0xFFFFFFFFu);
    EXPECT(c, RVF_E_INDEX, "queue 0: target");
    memcpy(c, mf, mlen);
    st32(grant_rec(c, 0), 9);
    EXPECT(c, RVF_E_INDEX, "grant 0");
    memcpy(c, mf, mlen);
    st32(grant_rec(c, 0) + G_OBJECT, 3); /* region 3 of 3 */
    EXPECT(c, RVF_E_INDEX, "object index");
    free(c);
}

static void test_duplicates(void **state)
{
    (void)state;
    struct rvf_manifest_desc d = *sample_desc();
    struct rvf_component_desc comps[2] = {d.components[0], d.components[1]};
    struct rvf_result res;
    size_t need;
    uint8_t out[4096];
    struct rvf_manifest m;
    d.components = comps;

    comps[1].name = comps[0].name;
    assert_int_equal(rvf_manifest_encode(&d, NULL, out, sizeof(out), &need, &res),
                     RVF_E_DUPLICATE);
    assert_non_null(strstr(res.msg, "component 1"));
    comps[1] = sample_desc()->components[1];

    static const char *const twice[] = {"main", "main"};
    comps[1].entries = twice;
    comps[1].nentries = 2;
    assert_int_equal(rvf_manifest_encode(&d, NULL, out, sizeof(out), &need, &res),
                     RVF_E_DUPLICATE);
    assert_non_null(strstr(res.msg, "entry point"));
    comps[1] = sample_desc()->components[1];

    struct rvf_region_desc regs[3] = {d.regions[0], d.regions[1], d.regions[2]};
    d.regions = regs;
    regs[2].name = "log";
    assert_int_equal(rvf_manifest_encode(&d, NULL, out, sizeof(out), &need, &res),
                     RVF_E_DUPLICATE);
    regs[2] = sample_desc()->regions[2];

    struct rvf_grant gs[8];
    memcpy(gs, d.grants, d.ngrants * sizeof(gs[0]));
    gs[d.ngrants] = gs[0];
    d.grants = gs;
    d.ngrants++;
    assert_int_equal(rvf_manifest_encode(&d, NULL, out, sizeof(out), &need, &res),
                     RVF_E_DUPLICATE);
    d.ngrants--;
    assert_int_equal(rvf_manifest_encode(&d, NULL, out, sizeof(out), &need, &res), RVF_OK);
    assert_int_equal(rvf_manifest_parse(out, need, segs, pkg.nsegs, NULL, &m, &res), RVF_OK);

    /* Grants out of canonical order in the bytes. */
    uint8_t *c = copy();
    uint8_t tmp[16];
    memcpy(tmp, grant_rec(c, 0), 16);
    memcpy(grant_rec(c, 0), grant_rec(c, 1), 16);
    memcpy(grant_rec(c, 1), tmp, 16);
    EXPECT(c, RVF_E_MANIFEST, "strictly increasing");
    free(c);
}

/* Many names: the linear-time set (up to RVF_NAMESET_MAX names) and the
 * pairwise fallback (more, with raised limits) find a duplicate wherever
 * it is, and pass distinct names. */
static void test_duplicates_many(void **state)
{
    (void)state;
    static char names[300][24];
    static struct rvf_region_desc regs[300];
    static uint8_t out[1 << 16];
    const unsigned counts[] = {256, 300};
    for (unsigned t = 0; t < 2; t++) {
        unsigned n = counts[t];
        struct rvf_manifest_desc d = *sample_desc();
        for (unsigned i = 0; i < n; i++) {
            snprintf(names[i], sizeof names[i], "region-%u", i);
            regs[i] = (struct rvf_region_desc){.name = names[i],
                                               .policy = RVF_REGION_APPEND_ONLY,
                                               .max_size = 64};
        }
        d.regions = regs;
        d.nregions = n;
        d.grants = NULL;
        d.ngrants = 0;
        struct rvf_limits lim;
        rvf_limits_default(&lim);
        lim.max_regions = n;
        struct rvf_result res;
        size_t need;
        assert_int_equal(rvf_manifest_encode(&d, &lim, out, sizeof(out), &need, &res), RVF_OK);
        const unsigned at[][2] = {{0, n - 1}, {n - 2, n - 1}, {17, 200}, {0, 1}};
        for (unsigned k = 0; k < 4; k++) {
            regs[at[k][1]].name = names[at[k][0]];
            assert_int_equal(rvf_manifest_encode(&d, &lim, out, sizeof(out), &need, &res),
                             RVF_E_DUPLICATE);
            assert_non_null(strstr(res.msg, "earlier region"));
            regs[at[k][1]].name = names[at[k][1]];
        }
    }
}

static void test_values(void **state)
{
    (void)state;
    uint8_t *c = copy();
    st32(comp_rec(c, 0) + C_PRIORITY, 256);
    EXPECT(c, RVF_E_MANIFEST, "priority");
    memcpy(c, mf, mlen);
    st32(region_rec(c, 0) + R_POLICY, 3);
    EXPECT(c, RVF_E_MANIFEST, "policy");
    memcpy(c, mf, mlen);
    st32(region_rec(c, 1) + R_RESERVED, 1);
    EXPECT(c, RVF_E_RESERVED, "reserved");
    memcpy(c, mf, mlen);
    st64(region_rec(c, 1) + R_SIZE_A, 0);
    EXPECT(c, RVF_E_MANIFEST, "max_size is 0");
    memcpy(c, mf, mlen);
    st64(region_rec(c, 1) + R_SIZE_B, 1);
    EXPECT(c, RVF_E_RESERVED, "slot_count");
    memcpy(c, mf, mlen);
    st64(region_rec(c, 1) + R_SIZE_A, (64ull << 20) + 1);
    EXPECT(c, RVF_E_LIMIT, "max_region_size");
    memcpy(c, mf, mlen);
    st64(region_rec(c, 2) + R_SIZE_A, 1ull << 63); /* slot_size x count wraps */
    st64(region_rec(c, 2) + R_SIZE_B, 4);
    EXPECT(c, RVF_E_LIMIT, "slot_size x slot_count");
    memcpy(c, mf, mlen);
    st64(region_rec(c, 2) + R_SIZE_A, 1 << 20);
    st64(region_rec(c, 2) + R_SIZE_B, 65);
    EXPECT(c, RVF_E_LIMIT, "slot_size x slot_count");
    memcpy(c, mf, mlen);
    st64(region_rec(c, 2) + R_SIZE_B, 0);
    EXPECT(c, RVF_E_MANIFEST, "slab");
    memcpy(c, mf, mlen);
    region_rec(c, 2)[R_HASH] = 1;
    EXPECT(c, RVF_E_RESERVED, "init_hash");
    memcpy(c, mf, mlen);
    st64(region_rec(c, 0) + R_SIZE_A, 5);
    EXPECT(c, RVF_E_RESERVED, "immutable");

    const uint32_t bad_caps[] = {0, 3, 12, 0x80000001u};
    for (int k = 0; k < 4; k++) {
        memcpy(c, mf, mlen);
        st32(queue_rec(c, 0) + Q_CAPACITY, bad_caps[k]);
        EXPECT(c, RVF_E_MANIFEST, "power of two");
    }
    memcpy(c, mf, mlen);
    st32(queue_rec(c, 0) + Q_CAPACITY, 1u << 17);
    EXPECT(c, RVF_E_LIMIT, "max_queue_capacity");
    memcpy(c, mf, mlen);
    st32(queue_rec(c, 0) + Q_CAPACITY, 1u << 16);
    st32(queue_rec(c, 0) + Q_MAX_MSG, 1u << 16);
    EXPECT(c, RVF_E_LIMIT, "max_queue_bytes");
    memcpy(c, mf, mlen);
    st32(queue_rec(c, 0) + Q_MAX_MSG, 0);
    EXPECT(c, RVF_E_MANIFEST, "max message size is 0");
    memcpy(c, mf, mlen);
    st32(queue_rec(c, 0) + Q_MAX_MSG, (64u << 10) + 1);
    EXPECT(c, RVF_E_LIMIT, "max_message");
    memcpy(c, mf, mlen);
    queue_rec(c, 0)[Q_RESERVED + 7] = 1;
    EXPECT(c, RVF_E_RESERVED, "queue 0");
    memcpy(c, mf, mlen);
    st32(grant_rec(c, 0) + G_KIND, 3);
    EXPECT(c, RVF_E_MANIFEST, "object kind");
    memcpy(c, mf, mlen);
    st32(grant_rec(c, 0) + G_RIGHTS, 0);
    EXPECT(c, RVF_E_MANIFEST, "rights");
    st32(grant_rec(c, 0) + G_RIGHTS, 0x21);
    EXPECT(c, RVF_E_MANIFEST, "rights");
    free(c);
}

/* Grant records are sorted (component, kind, object): in the sample,
 * index 0 = (0, region 0, R), 1 = (0, region 2, RW), 2 = (0, queue 0, W),
 * 3 = (1, region 1, RWG), 4 = (1, queue 0, R), 5 = (1, component 0, X). */
static void test_rights(void **state)
{
    (void)state;
    uint8_t *c = copy();
    st32(grant_rec(c, 0) + G_RIGHTS, RVF_RIGHT_READ | RVF_RIGHT_WRITE);
    EXPECT(c, RVF_E_RIGHTS, "write set"); /* immutable region 0 has no writers */
    st32(grant_rec(c, 0) + G_RIGHTS, RVF_RIGHT_EXECUTE);
    EXPECT(c, RVF_E_RIGHTS, "region");
    st32(grant_rec(c, 0) + G_RIGHTS, RVF_RIGHT_GRANT); /* component 0 owns region 0 */
    EXPECT(c, RVF_OK, "");
    memcpy(c, mf, mlen);
    st32(grant_rec(c, 3) + G_OBJECT, 2); /* (1, region 2): logger may not read slots */
    EXPECT(c, RVF_E_RIGHTS, "read set");
    memcpy(c, mf, mlen);
    st32(grant_rec(c, 3) + G_RIGHTS, RVF_RIGHT_READ | RVF_RIGHT_REVOKE); /* owner: ok */
    EXPECT(c, RVF_OK, "");
    memcpy(c, mf, mlen);
    st32(grant_rec(c, 1) + G_RIGHTS, RVF_RIGHT_READ | RVF_RIGHT_GRANT); /* slots owner 0: ok */
    EXPECT(c, RVF_OK, "");
    memcpy(c, mf, mlen);
    st32(grant_rec(c, 4) + G_RIGHTS, RVF_RIGHT_WRITE); /* logger is the queue's target */
    EXPECT(c, RVF_E_RIGHTS, "endpoints");
    memcpy(c, mf, mlen);
    st32(grant_rec(c, 2) + G_RIGHTS, RVF_RIGHT_READ); /* greeter is the source */
    EXPECT(c, RVF_E_RIGHTS, "endpoints");
    memcpy(c, mf, mlen);
    st32(grant_rec(c, 5) + G_RIGHTS, RVF_RIGHT_WRITE); /* components are immutable */
    EXPECT(c, RVF_E_RIGHTS, "component");
    st32(grant_rec(c, 5) + G_RIGHTS, RVF_RIGHT_READ | RVF_RIGHT_EXECUTE);
    EXPECT(c, RVF_OK, "");
    /* An immutable region with a write set. */
    memcpy(c, mf, mlen);
    uint8_t *r0 = region_rec(c, 0);
    st32(r0 + R_READ_COUNT + 8, 1); /* write_count = 1, sharing the read list */
    st32(r0 + R_READ_COUNT + 4, ld32(r0 + R_READ_FIRST));
    EXPECT(c, RVF_E_RIGHTS, "immutable region has a write set");
    free(c);
}

static void test_refs(void **state)
{
    (void)state;
    uint8_t *c = copy();
    comp_rec(c, 0)[C_HASH] ^= 1;
    EXPECT(c, RVF_E_REF, "no WASM segment");
    /* A DATA segment's hash is not a WASM module. */
    memcpy(c, mf, mlen);
    memcpy(comp_rec(c, 0) + C_HASH, segs[3].hash, 16);
    EXPECT(c, RVF_E_REF, "component 0");
    memcpy(c, mf, mlen);
    memcpy(region_rec(c, 0) + R_HASH, segs[1].hash, 16);
    EXPECT(c, RVF_E_REF, "no DATA segment");
    /* Without a segment list the references are not checked. */
    struct rvf_manifest m;
    struct rvf_result res;
    assert_int_equal(rvf_manifest_parse(c, mlen, NULL, 0, NULL, &m, &res), RVF_OK);
    free(c);

    /* A package truncated at a segment boundary loses what it names. */
    struct rvf_package p2;
    struct rvf_segment s2[8];
    assert_int_equal(rvf_parse(pkg_bytes.buf, segs[3].offset, s2, 8, NULL, &p2, &res), RVF_OK);
    assert_int_equal(rvf_manifest_parse(mf, mlen, s2, p2.nsegs, NULL, &m, &res), RVF_E_REF);
    assert_non_null(strstr(res.msg, "region 0"));
}

static void test_limits(void **state)
{
    (void)state;
    struct rvf_limits lim;
    struct rvf_manifest m;
    struct rvf_result res;
    rvf_limits_default(&lim);
    assert_int_equal(lim.max_components, 256);
    assert_int_equal(lim.max_regions, 256);
    assert_int_equal(lim.max_queues, 1024);
    assert_int_equal(lim.max_tasks, 64);

    lim.max_components = 1;
    assert_int_equal(rvf_manifest_parse(mf, mlen, segs, pkg.nsegs, &lim, &m, &res), RVF_E_LIMIT);
    rvf_limits_default(&lim);
    lim.max_regions = 2;
    assert_int_equal(rvf_manifest_parse(mf, mlen, segs, pkg.nsegs, &lim, &m, &res), RVF_E_LIMIT);
    rvf_limits_default(&lim);
    lim.max_queues = 0;
    assert_int_equal(rvf_manifest_parse(mf, mlen, segs, pkg.nsegs, &lim, &m, &res), RVF_E_LIMIT);
    rvf_limits_default(&lim);
    lim.max_tasks = 1;
    assert_int_equal(rvf_manifest_parse(mf, mlen, segs, pkg.nsegs, &lim, &m, &res), RVF_E_LIMIT);
    assert_non_null(strstr(res.msg, "tasks"));
    rvf_limits_default(&lim);
    lim.max_region_size = 100; /* the immutable region's 200-byte content */
    assert_int_equal(rvf_manifest_parse(mf, mlen, segs, pkg.nsegs, &lim, &m, &res), RVF_E_LIMIT);
    assert_non_null(strstr(res.msg, "region 0"));

    /* 65 entry points over two components: over the default 64 tasks. */
    struct rvf_manifest_desc d = *sample_desc();
    struct rvf_component_desc comps[2] = {d.components[0], d.components[1]};
    static char names[65][8];
    static const char *ptrs[65];
    for (int i = 0; i < 65; i++) {
        names[i][0] = 'e';
        names[i][1] = (char)('0' + i / 10);
        names[i][2] = (char)('0' + i % 10);
        ptrs[i] = names[i];
    }
    comps[0].entries = ptrs;
    comps[0].nentries = 64;
    d.components = comps;
    uint8_t *out = malloc(8192);
    size_t need;
    assert_int_equal(rvf_manifest_encode(&d, NULL, out, 8192, &need, &res), RVF_E_LIMIT);
    comps[0].nentries = 63;
    assert_int_equal(rvf_manifest_encode(&d, NULL, out, 8192, &need, &res), RVF_OK);
    free(out);
}

/* Flip every byte of the manifest: no crash, no read outside (ASan). */
static void test_every_byte(void **state)
{
    (void)state;
    struct rvf_result res;
    unsigned accepted = 0;
    for (size_t i = 0; i < mlen; i++) {
        for (int v = 0; v < 3; v++) {
            uint8_t *c = copy();
            c[i] = v == 0 ? (uint8_t)(c[i] ^ 0xFF) : v == 1 ? 0 : 0x80;
            if (check(c, mlen, &res) == RVF_OK)
                accepted++;
            free(c);
        }
    }
    /* Some flips are harmless (priorities, sizes, names that stay valid). */
    assert_true(accepted < mlen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_encoder_sizes),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_counts_offsets_lie),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_indices),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_duplicates_many),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_rights),
        cmocka_unit_test(test_refs),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_every_byte),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
