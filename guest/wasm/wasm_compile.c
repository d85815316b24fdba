/* nubwasm: the single-pass validator and compiler of one function body.
 * It type-checks every instruction (the algorithm of the spec's
 * validation appendix, with explicit heap stacks: no recursion on the
 * module's nesting) and emits the slot-addressed internal code of
 * wasm_internal.h. local.get and constants are not copied: the stack
 * entry refers to the local or constant slot until something needs it in
 * its home slot (a control-flow edge, a call, a write of that local, or
 * being more than LAZY_WINDOW entries deep). */
#include "wasm_internal.h"

#define LAZY_WINDOW 16u
#define MAX_HEIGHT (1u << 20)
#define MAX_CODE (1u << 26)
#define NONE 0xffffffffu

enum { K_HOME, K_LOCAL, K_CONST };
enum { C_FUNC, C_BLOCK, C_LOOP, C_IF, C_ELSE };

struct cv {
    uint8_t type; /* 0: unknown (unreachable code) */
    uint8_t kind;
    uint32_t ref;
};

struct ctl {
    uint8_t op;
    bool unreachable, live_entry;
    uint32_t height;
    uint32_t np, nr;
    const uint8_t *params, *results;
    uint32_t start, patch, else_patch;
};

struct cc {
    const struct nub_wasm_module *m;
    const struct nub_wasm_env *env;
    struct wasm_rd r;
    uint8_t *ltypes;
    uint32_t nlocals;
    struct cv *st;
    uint32_t h, hcap, maxh;
    struct ctl *cs;
    uint32_t nc, ccap;
    uint32_t *code;
    uint32_t pc, codecap;
    uint64_t *consts;
    uint32_t nconsts, constcap;
    bool nomem, limit;
    /* peephole: the last emitted instruction wrote stack position ld_pos */
    bool ld_valid;
    uint32_t ld_op, ld_dst, ld_pos;
    /* fuel of the current straight-line region */
    uint32_t fuel_at, fuel_n;
    /* br_table trampolines, by label depth */
    uint32_t *tr_pc, *tr_stamp, tr_cap, tr_cap2, tr_serial;
};

static const uint8_t one_type[256] = {
    [NUB_WASM_I32] = NUB_WASM_I32, [NUB_WASM_I64] = NUB_WASM_I64,
    [NUB_WASM_F32] = NUB_WASM_F32, [NUB_WASM_F64] = NUB_WASM_F64,
    [NUB_WASM_FUNCREF] = NUB_WASM_FUNCREF, [NUB_WASM_EXTERNREF] = NUB_WASM_EXTERNREF,
};

static bool fail(struct cc *c, enum nub_wasm_err k, const char *msg)
{
    return wasm_rd_fail(&c->r, k, msg);
}
static bool mismatch(struct cc *c)
{
    return fail(c, NUB_WASM_E_INVALID, "type mismatch");
}

/* Grow an array by doubling; false if out of memory. */
static bool grow(struct cc *c, void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    uint64_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    void *n = wasm_zalloc(c->env, (size_t)ncap, elem);
    if (!n) {
        c->nomem = true;
        return fail(c, NUB_WASM_E_NOMEM, "out of memory");
    }
    if (*arr) {
        WASM_MEMCPY(n, *arr, (size_t)*cap * elem);
        wasm_free(c->env, *arr, (size_t)*cap * elem);
    }
    *arr = n;
    *cap = (uint32_t)ncap;
    return true;
}

static struct ctl *top(struct cc *c)
{
    return &c->cs[c->nc - 1];
}

static bool live(struct cc *c)
{
    struct ctl *t = top(c);
    return t->live_entry && !t->unreachable && !c->r.err;
}

/* ---- emission ------------------------------------------------------------ */

static bool emit(struct cc *c, uint32_t w)
{
    if (c->pc >= MAX_CODE) {
        c->limit = true;
        return fail(c, NUB_WASM_E_LIMIT, "function too large");
    }
    if (!grow(c, (void **)&c->code, &c->codecap, c->pc + 1, sizeof(uint32_t)))
        return false;
    c->code[c->pc++] = w;
    return true;
}

static uint32_t home(struct cc *c, uint32_t pos)
{
    return c->nlocals + pos;
}

static uint32_t slot(struct cc *c, const struct cv *v, uint32_t pos)
{
    if (v->kind == K_LOCAL)
        return v->ref;
    if (v->kind == K_CONST)
        return (uint32_t)(-1 - (int32_t)v->ref);
    return home(c, pos);
}

static void op0(struct cc *c, uint32_t op)
{
    c->ld_valid = false;
    emit(c, op);
}

static void copy(struct cc *c, uint32_t d, uint32_t s)
{
    if (d == s)
        return;
    op0(c, OP_COPY);
    emit(c, d);
    emit(c, s);
}

static void materialize(struct cc *c, uint32_t pos)
{
    struct cv *v = &c->st[pos];
    if (v->kind == K_HOME)
        return;
    if (live(c))
        copy(c, home(c, pos), slot(c, v, pos));
    v->kind = K_HOME;
}

/* Everything the current block pushed goes to its home slot. */
static void flush(struct cc *c, uint32_t below)
{
    uint32_t lo = top(c)->height;
    if (below > LAZY_WINDOW && below - LAZY_WINDOW > lo)
        lo = below - LAZY_WINDOW;
    for (uint32_t p = lo; p < below; p++)
        materialize(c, p);
}

static uint32_t add_const(struct cc *c, uint64_t v)
{
    uint32_t from = c->nconsts > 32 ? c->nconsts - 32 : 0;
    for (uint32_t i = from; i < c->nconsts; i++)
        if (c->consts[i] == v)
            return i;
    if (!grow(c, (void **)&c->consts, &c->constcap, c->nconsts + 1, sizeof(uint64_t)))
        return 0;
    c->consts[c->nconsts] = v;
    return c->nconsts++;
}

/* ---- the type stack ------------------------------------------------------ */

static bool push(struct cc *c, uint8_t type, uint8_t kind, uint32_t ref)
{
    if (c->h >= MAX_HEIGHT) {
        c->limit = true;
        return fail(c, NUB_WASM_E_LIMIT, "operand stack too deep");
    }
    if (!grow(c, (void **)&c->st, &c->hcap, c->h + 1, sizeof(struct cv)))
        return false;
    /* keep lazy entries within the top window: bounded scans */
    if (c->h >= LAZY_WINDOW && c->h - LAZY_WINDOW >= top(c)->height)
        materialize(c, c->h - LAZY_WINDOW);
    c->st[c->h] = (struct cv){type, kind, ref};
    c->h++;
    if (c->h > c->maxh)
        c->maxh = c->h;
    return true;
}

