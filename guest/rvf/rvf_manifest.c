/* RVF manifest v1: validator (rvf_manifest_parse) and accessors over a
 * validated manifest. Layout (see nubfs-rvf(5)): a 96-byte header, then
 * contiguous tables in fixed order (components, regions, queues, grants,
 * list pool of u32, string table of NUL-terminated names) ending exactly
 * at total_size. Every offset, count and index is checked before use;
 * the accessors then read fixed-size records without further checks. */
#include "rvf_internal.h"

/* Header field offsets. */
enum {
    MH_MAGIC = 0,
    MH_VERSION = 4,
    MH_HEADER_SIZE = 6,
    MH_TOTAL_SIZE = 8,
    MH_FLAGS = 12,
    MH_NAME = 16,
    MH_PKG_VERSION = 20,
    MH_COMP_OFF = 24,
    MH_COMP_COUNT = 28,
    MH_REGION_OFF = 32,
    MH_REGION_COUNT = 36,
    MH_QUEUE_OFF = 40,
    MH_QUEUE_COUNT = 44,
    MH_GRANT_OFF = 48,
    MH_GRANT_COUNT = 52,
    MH_LIST_OFF = 56,
    MH_LIST_COUNT = 60,
    MH_STR_OFF = 64,
    MH_STR_SIZE = 68,
    MH_RESERVED = 72, /* 24 bytes, zero */
};

/* Component record (32 bytes). */
enum { MC_NAME = 0, MC_PRIORITY = 4, MC_ENTRY_FIRST = 8, MC_ENTRY_COUNT = 12, MC_HASH = 16 };
/* Region record (64 bytes). */
enum {
    MR_NAME = 0, MR_POLICY = 4, MR_OWNER = 8, MR_READ_FIRST = 12,
    MR_READ_COUNT = 16, MR_WRITE_FIRST = 20, MR_WRITE_COUNT = 24,
    MR_RESERVED = 28, MR_SIZE_A = 32, MR_SIZE_B = 40, MR_HASH = 48,
};
/* Queue record (32 bytes). */
enum {
    MQ_SRC = 0, MQ_SRC_PORT = 4, MQ_DST = 8, MQ_DST_PORT = 12,
    MQ_CAPACITY = 16, MQ_MAX_MSG = 20, MQ_RESERVED = 24, /* 8 bytes */
};
/* Grant record (16 bytes). */
enum { MG_COMPONENT = 0, MG_KIND = 4, MG_OBJECT = 8, MG_RIGHTS = 12 };

struct ctx {
    const uint8_t *b;
    uint32_t size;
    const struct rvf_limits *lim;
    struct rvf_manifest *m;
    struct rvf_result *res;
};

/* "manifest @0xOFF: <what> <idx>: <text>" */
static enum rvf_status mf_fail(struct ctx *c, enum rvf_status st, uint64_t off,
                               const char *what, int64_t idx, const char *text)
{
    rvf_fail(c->res, st, -1, off, "manifest @");
    rvf_msg_hex(c->res, off);
    rvf_msg_str(c->res, ": ");
    if (what) {
        rvf_msg_str(c->res, what);
        if (idx >= 0) {
            rvf_msg_str(c->res, " ");
            rvf_msg_dec(c->res, (uint64_t)idx);
        }
        rvf_msg_str(c->res, ": ");
    }
    rvf_msg_str(c->res, text);
    return st;
}

/* [A-Za-z0-9._-] by table: one load per character of every name. */
#define NC_RANGE(a, b) [a ... b] = 1
static const uint8_t name_chars[256] = {
    NC_RANGE('a', 'z'), NC_RANGE('A', 'Z'), NC_RANGE('0', '9'),
    ['.'] = 1, ['_'] = 1, ['-'] = 1,
};
#undef NC_RANGE

static bool name_char(uint8_t ch)
{
    return name_chars[ch] != 0;
}

/* Validate the string at string-table offset so; *out points at it.
 * field_off is where the reference lives (for the message). */
