/* nubwasm: the binary decoder. Walks the sections once, in the order the
 * format fixes, with every count checked against the bytes left before
 * anything is allocated; function bodies go to the compiler
 * (wasm_compile.c), which validates them as it compiles. */
#include "wasm_internal.h"

/* ---- allocation ---------------------------------------------------------- */

void *wasm_zalloc(const struct nub_wasm_env *env, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    size_t total = n * size;
    if (total == 0)
        total = 1;
    return env->zalloc(env->ctx, total);
}

void wasm_free(const struct nub_wasm_env *env, void *p, size_t size)
{
    if (p)
        env->free(env->ctx, p, size == 0 ? 1 : size);
}

void wasm_limits_defaults(struct nub_wasm_limits *out, const struct nub_wasm_limits *in)
{
    struct nub_wasm_limits z = {0};
    if (!in)
        in = &z;
    out->max_pages = in->max_pages ? in->max_pages : NUB_WASM_DEF_PAGES;
    if (out->max_pages > WASM_MAX_PAGES)
        out->max_pages = WASM_MAX_PAGES;
    out->max_table = in->max_table ? in->max_table : NUB_WASM_DEF_TABLE;
    out->stack_slots = in->stack_slots ? in->stack_slots : NUB_WASM_DEF_STACK;
    out->call_depth = in->call_depth ? in->call_depth : NUB_WASM_DEF_DEPTH;
    out->max_module = in->max_module ? in->max_module : NUB_WASM_DEF_MODULE;
    out->max_locals = in->max_locals ? in->max_locals : NUB_WASM_DEF_LOCALS;
}

bool wasm_types_equal(const struct nub_wasm_functype *a, const struct nub_wasm_functype *b)
{
    if (a == b)
        return true;
    if (a->nparams != b->nparams || a->nresults != b->nresults)
        return false;
    for (uint32_t i = 0; i < a->nparams; i++)
        if (a->params[i] != b->params[i])
            return false;
    for (uint32_t i = 0; i < a->nresults; i++)
        if (a->results[i] != b->results[i])
            return false;
    return true;
}

/* ---- the byte reader ---------------------------------------------------- */

bool wasm_rd_fail(struct wasm_rd *r, enum nub_wasm_err kind, const char *msg)
{
    if (!r->err) {
        r->err = msg;
        r->kind = kind;
    }
    return false;
}

bool wasm_rd_u8(struct wasm_rd *r, uint8_t *v)
{
    if (r->p >= r->end)
        return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "unexpected end");
    *v = *r->p++;
    return true;
}

/* Unsigned LEB128 of at most `bits` bits. */
static bool rd_uleb(struct wasm_rd *r, unsigned bits, uint64_t *v)
{
    uint64_t x = 0;
    unsigned maxbytes = (bits + 6) / 7;
    for (unsigned i = 0; i < maxbytes; i++) {
        uint8_t b;
        if (!wasm_rd_u8(r, &b))
            return false;
        unsigned shift = 7 * i;
        if (i == maxbytes - 1) {
            if (b & 0x80)
                return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "integer representation too long");
            unsigned used = bits - shift; /* bits this byte may carry */
            if (used < 7 && (b >> used) != 0)
                return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "integer too large");
        }
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "integer representation too long");
}

/* Signed LEB128 of at most `bits` bits. */
static bool rd_sleb(struct wasm_rd *r, unsigned bits, int64_t *v)
{
    uint64_t x = 0;
    unsigned maxbytes = (bits + 6) / 7;
    for (unsigned i = 0; i < maxbytes; i++) {
        uint8_t b;
        if (!wasm_rd_u8(r, &b))
            return false;
        unsigned shift = 7 * i;
        if (i == maxbytes - 1) {
            if (b & 0x80)
                return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "integer representation too long");
            unsigned used = bits - shift; /* 1..7 value bits in this byte */
            if (used < 7) {
                /* the unused high bits must repeat the sign bit */
                uint8_t sign = (uint8_t)((b >> (used - 1)) & 1);
                uint8_t high = (uint8_t)((b & 0x7f) >> used);
                uint8_t want = sign ? (uint8_t)(0x7f >> used) : 0;
                if (high != want)
                    return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "integer too large");
            }
        }
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            shift += 7;
            if (shift < 64 && (b & 0x40))
                x |= ~(uint64_t)0 << shift;
            *v = (int64_t)x;
            return true;
        }
    }
    return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "integer representation too long");
}

bool wasm_rd_u32(struct wasm_rd *r, uint32_t *v)
{
    uint64_t x;
    if (!rd_uleb(r, 32, &x))
        return false;
    *v = (uint32_t)x;
    return true;
}

bool wasm_rd_s32(struct wasm_rd *r, int32_t *v)
{
    int64_t x;
    if (!rd_sleb(r, 32, &x))
        return false;
    *v = (int32_t)x;
    return true;
}