/* Pop one value of type want (0: any). *pos gets its position. */
static bool pop(struct cc *c, uint8_t want, struct cv *out, uint32_t *pos)
{
    struct ctl *t = top(c);
    if (c->h == t->height) {
        if (!t->unreachable)
            return mismatch(c);
        *out = (struct cv){0, K_HOME, 0};
        *pos = c->h;
        return true;
    }
    c->h--;
    *out = c->st[c->h];
    *pos = c->h;
    if (want && out->type && out->type != want)
        return mismatch(c);
    return true;
}

static bool is_num(uint8_t t)
{
    return t == NUB_WASM_I32 || t == NUB_WASM_I64 || t == NUB_WASM_F32 || t == NUB_WASM_F64;
}
static bool is_ref(uint8_t t)
{
    return t == NUB_WASM_FUNCREF || t == NUB_WASM_EXTERNREF;
}

/* Pop n values of the given types (last first); srcs gets their slots. */
static bool pop_types(struct cc *c, uint32_t n, const uint8_t *types, uint32_t *srcs)
{
    for (uint32_t i = n; i-- > 0;) {
        struct cv v;
        uint32_t pos;
        if (!pop(c, types[i], &v, &pos))
            return false;
        if (srcs)
            srcs[i] = slot(c, &v, pos);
    }
    return true;
}

static bool push_types(struct cc *c, uint32_t n, const uint8_t *types)
{
    for (uint32_t i = 0; i < n; i++)
        if (!push(c, types[i], K_HOME, 0))
            return false;
    return true;
}

static void set_unreachable(struct cc *c)
{
    struct ctl *t = top(c);
    c->h = t->height;
    t->unreachable = true;
    c->ld_valid = false;
}

/* ---- labels -------------------------------------------------------------- */

static uint32_t label_arity(const struct ctl *l, const uint8_t **types)
{
    if (l->op == C_LOOP) {
        *types = l->params;
        return l->np;
    }
    *types = l->results;
    return l->nr;
}

/* A jump word to label l: known (loop) or linked into its patch list. */
static void emit_target(struct cc *c, struct ctl *l)
{
    if (l->op == C_LOOP) {
        emit(c, l->start);
    } else {
        uint32_t at = c->pc;
        emit(c, l->patch);
        if (!c->r.err)
            l->patch = at;
    }
}

static void patch_list(struct cc *c, uint32_t head, uint32_t to)
{
    while (head != NONE) {
        uint32_t next = c->code[head];
        c->code[head] = to;
        head = next;
    }
}

/* Copies that put the top n entries (slots srcs) in the label's homes. */
static bool needs_copies(struct cc *c, const struct ctl *l, uint32_t n, const uint32_t *srcs)
{
    for (uint32_t i = 0; i < n; i++)
        if (srcs[i] != home(c, l->height + i))
            return true;
    return false;
}
static void emit_copies(struct cc *c, const struct ctl *l, uint32_t n, const uint32_t *srcs)
{
    for (uint32_t i = 0; i < n; i++)
        copy(c, home(c, l->height + i), srcs[i]);
}

static bool read_label(struct cc *c, uint32_t *depth)
{
    if (!wasm_rd_u32(&c->r, depth))
        return false;
    if (*depth >= c->nc)
        return fail(c, NUB_WASM_E_INVALID, "unknown label");
    return true;
}

/* Slots of the top n stack entries (their positions, for srcs). */
static bool top_srcs(struct cc *c, uint32_t n, const uint8_t *types, uint32_t **srcs)
{
    uint32_t *s = wasm_zalloc(c->env, n, sizeof(uint32_t));
    if (!s) {
        c->nomem = true;
        return fail(c, NUB_WASM_E_NOMEM, "out of memory");
    }
    if (!pop_types(c, n, types, s)) {
        wasm_free(c->env, s, sizeof(uint32_t) * n);
        *srcs = NULL;
        return false;
    }
    *srcs = s;
    return true;
}

/* ---- block types --------------------------------------------------------- */

static bool read_blocktype(struct cc *c, uint32_t *np, const uint8_t **params, uint32_t *nr,
                          const uint8_t **results)
{
    if (c->r.p >= c->r.end)
        return fail(c, NUB_WASM_E_MALFORMED, "unexpected end");
    uint8_t b = *c->r.p;
    if (b == 0x40) {
        c->r.p++;
        *np = *nr = 0;
        *params = *results = NULL;
        return true;
    }
    if (one_type[b]) {
        c->r.p++;
        *np = 0;
        *params = NULL;
        *nr = 1;
        *results = &one_type[b];
        return true;
    }
    int64_t idx;
    if (!wasm_rd_s33(&c->r, &idx))
        return false;
    if (idx < 0)
        return fail(c, NUB_WASM_E_MALFORMED, "malformed value type");
    if ((uint64_t)idx >= c->m->ntypes)
        return fail(c, NUB_WASM_E_INVALID, "unknown type");
    const struct nub_wasm_functype *t = &c->m->types[idx];
    *np = t->nparams;
    *params = t->params;
    *nr = t->nresults;
    *results = t->results;
    return true;
}

static bool push_ctl(struct cc *c, uint8_t op, uint32_t np, const uint8_t *params, uint32_t nr,
                     const uint8_t *results)
{
    bool lv = live(c);
    if (!grow(c, (void **)&c->cs, &c->ccap, c->nc + 1, sizeof(struct ctl)))
        return false;
    struct ctl *t = &c->cs[c->nc++];
    *t = (struct ctl){.op = op, .live_entry = lv, .height = c->h, .np = np, .nr = nr,
                      .params = params, .results = results, .start = c->pc, .patch = NONE,
                      .else_patch = NONE};
    c->ld_valid = false;
    return true;
}

/* Common head of block, loop and if: params checked, the stack flushed. */
static bool block_head(struct cc *c, uint8_t op)
{
    uint32_t np, nr;
    const uint8_t *params, *results;
    if (!read_blocktype(c, &np, &params, &nr, &results))
        return false;
    flush(c, c->h);
    if (!pop_types(c, np, params, NULL))
        return false;
    bool lv = live(c);
    if (!push_ctl(c, op, np, params, nr, results))
        return false;
    top(c)->live_entry = lv;
    return push_types(c, np, params);
}

/* Stack at the end of a block: exactly its results, at their homes. */
static bool end_check(struct cc *c, struct ctl *t)
{
    flush(c, c->h);
    if (!pop_types(c, t->nr, t->results, NULL))
        return false;
    if (c->h != t->height)
        return mismatch(c);
    return true;
}

/* ---- fuel ---------------------------------------------------------------- */

