/* nubwasm: the executor. One loop over the internal code (threaded with
 * computed goto), no C recursion: wasm calls push a frame record on the
 * task's own array, so a task can stop anywhere (fuel, a suspending host
 * import) and go on later. Every float op goes through softfloat.h. */
#include "softfloat.h"
#include "wasm_internal.h"

struct frame {
    const struct nub_wasm_func *fn; /* the caller */
    const uint32_t *ip;              /* where the caller goes on */
    uint64_t *fp;
    uint64_t *dest;                  /* where the callee's results go */
};

enum { T_IDLE, T_READY, T_SUSPENDED, T_DONE, T_TRAPPED };

#define HOST_RESULTS 16u

struct nub_wasm_task {
    struct nub_wasm_env env;
    struct nub_wasm_limits lim;
    uint64_t *stack;
    uint32_t nslots;
    struct frame *frames;
    uint32_t depth;
    int state;
    enum nub_wasm_trap trap;
    /* registers while stopped */
    const struct nub_wasm_func *fn;
    const uint32_t *ip;
    uint64_t *fp;
    /* the entry call */
    const struct nub_wasm_func *entry;
    uint32_t nresults;
    uint64_t fuel_used;
    /* a suspended host import */
    uint64_t *pending_dest;
    uint32_t pending_n;
    uint64_t hres[HOST_RESULTS];
};

const char *nub_wasm_trap_str(enum nub_wasm_trap t)
{
    switch (t) {
    case NUB_WASM_TRAP_NONE: return "none";
    case NUB_WASM_TRAP_UNREACHABLE: return "unreachable";
    case NUB_WASM_TRAP_DIV_ZERO: return "integer divide by zero";
    case NUB_WASM_TRAP_INT_OVERFLOW: return "integer overflow";
    case NUB_WASM_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
    case NUB_WASM_TRAP_OOB_MEMORY: return "out of bounds memory access";
    case NUB_WASM_TRAP_OOB_TABLE: return "out of bounds table access";
    case NUB_WASM_TRAP_UNDEFINED_ELEMENT: return "undefined element";
    case NUB_WASM_TRAP_UNINITIALIZED: return "uninitialized element";
    case NUB_WASM_TRAP_INDIRECT_TYPE: return "indirect call type mismatch";
    case NUB_WASM_TRAP_STACK_EXHAUSTED: return "call stack exhausted";
    case NUB_WASM_TRAP_HOST: return "host trap";
    }
    return "trap";
}

struct nub_wasm_task *nub_wasm_task_new(const struct nub_wasm_env *env,
                                        const struct nub_wasm_limits *lim)
{
    struct nub_wasm_task *t = wasm_zalloc(env, 1, sizeof *t);
    if (!t)
        return NULL;
    t->env = *env;
    wasm_limits_defaults(&t->lim, lim);
    t->nslots = t->lim.stack_slots;
    t->stack = wasm_zalloc(env, t->nslots, sizeof(uint64_t));
    t->frames = wasm_zalloc(env, (size_t)t->lim.call_depth + 1, sizeof(struct frame));
    if (!t->stack || !t->frames) {
        nub_wasm_task_free(t);
        return NULL;
    }
    return t;
}

void nub_wasm_task_free(struct nub_wasm_task *t)
{
    if (!t)
        return;
    wasm_free(&t->env, t->stack, sizeof(uint64_t) * t->nslots);
    wasm_free(&t->env, t->frames, sizeof(struct frame) * ((size_t)t->lim.call_depth + 1));
    struct nub_wasm_env env = t->env;
    wasm_free(&env, t, sizeof *t);
}

/* Enter wasm function fn with its frame at base (args already at args). */
static bool enter(struct nub_wasm_task *t, const struct nub_wasm_func *fn, uint64_t *base,
                  const uint64_t *args, uint64_t **fp_out)
{
    const struct wasm_code *c = fn->code;
    uint64_t *end = t->stack + t->nslots;
    if (base > end || (uint64_t)(end - base) < (uint64_t)c->nconsts + c->frame) {
        t->trap = NUB_WASM_TRAP_STACK_EXHAUSTED;
        return false;
    }
    uint64_t *fp = base + c->nconsts;
    for (uint32_t i = 0; i < c->nconsts; i++)
        fp[-1 - (int64_t)i] = c->consts[i];
    uint32_t np = fn->type->nparams;
    for (uint32_t i = 0; i < np; i++)
        fp[i] = args[i];
    for (uint32_t i = np; i < c->nlocals; i++)
        fp[i] = 0;
    *fp_out = fp;
    return true;
}

int nub_wasm_task_start(struct nub_wasm_task *t, struct nub_wasm_func *f, const uint64_t *args)
{
    const struct nub_wasm_functype *ty = f->type;
    uint32_t off = ty->nparams > ty->nresults ? ty->nparams : ty->nresults;
    if (off > t->nslots)
        return -1;
    t->depth = 0;
    t->trap = NUB_WASM_TRAP_NONE;
    t->entry = f;
    t->nresults = ty->nresults;
    t->fuel_used = 0;
    t->pending_dest = NULL;
    /* args at the bottom: the results land there too */
    for (uint32_t i = 0; i < ty->nparams; i++)
        t->stack[i] = args[i];
    t->fn = NULL;
    t->state = T_READY;
    return 0;
}