bool wasm_rd_s33(struct wasm_rd *r, int64_t *v)
{
    return rd_sleb(r, 33, v);
}

bool wasm_rd_s64(struct wasm_rd *r, int64_t *v)
{
    return rd_sleb(r, 64, v);
}

static bool rd_fixed(struct wasm_rd *r, unsigned n, uint64_t *v)
{
    if ((size_t)(r->end - r->p) < n)
        return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "unexpected end");
    uint64_t x = 0;
    for (unsigned i = 0; i < n; i++)
        x |= (uint64_t)r->p[i] << (8 * i);
    r->p += n;
    *v = x;
    return true;
}

/* A vector count: each element takes at least one byte, so a count over
 * the bytes left is malformed before anything is allocated. */
static bool rd_count(struct wasm_rd *r, uint32_t *n)
{
    if (!wasm_rd_u32(r, n))
        return false;
    if (*n > (size_t)(r->end - r->p))
        return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "unexpected end of section or function");
    return true;
}

static bool utf8_valid(const uint8_t *s, uint32_t n)
{
    uint32_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        uint32_t need, cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            need = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            need = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i - 1 < need)
            return false;
        for (uint32_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += need + 1;
    }
    return true;
}

static bool rd_name(struct wasm_rd *r, struct wasm_name *nm)
{
    uint32_t n;
    if (!wasm_rd_u32(r, &n))
        return false;
    if (n > (size_t)(r->end - r->p))
        return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "unexpected end");
    if (!utf8_valid(r->p, n))
        return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "malformed UTF-8 encoding");
    nm->off = (uint32_t)(r->p - r->base);
    nm->len = n;
    r->p += n;
    return true;
}

static bool is_valtype(uint8_t t)
{
    return t == NUB_WASM_I32 || t == NUB_WASM_I64 || t == NUB_WASM_F32 || t == NUB_WASM_F64 ||
           t == NUB_WASM_FUNCREF || t == NUB_WASM_EXTERNREF;
}

static bool rd_valtype(struct wasm_rd *r, uint8_t *t)
{
    if (!wasm_rd_u8(r, t))
        return false;
    if (!is_valtype(*t))
        return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "malformed value type");
    return true;
}

static bool rd_reftype(struct wasm_rd *r, uint8_t *t)
{
    if (!wasm_rd_u8(r, t))
        return false;
    if (*t != NUB_WASM_FUNCREF && *t != NUB_WASM_EXTERNREF)
        return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "malformed reference type");
    return true;
}

static bool rd_limits(struct wasm_rd *r, struct wasm_limits_t *l, uint64_t bound, const char *what)
{
    uint8_t flag;
    if (!wasm_rd_u8(r, &flag))
        return false;
    if (flag > 1)
        return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "integer too large");
    if (!wasm_rd_u32(r, &l->min))
        return false;
    l->has_max = flag == 1;
    l->max = 0;
    if (l->has_max && !wasm_rd_u32(r, &l->max))
        return false;
    if (l->min > bound || (l->has_max && l->max > bound))
        return wasm_rd_fail(r, NUB_WASM_E_INVALID, what);
    if (l->has_max && l->min > l->max)
        return wasm_rd_fail(r, NUB_WASM_E_INVALID, "size minimum must not be greater than maximum");
    return true;
}

static bool rd_memtype(struct wasm_rd *r, struct wasm_limits_t *l)
{
    return rd_limits(r, l, WASM_MAX_PAGES, "memory size must be at most 65536 pages (4GiB)");
}

static bool rd_tabletype(struct wasm_rd *r, uint8_t *type, struct wasm_limits_t *l)
{
    return rd_reftype(r, type) && rd_limits(r, l, UINT32_MAX, "table size");
}

static bool rd_globaltype(struct wasm_rd *r, uint8_t *type, bool *mut)
{
    uint8_t m;
    if (!rd_valtype(r, type) || !wasm_rd_u8(r, &m))
        return false;
    if (m > 1)
        return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "malformed mutability");
    *mut = m == 1;
    return true;
}

/* ---- constant expressions ---------------------------------------------- */

static uint8_t global_type(const struct nub_wasm_module *m, uint32_t g)
{
    return m->globals[g].type;
}

/* One constant instruction and `end`, of type `want`. nglob: globals that
 * global.get may name (the imported ones while decoding globals). */