static void fuel_close(struct cc *c)
{
    if (c->fuel_at != NONE && c->fuel_at < c->pc)
        c->code[c->fuel_at] = c->fuel_n ? c->fuel_n : 1;
}
static void fuel_open(struct cc *c)
{
    fuel_close(c);
    op0(c, OP_FUEL);
    c->fuel_at = c->pc;
    c->fuel_n = 0;
    emit(c, 1);
}

/* ---- instructions -------------------------------------------------------- */

static bool memarg(struct cc *c, uint32_t natural, uint32_t *off)
{
    uint32_t align;
    if (!wasm_rd_u32(&c->r, &align) || !wasm_rd_u32(&c->r, off))
        return false;
    if (c->m->nmems == 0)
        return fail(c, NUB_WASM_E_INVALID, "unknown memory");
    if (align > natural)
        return fail(c, NUB_WASM_E_INVALID, "alignment must not be larger than natural");
    return true;
}

static bool zero_byte(struct cc *c)
{
    uint8_t b;
    if (!wasm_rd_u8(&c->r, &b))
        return false;
    if (b != 0)
        return fail(c, NUB_WASM_E_MALFORMED, "zero byte expected");
    return true;
}

/* A value-producing instruction: op, result home, then the sources. */
static bool emit_valued(struct cc *c, uint32_t op, uint8_t rtype, uint32_t pos, uint32_t ns,
                        const uint32_t *srcs)
{
    bool lv = live(c);
    if (!push(c, rtype, K_HOME, 0))
        return false;
    (void)pos;
    uint32_t p = c->h - 1;
    if (!lv)
        return true;
    uint32_t at = c->pc;
    op0(c, op);
    emit(c, home(c, p));
    for (uint32_t i = 0; i < ns; i++)
        emit(c, srcs[i]);
    c->ld_valid = true;
    c->ld_op = at;
    c->ld_dst = at + 1;
    c->ld_pos = p;
    return true;
}

/* Unary / binary numeric op with types. */
static bool numeric(struct cc *c, uint32_t op, uint8_t a, uint8_t b, uint8_t r)
{
    struct cv va, vb;
    uint32_t pa, pb, s[2];
    unsigned n = 0;
    if (b) {
        if (!pop(c, b, &vb, &pb))
            return false;
    }
    if (!pop(c, a, &va, &pa))
        return false;
    s[n++] = slot(c, &va, pa);
    if (b)
        s[n++] = slot(c, &vb, pb);
    return emit_valued(c, op, r, pa, n, s);
}

static void numeric_sig(uint8_t opc, uint8_t *a, uint8_t *b, uint8_t *r)
{
    const uint8_t I = NUB_WASM_I32, L = NUB_WASM_I64, F = NUB_WASM_F32, D = NUB_WASM_F64;
    *b = 0;
    if (opc == 0x45) { *a = I; *r = I; }
    else if (opc <= 0x4f) { *a = *b = I; *r = I; }
    else if (opc == 0x50) { *a = L; *r = I; }
    else if (opc <= 0x5a) { *a = *b = L; *r = I; }
    else if (opc <= 0x60) { *a = *b = F; *r = I; }
    else if (opc <= 0x66) { *a = *b = D; *r = I; }
    else if (opc <= 0x69) { *a = I; *r = I; }
    else if (opc <= 0x78) { *a = *b = I; *r = I; }
    else if (opc <= 0x7b) { *a = L; *r = L; }
    else if (opc <= 0x8a) { *a = *b = L; *r = L; }
    else if (opc <= 0x91) { *a = F; *r = F; }
    else if (opc <= 0x98) { *a = *b = F; *r = F; }
    else if (opc <= 0x9f) { *a = D; *r = D; }
    else if (opc <= 0xa6) { *a = *b = D; *r = D; }
    else {
        static const uint8_t conv[][2] = {
            {L, I}, {F, I}, {F, I}, {D, I}, {D, I}, {I, L}, {I, L}, {F, L}, {F, L}, {D, L}, {D, L},
            {I, F}, {I, F}, {L, F}, {L, F}, {D, F}, {I, D}, {I, D}, {L, D}, {L, D}, {F, D},
            {F, I}, {D, L}, {I, F}, {L, D}, {I, I}, {I, I}, {L, L}, {L, L}, {L, L}};
        *a = conv[opc - 0xa7][0];
        *r = conv[opc - 0xa7][1];
    }
}

static const uint8_t fuse_br[] = {
    [OP_I32_EQ] = OP_BR_I32_EQ, [OP_I32_NE] = OP_BR_I32_NE, [OP_I32_LT_S] = OP_BR_I32_LT_S,
    [OP_I32_LT_U] = OP_BR_I32_LT_U, [OP_I32_GT_S] = OP_BR_I32_GT_S, [OP_I32_GT_U] = OP_BR_I32_GT_U,
    [OP_I32_LE_S] = OP_BR_I32_LE_S, [OP_I32_LE_U] = OP_BR_I32_LE_U, [OP_I32_GE_S] = OP_BR_I32_GE_S,
    [OP_I32_GE_U] = OP_BR_I32_GE_U,
};
static const uint8_t fuse_inv[] = {
    [OP_I32_EQ] = OP_BR_I32_NE, [OP_I32_NE] = OP_BR_I32_EQ, [OP_I32_LT_S] = OP_BR_I32_GE_S,
    [OP_I32_LT_U] = OP_BR_I32_GE_U, [OP_I32_GT_S] = OP_BR_I32_LE_S, [OP_I32_GT_U] = OP_BR_I32_LE_U,
    [OP_I32_LE_S] = OP_BR_I32_GT_S, [OP_I32_LE_U] = OP_BR_I32_GT_U, [OP_I32_GE_S] = OP_BR_I32_LT_S,
    [OP_I32_GE_U] = OP_BR_I32_LT_U,
};

/* A conditional branch on the value at position cpos (slot cs): fused
 * with the compare that produced it when that was the last instruction.
 * `when`: branch if true (br_if) or if false (if). The target word is
 * emitted by the caller (its index is returned in *tw). */
static void cond_branch(struct cc *c, bool fusable, uint32_t cs, bool when)
{
    if (fusable) {
        uint32_t op = c->code[c->ld_op];
        if (op < sizeof fuse_br && fuse_br[op]) {
            uint32_t a = c->code[c->ld_op + 2], b = c->code[c->ld_op + 3];
            c->pc = c->ld_op;
            op0(c, when ? fuse_br[op] : fuse_inv[op]);
            emit(c, a);
            emit(c, b);
            return;
        }
        if (op == OP_I32_EQZ) {
            uint32_t a = c->code[c->ld_op + 2];
            c->pc = c->ld_op;
            op0(c, when ? OP_BR_UNLESS : OP_BR_IF);
            emit(c, a);
            return;
        }
    }
    op0(c, when ? OP_BR_IF : OP_BR_UNLESS);
    emit(c, cs);
}