int nub_wasm_resume(struct nub_wasm_task *t, const uint64_t *results)
{
    if (t->state != T_SUSPENDED)
        return -1;
    for (uint32_t i = 0; i < t->pending_n; i++)
        t->pending_dest[i] = results[i];
    t->pending_dest = NULL;
    t->state = T_READY;
    return 0;
}

enum nub_wasm_trap nub_wasm_task_trap(const struct nub_wasm_task *t)
{
    return t->trap;
}

const uint64_t *nub_wasm_task_results(const struct nub_wasm_task *t, uint32_t *n)
{
    *n = t->state == T_DONE ? t->nresults : 0;
    return t->stack;
}

uint64_t nub_wasm_task_fuel_used(const struct nub_wasm_task *t)
{
    return t->fuel_used;
}

static uint32_t popcnt64(uint64_t x)
{
    /* no popcnt instruction assumed (libgcc's helper is not in the guest) */
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (uint32_t)((x * 0x0101010101010101ull) >> 56);
}

static bool f32_isnan(uint32_t a)
{
    return (a & 0x7fffffffu) > 0x7f800000u;
}
static bool f64_isnan(uint64_t a)
{
    return (a & 0x7fffffffffffffffull) > 0x7ff0000000000000ull;
}

/* Grow linear memory by delta pages; false (memory unchanged) if not allowed. */
bool wasm_memory_grow(const struct nub_wasm_env *env, struct nub_wasm_memory *mem, uint32_t delta)
{
    uint64_t want = (uint64_t)mem->pages + delta;
    uint64_t cap = mem->limit;
    if (mem->has_max && mem->max < cap)
        cap = mem->max;
    if (want > cap || want > WASM_MAX_PAGES)
        return false;
    if (delta == 0)
        return true;
    uint64_t bytes = want * WASM_PAGE;
    if (bytes > SIZE_MAX)
        return false;
    uint8_t *n = env->zalloc(env->ctx, (size_t)bytes);
    if (!n)
        return false;
    if (mem->data) {
        WASM_MEMCPY(n, mem->data, (size_t)mem->size);
        env->free(env->ctx, mem->data, mem->size ? (size_t)mem->size : 1);
    }
    mem->data = n;
    mem->size = bytes;
    mem->pages = (uint32_t)want;
    return true;
}

bool wasm_table_grow(const struct nub_wasm_env *env, struct nub_wasm_table *t, uint32_t delta,
                     uint64_t init, uint32_t limit)
{
    uint64_t want = (uint64_t)t->size + delta;
    uint64_t cap = limit;
    if (t->has_max && t->max < cap)
        cap = t->max;
    if (want > cap)
        return false;
    if (delta == 0)
        return true;
    uint64_t *n = wasm_zalloc(env, (size_t)want, sizeof(uint64_t));
    if (!n)
        return false;
    for (uint32_t i = 0; i < t->size; i++)
        n[i] = t->elems[i];
    for (uint64_t i = t->size; i < want; i++)
        n[i] = init;
    wasm_free(env, t->elems, sizeof(uint64_t) * (t->size ? t->size : 1));
    t->elems = n;
    t->size = (uint32_t)want;
    return true;
}

/* The elements of segment e of inst after evaluation (wasm_inst.c). */
uint64_t *wasm_elem_refs(struct nub_wasm_instance *inst, uint32_t e, uint32_t *n);

enum nub_wasm_status nub_wasm_run(struct nub_wasm_task *t, uint64_t fuel_in)
{
    if (t->state == T_DONE)
        return NUB_WASM_DONE;
    if (t->state == T_TRAPPED)
        return NUB_WASM_TRAPPED;
    if (t->state == T_SUSPENDED)
        return NUB_WASM_SUSPENDED;
    if (t->state != T_READY)
        return NUB_WASM_TRAPPED;
    int64_t fuel = fuel_in == 0 || fuel_in > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)fuel_in;
    int64_t fuel0 = fuel;

    const struct nub_wasm_func *fn = t->fn;
    const uint32_t *ip = t->ip;
    uint64_t *fp = t->fp;
    uint8_t *mem = NULL;
    uint64_t memsize = 0;
    struct nub_wasm_instance *inst = NULL;
    enum nub_wasm_status result;

    if (!fn) {
        /* first run: enter the entry function */
        const struct nub_wasm_func *f = t->entry;
        const struct nub_wasm_functype *ty = f->type;
        if (f->host) {
            enum nub_wasm_status s = f->host(f->host_ctx, t, t->stack, t->hres);
            if (s == NUB_WASM_TRAPPED) {
                t->trap = NUB_WASM_TRAP_HOST;
                t->state = T_TRAPPED;
                return s;
            }
            if (s == NUB_WASM_SUSPENDED) {
                /* resume fills the results; then the task is done */
                t->pending_dest = t->stack;
                t->pending_n = ty->nresults;
                t->state = T_SUSPENDED;
                t->fn = f;
                t->ip = NULL;
                return s;
            }
            for (uint32_t i = 0; i < ty->nresults && i < HOST_RESULTS; i++)
                t->stack[i] = t->hres[i];
            t->state = T_DONE;
            return NUB_WASM_DONE;
        }
        uint32_t off = ty->nparams > ty->nresults ? ty->nparams : ty->nresults;
        if (!enter(t, f, t->stack + off, t->stack, &fp)) {
            t->state = T_TRAPPED;
            return NUB_WASM_TRAPPED;
        }
        t->frames[0] = (struct frame){NULL, NULL, NULL, t->stack};
        t->depth = 1;
        fn = f;
        ip = f->code->code;
    } else if (!ip) {
        /* the entry was a host function that suspended and was resumed */
        t->state = T_DONE;
        return NUB_WASM_DONE;
    }