static bool rd_cexpr(struct wasm_rd *r, struct nub_wasm_module *m, uint8_t want, uint32_t nglob,
                     struct wasm_cexpr *ce)
{
    uint8_t op;
    uint8_t type = 0;
    if (!wasm_rd_u8(r, &op))
        return false;
    switch (op) {
    case 0x41: {
        int32_t v;
        if (!wasm_rd_s32(r, &v))
            return false;
        ce->kind = CE_I32;
        ce->val = (uint32_t)v;
        type = NUB_WASM_I32;
        break;
    }
    case 0x42: {
        int64_t v;
        if (!wasm_rd_s64(r, &v))
            return false;
        ce->kind = CE_I64;
        ce->val = (uint64_t)v;
        type = NUB_WASM_I64;
        break;
    }
    case 0x43:
        if (!rd_fixed(r, 4, &ce->val))
            return false;
        ce->kind = CE_F32;
        type = NUB_WASM_F32;
        break;
    case 0x44:
        if (!rd_fixed(r, 8, &ce->val))
            return false;
        ce->kind = CE_F64;
        type = NUB_WASM_F64;
        break;
    case 0xd0:
        if (!rd_reftype(r, &type))
            return false;
        ce->kind = CE_NULL;
        ce->val = 0;
        break;
    case 0xd2: {
        uint32_t f;
        if (!wasm_rd_u32(r, &f))
            return false;
        if (f >= m->nfuncs)
            return wasm_rd_fail(r, NUB_WASM_E_INVALID, "unknown function");
        ce->kind = CE_FUNC;
        ce->val = f;
        type = NUB_WASM_FUNCREF;
        m->func_declared[f] = 1;
        break;
    }
    case 0x23: {
        uint32_t g;
        if (!wasm_rd_u32(r, &g))
            return false;
        if (g >= nglob)
            return wasm_rd_fail(r, NUB_WASM_E_INVALID, "unknown global");
        if (m->globals[g].mut)
            return wasm_rd_fail(r, NUB_WASM_E_INVALID, "constant expression required");
        ce->kind = CE_GLOBAL;
        ce->val = g;
        type = global_type(m, g);
        break;
    }
    case 0x0b:
        return wasm_rd_fail(r, NUB_WASM_E_INVALID, "type mismatch");
    default:
        /* an instruction, but not a constant one: invalid; bytes past the
         * end of the section are caught by the reader */
        return wasm_rd_fail(r, NUB_WASM_E_INVALID, "constant expression required");
    }
    uint8_t e;
    if (!wasm_rd_u8(r, &e))
        return false;
    if (e != 0x0b) {
        if (e == 0x41 || e == 0x42 || e == 0x43 || e == 0x44 || e == 0x23 || e == 0xd0 || e == 0xd2)
            return wasm_rd_fail(r, NUB_WASM_E_INVALID, "type mismatch");
        return wasm_rd_fail(r, NUB_WASM_E_INVALID, "constant expression required");
    }
    if (type != want)
        return wasm_rd_fail(r, NUB_WASM_E_INVALID, "type mismatch");
    return true;
}

/* ---- sections ------------------------------------------------------------ */

static bool sec_type(struct wasm_rd *r, struct nub_wasm_module *m)
{
    const struct nub_wasm_env *env = &m->env;
    uint32_t n;
    if (!rd_count(r, &n))
        return false;
    m->types = wasm_zalloc(env, n, sizeof *m->types);
    m->type_canon = wasm_zalloc(env, n, sizeof *m->type_canon);
    /* every value type is one byte of the section: its size bounds them */
    m->typebytes = wasm_zalloc(env, m->len, 1);
    if (!m->types || !m->type_canon || !m->typebytes)
        return wasm_rd_fail(r, NUB_WASM_E_NOMEM, "out of memory");
    m->ntypes = n;
    size_t used = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t form;
        if (!wasm_rd_u8(r, &form))
            return false;
        if (form != 0x60)
            return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "integer representation too long");
        struct nub_wasm_functype *t = &m->types[i];
        for (int part = 0; part < 2; part++) {
            uint32_t k;
            if (!rd_count(r, &k))
                return false;
            uint8_t *dst = m->typebytes + used;
            for (uint32_t j = 0; j < k; j++)
                if (!rd_valtype(r, &dst[j]))
                    return false;
            used += k;
            if (part == 0) {
                t->nparams = k;
                t->params = dst;
            } else {
                t->nresults = k;
                t->results = dst;
            }
        }
        m->type_canon[i] = i;
        /* small modules compare all; large ones only the recent types (the
         * canonical index is a fast path, not a rule) */
        uint32_t from = i > 256 ? i - 256 : 0;
        for (uint32_t j = from; j < i; j++)
            if (m->type_canon[j] == j && wasm_types_equal(&m->types[j], t)) {
                m->type_canon[i] = j;
                break;
            }
    }
    return true;
}