static bool local_idx(struct cc *c, uint32_t *x)
{
    if (!wasm_rd_u32(&c->r, x))
        return false;
    if (*x >= c->nlocals)
        return fail(c, NUB_WASM_E_INVALID, "unknown local");
    return true;
}

/* Before local x is written: lazy entries naming it go home. */
static bool save_local(struct cc *c, uint32_t x)
{
    bool any = false;
    uint32_t lo = top(c)->height;
    if (c->h > LAZY_WINDOW && c->h - LAZY_WINDOW > lo)
        lo = c->h - LAZY_WINDOW;
    for (uint32_t p = lo; p < c->h; p++)
        if (c->st[p].kind == K_LOCAL && c->st[p].ref == x) {
            materialize(c, p);
            any = true;
        }
    return any;
}

static bool set_local(struct cc *c, uint32_t x, bool tee)
{
    struct cv v;
    uint32_t pos;
    bool ldv = c->ld_valid;
    uint32_t ldpos = c->ld_pos, lddst = c->ld_dst;
    if (!pop(c, c->ltypes[x], &v, &pos))
        return false;
    if (live(c) && !(v.kind == K_LOCAL && v.ref == x)) {
        bool saved = save_local(c, x);
        if (!saved && ldv && v.kind == K_HOME && ldpos == pos) {
            c->code[lddst] = x; /* the producer writes the local directly */
            c->ld_valid = false;
        } else {
            copy(c, x, slot(c, &v, pos));
        }
    }
    if (tee)
        return push(c, c->ltypes[x], K_LOCAL, x);
    return true;
}

static bool call_common(struct cc *c, const struct nub_wasm_functype *t, uint32_t op,
                        const uint32_t *imm, unsigned nimm, bool has_idx)
{
    struct cv vi;
    uint32_t pi = 0, is = 0;
    if (has_idx) {
        if (!pop(c, NUB_WASM_I32, &vi, &pi))
            return false;
        is = slot(c, &vi, pi);
    }
    /* arguments in their homes, contiguous */
    uint32_t lo = c->h >= t->nparams ? c->h - t->nparams : 0;
    if (lo < top(c)->height)
        lo = top(c)->height;
    for (uint32_t p = lo; p < c->h; p++)
        materialize(c, p);
    if (!pop_types(c, t->nparams, t->params, NULL))
        return false;
    uint32_t base = c->h;
    if (live(c)) {
        op0(c, op);
        for (unsigned i = 0; i < nimm; i++)
            emit(c, imm[i]);
        if (has_idx)
            emit(c, is);
        emit(c, home(c, base));
    }
    return push_types(c, t->nresults, t->results);
}

static bool table_idx(struct cc *c, uint32_t *t)
{
    if (!wasm_rd_u32(&c->r, t))
        return false;
    if (*t >= c->m->ntables)
        return fail(c, NUB_WASM_E_INVALID, "unknown table");
    return true;
}

/* Pop values of the given types and emit op with their slots after imms. */
static bool effect(struct cc *c, uint32_t op, unsigned nimm, const uint32_t *imm, unsigned n,
                   const uint8_t *types)
{
    uint32_t s[5] = {0};
    if (!pop_types(c, n, types, s))
        return false;
    if (live(c)) {
        op0(c, op);
        for (unsigned i = 0; i < nimm; i++)
            emit(c, imm[i]);
        for (unsigned i = 0; i < n; i++)
            emit(c, s[i]);
    }
    return true;
}

/* Like effect but the op also produces a value of type r. */
static bool valued(struct cc *c, uint32_t op, unsigned nimm, const uint32_t *imm, unsigned n,
                   const uint8_t *types, uint8_t r)
{
    uint32_t s[8] = {0};
    if (!pop_types(c, n, types, s + nimm))
        return false;
    for (unsigned i = 0; i < nimm; i++)
        s[i] = imm[i];
    return emit_valued(c, op, r, c->h, nimm + n, s);
}

static bool prefix_fc(struct cc *c)
{
    const uint8_t I = NUB_WASM_I32;
    const struct nub_wasm_module *m = c->m;
    uint32_t sub;
    if (!wasm_rd_u32(&c->r, &sub))
        return false;
    if (sub <= 7) {
        static const uint8_t from[] = {NUB_WASM_F32, NUB_WASM_F32, NUB_WASM_F64, NUB_WASM_F64,
                                       NUB_WASM_F32, NUB_WASM_F32, NUB_WASM_F64, NUB_WASM_F64};
        return numeric(c, OP_I32_TRUNC_SAT_F32_S + sub, from[sub], 0,
                       sub < 4 ? NUB_WASM_I32 : NUB_WASM_I64);
    }
    switch (sub) {
    case 8: { /* memory.init */
        uint32_t seg;
        if (!wasm_rd_u32(&c->r, &seg) || !zero_byte(c))
            return false;
        if (m->nmems == 0)
            return fail(c, NUB_WASM_E_INVALID, "unknown memory");
        if (!m->has_datacount)
            return fail(c, NUB_WASM_E_MALFORMED, "data count section required");
        if (seg >= m->datacount)
            return fail(c, NUB_WASM_E_INVALID, "unknown data segment");
        const uint8_t t[] = {I, I, I};
        return effect(c, OP_MEMORY_INIT, 1, &seg, 3, t);
    }
    case 9: {
        uint32_t seg;
        if (!wasm_rd_u32(&c->r, &seg))
            return false;
        if (!m->has_datacount)
            return fail(c, NUB_WASM_E_MALFORMED, "data count section required");
        if (seg >= m->datacount)
            return fail(c, NUB_WASM_E_INVALID, "unknown data segment");
        return effect(c, OP_DATA_DROP, 1, &seg, 0, NULL);
    }
    case 10:
    case 11: {
        if (!zero_byte(c) || (sub == 10 && !zero_byte(c)))
            return false;
        if (m->nmems == 0)
            return fail(c, NUB_WASM_E_INVALID, "unknown memory");
        const uint8_t t[] = {I, I, I};
        return effect(c, sub == 10 ? OP_MEMORY_COPY : OP_MEMORY_FILL, 0, NULL, 3, t);
    }
    case 12: { /* table.init elem table */
        uint32_t imm[2];
        if (!wasm_rd_u32(&c->r, &imm[1]) || !table_idx(c, &imm[0]))
            return false;
        if (imm[1] >= m->nelems)
            return fail(c, NUB_WASM_E_INVALID, "unknown elem segment");
        if (m->elems[imm[1]].type != m->tables[imm[0]].type)
            return mismatch(c);
        const uint8_t t[] = {I, I, I};
        return effect(c, OP_TABLE_INIT, 2, imm, 3, t);
    }
    case 13: {
        uint32_t e;
        if (!wasm_rd_u32(&c->r, &e))
            return false;
        if (e >= m->nelems)
            return fail(c, NUB_WASM_E_INVALID, "unknown elem segment");
        return effect(c, OP_ELEM_DROP, 1, &e, 0, NULL);
    }
    case 14: {
        uint32_t imm[2];
        if (!table_idx(c, &imm[0]) || !table_idx(c, &imm[1]))
            return false;
        if (m->tables[imm[0]].type != m->tables[imm[1]].type)
            return mismatch(c);
        const uint8_t t[] = {I, I, I};
        return effect(c, OP_TABLE_COPY, 2, imm, 3, t);
    }
    case 15: {
        uint32_t ti;
        if (!table_idx(c, &ti))
            return false;
        const uint8_t t[] = {m->tables[ti].type, I};
        return valued(c, OP_TABLE_GROW, 1, &ti, 2, t, I);
    }
    case 16: {
        uint32_t ti;
        if (!table_idx(c, &ti))
            return false;
        return valued(c, OP_TABLE_SIZE, 1, &ti, 0, NULL, I);
    }
    case 17: {
        uint32_t ti;
        if (!table_idx(c, &ti))
            return false;
        const uint8_t t[] = {I, m->tables[ti].type, I};
        return effect(c, OP_TABLE_FILL, 1, &ti, 3, t);
    }
    default:
        return fail(c, NUB_WASM_E_MALFORMED, "illegal opcode");
    }
}