static enum rvf_status get_string(struct ctx *c, uint32_t so, uint64_t field_off,
                                  const char *what, int64_t idx,
                                  const char **out)
{
    struct rvf_manifest *m = c->m;
    if (so >= m->str_size)
        return mf_fail(c, RVF_E_STRING, field_off, what, idx,
                       "string offset outside the string table");
    const uint8_t *s = c->b + m->str_off + so;
    uint32_t room = m->str_size - so;
    uint32_t n = 0;
    /* Bounded: at most RVF_NAME_MAX + 1 bytes looked at. */
    uint32_t lim = room < RVF_NAME_MAX + 1 ? room : RVF_NAME_MAX + 1;
    while (n < lim && s[n] != 0) {
        if (!name_char(s[n]))
            return mf_fail(c, RVF_E_STRING, m->str_off + so + n, what, idx,
                           "name has a character outside [A-Za-z0-9._-]");
        n++;
    }
    if (n > RVF_NAME_MAX)
        return mf_fail(c, RVF_E_STRING, m->str_off + so, what, idx,
                       "name longer than 63 bytes");
    if (n == room)
        return mf_fail(c, RVF_E_STRING, m->str_off + so, what, idx,
                       "name not NUL-terminated inside the string table");
    if (n == 0)
        return mf_fail(c, RVF_E_STRING, m->str_off + so, what, idx,
                       "empty name");
    if (s[0] == '.')
        return mf_fail(c, RVF_E_STRING, m->str_off + so, what, idx,
                       "name starts with '.'");
    *out = (const char *)s;
    return RVF_OK;
}

/* A list [first, first + count) of the u32 pool must lie inside it. */
static enum rvf_status check_list(struct ctx *c, uint32_t first, uint32_t count,
                                  uint64_t field_off, const char *what,
                                  int64_t idx)
{
    if ((uint64_t)first + count > c->m->nlist)
        return mf_fail(c, RVF_E_INDEX, field_off, what, idx,
                       "list runs past the end of the list pool");
    return RVF_OK;
}

static uint32_t list_item(const struct rvf_manifest *m, uint32_t i)
{
    return rvf_ld32(m->base + m->list_off + (uint64_t)i * 4);
}

/* Component index set: every item < ncomponents, strictly increasing. */
static enum rvf_status check_set_walk(struct ctx *c, uint32_t first, uint32_t count,
                                      uint64_t field_off, const char *what,
                                      int64_t idx)
{
    enum rvf_status st = check_list(c, first, count, field_off, what, idx);
    if (st != RVF_OK)
        return st;
    for (uint32_t k = 0; k < count; k++) {
        uint32_t v = list_item(c->m, first + k);
        uint64_t at = c->m->list_off + ((uint64_t)first + k) * 4;
        if (v >= c->m->ncomponents)
            return mf_fail(c, RVF_E_INDEX, at, what, idx,
                           "component index out of range in access set");
        if (k > 0 && v <= list_item(c->m, first + k - 1))
            return mf_fail(c, RVF_E_MANIFEST, at, what, idx,
                           "access set not strictly increasing");
    }
    return RVF_OK;
}

/* The common empty set needs no call (a region has two sets). */
static inline enum rvf_status check_set(struct ctx *c, uint32_t first, uint32_t count,
                                        uint64_t field_off, const char *what,
                                        int64_t idx)
{
    if (count == 0 && first <= c->m->nlist)
        return RVF_OK;
    return check_set_walk(c, first, count, field_off, what, idx);
}