static bool sec_import(struct wasm_rd *r, struct nub_wasm_module *m)
{
    const struct nub_wasm_env *env = &m->env;
    uint32_t n;
    if (!rd_count(r, &n))
        return false;
    m->imports = wasm_zalloc(env, n, sizeof *m->imports);
    if (!m->imports)
        return wasm_rd_fail(r, NUB_WASM_E_NOMEM, "out of memory");
    m->nimports = n;
    for (uint32_t i = 0; i < n; i++) {
        struct wasm_import *im = &m->imports[i];
        if (!rd_name(r, &im->mod) || !rd_name(r, &im->name) || !wasm_rd_u8(r, &im->kind))
            return false;
        switch (im->kind) {
        case NUB_WASM_KFUNC:
            if (!wasm_rd_u32(r, &im->index))
                return false;
            if (im->index >= m->ntypes)
                return wasm_rd_fail(r, NUB_WASM_E_INVALID, "unknown type");
            im->typeidx = im->index;
            im->index = m->nfunc_imports++;
            break;
        case NUB_WASM_KTABLE:
            if (!rd_tabletype(r, &im->type, &im->lim))
                return false;
            im->index = m->ntable_imports++;
            break;
        case NUB_WASM_KMEMORY:
            if (!rd_memtype(r, &im->lim))
                return false;
            im->index = m->nmem_imports++;
            break;
        case NUB_WASM_KGLOBAL:
            if (!rd_globaltype(r, &im->type, &im->mut))
                return false;
            im->index = m->nglobal_imports++;
            break;
        default:
            return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "malformed import kind");
        }
    }
    /* type indices were checked; remember them for the func space */
    return true;
}

/* Build the index spaces of imports once the import section is read (or
 * absent) and the function section's count is known. */
static bool spaces_begin(struct wasm_rd *r, struct nub_wasm_module *m, uint32_t nown,
                         const uint32_t *own_types)
{
    const struct nub_wasm_env *env = &m->env;
    if (nown > UINT32_MAX - m->nfunc_imports)
        return wasm_rd_fail(r, NUB_WASM_E_LIMIT, "too many functions");
    m->nfuncs = m->nfunc_imports + nown;
    m->func_type = wasm_zalloc(env, m->nfuncs, sizeof *m->func_type);
    m->func_declared = wasm_zalloc(env, m->nfuncs, 1);
    if (!m->func_type || !m->func_declared)
        return wasm_rd_fail(r, NUB_WASM_E_NOMEM, "out of memory");
    for (uint32_t i = 0; i < m->nimports; i++)
        if (m->imports[i].kind == NUB_WASM_KFUNC)
            m->func_type[m->imports[i].index] = m->imports[i].typeidx;
    for (uint32_t i = 0; i < nown; i++)
        m->func_type[m->nfunc_imports + i] = own_types[i];
    return true;
}

struct decode_state {
    uint32_t nown_funcs;
    uint32_t *own_types;
    bool have_func_sec, have_code_sec;
    uint32_t *import_types; /* type index of each function import */
};

static bool sec_func(struct wasm_rd *r, struct nub_wasm_module *m, struct decode_state *st)
{
    uint32_t n;
    if (!rd_count(r, &n))
        return false;
    st->own_types = wasm_zalloc(&m->env, n, sizeof(uint32_t));
    if (!st->own_types)
        return wasm_rd_fail(r, NUB_WASM_E_NOMEM, "out of memory");
    st->nown_funcs = n;
    for (uint32_t i = 0; i < n; i++) {
        if (!wasm_rd_u32(r, &st->own_types[i]))
            return false;
        if (st->own_types[i] >= m->ntypes)
            return wasm_rd_fail(r, NUB_WASM_E_INVALID, "unknown type");
    }
    return true;
}

static bool sec_table(struct wasm_rd *r, struct nub_wasm_module *m)
{
    uint32_t n;
    if (!rd_count(r, &n))
        return false;
    if (n > UINT32_MAX - m->ntable_imports)
        return wasm_rd_fail(r, NUB_WASM_E_LIMIT, "too many tables");
    struct wasm_tabledef *old = m->tables;
    struct wasm_tabledef *t0 = wasm_zalloc(&m->env, (size_t)m->ntable_imports + n, sizeof *t0);
    if (!t0)
        return wasm_rd_fail(r, NUB_WASM_E_NOMEM, "out of memory");
    for (uint32_t i = 0; i < m->ntable_imports; i++)
        t0[i] = old[i];
    wasm_free(&m->env, old, sizeof *old * m->ntable_imports);
    m->tables = t0;
    m->ntables = m->ntable_imports + n;
    for (uint32_t i = 0; i < n; i++) {
        struct wasm_tabledef *t = &m->tables[m->ntable_imports + i];
        if (!rd_tabletype(r, &t->type, &t->lim))
            return false;
    }
    return true;
}

static bool sec_memory(struct wasm_rd *r, struct nub_wasm_module *m)
{
    uint32_t n;
    if (!rd_count(r, &n))
        return false;
    if (n + (uint64_t)m->nmem_imports > 1)
        return wasm_rd_fail(r, NUB_WASM_E_INVALID, "multiple memories");
    for (uint32_t i = 0; i < n; i++)
        if (!rd_memtype(r, &m->mem))
            return false;
    m->nmems = m->nmem_imports + n;
    return true;
}