static bool br_table(struct cc *c)
{
    uint32_t n;
    struct cv vi;
    uint32_t pi;
    if (!wasm_rd_u32(&c->r, &n))
        return false;
    if (n > (size_t)(c->r.end - c->r.p))
        return fail(c, NUB_WASM_E_MALFORMED, "unexpected end");
    const uint8_t *labels = c->r.p;
    /* first pass: read and check the labels */
    uint32_t dflt = 0, arity = 0;
    for (uint32_t i = 0; i <= n; i++) {
        uint32_t d;
        if (!read_label(c, &d))
            return false;
        if (i == n)
            dflt = d;
    }
    if (!pop(c, NUB_WASM_I32, &vi, &pi))
        return false;
    uint32_t is = slot(c, &vi, pi);
    const uint8_t *types;
    arity = label_arity(&c->cs[c->nc - 1 - dflt], &types);
    const uint8_t *after = c->r.p;
    bool lv = live(c);
    /* every label must take the values on the stack */
    c->r.p = labels;
    for (uint32_t i = 0; i <= n; i++) {
        uint32_t d;
        wasm_rd_u32(&c->r, &d);
        const uint8_t *lt;
        uint32_t la = label_arity(&c->cs[c->nc - 1 - d], &lt);
        if (la != arity)
            return mismatch(c);
        uint32_t avail = c->h - top(c)->height;
        for (uint32_t k = 0; k < la; k++) {
            if (k >= avail) {
                if (!top(c)->unreachable)
                    return mismatch(c);
                continue;
            }
            uint8_t have = c->st[c->h - 1 - k].type;
            uint8_t want = lt[la - 1 - k];
            if (have && have != want)
                return mismatch(c);
        }
    }
    c->r.p = after;
    if (!lv) {
        set_unreachable(c);
        return true;
    }
    uint32_t *srcs = NULL;
    if (!top_srcs(c, arity, types, &srcs))
        return false;
    if (!grow(c, (void **)&c->tr_pc, &c->tr_cap, c->nc, sizeof(uint32_t)) ||
        !grow(c, (void **)&c->tr_stamp, &c->tr_cap2, c->nc, sizeof(uint32_t)))
        goto out;
    c->tr_serial++;
    op0(c, OP_BR_TABLE);
    emit(c, is);
    emit(c, n);
    uint32_t table = c->pc;
    for (uint32_t i = 0; i <= n; i++)
        emit(c, NONE);
    if (c->r.err)
        goto out;
    c->r.p = labels;
    for (uint32_t i = 0; i <= n; i++) {
        uint32_t d;
        wasm_rd_u32(&c->r, &d);
        struct ctl *l = &c->cs[c->nc - 1 - d];
        if (!needs_copies(c, l, arity, srcs)) {
            if (l->op == C_LOOP) {
                c->code[table + i] = l->start;
            } else {
                c->code[table + i] = l->patch;
                l->patch = table + i;
            }
            continue;
        }
        /* a trampoline per label: the copies, then the jump */
        if (c->tr_stamp[d] != c->tr_serial) {
            c->tr_stamp[d] = c->tr_serial;
            c->tr_pc[d] = c->pc;
            emit_copies(c, l, arity, srcs);
            op0(c, OP_BR);
            emit_target(c, l);
            if (c->r.err)
                goto out;
        }
        c->code[table + i] = c->tr_pc[d];
    }
    c->r.p = after;
out:
    wasm_free(c->env, srcs, sizeof(uint32_t) * arity);
    set_unreachable(c);
    return !c->r.err;
}

static bool br(struct cc *c)
{
    uint32_t d;
    if (!read_label(c, &d))
        return false;
    struct ctl *l = &c->cs[c->nc - 1 - d];
    const uint8_t *types;
    uint32_t arity = label_arity(l, &types);
    bool lv = live(c);
    uint32_t *srcs = NULL;
    if (!top_srcs(c, arity, types, &srcs))
        return false;
    if (lv) {
        emit_copies(c, l, arity, srcs);
        op0(c, OP_BR);
        emit_target(c, l);
    }
    wasm_free(c->env, srcs, sizeof(uint32_t) * arity);
    set_unreachable(c);
    return !c->r.err;
}