#define RELOAD()                                                 \
    do {                                                         \
        inst = fn->inst;                                         \
        mem = inst->mem ? inst->mem->data : NULL;                \
        memsize = inst->mem ? inst->mem->size : 0;               \
    } while (0)
    RELOAD();

#define W(k) ip[k]
#define S(k) fp[(int32_t)ip[k]]
#define TRAP(reason)             \
    do {                         \
        t->trap = (reason);      \
        goto trapped;            \
    } while (0)

#if defined(__GNUC__)
#define LBL(n) &&L_##n,
    static const void *const labels[] = {WASM_OPS(LBL)};
#undef LBL
#define DISPATCH() goto *labels[*ip]
#define CASE(n) L_##n:
#define DEFAULT
#else
#define DISPATCH() goto dispatch
#define CASE(n) case OP_##n:
#endif
#define NEXT(n)         \
    do {                \
        ip += (n);      \
        DISPATCH();     \
    } while (0)

#if !defined(__GNUC__)
dispatch:
    switch (*ip) {
#endif
    DISPATCH();

    CASE(UNREACHABLE) TRAP(NUB_WASM_TRAP_UNREACHABLE);
    CASE(FUEL) {
        if (fuel <= 0) {
            result = NUB_WASM_OUT_OF_FUEL;
            goto stop;
        }
        fuel -= (int64_t)W(1);
        NEXT(2);
    }
    CASE(BR) {
        ip = fn->code->code + W(1);
        DISPATCH();
    }
    CASE(BR_IF) {
        if ((uint32_t)S(1)) {
            ip = fn->code->code + W(2);
            DISPATCH();
        }
        NEXT(3);
    }
    CASE(BR_UNLESS) {
        if (!(uint32_t)S(1)) {
            ip = fn->code->code + W(2);
            DISPATCH();
        }
        NEXT(3);
    }
#define BRCMP(name, ty, op)                      \
    CASE(name) {                                 \
        if ((ty)S(1) op(ty) S(2)) {              \
            ip = fn->code->code + W(3);          \
            DISPATCH();                          \
        }                                        \
        NEXT(4);                                 \
    }
    BRCMP(BR_I32_EQ, uint32_t, ==)
    BRCMP(BR_I32_NE, uint32_t, !=)
    BRCMP(BR_I32_LT_S, int32_t, <)
    BRCMP(BR_I32_LT_U, uint32_t, <)
    BRCMP(BR_I32_GT_S, int32_t, >)
    BRCMP(BR_I32_GT_U, uint32_t, >)
    BRCMP(BR_I32_LE_S, int32_t, <=)
    BRCMP(BR_I32_LE_U, uint32_t, <=)
    BRCMP(BR_I32_GE_S, int32_t, >=)
    BRCMP(BR_I32_GE_U, uint32_t, >=)
    CASE(BR_TABLE) {
        uint32_t i = (uint32_t)S(1), n = W(2);
        if (i > n)
            i = n;
        ip = fn->code->code + W(3 + i);
        DISPATCH();
    }
    CASE(RETURN) {
        struct frame *f = &t->frames[--t->depth];
        uint32_t nr = fn->type->nresults;
        const uint64_t *src = &S(1);
        for (uint32_t i = 0; i < nr; i++)
            f->dest[i] = src[i];
        if (!f->fn) {
            result = NUB_WASM_DONE;
            t->state = T_DONE;
            goto out;
        }
        fn = f->fn;
        ip = f->ip;
        fp = f->fp;
        if (fn->inst != inst) /* the caches hold the same instance otherwise */
            RELOAD();
        DISPATCH();
    }
    CASE(CALL) {
        const struct nub_wasm_func *callee = inst->funcs[W(1)];
        uint64_t *args = &S(2);
        ip += 3;
        goto do_call;
    do_call:
        if (callee->host) {
            const struct nub_wasm_functype *ty = callee->type;
            enum nub_wasm_status s = callee->host(callee->host_ctx, t, args, t->hres);
            if (s == NUB_WASM_TRAPPED)
                TRAP(NUB_WASM_TRAP_HOST);
            if (s == NUB_WASM_SUSPENDED) {
                t->pending_dest = args;
                t->pending_n = ty->nresults;
                result = NUB_WASM_SUSPENDED;
                t->state = T_SUSPENDED;
                goto save;
            }
            for (uint32_t i = 0; i < ty->nresults; i++)
                args[i] = t->hres[i];
            RELOAD(); /* the host may have grown memory */
            DISPATCH();
        }
        if (t->depth > t->lim.call_depth)
            TRAP(NUB_WASM_TRAP_STACK_EXHAUSTED);
        uint64_t *nfp;
        if (!enter(t, callee, fp + fn->code->frame, args, &nfp))
            goto trapped;
        t->frames[t->depth++] = (struct frame){fn, ip, fp, args};
        fn = callee;
        fp = nfp;
        ip = callee->code->code;
        if (fn->inst != inst)
            RELOAD();
        DISPATCH();
    }
    CASE(CALL_INDIRECT) {
        const struct nub_wasm_table *tab = inst->tables[W(2)];
        uint32_t i = (uint32_t)S(3);
        if (i >= tab->size)
            TRAP(NUB_WASM_TRAP_UNDEFINED_ELEMENT);
        const struct nub_wasm_func *callee = (const struct nub_wasm_func *)(uintptr_t)tab->elems[i];
        if (!callee)
            TRAP(NUB_WASM_TRAP_UNINITIALIZED);
        const struct nub_wasm_module *m = inst->m;
        const struct nub_wasm_functype *want = &m->types[m->type_canon[W(1)]];
        if (callee->type != want && !wasm_types_equal(callee->type, want))
            TRAP(NUB_WASM_TRAP_INDIRECT_TYPE);
        uint64_t *args = &S(4);
        ip += 5;
        {
            /* share the call path */
            const struct nub_wasm_func *c2 = callee;
            if (c2->host) {
                const struct nub_wasm_functype *ty = c2->type;
                enum nub_wasm_status s = c2->host(c2->host_ctx, t, args, t->hres);
                if (s == NUB_WASM_TRAPPED)
                    TRAP(NUB_WASM_TRAP_HOST);
                if (s == NUB_WASM_SUSPENDED) {
                    t->pending_dest = args;
                    t->pending_n = ty->nresults;
                    result = NUB_WASM_SUSPENDED;
                    t->state = T_SUSPENDED;
                    goto save;
                }
                for (uint32_t k = 0; k < ty->nresults; k++)
                    args[k] = t->hres[k];
                RELOAD();
                DISPATCH();
            }
            if (t->depth > t->lim.call_depth)
                TRAP(NUB_WASM_TRAP_STACK_EXHAUSTED);
            uint64_t *nfp;
            if (!enter(t, c2, fp + fn->code->frame, args, &nfp))
                goto trapped;
            t->frames[t->depth++] = (struct frame){fn, ip, fp, args};
            fn = c2;
            fp = nfp;
            ip = c2->code->code;
            if (fn->inst != inst)
                RELOAD();
            DISPATCH();
        }
    }
    CASE(COPY) {
        S(1) = S(2);
        NEXT(3);
    }
    CASE(SELECT) {
        S(1) = (uint32_t)S(4) ? S(2) : S(3);
        NEXT(5);
    }
    CASE(GLOBAL_GET) {
        S(1) = inst->globals[W(2)]->val;
        NEXT(3);
    }
    CASE(GLOBAL_SET) {
        inst->globals[W(1)]->val = S(2);
        NEXT(3);
    }

#define LOAD(name, N, ty, conv)                                  \
    CASE(name) {                                                 \
        uint64_t ea = (uint64_t)(uint32_t)S(2) + W(3);           \
        if (ea + (N) > memsize)                                  \
            TRAP(NUB_WASM_TRAP_OOB_MEMORY);                      \
        ty v;                                                    \
        WASM_MEMCPY(&v, mem + ea, (N));                          \
        S(1) = conv;                                             \
        NEXT(4);                                                 \
    }
    LOAD(I32_LOAD, 4, uint32_t, v)
    LOAD(I64_LOAD, 8, uint64_t, v)
    LOAD(I32_LOAD8_S, 1, int8_t, (uint32_t)(int32_t)v)
    LOAD(I32_LOAD8_U, 1, uint8_t, v)
    LOAD(I32_LOAD16_S, 2, int16_t, (uint32_t)(int32_t)v)
    LOAD(I32_LOAD16_U, 2, uint16_t, v)
    LOAD(I64_LOAD8_S, 1, int8_t, (uint64_t)(int64_t)v)
    LOAD(I64_LOAD8_U, 1, uint8_t, v)
    LOAD(I64_LOAD16_S, 2, int16_t, (uint64_t)(int64_t)v)
    LOAD(I64_LOAD16_U, 2, uint16_t, v)
    LOAD(I64_LOAD32_S, 4, int32_t, (uint64_t)(int64_t)v)
    LOAD(I64_LOAD32_U, 4, uint32_t, v)
#define STORE(name, N, ty)                                       \
    CASE(name) {                                                 \
        uint64_t ea = (uint64_t)(uint32_t)S(1) + W(3);           \
        if (ea + (N) > memsize)                                  \
            TRAP(NUB_WASM_TRAP_OOB_MEMORY);                      \
        ty v = (ty)S(2);                                         \
        WASM_MEMCPY(mem + ea, &v, (N));                          \
        NEXT(4);                                                 \
    }
    STORE(I32_STORE, 4, uint32_t)
    STORE(I64_STORE, 8, uint64_t)
    STORE(STORE8, 1, uint8_t)
    STORE(STORE16, 2, uint16_t)
    CASE(MEMORY_SIZE) {
        S(1) = inst->mem->pages;
        NEXT(2);
    }
    CASE(MEMORY_GROW) {
        uint32_t old = inst->mem->pages;
        if (wasm_memory_grow(&inst->env, inst->mem, (uint32_t)S(2)))
            S(1) = old;
        else
            S(1) = 0xffffffffu;
        RELOAD();
        NEXT(3);
    }
    CASE(MEMORY_INIT) {
        uint32_t seg = W(1);
        uint64_t d = (uint32_t)S(2), s = (uint32_t)S(3), n = (uint32_t)S(4);
        const struct wasm_data *ds = &inst->m->data[seg];
        uint64_t len = inst->data_dropped[seg] ? 0 : ds->len;
        if (s + n > len || d + n > memsize)
            TRAP(NUB_WASM_TRAP_OOB_MEMORY);
        if (n)
            WASM_MEMMOVE(mem + d, inst->m->bytes + ds->off + s, (size_t)n);
        NEXT(5);
    }
    CASE(DATA_DROP) {
        inst->data_dropped[W(1)] = 1;
        NEXT(2);
    }
    CASE(MEMORY_COPY) {
        uint64_t d = (uint32_t)S(1), s = (uint32_t)S(2), n = (uint32_t)S(3);
        if (s + n > memsize || d + n > memsize)
            TRAP(NUB_WASM_TRAP_OOB_MEMORY);
        if (n)
            WASM_MEMMOVE(mem + d, mem + s, (size_t)n);
        NEXT(4);
    }
    CASE(MEMORY_FILL) {
        uint64_t d = (uint32_t)S(1), n = (uint32_t)S(3);
        if (d + n > memsize)
            TRAP(NUB_WASM_TRAP_OOB_MEMORY);
        if (n)
            WASM_MEMSET(mem + d, (int)(uint8_t)S(2), (size_t)n);
        NEXT(4);
    }
    CASE(REF_IS_NULL) {
        S(1) = S(2) == 0;
        NEXT(3);
    }
    CASE(REF_FUNC) {
        S(1) = (uint64_t)(uintptr_t)inst->funcs[W(2)];
        NEXT(3);
    }
    CASE(TABLE_GET) {
        struct nub_wasm_table *tab = inst->tables[W(2)];
        uint32_t i = (uint32_t)S(3);
        if (i >= tab->size)
            TRAP(NUB_WASM_TRAP_OOB_TABLE);
        S(1) = tab->elems[i];
        NEXT(4);
    }
    CASE(TABLE_SET) {
        struct nub_wasm_table *tab = inst->tables[W(1)];
        uint32_t i = (uint32_t)S(2);
        if (i >= tab->size)
            TRAP(NUB_WASM_TRAP_OOB_TABLE);
        tab->elems[i] = S(3);
        NEXT(4);
    }
    CASE(TABLE_SIZE) {
        S(1) = inst->tables[W(2)]->size;
        NEXT(3);
    }
    CASE(TABLE_GROW) {
        struct nub_wasm_table *tab = inst->tables[W(2)];
        uint32_t old = tab->size;
        if (wasm_table_grow(&inst->env, tab, (uint32_t)S(4), S(3), inst->m->lim.max_table))
            S(1) = old;
        else
            S(1) = 0xffffffffu;
        NEXT(5);
    }
    CASE(TABLE_FILL) {
        struct nub_wasm_table *tab = inst->tables[W(1)];
        uint64_t i = (uint32_t)S(2), n = (uint32_t)S(4);
        if (i + n > tab->size)
            TRAP(NUB_WASM_TRAP_OOB_TABLE);
        for (uint64_t k = 0; k < n; k++)
            tab->elems[i + k] = S(3);
        NEXT(5);
    }
    CASE(TABLE_COPY) {
        struct nub_wasm_table *dt = inst->tables[W(1)], *st = inst->tables[W(2)];
        uint64_t d = (uint32_t)S(3), s = (uint32_t)S(4), n = (uint32_t)S(5);
        if (s + n > st->size || d + n > dt->size)
            TRAP(NUB_WASM_TRAP_OOB_TABLE);
        if (n)
            WASM_MEMMOVE(dt->elems + d, st->elems + s, (size_t)n * sizeof(uint64_t));
        NEXT(6);
    }
    CASE(TABLE_INIT) {
        struct nub_wasm_table *tab = inst->tables[W(1)];
        uint32_t cnt;
        uint64_t *refs = wasm_elem_refs(inst, W(2), &cnt);
        uint64_t d = (uint32_t)S(3), s = (uint32_t)S(4), n = (uint32_t)S(5);
        if (s + n > cnt || d + n > tab->size)
            TRAP(NUB_WASM_TRAP_OOB_TABLE);
        for (uint64_t k = 0; k < n; k++)
            tab->elems[d + k] = refs[s + k];
        NEXT(6);
    }
    CASE(ELEM_DROP) {
        inst->elem_dropped[W(1)] = 1;
        NEXT(2);
    }

    /* ---- numeric ---- */
#define U32(k) ((uint32_t)S(k))
#define I32(k) ((int32_t)(uint32_t)S(k))
#define U64(k) (S(k))
#define I64(k) ((int64_t)S(k))
#define OUT32(v) (S(1) = (uint32_t)(v))
#define OUT64(v) (S(1) = (uint64_t)(v))
#define UN32(name, expr)                 \
    CASE(name) {                         \
        uint32_t a = U32(2);             \
        OUT32(expr);                     \
        NEXT(3);                         \
    }
#define BIN32(name, expr)                \
    CASE(name) {                         \
        uint32_t a = U32(2), b = U32(3); \
        OUT32(expr);                     \
        NEXT(4);                         \
    }
#define UN64(name, expr)                 \
    CASE(name) {                         \
        uint64_t a = U64(2);             \
        OUT64(expr);                     \
        NEXT(3);                         \
    }
#define BIN64(name, expr)                \
    CASE(name) {                         \
        uint64_t a = U64(2), b = U64(3); \
        OUT64(expr);                     \
        NEXT(4);                         \
    }
#define CMP64(name, expr)                \
    CASE(name) {                         \
        uint64_t a = U64(2), b = U64(3); \
        OUT32(expr);                     \
        NEXT(4);                         \
    }
    UN32(I32_EQZ, a == 0)
    BIN32(I32_EQ, a == b)
    BIN32(I32_NE, a != b)
    BIN32(I32_LT_S, (int32_t)a < (int32_t)b)
    BIN32(I32_LT_U, a < b)
    BIN32(I32_GT_S, (int32_t)a > (int32_t)b)
    BIN32(I32_GT_U, a > b)
    BIN32(I32_LE_S, (int32_t)a <= (int32_t)b)
    BIN32(I32_LE_U, a <= b)
    BIN32(I32_GE_S, (int32_t)a >= (int32_t)b)
    BIN32(I32_GE_U, a >= b)
    CASE(I64_EQZ) {
        OUT32(U64(2) == 0);
        NEXT(3);
    }
    CMP64(I64_EQ, a == b)
    CMP64(I64_NE, a != b)
    CMP64(I64_LT_S, (int64_t)a < (int64_t)b)
    CMP64(I64_LT_U, a < b)
    CMP64(I64_GT_S, (int64_t)a > (int64_t)b)
    CMP64(I64_GT_U, a > b)
    CMP64(I64_LE_S, (int64_t)a <= (int64_t)b)
    CMP64(I64_LE_U, a <= b)
    CMP64(I64_GE_S, (int64_t)a >= (int64_t)b)
    CMP64(I64_GE_U, a >= b)
    BIN32(F32_EQ, nub_f32_eq(a, b))
    BIN32(F32_NE, !nub_f32_eq(a, b))
    BIN32(F32_LT, nub_f32_lt(a, b))
    BIN32(F32_GT, nub_f32_lt(b, a))
    BIN32(F32_LE, nub_f32_le(a, b))
    BIN32(F32_GE, nub_f32_le(b, a))
    CMP64(F64_EQ, nub_f64_eq(a, b))
    CMP64(F64_NE, !nub_f64_eq(a, b))
    CMP64(F64_LT, nub_f64_lt(a, b))
    CMP64(F64_GT, nub_f64_lt(b, a))
    CMP64(F64_LE, nub_f64_le(a, b))
    CMP64(F64_GE, nub_f64_le(b, a))
    UN32(I32_CLZ, a ? (uint32_t)__builtin_clz(a) : 32u)
    UN32(I32_CTZ, a ? (uint32_t)__builtin_ctz(a) : 32u)
    UN32(I32_POPCNT, popcnt64(a))
    BIN32(I32_ADD, a + b)
    BIN32(I32_SUB, a - b)
    BIN32(I32_MUL, a * b)
    CASE(I32_DIV_S) {
        int32_t a = I32(2), b = I32(3);
        if (b == 0)
            TRAP(NUB_WASM_TRAP_DIV_ZERO);
        if (a == INT32_MIN && b == -1)
            TRAP(NUB_WASM_TRAP_INT_OVERFLOW);
        OUT32(a / b);
        NEXT(4);
    }
    CASE(I32_DIV_U) {
        uint32_t a = U32(2), b = U32(3);
        if (b == 0)
            TRAP(NUB_WASM_TRAP_DIV_ZERO);
        OUT32(a / b);
        NEXT(4);
    }
    CASE(I32_REM_S) {
        int32_t a = I32(2), b = I32(3);
        if (b == 0)
            TRAP(NUB_WASM_TRAP_DIV_ZERO);
        OUT32(b == -1 ? 0 : a % b);
        NEXT(4);
    }
    CASE(I32_REM_U) {
        uint32_t a = U32(2), b = U32(3);
        if (b == 0)
            TRAP(NUB_WASM_TRAP_DIV_ZERO);
        OUT32(a % b);
        NEXT(4);
    }
    BIN32(I32_AND, a & b)
    BIN32(I32_OR, a | b)
    BIN32(I32_XOR, a ^ b)
    BIN32(I32_SHL, a << (b & 31))
    BIN32(I32_SHR_S, (uint32_t)((int32_t)a >> (b & 31)))
    BIN32(I32_SHR_U, a >> (b & 31))
    BIN32(I32_ROTL, (a << (b & 31)) | (a >> ((32 - (b & 31)) & 31)))
    BIN32(I32_ROTR, (a >> (b & 31)) | (a << ((32 - (b & 31)) & 31)))
    UN64(I64_CLZ, a ? (uint64_t)__builtin_clzll(a) : 64u)
    UN64(I64_CTZ, a ? (uint64_t)__builtin_ctzll(a) : 64u)
    UN64(I64_POPCNT, popcnt64(a))
    BIN64(I64_ADD, a + b)
    BIN64(I64_SUB, a - b)
    BIN64(I64_MUL, a * b)
    CASE(I64_DIV_S) {
        int64_t a = I64(2), b = I64(3);
        if (b == 0)
            TRAP(NUB_WASM_TRAP_DIV_ZERO);
        if (a == INT64_MIN && b == -1)
            TRAP(NUB_WASM_TRAP_INT_OVERFLOW);
        OUT64(a / b);
        NEXT(4);
    }
    CASE(I64_DIV_U) {
        uint64_t a = U64(2), b = U64(3);
        if (b == 0)
            TRAP(NUB_WASM_TRAP_DIV_ZERO);
        OUT64(a / b);
        NEXT(4);
    }
    CASE(I64_REM_S) {
        int64_t a = I64(2), b = I64(3);
        if (b == 0)
            TRAP(NUB_WASM_TRAP_DIV_ZERO);
        OUT64(b == -1 ? 0 : a % b);
        NEXT(4);
    }
    CASE(I64_REM_U) {
        uint64_t a = U64(2), b = U64(3);
        if (b == 0)
            TRAP(NUB_WASM_TRAP_DIV_ZERO);
        OUT64(a % b);
        NEXT(4);
    }
    BIN64(I64_AND, a & b)
    BIN64(I64_OR, a | b)
    BIN64(I64_XOR, a ^ b)
    BIN64(I64_SHL, a << (b & 63))
    BIN64(I64_SHR_S, (uint64_t)((int64_t)a >> (b & 63)))
    BIN64(I64_SHR_U, a >> (b & 63))
    BIN64(I64_ROTL, (a << (b & 63)) | (a >> ((64 - (b & 63)) & 63)))
    BIN64(I64_ROTR, (a >> (b & 63)) | (a << ((64 - (b & 63)) & 63)))
    UN32(F32_ABS, a & 0x7fffffffu)
    UN32(F32_NEG, a ^ 0x80000000u)
    UN32(F32_CEIL, nub_f32_ceil(a))
    UN32(F32_FLOOR, nub_f32_floor(a))
    UN32(F32_TRUNC, nub_f32_trunc(a))
    UN32(F32_NEAREST, nub_f32_nearest(a))
    UN32(F32_SQRT, nub_f32_sqrt(a))
    BIN32(F32_ADD, nub_f32_add(a, b))
    BIN32(F32_SUB, nub_f32_sub(a, b))
    BIN32(F32_MUL, nub_f32_mul(a, b))
    BIN32(F32_DIV, nub_f32_div(a, b))
    BIN32(F32_MIN, nub_f32_min(a, b))
    BIN32(F32_MAX, nub_f32_max(a, b))
    BIN32(F32_COPYSIGN, (a & 0x7fffffffu) | (b & 0x80000000u))
    UN64(F64_ABS, a & 0x7fffffffffffffffull)
    UN64(F64_NEG, a ^ 0x8000000000000000ull)
    UN64(F64_CEIL, nub_f64_ceil(a))
    UN64(F64_FLOOR, nub_f64_floor(a))
    UN64(F64_TRUNC, nub_f64_trunc(a))
    UN64(F64_NEAREST, nub_f64_nearest(a))
    UN64(F64_SQRT, nub_f64_sqrt(a))
    BIN64(F64_ADD, nub_f64_add(a, b))
    BIN64(F64_SUB, nub_f64_sub(a, b))
    BIN64(F64_MUL, nub_f64_mul(a, b))
    BIN64(F64_DIV, nub_f64_div(a, b))
    BIN64(F64_MIN, nub_f64_min(a, b))
    BIN64(F64_MAX, nub_f64_max(a, b))
    BIN64(F64_COPYSIGN, (a & 0x7fffffffffffffffull) | (b & 0x8000000000000000ull))
    UN64(I32_WRAP_I64, (uint32_t)a)
#define TRUNC(name, fty, isnan, fn, oty, OUT)            \
    CASE(name) {                                         \
        fty a = (fty)S(2);                               \
        oty v;                                           \
        if (!fn(a, &v)) {                                \
            if (isnan(a))                                \
                TRAP(NUB_WASM_TRAP_INVALID_CONVERSION);  \
            TRAP(NUB_WASM_TRAP_INT_OVERFLOW);            \
        }                                                \
        OUT(v);                                          \
        NEXT(3);                                         \
    }
    TRUNC(I32_TRUNC_F32_S, uint32_t, f32_isnan, nub_f32_to_i32, int32_t, OUT32)
    TRUNC(I32_TRUNC_F32_U, uint32_t, f32_isnan, nub_f32_to_u32, uint32_t, OUT32)
    TRUNC(I32_TRUNC_F64_S, uint64_t, f64_isnan, nub_f64_to_i32, int32_t, OUT32)
    TRUNC(I32_TRUNC_F64_U, uint64_t, f64_isnan, nub_f64_to_u32, uint32_t, OUT32)
    UN64(I64_EXTEND_I32_S, (uint64_t)(int64_t)(int32_t)(uint32_t)a)
    UN64(I64_EXTEND_I32_U, (uint32_t)a)
    TRUNC(I64_TRUNC_F32_S, uint32_t, f32_isnan, nub_f32_to_i64, int64_t, OUT64)
    TRUNC(I64_TRUNC_F32_U, uint32_t, f32_isnan, nub_f32_to_u64, uint64_t, OUT64)
    TRUNC(I64_TRUNC_F64_S, uint64_t, f64_isnan, nub_f64_to_i64, int64_t, OUT64)
    TRUNC(I64_TRUNC_F64_U, uint64_t, f64_isnan, nub_f64_to_u64, uint64_t, OUT64)
    UN32(F32_CONVERT_I32_S, nub_f32_from_i32((int32_t)a))
    UN32(F32_CONVERT_I32_U, nub_f32_from_u32(a))
    UN64(F32_CONVERT_I64_S, nub_f32_from_i64((int64_t)a))
    UN64(F32_CONVERT_I64_U, nub_f32_from_u64(a))
    UN64(F32_DEMOTE_F64, nub_f32_demote(a))
    UN64(F64_CONVERT_I32_S, nub_f64_from_i32((int32_t)(uint32_t)a))
    UN64(F64_CONVERT_I32_U, nub_f64_from_u32((uint32_t)a))
    UN64(F64_CONVERT_I64_S, nub_f64_from_i64((int64_t)a))
    UN64(F64_CONVERT_I64_U, nub_f64_from_u64(a))
    UN64(F64_PROMOTE_F32, nub_f64_promote((uint32_t)a))
    CASE(REINTERPRET) NEXT(3);
    UN32(I32_EXTEND8_S, (uint32_t)(int32_t)(int8_t)a)
    UN32(I32_EXTEND16_S, (uint32_t)(int32_t)(int16_t)a)
    UN64(I64_EXTEND8_S, (uint64_t)(int64_t)(int8_t)a)
    UN64(I64_EXTEND16_S, (uint64_t)(int64_t)(int16_t)a)
    UN64(I64_EXTEND32_S, (uint64_t)(int64_t)(int32_t)a)
    UN32(I32_TRUNC_SAT_F32_S, (uint32_t)nub_f32_to_i32_sat(a))
    UN32(I32_TRUNC_SAT_F32_U, nub_f32_to_u32_sat(a))
    UN64(I32_TRUNC_SAT_F64_S, (uint32_t)nub_f64_to_i32_sat(a))
    UN64(I32_TRUNC_SAT_F64_U, nub_f64_to_u32_sat(a))
    UN64(I64_TRUNC_SAT_F32_S, (uint64_t)nub_f32_to_i64_sat((uint32_t)a))
    UN64(I64_TRUNC_SAT_F32_U, nub_f32_to_u64_sat((uint32_t)a))
    UN64(I64_TRUNC_SAT_F64_S, (uint64_t)nub_f64_to_i64_sat(a))
    UN64(I64_TRUNC_SAT_F64_U, nub_f64_to_u64_sat(a))
#if !defined(__GNUC__)
    default:
        TRAP(NUB_WASM_TRAP_UNREACHABLE);
    }
#endif

trapped:
    result = NUB_WASM_TRAPPED;
    t->state = T_TRAPPED;
    goto out;
stop:
    t->state = T_READY;
save:
    t->fn = fn;
    t->ip = ip;
    t->fp = fp;
out:
    t->fuel_used += (uint64_t)(fuel0 - fuel);
    return result;
}