static bool sec_global(struct wasm_rd *r, struct nub_wasm_module *m)
{
    uint32_t n;
    if (!rd_count(r, &n))
        return false;
    struct wasm_globaldef *old = m->globals;
    uint32_t nimp = m->nglobal_imports;
    struct wasm_globaldef *g = wasm_zalloc(&m->env, (size_t)nimp + n, sizeof *g);
    if (!g)
        return wasm_rd_fail(r, NUB_WASM_E_NOMEM, "out of memory");
    for (uint32_t i = 0; i < nimp; i++)
        g[i] = old[i];
    wasm_free(&m->env, old, (size_t)nimp * sizeof *g);
    m->globals = g;
    m->nglobals = nimp + n;
    for (uint32_t i = 0; i < n; i++) {
        struct wasm_globaldef *d = &g[nimp + i];
        if (!rd_globaltype(r, &d->type, &d->mut) || !rd_cexpr(r, m, d->type, nimp, &d->init))
            return false;
    }
    return true;
}

static bool names_equal(const struct nub_wasm_module *m, struct wasm_name a, struct wasm_name b)
{
    if (a.len != b.len)
        return false;
    for (uint32_t i = 0; i < a.len; i++)
        if (m->bytes[a.off + i] != m->bytes[b.off + i])
            return false;
    return true;
}

static bool sec_export(struct wasm_rd *r, struct nub_wasm_module *m)
{
    uint32_t n;
    if (!rd_count(r, &n))
        return false;
    m->exports = wasm_zalloc(&m->env, n, sizeof *m->exports);
    if (!m->exports)
        return wasm_rd_fail(r, NUB_WASM_E_NOMEM, "out of memory");
    m->nexports = n;
    for (uint32_t i = 0; i < n; i++) {
        struct wasm_export *e = &m->exports[i];
        if (!rd_name(r, &e->name) || !wasm_rd_u8(r, &e->kind) || !wasm_rd_u32(r, &e->index))
            return false;
        switch (e->kind) {
        case NUB_WASM_KFUNC:
            if (e->index >= m->nfuncs)
                return wasm_rd_fail(r, NUB_WASM_E_INVALID, "unknown function");
            m->func_declared[e->index] = 1;
            break;
        case NUB_WASM_KTABLE:
            if (e->index >= m->ntables)
                return wasm_rd_fail(r, NUB_WASM_E_INVALID, "unknown table");
            break;
        case NUB_WASM_KMEMORY:
            if (e->index >= m->nmems)
                return wasm_rd_fail(r, NUB_WASM_E_INVALID, "unknown memory");
            break;
        case NUB_WASM_KGLOBAL:
            if (e->index >= m->nglobals)
                return wasm_rd_fail(r, NUB_WASM_E_INVALID, "unknown global");
            break;
        default:
            return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "malformed export kind");
        }
    }
    /* duplicate names: quadratic only for small sets, a sort would need
     * scratch memory; export counts are bounded by the section's bytes */
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = i + 1; j < n; j++)
            if (names_equal(m, m->exports[i].name, m->exports[j].name))
                return wasm_rd_fail(r, NUB_WASM_E_INVALID, "duplicate export name");
    return true;
}

static bool sec_start(struct wasm_rd *r, struct nub_wasm_module *m)
{
    if (!wasm_rd_u32(r, &m->start))
        return false;
    if (m->start >= m->nfuncs)
        return wasm_rd_fail(r, NUB_WASM_E_INVALID, "unknown function");
    const struct nub_wasm_functype *t = &m->types[m->func_type[m->start]];
    if (t->nparams || t->nresults)
        return wasm_rd_fail(r, NUB_WASM_E_INVALID, "start function");
    m->has_start = true;
    return true;
}