static bool br_if(struct cc *c)
{
    uint32_t d;
    struct cv vc;
    uint32_t pc_;
    if (!read_label(c, &d))
        return false;
    bool fusable = c->ld_valid;
    uint32_t ldpos = c->ld_pos;
    if (!pop(c, NUB_WASM_I32, &vc, &pc_))
        return false;
    fusable = fusable && vc.kind == K_HOME && ldpos == pc_;
    uint32_t cs = slot(c, &vc, pc_);
    struct ctl *l = &c->cs[c->nc - 1 - d];
    const uint8_t *types;
    uint32_t arity = label_arity(l, &types);
    bool lv = live(c);
    uint32_t h0 = c->h;
    uint32_t *srcs = NULL;
    if (!top_srcs(c, arity, types, &srcs))
        return false;
    /* the values stay: restore the entries popped (typed as the label);
     * in unreachable code the pops took nothing, so the stack must grow */
    uint32_t h1 = c->h;
    if ((uint64_t)h1 + arity > MAX_HEIGHT) {
        c->limit = true;
        fail(c, NUB_WASM_E_LIMIT, "operand stack too deep");
    }
    if (c->r.err || !grow(c, (void **)&c->st, &c->hcap, h1 + arity, sizeof(struct cv))) {
        wasm_free(c->env, srcs, sizeof(uint32_t) * arity);
        return false;
    }
    for (uint32_t i = 0; i < arity; i++) {
        if (h1 + i < h0) {
            c->st[h1 + i].type = types[i];
        } else {
            c->st[h1 + i] = (struct cv){types[i], K_HOME, 0};
        }
    }
    c->h = h1 + arity;
    if (c->h > c->maxh)
        c->maxh = c->h;
    if (lv) {
        if (!needs_copies(c, l, arity, srcs)) {
            cond_branch(c, fusable, cs, true);
            emit_target(c, l);
        } else {
            cond_branch(c, fusable, cs, false);
            uint32_t skip = c->pc;
            emit(c, NONE);
            emit_copies(c, l, arity, srcs);
            op0(c, OP_BR);
            emit_target(c, l);
            if (!c->r.err)
                c->code[skip] = c->pc;
        }
    }
    wasm_free(c->env, srcs, sizeof(uint32_t) * arity);
    c->ld_valid = false;
    return !c->r.err;
}