static bool set_has(const struct rvf_manifest *m, uint32_t first,
                    uint32_t count, uint32_t v)
{
    /* Sets are sorted (checked): binary search keeps the guest's work
     * logarithmic per lookup. */
    uint32_t lo = 0, hi = count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint32_t x = list_item(m, first + mid);
        if (x == v)
            return true;
        if (x < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static enum rvf_status check_header(struct ctx *c, size_t len)
{
    const uint8_t *b = c->b;
    struct rvf_manifest *m = c->m;

    if (len < RVF_MF_HEADER_SIZE)
        return mf_fail(c, RVF_E_TRUNCATED, 0, NULL, -1,
                       "shorter than the 96-byte manifest header");
    if (rvf_ld32(b + MH_MAGIC) != RVF_MF_MAGIC)
        return mf_fail(c, RVF_E_MAGIC, MH_MAGIC, NULL, -1,
                       "magic is not RVFM");
    m->version = rvf_ld16(b + MH_VERSION);
    if (m->version != RVF_MF_VERSION)
        return mf_fail(c, RVF_E_VERSION, MH_VERSION, NULL, -1,
                       m->version > RVF_MF_VERSION
                           ? "manifest version newer than 1 (upgrade nubfs)"
                           : "manifest version 0 is invalid");
    if (rvf_ld16(b + MH_HEADER_SIZE) != RVF_MF_HEADER_SIZE)
        return mf_fail(c, RVF_E_MANIFEST, MH_HEADER_SIZE, NULL, -1,
                       "header_size must be 96 in version 1");
    if (len > UINT32_MAX || rvf_ld32(b + MH_TOTAL_SIZE) != (uint32_t)len)
        return mf_fail(c, RVF_E_MANIFEST, MH_TOTAL_SIZE, NULL, -1,
                       "total_size differs from the manifest segment's length");
    if (rvf_ld32(b + MH_FLAGS) != 0)
        return mf_fail(c, RVF_E_RESERVED, MH_FLAGS, NULL, -1,
                       "flags must be 0");
    if (!rvf_all_zero(b + MH_RESERVED, RVF_MF_HEADER_SIZE - MH_RESERVED))
        return mf_fail(c, RVF_E_RESERVED, MH_RESERVED, NULL, -1,
                       "reserved header bytes must be 0");
    return RVF_OK;
}

/* Tables are contiguous in fixed order right after the header; the
 * string table ends exactly at total_size. */
static enum rvf_status check_tables(struct ctx *c)
{
    static const struct {
        uint32_t off_field, count_field, recsize;
        const char *name;
    } tab[] = {
        {MH_COMP_OFF, MH_COMP_COUNT, RVF_MF_COMPONENT_SIZE, "component table"},
        {MH_REGION_OFF, MH_REGION_COUNT, RVF_MF_REGION_SIZE, "region table"},
        {MH_QUEUE_OFF, MH_QUEUE_COUNT, RVF_MF_QUEUE_SIZE, "queue table"},
        {MH_GRANT_OFF, MH_GRANT_COUNT, RVF_MF_GRANT_SIZE, "grant table"},
        {MH_LIST_OFF, MH_LIST_COUNT, 4, "list pool"},
        {MH_STR_OFF, MH_STR_SIZE, 1, "string table"},
    };
    const uint32_t limit[] = {
        c->lim->max_components, c->lim->max_regions, c->lim->max_queues,
        c->lim->max_grants, UINT32_MAX, UINT32_MAX,
    };
    uint32_t offs[6], counts[6];
    uint64_t expect = RVF_MF_HEADER_SIZE;

    for (int t = 0; t < 6; t++) {
        uint32_t off = rvf_ld32(c->b + tab[t].off_field);
        uint32_t count = rvf_ld32(c->b + tab[t].count_field);
        if (count > limit[t]) {
            mf_fail(c, RVF_E_LIMIT, tab[t].count_field, tab[t].name, -1,
                    "count ");
            rvf_msg_dec(c->res, count);
            rvf_msg_str(c->res, " over the limit ");
            rvf_msg_dec(c->res, limit[t]);
            return RVF_E_LIMIT;
        }
        if (off != expect)
            return mf_fail(c, RVF_E_MANIFEST, tab[t].off_field, tab[t].name,
                           -1, "offset is not where the previous table ends");
        uint64_t bytes = (uint64_t)count * tab[t].recsize;
        if (bytes > c->size - expect)
            return mf_fail(c, RVF_E_MANIFEST, tab[t].count_field, tab[t].name,
                           -1, "table runs past the end of the manifest");
        offs[t] = off;
        counts[t] = count;
        expect += bytes;
    }
    if (expect != c->size)
        return mf_fail(c, RVF_E_MANIFEST, MH_STR_SIZE, "string table", -1,
                       "tables do not end at total_size");

    struct rvf_manifest *m = c->m;
    m->comp_off = offs[0];
    m->ncomponents = counts[0];
    m->region_off = offs[1];
    m->nregions = counts[1];
    m->queue_off = offs[2];
    m->nqueues = counts[2];
    m->grant_off = offs[3];
    m->ngrants = counts[3];
    m->list_off = offs[4];
    m->nlist = counts[4];
    m->str_off = offs[5];
    m->str_size = counts[5];
    return RVF_OK;
}

static enum rvf_status check_components(struct ctx *c,
                                        const struct rvf_segment *segs,
                                        uint32_t nsegs)
{
    struct rvf_manifest *m = c->m;
    enum rvf_status st;
    uint64_t tasks = 0;
    struct rvf_nameset names;
    rvf_nameset_init(&names, c->b + m->str_off, c->b + m->comp_off, RVF_MF_COMPONENT_SIZE,
                     MC_NAME, m->ncomponents);

    for (uint32_t i = 0; i < m->ncomponents; i++) {
        uint32_t r = m->comp_off + i * RVF_MF_COMPONENT_SIZE;
        const uint8_t *p = c->b + r;
        const char *name;
        st = get_string(c, rvf_ld32(p + MC_NAME), r + MC_NAME, "component", i,
                        &name);
        if (st != RVF_OK)
            return st;
        if (rvf_nameset_dup(&names, i, name))
            return mf_fail(c, RVF_E_DUPLICATE, r + MC_NAME, "component", i,
                           "name used by an earlier component");
        if (rvf_ld32(p + MC_PRIORITY) > RVF_MAX_PRIORITY)
            return mf_fail(c, RVF_E_MANIFEST, r + MC_PRIORITY, "component", i,
                           "priority over 255");
        uint32_t first = rvf_ld32(p + MC_ENTRY_FIRST);
        uint32_t count = rvf_ld32(p + MC_ENTRY_COUNT);
        st = check_list(c, first, count, r + MC_ENTRY_FIRST, "component", i);
        if (st != RVF_OK)
            return st;
        tasks += count;
        if (tasks > c->lim->max_tasks) {
            mf_fail(c, RVF_E_LIMIT, r + MC_ENTRY_COUNT, "component", i,
                    "more entry points (tasks) than the limit ");
            rvf_msg_dec(c->res, c->lim->max_tasks);
            return RVF_E_LIMIT;
        }
        for (uint32_t k = 0; k < count; k++) {
            const char *e;
            uint64_t at = m->list_off + ((uint64_t)first + k) * 4;
            st = get_string(c, list_item(m, first + k), at, "entry point", k, &e);
            if (st != RVF_OK)
                return st;
            for (uint32_t j = 0; j < k; j++)
                if (rvf_streq(e, (const char *)c->b + m->str_off +
                                     list_item(m, first + j)))
                    return mf_fail(c, RVF_E_DUPLICATE, at, "component", i,
                                   "entry point listed twice");
        }
        if (segs && !rvf_find_segment(segs, nsegs, p + MC_HASH, RVF_SEG_WASM))
            return mf_fail(c, RVF_E_REF, r + MC_HASH, "component", i,
                           "wasm_hash names no WASM segment of the package");
    }
    m->ntasks = (uint32_t)tasks;
    return RVF_OK;
}

static enum rvf_status check_regions(struct ctx *c,
                                     const struct rvf_segment *segs,
                                     uint32_t nsegs)
{
    struct rvf_manifest *m = c->m;
    enum rvf_status st;
    struct rvf_nameset names;
    rvf_nameset_init(&names, c->b + m->str_off, c->b + m->region_off, RVF_MF_REGION_SIZE,
                     MR_NAME, m->nregions);

    for (uint32_t i = 0; i < m->nregions; i++) {
        uint32_t r = m->region_off + i * RVF_MF_REGION_SIZE;
        const uint8_t *p = c->b + r;
        const char *name;
        st = get_string(c, rvf_ld32(p + MR_NAME), r + MR_NAME, "region", i,
                        &name);
        if (st != RVF_OK)
            return st;
        if (rvf_nameset_dup(&names, i, name))
            return mf_fail(c, RVF_E_DUPLICATE, r + MR_NAME, "region", i,
                           "name used by an earlier region");
        uint32_t policy = rvf_ld32(p + MR_POLICY);
        if (policy > RVF_REGION_SLAB)
            return mf_fail(c, RVF_E_MANIFEST, r + MR_POLICY, "region", i,
                           "unknown policy");
        if (rvf_ld32(p + MR_OWNER) >= m->ncomponents)
            return mf_fail(c, RVF_E_INDEX, r + MR_OWNER, "region", i,
                           "owner is not a component index");
        st = check_set(c, rvf_ld32(p + MR_READ_FIRST),
                       rvf_ld32(p + MR_READ_COUNT), r + MR_READ_FIRST,
                       "region", i);
        if (st != RVF_OK)
            return st;
        st = check_set(c, rvf_ld32(p + MR_WRITE_FIRST),
                       rvf_ld32(p + MR_WRITE_COUNT), r + MR_WRITE_FIRST,
                       "region", i);
        if (st != RVF_OK)
            return st;
        if (rvf_ld32(p + MR_RESERVED) != 0)
            return mf_fail(c, RVF_E_RESERVED, r + MR_RESERVED, "region", i,
                           "reserved field must be 0");

        uint64_t a = rvf_ld64(p + MR_SIZE_A), bsz = rvf_ld64(p + MR_SIZE_B);
        uint64_t max = c->lim->max_region_size;
        if (policy == RVF_REGION_IMMUTABLE) {
            if (a || bsz)
                return mf_fail(c, RVF_E_RESERVED, r + MR_SIZE_A, "region", i,
                               "immutable region: size fields must be 0");
            if (rvf_ld32(p + MR_WRITE_COUNT) != 0)
                return mf_fail(c, RVF_E_RIGHTS, r + MR_WRITE_COUNT, "region", i,
                               "immutable region has a write set");
            if (segs) {
                const struct rvf_segment *s =
                    rvf_find_segment(segs, nsegs, p + MR_HASH, RVF_SEG_DATA);
                if (!s)
                    return mf_fail(c, RVF_E_REF, r + MR_HASH, "region", i,
                                   "init_hash names no DATA segment of the package");
                if (s->payload_len > max)
                    return mf_fail(c, RVF_E_LIMIT, r + MR_HASH, "region", i,
                                   "initial content larger than max_region_size");
            }
        } else {
            if (!rvf_all_zero(p + MR_HASH, RVF_HASH_LEN))
                return mf_fail(c, RVF_E_RESERVED, r + MR_HASH, "region", i,
                               "init_hash must be 0 unless immutable");
            if (policy == RVF_REGION_APPEND_ONLY) {
                if (bsz)
                    return mf_fail(c, RVF_E_RESERVED, r + MR_SIZE_B, "region", i,
                                   "append-only region: slot_count must be 0");
                if (a == 0)
                    return mf_fail(c, RVF_E_MANIFEST, r + MR_SIZE_A, "region", i,
                                   "append-only region: max_size is 0");
                if (a > max)
                    return mf_fail(c, RVF_E_LIMIT, r + MR_SIZE_A, "region", i,
                                   "max_size over max_region_size");
            } else {
                if (a == 0 || bsz == 0)
                    return mf_fail(c, RVF_E_MANIFEST, r + MR_SIZE_A, "region", i,
                                   "slab region: slot_size and slot_count must be > 0");
                if (a > max || bsz > max / a)
                    return mf_fail(c, RVF_E_LIMIT, r + MR_SIZE_A, "region", i,
                                   "slot_size x slot_count over max_region_size");
            }
        }
    }
    return RVF_OK;
}

static enum rvf_status check_queues(struct ctx *c)
{
    struct rvf_manifest *m = c->m;
    const struct rvf_limits *lim = c->lim;
    enum rvf_status st;

    for (uint32_t i = 0; i < m->nqueues; i++) {
        uint32_t r = m->queue_off + i * RVF_MF_QUEUE_SIZE;
        const uint8_t *p = c->b + r;
        const char *port;
        if (rvf_ld32(p + MQ_SRC) >= m->ncomponents)
            return mf_fail(c, RVF_E_INDEX, r + MQ_SRC, "queue", i,
                           "source is not a component index");
        if (rvf_ld32(p + MQ_DST) >= m->ncomponents)
            return mf_fail(c, RVF_E_INDEX, r + MQ_DST, "queue", i,
                           "target is not a component index");
        st = get_string(c, rvf_ld32(p + MQ_SRC_PORT), r + MQ_SRC_PORT,
                        "queue", i, &port);
        if (st != RVF_OK)
            return st;
        st = get_string(c, rvf_ld32(p + MQ_DST_PORT), r + MQ_DST_PORT,
                        "queue", i, &port);
        if (st != RVF_OK)
            return st;
        uint32_t cap = rvf_ld32(p + MQ_CAPACITY), msg = rvf_ld32(p + MQ_MAX_MSG);
        if (cap == 0 || (cap & (cap - 1)) != 0)
            return mf_fail(c, RVF_E_MANIFEST, r + MQ_CAPACITY, "queue", i,
                           "capacity is not a power of two");
        if (cap > lim->max_queue_capacity)
            return mf_fail(c, RVF_E_LIMIT, r + MQ_CAPACITY, "queue", i,
                           "capacity over max_queue_capacity");
        if (msg == 0)
            return mf_fail(c, RVF_E_MANIFEST, r + MQ_MAX_MSG, "queue", i,
                           "max message size is 0");
        if (msg > lim->max_message)
            return mf_fail(c, RVF_E_LIMIT, r + MQ_MAX_MSG, "queue", i,
                           "max message size over max_message");
        if ((uint64_t)cap * msg > lim->max_queue_bytes)
            return mf_fail(c, RVF_E_LIMIT, r + MQ_CAPACITY, "queue", i,
                           "capacity x max message size over max_queue_bytes");
        if (!rvf_all_zero(p + MQ_RESERVED, RVF_MF_QUEUE_SIZE - MQ_RESERVED))
            return mf_fail(c, RVF_E_RESERVED, r + MQ_RESERVED, "queue", i,
                           "reserved bytes must be 0");
    }
    return RVF_OK;
}

/* Rights a component may hold on one object (nubfs-rvf(5): a grant never
 * exceeds the manifest's access sets). Returns the allowed mask. */
static uint32_t allowed_rights(const struct rvf_manifest *m, uint32_t comp,
                               uint32_t kind, uint32_t obj)
{
    uint32_t ok = 0;
    if (kind == RVF_OBJ_REGION) {
        const uint8_t *p = m->base + m->region_off + obj * RVF_MF_REGION_SIZE;
        if (set_has(m, rvf_ld32(p + MR_READ_FIRST), rvf_ld32(p + MR_READ_COUNT), comp))
            ok |= RVF_RIGHT_READ;
        if (set_has(m, rvf_ld32(p + MR_WRITE_FIRST), rvf_ld32(p + MR_WRITE_COUNT), comp))
            ok |= RVF_RIGHT_WRITE;
        if (rvf_ld32(p + MR_OWNER) == comp)
            ok |= RVF_RIGHT_GRANT | RVF_RIGHT_REVOKE;
    } else if (kind == RVF_OBJ_QUEUE) {
        const uint8_t *p = m->base + m->queue_off + obj * RVF_MF_QUEUE_SIZE;
        if (rvf_ld32(p + MQ_DST) == comp)
            ok |= RVF_RIGHT_READ | RVF_RIGHT_GRANT | RVF_RIGHT_REVOKE;
        if (rvf_ld32(p + MQ_SRC) == comp)
            ok |= RVF_RIGHT_WRITE | RVF_RIGHT_GRANT | RVF_RIGHT_REVOKE;
    } else {
        ok = RVF_RIGHT_READ | RVF_RIGHT_EXECUTE;
    }
    return ok;
}

static enum rvf_status check_grants(struct ctx *c)
{
    struct rvf_manifest *m = c->m;
    uint32_t pc = 0, pk = 0, po = 0;

    for (uint32_t i = 0; i < m->ngrants; i++) {
        uint32_t r = m->grant_off + i * RVF_MF_GRANT_SIZE;
        const uint8_t *p = c->b + r;
        uint32_t comp = rvf_ld32(p + MG_COMPONENT), kind = rvf_ld32(p + MG_KIND);
        uint32_t obj = rvf_ld32(p + MG_OBJECT), rights = rvf_ld32(p + MG_RIGHTS);
        if (comp >= m->ncomponents)
            return mf_fail(c, RVF_E_INDEX, r + MG_COMPONENT, "grant", i,
                           "component index out of range");
        if (kind > RVF_OBJ_COMPONENT)
            return mf_fail(c, RVF_E_MANIFEST, r + MG_KIND, "grant", i,
                           "unknown object kind");
        uint32_t n = kind == RVF_OBJ_REGION  ? m->nregions
                     : kind == RVF_OBJ_QUEUE ? m->nqueues
                                             : m->ncomponents;
        if (obj >= n)
            return mf_fail(c, RVF_E_INDEX, r + MG_OBJECT, "grant", i,
                           "object index out of range");
        if (rights == 0 || (rights & ~RVF_RIGHTS_ALL))
            return mf_fail(c, RVF_E_MANIFEST, r + MG_RIGHTS, "grant", i,
                           "rights empty or with unknown bits");
        /* Canonical order (component, kind, object) strictly increasing:
         * no duplicates, checked in one pass. */
        if (i > 0) {
            bool gt = comp != pc ? comp > pc : kind != pk ? kind > pk : obj > po;
            if (!gt)
                return mf_fail(c, (comp == pc && kind == pk && obj == po)
                                      ? RVF_E_DUPLICATE : RVF_E_MANIFEST,
                               r, "grant", i,
                               "grants not in strictly increasing (component, kind, object) order");
        }
        pc = comp;
        pk = kind;
        po = obj;
        uint32_t extra = rights & ~allowed_rights(m, comp, kind, obj);
        if (extra) {
            mf_fail(c, RVF_E_RIGHTS, r + MG_RIGHTS, "grant", i, "rights ");
            rvf_msg_hex(c->res, extra);
            rvf_msg_str(c->res,
                        kind == RVF_OBJ_REGION
                            ? " exceed the region's access sets (READ needs the read set, WRITE the write set, GRANT/REVOKE the owner)"
                        : kind == RVF_OBJ_QUEUE
                            ? " exceed the queue's endpoints (READ: target, WRITE: source)"
                            : " not allowed on a component (READ, EXECUTE only)");
            return RVF_E_RIGHTS;
        }
    }
    return RVF_OK;
}

enum rvf_status rvf_manifest_parse(const uint8_t *buf, size_t len,
                                   const struct rvf_segment *segs,
                                   uint32_t nsegs,
                                   const struct rvf_limits *lim,
                                   struct rvf_manifest *m,
                                   struct rvf_result *res)
{
    struct rvf_limits defaults;
    enum rvf_status st;

    if (!m || (!buf && len) || (!segs && nsegs))
        return rvf_fail(res, RVF_E_INVAL, -1, 0,
                        "rvf_manifest_parse: bad argument");
    memset(m, 0, sizeof(*m));
    struct ctx c = {
        .b = buf,
        .size = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len,
        .lim = rvf_limits_or_default(lim, &defaults),
        .m = m,
        .res = res,
    };
    m->base = buf;

    if ((st = check_header(&c, len)) != RVF_OK ||
        (st = check_tables(&c)) != RVF_OK)
        goto fail;
    m->size = c.size;
    if ((st = get_string(&c, rvf_ld32(buf + MH_NAME), MH_NAME, "package name",
                         -1, &m->name)) != RVF_OK ||
        (st = get_string(&c, rvf_ld32(buf + MH_PKG_VERSION), MH_PKG_VERSION,
                         "package version", -1, &m->pkg_version)) != RVF_OK ||
        (st = check_components(&c, segs, nsegs)) != RVF_OK ||
        (st = check_regions(&c, segs, nsegs)) != RVF_OK ||
        (st = check_queues(&c)) != RVF_OK ||
        (st = check_grants(&c)) != RVF_OK)
        goto fail;
    rvf_ok(res);
    return RVF_OK;
fail:
    /* Never leave a half-validated view that accessors would trust. */
    memset(m, 0, sizeof(*m));
    return st;
}

/* ---- Accessors (on a manifest rvf_manifest_parse accepted) ------------- */

static const char *str_at(const struct rvf_manifest *m, uint32_t so)
{
    return so < m->str_size ? (const char *)m->base + m->str_off + so : "";
}

void rvf_manifest_component(const struct rvf_manifest *m, uint32_t i,
                            struct rvf_component *out)
{
    memset(out, 0, sizeof(*out));
    if (i >= m->ncomponents)
        return;
    const uint8_t *p = m->base + m->comp_off + i * RVF_MF_COMPONENT_SIZE;
    out->name = str_at(m, rvf_ld32(p + MC_NAME));
    out->priority = rvf_ld32(p + MC_PRIORITY);
    out->entries_first = rvf_ld32(p + MC_ENTRY_FIRST);
    out->nentries = rvf_ld32(p + MC_ENTRY_COUNT);
    out->wasm_hash = p + MC_HASH;
}

void rvf_manifest_region(const struct rvf_manifest *m, uint32_t i,
                         struct rvf_region *out)
{
    memset(out, 0, sizeof(*out));
    if (i >= m->nregions)
        return;
    const uint8_t *p = m->base + m->region_off + i * RVF_MF_REGION_SIZE;
    out->name = str_at(m, rvf_ld32(p + MR_NAME));
    out->policy = rvf_ld32(p + MR_POLICY);
    out->owner = rvf_ld32(p + MR_OWNER);
    out->readers_first = rvf_ld32(p + MR_READ_FIRST);
    out->nreaders = rvf_ld32(p + MR_READ_COUNT);
    out->writers_first = rvf_ld32(p + MR_WRITE_FIRST);
    out->nwriters = rvf_ld32(p + MR_WRITE_COUNT);
    if (out->policy == RVF_REGION_APPEND_ONLY) {
        out->max_size = rvf_ld64(p + MR_SIZE_A);
    } else if (out->policy == RVF_REGION_SLAB) {
        out->slot_size = rvf_ld64(p + MR_SIZE_A);
        out->slot_count = rvf_ld64(p + MR_SIZE_B);
    }
    out->init_hash = p + MR_HASH;
}

void rvf_manifest_queue(const struct rvf_manifest *m, uint32_t i,
                        struct rvf_queue *out)
{
    memset(out, 0, sizeof(*out));
    if (i >= m->nqueues)
        return;
    const uint8_t *p = m->base + m->queue_off + i * RVF_MF_QUEUE_SIZE;
    out->src = rvf_ld32(p + MQ_SRC);
    out->dst = rvf_ld32(p + MQ_DST);
    out->src_port = str_at(m, rvf_ld32(p + MQ_SRC_PORT));
    out->dst_port = str_at(m, rvf_ld32(p + MQ_DST_PORT));
    out->capacity = rvf_ld32(p + MQ_CAPACITY);
    out->max_msg = rvf_ld32(p + MQ_MAX_MSG);
}

void rvf_manifest_grant(const struct rvf_manifest *m, uint32_t i,
                        struct rvf_grant *out)
{
    memset(out, 0, sizeof(*out));
    if (i >= m->ngrants)
        return;
    const uint8_t *p = m->base + m->grant_off + i * RVF_MF_GRANT_SIZE;
    out->component = rvf_ld32(p + MG_COMPONENT);
    out->kind = rvf_ld32(p + MG_KIND);
    out->object = rvf_ld32(p + MG_OBJECT);
    out->rights = rvf_ld32(p + MG_RIGHTS);
}

uint32_t rvf_manifest_list_item(const struct rvf_manifest *m, uint32_t idx)
{
    return idx < m->nlist ? list_item(m, idx) : UINT32_MAX;
}

const char *rvf_manifest_entry(const struct rvf_manifest *m,
                               const struct rvf_component *c, uint32_t j)
{
    if (j >= c->nentries || (uint64_t)c->entries_first + j >= m->nlist)
        return "";
    return str_at(m, list_item(m, c->entries_first + j));
}

static bool in_set(const struct rvf_manifest *m, uint32_t first, uint32_t n,
                   uint32_t comp)
{
    if ((uint64_t)first + n > m->nlist)
        return false;
    return set_has(m, first, n, comp);
}

bool rvf_region_readable_by(const struct rvf_manifest *m,
                            const struct rvf_region *r, uint32_t comp)
{
    return in_set(m, r->readers_first, r->nreaders, comp);
}

bool rvf_region_writable_by(const struct rvf_manifest *m,
                            const struct rvf_region *r, uint32_t comp)
{
    return in_set(m, r->writers_first, r->nwriters, comp);
}

int32_t rvf_manifest_find_component(const struct rvf_manifest *m,
                                    const char *name)
{
    for (uint32_t i = 0; i < m->ncomponents; i++) {
        const uint8_t *p = m->base + m->comp_off + i * RVF_MF_COMPONENT_SIZE;
        if (rvf_streq(str_at(m, rvf_ld32(p + MC_NAME)), name))
            return (int32_t)i;
    }
    return -1;
}

int32_t rvf_manifest_find_region(const struct rvf_manifest *m,
                                 const char *name)
{
    for (uint32_t i = 0; i < m->nregions; i++) {
        const uint8_t *p = m->base + m->region_off + i * RVF_MF_REGION_SIZE;
        if (rvf_streq(str_at(m, rvf_ld32(p + MR_NAME)), name))
            return (int32_t)i;
    }
    return -1;
}