static bool sec_elem(struct wasm_rd *r, struct nub_wasm_module *m)
{
    uint32_t n;
    if (!rd_count(r, &n))
        return false;
    m->elems = wasm_zalloc(&m->env, n, sizeof *m->elems);
    if (!m->elems)
        return wasm_rd_fail(r, NUB_WASM_E_NOMEM, "out of memory");
    m->nelems = n;
    for (uint32_t i = 0; i < n; i++) {
        struct wasm_elem *e = &m->elems[i];
        uint32_t flags;
        if (!wasm_rd_u32(r, &flags))
            return false;
        if (flags > 7)
            return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "malformed elements segment kind");
        bool exprs = flags & 4;
        e->type = NUB_WASM_FUNCREF;
        e->table = 0;
        if (flags & 1)
            e->mode = (flags & 2) ? SEG_DECLARATIVE : SEG_PASSIVE;
        else
            e->mode = SEG_ACTIVE;
        if (e->mode == SEG_ACTIVE) {
            if ((flags & 2) && !wasm_rd_u32(r, &e->table))
                return false;
            if (e->table >= m->ntables)
                return wasm_rd_fail(r, NUB_WASM_E_INVALID, "unknown table");
            if (!rd_cexpr(r, m, NUB_WASM_I32, m->nglobal_imports, &e->offset))
                return false;
        }
        if (flags & 3) {
            if (exprs) {
                if (!rd_reftype(r, &e->type))
                    return false;
            } else {
                uint8_t kind;
                if (!wasm_rd_u8(r, &kind))
                    return false;
                if (kind != 0)
                    return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "malformed element kind");
            }
        }
        if (!rd_count(r, &e->count))
            return false;
        e->items = wasm_zalloc(&m->env, e->count, sizeof *e->items);
        if (!e->items)
            return wasm_rd_fail(r, NUB_WASM_E_NOMEM, "out of memory");
        for (uint32_t k = 0; k < e->count; k++) {
            if (exprs) {
                if (!rd_cexpr(r, m, e->type, m->nglobal_imports, &e->items[k]))
                    return false;
            } else {
                uint32_t f;
                if (!wasm_rd_u32(r, &f))
                    return false;
                if (f >= m->nfuncs)
                    return wasm_rd_fail(r, NUB_WASM_E_INVALID, "unknown function");
                e->items[k].kind = CE_FUNC;
                e->items[k].val = f;
                m->func_declared[f] = 1;
            }
        }
        if (e->mode == SEG_ACTIVE && m->tables[e->table].type != e->type)
            return wasm_rd_fail(r, NUB_WASM_E_INVALID, "type mismatch");
    }
    return true;
}

static bool sec_code(struct wasm_rd *r, struct nub_wasm_module *m, struct decode_state *st)
{
    uint32_t n;
    if (!rd_count(r, &n))
        return false;
    if (n != st->nown_funcs)
        return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "function and code section have inconsistent lengths");
    m->codes = wasm_zalloc(&m->env, n, sizeof *m->codes);
    if (!m->codes)
        return wasm_rd_fail(r, NUB_WASM_E_NOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        uint32_t size;
        if (!wasm_rd_u32(r, &size))
            return false;
        if (size > (size_t)(r->end - r->p))
            return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "unexpected end");
        const uint8_t *body = r->p, *bend = r->p + size;
        struct wasm_compile_err ce = {0};
        if (!wasm_compile_func(m, m->nfunc_imports + i, body, bend, &m->codes[i], &ce)) {
            r->p = body + ce.where;
            return wasm_rd_fail(r, ce.kind, ce.msg);
        }
        r->p = bend;
    }
    st->have_code_sec = true;
    return true;
}

static bool sec_data(struct wasm_rd *r, struct nub_wasm_module *m)
{
    uint32_t n;
    if (!rd_count(r, &n))
        return false;
    if (m->has_datacount && n != m->datacount)
        return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "data count and data section have inconsistent lengths");
    m->data = wasm_zalloc(&m->env, n, sizeof *m->data);
    if (!m->data)
        return wasm_rd_fail(r, NUB_WASM_E_NOMEM, "out of memory");
    m->ndata = n;
    for (uint32_t i = 0; i < n; i++) {
        struct wasm_data *d = &m->data[i];
        uint32_t flags;
        if (!wasm_rd_u32(r, &flags))
            return false;
        if (flags > 2)
            return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "malformed data segment kind");
        d->mode = flags == 1 ? SEG_PASSIVE : SEG_ACTIVE;
        d->memory = 0;
        if (flags == 2 && !wasm_rd_u32(r, &d->memory))
            return false;
        if (d->mode == SEG_ACTIVE) {
            if (d->memory >= m->nmems)
                return wasm_rd_fail(r, NUB_WASM_E_INVALID, "unknown memory");
            if (!rd_cexpr(r, m, NUB_WASM_I32, m->nglobal_imports, &d->offset))
                return false;
        }
        if (!wasm_rd_u32(r, &d->len))
            return false;
        if (d->len > (size_t)(r->end - r->p))
            return wasm_rd_fail(r, NUB_WASM_E_MALFORMED, "unexpected end of section or function");
        d->off = (uint32_t)(r->p - r->base);
        r->p += d->len;
    }
    return true;
}

/* Section order: 1..9, then datacount (12), code (10), data (11). */
static int sec_rank(uint8_t id)
{
    if (id >= 1 && id <= 9)
        return id;
    if (id == 12)
        return 10;
    if (id == 10)
        return 11;
    if (id == 11)
        return 12;
    return -1;
}