static bool instr(struct cc *c, uint8_t opc, bool *done)
{
    const struct nub_wasm_module *m = c->m;
    const uint8_t I = NUB_WASM_I32;
    if (live(c))
        c->fuel_n++;
    switch (opc) {
    case 0x00:
        if (live(c))
            op0(c, OP_UNREACHABLE);
        set_unreachable(c);
        return true;
    case 0x01:
        return true;
    case 0x02:
        return block_head(c, C_BLOCK);
    case 0x03:
        if (!block_head(c, C_LOOP))
            return false;
        top(c)->start = c->pc;
        if (live(c))
            fuel_open(c);
        return true;
    case 0x04: {
        uint32_t np, nr;
        const uint8_t *params, *results;
        if (!read_blocktype(c, &np, &params, &nr, &results))
            return false;
        bool fusable = c->ld_valid;
        uint32_t ldpos = c->ld_pos;
        struct cv vc;
        uint32_t pc_;
        if (!pop(c, I, &vc, &pc_))
            return false;
        uint32_t before = c->pc;
        flush(c, c->h);
        fusable = fusable && vc.kind == K_HOME && ldpos == pc_ && c->pc == before;
        uint32_t cs = slot(c, &vc, pc_);
        if (!pop_types(c, np, params, NULL))
            return false;
        bool lv = live(c);
        if (lv)
            cond_branch(c, fusable, cs, false);
        uint32_t ep = c->pc;
        if (lv)
            emit(c, NONE);
        if (!push_ctl(c, C_IF, np, params, nr, results))
            return false;
        top(c)->live_entry = lv;
        top(c)->else_patch = lv ? ep : NONE;
        return push_types(c, np, params);
    }
    case 0x05: {
        struct ctl *t = top(c);
        if (t->op != C_IF)
            return fail(c, NUB_WASM_E_MALFORMED, "else without if");
        if (!end_check(c, t))
            return false;
        if (live(c)) {
            op0(c, OP_BR);
            emit_target(c, t);
        }
        if (t->else_patch != NONE && !c->r.err)
            c->code[t->else_patch] = c->pc;
        t->else_patch = NONE;
        t->op = C_ELSE;
        t->unreachable = false;
        c->h = t->height;
        c->ld_valid = false;
        return push_types(c, t->np, t->params);
    }
    case 0x0b: {
        struct ctl *t = top(c);
        if (t->op == C_FUNC) {
            uint32_t nr = t->nr;
            /* results to their homes for RETURN */
            if (!end_check(c, t))
                return false;
            if (live(c)) {
                op0(c, OP_RETURN);
                emit(c, home(c, 0));
            } else if (t->patch != NONE) {
                op0(c, OP_RETURN);
                emit(c, home(c, 0));
            }
            (void)nr;
            if (t->patch != NONE && !c->r.err) {
                /* branches to the function label land on the RETURN */
                patch_list(c, t->patch, c->pc - 2);
            }
            c->nc--;
            *done = true;
            return true;
        }
        if (!end_check(c, t))
            return false;
        if (t->op == C_IF) {
            if (t->np != t->nr)
                return mismatch(c);
            for (uint32_t i = 0; i < t->np; i++)
                if (t->params[i] != t->results[i])
                    return mismatch(c);
        }
        if (t->else_patch != NONE && !c->r.err)
            c->code[t->else_patch] = c->pc;
        if (!c->r.err)
            patch_list(c, t->patch, c->pc);
        uint32_t nr = t->nr;
        const uint8_t *res = t->results;
        c->nc--;
        c->ld_valid = false;
        return push_types(c, nr, res);
    }
    case 0x0c:
        return br(c);
    case 0x0d:
        return br_if(c);
    case 0x0e:
        return br_table(c);
    case 0x0f: {
        struct ctl *f = &c->cs[0];
        uint32_t lo = c->h >= f->nr ? c->h - f->nr : 0;
        if (lo < top(c)->height)
            lo = top(c)->height;
        for (uint32_t p = lo; p < c->h; p++)
            materialize(c, p);
        if (!pop_types(c, f->nr, f->results, NULL))
            return false;
        if (live(c)) {
            op0(c, OP_RETURN);
            emit(c, home(c, c->h));
        }
        set_unreachable(c);
        return true;
    }
    case 0x10: {
        uint32_t f;
        if (!wasm_rd_u32(&c->r, &f))
            return false;
        if (f >= m->nfuncs)
            return fail(c, NUB_WASM_E_INVALID, "unknown function");
        return call_common(c, &m->types[m->func_type[f]], OP_CALL, &f, 1, false);
    }
    case 0x11: {
        uint32_t imm[2];
        if (!wasm_rd_u32(&c->r, &imm[0]) || !wasm_rd_u32(&c->r, &imm[1]))
            return false;
        if (imm[1] >= m->ntables)
            return fail(c, NUB_WASM_E_INVALID, "unknown table");
        if (imm[0] >= m->ntypes)
            return fail(c, NUB_WASM_E_INVALID, "unknown type");
        if (m->tables[imm[1]].type != NUB_WASM_FUNCREF)
            return mismatch(c);
        return call_common(c, &m->types[imm[0]], OP_CALL_INDIRECT, imm, 2, true);
    }
    case 0x1a: {
        struct cv v;
        uint32_t p;
        return pop(c, 0, &v, &p);
    }
    case 0x1b:
    case 0x1c: {
        uint8_t want = 0;
        if (opc == 0x1c) {
            uint32_t n;
            if (!wasm_rd_u32(&c->r, &n))
                return false;
            if (n != 1)
                return fail(c, NUB_WASM_E_INVALID, "invalid result arity");
            if (!wasm_rd_u8(&c->r, &want))
                return false;
            if (!one_type[want])
                return fail(c, NUB_WASM_E_MALFORMED, "malformed value type");
        }
        struct cv vc, vb, va;
        uint32_t pc_, pb, pa;
        if (!pop(c, I, &vc, &pc_) || !pop(c, want, &vb, &pb) || !pop(c, want, &va, &pa))
            return false;
        uint8_t t = want;
        if (!want) {
            if ((va.type && !is_num(va.type)) || (vb.type && !is_num(vb.type)))
                return mismatch(c);
            if (va.type && vb.type && va.type != vb.type)
                return mismatch(c);
            t = va.type ? va.type : vb.type;
        }
        uint32_t s[3] = {slot(c, &va, pa), slot(c, &vb, pb), slot(c, &vc, pc_)};
        return emit_valued(c, OP_SELECT, t, pa, 3, s);
    }
    case 0x20: {
        uint32_t x;
        if (!local_idx(c, &x))
            return false;
        return push(c, c->ltypes[x], K_LOCAL, x);
    }
    case 0x21:
    case 0x22: {
        uint32_t x;
        if (!local_idx(c, &x))
            return false;
        return set_local(c, x, opc == 0x22);
    }
    case 0x23:
    case 0x24: {
        uint32_t g;
        if (!wasm_rd_u32(&c->r, &g))
            return false;
        if (g >= m->nglobals)
            return fail(c, NUB_WASM_E_INVALID, "unknown global");
        uint8_t t = m->globals[g].type;
        if (opc == 0x23)
            return valued(c, OP_GLOBAL_GET, 1, &g, 0, NULL, t);
        if (!m->globals[g].mut)
            return fail(c, NUB_WASM_E_INVALID, "global is immutable");
        return effect(c, OP_GLOBAL_SET, 1, &g, 1, &t);
    }
    case 0x25:
    case 0x26: {
        uint32_t ti;
        if (!table_idx(c, &ti))
            return false;
        uint8_t t = m->tables[ti].type;
        if (opc == 0x25)
            return valued(c, OP_TABLE_GET, 1, &ti, 1, &I, t);
        const uint8_t ts[] = {I, t};
        return effect(c, OP_TABLE_SET, 1, &ti, 2, ts);
    }
    case 0x3f:
    case 0x40:
        if (!zero_byte(c))
            return false;
        if (m->nmems == 0)
            return fail(c, NUB_WASM_E_INVALID, "unknown memory");
        if (opc == 0x3f)
            return valued(c, OP_MEMORY_SIZE, 0, NULL, 0, NULL, I);
        return valued(c, OP_MEMORY_GROW, 0, NULL, 1, &I, I);
    case 0x41: {
        int32_t v;
        if (!wasm_rd_s32(&c->r, &v))
            return false;
        return push(c, I, K_CONST, add_const(c, (uint32_t)v));
    }
    case 0x42: {
        int64_t v;
        if (!wasm_rd_s64(&c->r, &v))
            return false;
        return push(c, NUB_WASM_I64, K_CONST, add_const(c, (uint64_t)v));
    }
    case 0x43:
    case 0x44: {
        unsigned n = opc == 0x43 ? 4 : 8;
        if ((size_t)(c->r.end - c->r.p) < n)
            return fail(c, NUB_WASM_E_MALFORMED, "unexpected end");
        uint64_t v = 0;
        for (unsigned i = 0; i < n; i++)
            v |= (uint64_t)c->r.p[i] << (8 * i);
        c->r.p += n;
        return push(c, opc == 0x43 ? NUB_WASM_F32 : NUB_WASM_F64, K_CONST, add_const(c, v));
    }
    case 0xd0: {
        uint8_t t;
        if (!wasm_rd_u8(&c->r, &t))
            return false;
        if (!is_ref(t))
            return fail(c, NUB_WASM_E_MALFORMED, "malformed reference type");
        return push(c, t, K_CONST, add_const(c, 0));
    }
    case 0xd1: {
        struct cv v;
        uint32_t p;
        if (!pop(c, 0, &v, &p))
            return false;
        if (v.type && !is_ref(v.type))
            return mismatch(c);
        uint32_t s = slot(c, &v, p);
        return emit_valued(c, OP_REF_IS_NULL, I, p, 1, &s);
    }
    case 0xd2: {
        uint32_t f;
        if (!wasm_rd_u32(&c->r, &f))
            return false;
        if (f >= m->nfuncs)
            return fail(c, NUB_WASM_E_INVALID, "unknown function");
        if (!m->func_declared[f])
            return fail(c, NUB_WASM_E_INVALID, "undeclared function reference");
        return valued(c, OP_REF_FUNC, 1, &f, 0, NULL, NUB_WASM_FUNCREF);
    }
    case 0xfc:
        return prefix_fc(c);
    default:
        break;
    }
    if (opc >= 0x28 && opc <= 0x35) {
        static const uint8_t nat[] = {2, 3, 2, 3, 0, 0, 1, 1, 0, 0, 1, 1, 2, 2};
        static const uint8_t ops[] = {OP_I32_LOAD, OP_I64_LOAD, OP_I32_LOAD, OP_I64_LOAD,
                                      OP_I32_LOAD8_S, OP_I32_LOAD8_U, OP_I32_LOAD16_S,
                                      OP_I32_LOAD16_U, OP_I64_LOAD8_S, OP_I64_LOAD8_U,
                                      OP_I64_LOAD16_S, OP_I64_LOAD16_U, OP_I64_LOAD32_S,
                                      OP_I64_LOAD32_U};
        static const uint8_t rt[] = {NUB_WASM_I32, NUB_WASM_I64, NUB_WASM_F32, NUB_WASM_F64,
                                     NUB_WASM_I32, NUB_WASM_I32, NUB_WASM_I32, NUB_WASM_I32,
                                     NUB_WASM_I64, NUB_WASM_I64, NUB_WASM_I64, NUB_WASM_I64,
                                     NUB_WASM_I64, NUB_WASM_I64};
        unsigned k = opc - 0x28;
        uint32_t off;
        if (!memarg(c, nat[k], &off))
            return false;
        struct cv a;
        uint32_t pa;
        if (!pop(c, I, &a, &pa))
            return false;
        uint32_t s[2] = {slot(c, &a, pa), off};
        return emit_valued(c, ops[k], rt[k], pa, 2, s);
    }
    if (opc >= 0x36 && opc <= 0x3e) {
        static const uint8_t nat[] = {2, 3, 2, 3, 0, 1, 0, 1, 2};
        static const uint8_t ops[] = {OP_I32_STORE, OP_I64_STORE, OP_I32_STORE, OP_I64_STORE,
                                      OP_STORE8, OP_STORE16, OP_STORE8, OP_STORE16, OP_I32_STORE};
        static const uint8_t vt[] = {NUB_WASM_I32, NUB_WASM_I64, NUB_WASM_F32, NUB_WASM_F64,
                                     NUB_WASM_I32, NUB_WASM_I32, NUB_WASM_I64, NUB_WASM_I64,
                                     NUB_WASM_I64};
        unsigned k = opc - 0x36;
        uint32_t off;
        if (!memarg(c, nat[k], &off))
            return false;
        struct cv a, v;
        uint32_t pa, pv;
        if (!pop(c, vt[k], &v, &pv) || !pop(c, I, &a, &pa))
            return false;
        if (live(c)) {
            op0(c, ops[k]);
            emit(c, slot(c, &a, pa));
            emit(c, slot(c, &v, pv));
            emit(c, off);
        }
        return true;
    }
    if (opc >= 0x45 && opc <= 0xc4) {
        uint8_t a, b, r;
        numeric_sig(opc, &a, &b, &r);
        if (opc >= 0xbc && opc <= 0xbf) {
            /* reinterpret: same bits, new type, no code */
            struct cv v;
            uint32_t p;
            if (!pop(c, a, &v, &p))
                return false;
            bool ldv = c->ld_valid;
            if (!push(c, r, v.kind, v.ref))
                return false;
            c->ld_valid = ldv && v.kind == K_HOME;
            return true;
        }
        uint32_t op = opc <= 0xbb ? OP_I32_EQZ + (opc - 0x45) : OP_I32_EXTEND8_S + (opc - 0xc0);
        return numeric(c, op, a, b, r);
    }
    return fail(c, NUB_WASM_E_MALFORMED, "illegal opcode");
}