void nub_wasm_module_free(struct nub_wasm_module *m)
{
    if (!m)
        return;
    struct nub_wasm_env env = m->env;
    if (m->codes)
        for (uint32_t i = 0; i < m->nfuncs - m->nfunc_imports; i++)
            wasm_code_free(&env, &m->codes[i]);
    wasm_free(&env, m->codes, sizeof *m->codes * (m->nfuncs - m->nfunc_imports));
    if (m->elems)
        for (uint32_t i = 0; i < m->nelems; i++)
            wasm_free(&env, m->elems[i].items, sizeof(struct wasm_cexpr) * m->elems[i].count);
    wasm_free(&env, m->elems, sizeof *m->elems * m->nelems);
    wasm_free(&env, m->data, sizeof *m->data * m->ndata);
    wasm_free(&env, m->exports, sizeof *m->exports * m->nexports);
    wasm_free(&env, m->globals, sizeof *m->globals * m->nglobals);
    wasm_free(&env, m->tables, sizeof *m->tables * m->ntables);
    wasm_free(&env, m->func_type, sizeof *m->func_type * m->nfuncs);
    wasm_free(&env, m->func_declared, m->nfuncs);
    wasm_free(&env, m->imports, sizeof *m->imports * m->nimports);
    wasm_free(&env, m->types, sizeof *m->types * m->ntypes);
    wasm_free(&env, m->type_canon, sizeof *m->type_canon * m->ntypes);
    wasm_free(&env, m->typebytes, m->len);
    wasm_free(&env, m->bytes, m->len);
    wasm_free(&env, m, sizeof *m);
}

/* Imports of tables and globals go into the index spaces as they are read. */
static bool import_spaces(struct wasm_rd *r, struct nub_wasm_module *m, struct decode_state *st)
{
    const struct nub_wasm_env *env = &m->env;
    m->ntables = m->ntable_imports;
    m->tables = wasm_zalloc(env, m->ntables, sizeof *m->tables);
    m->nglobals = m->nglobal_imports;
    m->globals = wasm_zalloc(env, m->nglobals, sizeof *m->globals);
    st->import_types = wasm_zalloc(env, m->nfunc_imports, sizeof(uint32_t));
    if (!m->tables || !m->globals || !st->import_types)
        return wasm_rd_fail(r, NUB_WASM_E_NOMEM, "out of memory");
    m->nmems = m->nmem_imports;
    if (m->nmems > 1)
        return wasm_rd_fail(r, NUB_WASM_E_INVALID, "multiple memories");
    for (uint32_t i = 0; i < m->nimports; i++) {
        struct wasm_import *im = &m->imports[i];
        if (im->kind == NUB_WASM_KTABLE) {
            m->tables[im->index].type = im->type;
            m->tables[im->index].lim = im->lim;
        } else if (im->kind == NUB_WASM_KGLOBAL) {
            m->globals[im->index].type = im->type;
            m->globals[im->index].mut = im->mut;
        } else if (im->kind == NUB_WASM_KMEMORY) {
            m->mem = im->lim;
        }
    }
    return true;
}

enum nub_wasm_err nub_wasm_decode(const struct nub_wasm_env *env,
                                  const struct nub_wasm_limits *lim,
                                  const uint8_t *bytes, size_t len,
                                  struct nub_wasm_module **out,
                                  const char **msg, size_t *where)
{
    *out = NULL;
    const char *dummy_msg;
    size_t dummy_where;
    if (!msg)
        msg = &dummy_msg;
    if (!where)
        where = &dummy_where;
    *msg = NULL;
    *where = 0;
    struct nub_wasm_limits l;
    wasm_limits_defaults(&l, lim);
    if (len > l.max_module) {
        *msg = "module too large";
        return NUB_WASM_E_LIMIT;
    }
    struct nub_wasm_module *m = wasm_zalloc(env, 1, sizeof *m);
    if (!m) {
        *msg = "out of memory";
        return NUB_WASM_E_NOMEM;
    }
    m->env = *env;
    m->lim = l;
    m->len = len;
    m->bytes = wasm_zalloc(env, len, 1);
    if (!m->bytes) {
        wasm_free(env, m, sizeof *m);
        *msg = "out of memory";
        return NUB_WASM_E_NOMEM;
    }
    /* copy before validating: the caller's buffer may change under us */
    if (len)
        WASM_MEMCPY(m->bytes, bytes, len);

    struct wasm_rd r = {.p = m->bytes, .end = m->bytes + len, .base = m->bytes};
    struct decode_state st = {0};
    bool ok = true;
    uint64_t magic, version;
    if (len < 4 || !rd_fixed(&r, 4, &magic) || magic != 0x6d736100u) {
        wasm_rd_fail(&r, NUB_WASM_E_MALFORMED, "magic header not detected");
        ok = false;
    } else if (!rd_fixed(&r, 4, &version) || version != 1) {
        wasm_rd_fail(&r, NUB_WASM_E_MALFORMED, "unknown binary version");
        ok = false;
    }
    int last = 0;
    bool spaces_done = false;
    while (ok && r.p < r.end) {
        uint8_t id;
        uint32_t size;
        if (!wasm_rd_u8(&r, &id) || !wasm_rd_u32(&r, &size)) {
            ok = false;
            break;
        }
        if (size > (size_t)(r.end - r.p)) {
            ok = wasm_rd_fail(&r, NUB_WASM_E_MALFORMED, "section size mismatch");
            break;
        }
        const uint8_t *send = r.p + size;
        struct wasm_rd s = {.p = r.p, .end = send, .base = m->bytes};
        if (id == 0) {
            struct wasm_name nm;
            ok = rd_name(&s, &nm);
        } else {
            int rank = sec_rank(id);
            if (rank < 0) {
                ok = wasm_rd_fail(&s, NUB_WASM_E_MALFORMED, "malformed section id");
                r = s;
                break;
            }
            if (rank <= last) {
                ok = wasm_rd_fail(&s, NUB_WASM_E_MALFORMED, "unexpected content after last section");
                r = s;
                break;
            }
            last = rank;
            /* the index spaces are fixed once the function section is past */
            if (!spaces_done && rank > 3) {
                ok = import_spaces(&s, m, &st) && spaces_begin(&s, m, st.nown_funcs, st.own_types);
                spaces_done = true;
            }
            if (ok) {
                switch (id) {
                case 1: ok = sec_type(&s, m); break;
                case 2: ok = sec_import(&s, m); break;
                case 3: ok = sec_func(&s, m, &st); st.have_func_sec = true; break;
                case 4: ok = sec_table(&s, m); break;
                case 5: ok = sec_memory(&s, m); break;
                case 6: ok = sec_global(&s, m); break;
                case 7: ok = sec_export(&s, m); break;
                case 8: ok = sec_start(&s, m); break;
                case 9: ok = sec_elem(&s, m); break;
                case 12:
                    ok = wasm_rd_u32(&s, &m->datacount);
                    m->has_datacount = true;
                    break;
                case 10: ok = sec_code(&s, m, &st); break;
                case 11: ok = sec_data(&s, m); break;
                }
            }
            if (ok && s.p != send)
                ok = wasm_rd_fail(&s, NUB_WASM_E_MALFORMED, "section size mismatch");
        }
        if (!ok) {
            r.err = s.err;
            r.kind = s.kind;
            r.p = s.p;
            break;
        }
        r.p = send;
    }
    if (ok && !spaces_done)
        ok = import_spaces(&r, m, &st) && spaces_begin(&r, m, st.nown_funcs, st.own_types);
    if (ok && st.nown_funcs && !st.have_code_sec)
        ok = wasm_rd_fail(&r, NUB_WASM_E_MALFORMED, "function and code section have inconsistent lengths");
    if (ok && m->has_datacount && m->ndata != m->datacount)
        ok = wasm_rd_fail(&r, NUB_WASM_E_MALFORMED, "data count and data section have inconsistent lengths");
    /* import function types: recorded in func_type from the import entries */
    wasm_free(env, st.own_types, sizeof(uint32_t) * st.nown_funcs);
    wasm_free(env, st.import_types, sizeof(uint32_t) * m->nfunc_imports);
    if (!ok) {
        *msg = r.err ? r.err : "malformed";
        *where = (size_t)(r.p - m->bytes);
        enum nub_wasm_err k = r.kind ? r.kind : NUB_WASM_E_MALFORMED;
        nub_wasm_module_free(m);
        return k;
    }
    *out = m;
    return NUB_WASM_E_OK;
}

uint32_t nub_wasm_import_count(const struct nub_wasm_module *m)
{
    return m->nimports;
}

void nub_wasm_import_get(const struct nub_wasm_module *m, uint32_t i, const char **mod,
                         uint32_t *mod_len, const char **name, uint32_t *name_len,
                         enum nub_wasm_kind *kind)
{
    const struct wasm_import *im = &m->imports[i];
    *mod = (const char *)m->bytes + im->mod.off;
    *mod_len = im->mod.len;
    *name = (const char *)m->bytes + im->name.off;
    *name_len = im->name.len;
    *kind = (enum nub_wasm_kind)im->kind;
}

const struct nub_wasm_functype *nub_wasm_import_functype(const struct nub_wasm_module *m, uint32_t i)
{
    const struct wasm_import *im = &m->imports[i];
    if (im->kind != NUB_WASM_KFUNC)
        return NULL;
    return &m->types[m->func_type[im->index]];
}

uint32_t nub_wasm_export_count(const struct nub_wasm_module *m)
{
    return m->nexports;
}

void nub_wasm_export_get(const struct nub_wasm_module *m, uint32_t i, const char **name,
                         uint32_t *name_len, enum nub_wasm_kind *kind)
{
    const struct wasm_export *e = &m->exports[i];
    *name = (const char *)m->bytes + e->name.off;
    *name_len = e->name.len;
    *kind = (enum nub_wasm_kind)e->kind;
}