void wasm_code_free(const struct nub_wasm_env *env, struct wasm_code *code)
{
    wasm_free(env, code->code, sizeof(uint32_t) * code->codecap);
    wasm_free(env, code->consts, sizeof(uint64_t) * code->constcap);
    code->code = NULL;
    code->consts = NULL;
}

static bool read_locals(struct cc *c, const struct nub_wasm_functype *ft)
{
    struct wasm_rd save = c->r;
    uint32_t ngroups;
    uint64_t total = ft->nparams;
    if (!wasm_rd_u32(&c->r, &ngroups))
        return false;
    for (uint32_t i = 0; i < ngroups; i++) {
        uint32_t n;
        uint8_t t;
        if (!wasm_rd_u32(&c->r, &n))
            return false;
        total += n;
        if (total > c->m->lim.max_locals)
            return fail(c, NUB_WASM_E_MALFORMED, "too many locals");
        if (!wasm_rd_u8(&c->r, &t))
            return false;
        if (!one_type[t])
            return fail(c, NUB_WASM_E_MALFORMED, "malformed value type");
    }
    c->nlocals = (uint32_t)total;
    c->ltypes = wasm_zalloc(c->env, c->nlocals, 1);
    if (!c->ltypes) {
        c->nomem = true;
        return fail(c, NUB_WASM_E_NOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < ft->nparams; i++)
        c->ltypes[i] = ft->params[i];
    c->r = save;
    wasm_rd_u32(&c->r, &ngroups);
    uint32_t at = ft->nparams;
    for (uint32_t i = 0; i < ngroups; i++) {
        uint32_t n;
        uint8_t t;
        wasm_rd_u32(&c->r, &n);
        wasm_rd_u8(&c->r, &t);
        for (uint32_t k = 0; k < n; k++)
            c->ltypes[at++] = t;
    }
    return true;
}

bool wasm_compile_func(const struct nub_wasm_module *m, uint32_t fidx, const uint8_t *p,
                       const uint8_t *end, struct wasm_code *out, struct wasm_compile_err *err)
{
    struct cc c = {.m = m, .env = &m->env, .r = {.p = p, .end = end, .base = p}};
    const struct nub_wasm_functype *ft = &m->types[m->func_type[fidx]];
    c.fuel_at = NONE;
    bool ok = read_locals(&c, ft);
    if (ok) {
        c.cs = wasm_zalloc(c.env, 16, sizeof(struct ctl));
        c.ccap = 16;
        if (!c.cs)
            ok = fail(&c, NUB_WASM_E_NOMEM, "out of memory");
    }
    if (ok) {
        c.nc = 1;
        c.cs[0] = (struct ctl){.op = C_FUNC, .live_entry = true, .height = 0, .nr = ft->nresults,
                               .results = ft->results, .patch = NONE, .else_patch = NONE};
        fuel_open(&c);
        bool done = false;
        while (ok && !done) {
            uint8_t opc;
            if (c.r.p >= c.r.end) {
                ok = fail(&c, NUB_WASM_E_MALFORMED, "unexpected end of section or function");
                break;
            }
            opc = *c.r.p++;
            ok = instr(&c, opc, &done) && !c.r.err;
        }
        if (ok && c.r.p != c.r.end)
            ok = fail(&c, NUB_WASM_E_MALFORMED, "section size mismatch");
        if (ok)
            fuel_close(&c);
        if (ok && (uint64_t)c.nlocals + c.maxh + c.nconsts > 0x7fffffffu)
            ok = fail(&c, NUB_WASM_E_LIMIT, "frame too large");
    }
    wasm_free(c.env, c.ltypes, c.nlocals);
    wasm_free(c.env, c.st, sizeof(struct cv) * c.hcap);
    wasm_free(c.env, c.cs, sizeof(struct ctl) * c.ccap);
    wasm_free(c.env, c.tr_pc, sizeof(uint32_t) * c.tr_cap);
    wasm_free(c.env, c.tr_stamp, sizeof(uint32_t) * c.tr_cap2);
    if (!ok) {
        wasm_free(c.env, c.code, sizeof(uint32_t) * c.codecap);
        wasm_free(c.env, c.consts, sizeof(uint64_t) * c.constcap);
        err->msg = c.r.err ? c.r.err : "invalid";
        err->kind = c.r.kind ? c.r.kind : NUB_WASM_E_INVALID;
        err->where = (size_t)(c.r.p - p);
        return false;
    }
    out->code = c.code;
    out->codecap = c.codecap;
    out->ncode = c.pc;
    out->consts = c.consts;
    out->constcap = c.constcap;
    out->nconsts = c.nconsts;
    out->nlocals = c.nlocals;
    out->frame = c.nlocals + c.maxh;
    return true;
}
