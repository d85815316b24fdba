/* nubwasm: instantiation (imports checked against the module's types,
 * tables, memory and globals made, element and data segments applied in
 * order, the start function run), exports, and the embedder's own
 * functions, tables, memories and globals. */
#include "wasm_internal.h"

struct elem_rt {
    uint64_t *refs;
    uint32_t n;
};

/* The instance's private tail: evaluated element segments. */
struct inst_full {
    struct nub_wasm_instance pub;
    struct elem_rt *elems;
};

uint64_t *wasm_elem_refs(struct nub_wasm_instance *inst, uint32_t e, uint32_t *n)
{
    struct inst_full *f = (struct inst_full *)inst;
    *n = inst->elem_dropped[e] ? 0 : f->elems[e].n;
    return f->elems[e].refs;
}

struct nub_wasm_func *nub_wasm_host_func(const struct nub_wasm_env *env,
                                         const struct nub_wasm_functype *type,
                                         nub_wasm_host_fn fn, void *ctx)
{
    if (type->nresults > 16)
        return NULL;
    size_t extra = (size_t)type->nparams + type->nresults;
    struct nub_wasm_func *f = env->zalloc(env->ctx, sizeof *f + extra);
    if (!f)
        return NULL;
    for (uint32_t i = 0; i < type->nparams; i++)
        f->own_types[i] = type->params[i];
    for (uint32_t i = 0; i < type->nresults; i++)
        f->own_types[type->nparams + i] = type->results[i];
    f->own_type = (struct nub_wasm_functype){type->nparams, type->nresults, f->own_types,
                                             f->own_types + type->nparams};
    f->type = &f->own_type;
    f->host = fn;
    f->host_ctx = ctx;
    return f;
}

void nub_wasm_host_func_free(const struct nub_wasm_env *env, struct nub_wasm_func *f)
{
    if (f)
        env->free(env->ctx, f, sizeof *f + f->own_type.nparams + f->own_type.nresults);
}

const struct nub_wasm_functype *nub_wasm_func_type(const struct nub_wasm_func *f)
{
    return f->type;
}

struct nub_wasm_table *nub_wasm_table_new(const struct nub_wasm_env *env, uint8_t reftype,
                                          uint32_t min, uint32_t max, bool has_max)
{
    struct nub_wasm_table *t = wasm_zalloc(env, 1, sizeof *t);
    if (!t)
        return NULL;
    t->type = reftype;
    t->max = max;
    t->has_max = has_max;
    t->elems = wasm_zalloc(env, min ? min : 1, sizeof(uint64_t));
    if (!t->elems) {
        wasm_free(env, t, sizeof *t);
        return NULL;
    }
    t->size = min;
    return t;
}

void nub_wasm_table_free(const struct nub_wasm_env *env, struct nub_wasm_table *t)
{
    if (!t)
        return;
    wasm_free(env, t->elems, sizeof(uint64_t) * (t->size ? t->size : 1));
    wasm_free(env, t, sizeof *t);
}

struct nub_wasm_memory *nub_wasm_memory_new(const struct nub_wasm_env *env, uint32_t min,
                                            uint32_t max, bool has_max)
{
    struct nub_wasm_memory *m = wasm_zalloc(env, 1, sizeof *m);
    if (!m)
        return NULL;
    m->max = max;
    m->has_max = has_max;
    m->limit = WASM_MAX_PAGES;
    if (!wasm_memory_grow(env, m, min)) {
        wasm_free(env, m, sizeof *m);
        return NULL;
    }
    return m;
}

void nub_wasm_memory_free(const struct nub_wasm_env *env, struct nub_wasm_memory *m)
{
    if (!m)
        return;
    if (m->data)
        env->free(env->ctx, m->data, (size_t)m->size);
    wasm_free(env, m, sizeof *m);
}

uint8_t *nub_wasm_memory_data(const struct nub_wasm_memory *m, uint64_t *size)
{
    *size = m->size;
    return m->data;
}

struct nub_wasm_global *nub_wasm_global_new(const struct nub_wasm_env *env, uint8_t type,
                                            bool mut, uint64_t value)
{
    struct nub_wasm_global *g = wasm_zalloc(env, 1, sizeof *g);
    if (g) {
        g->type = type;
        g->mut = mut;
        g->val = value;
    }
    return g;
}

void nub_wasm_global_free(const struct nub_wasm_env *env, struct nub_wasm_global *g)
{
    wasm_free(env, g, sizeof *g);
}

uint64_t nub_wasm_global_value(const struct nub_wasm_global *g)
{
    return g->val;
}

/* Imported limits must lie within the module's. */
static bool limits_ok(uint64_t size, bool has_max, uint32_t max, const struct wasm_limits_t *want)
{
    if (size < want->min)
        return false;
    if (want->has_max && (!has_max || max > want->max))
        return false;
    return true;
}

static uint64_t cexpr_value(const struct nub_wasm_instance *inst, const struct wasm_cexpr *ce)
{
    switch (ce->kind) {
    case CE_FUNC:
        return (uint64_t)(uintptr_t)inst->funcs[ce->val];
    case CE_GLOBAL:
        return inst->globals[ce->val]->val;
    case CE_NULL:
        return 0;
    default:
        return ce->val;
    }
}

void nub_wasm_instance_free(struct nub_wasm_instance *inst)
{
    if (!inst)
        return;
    const struct nub_wasm_module *m = inst->m;
    struct nub_wasm_env env = inst->env;
    struct inst_full *full = (struct inst_full *)inst;
    if (full->elems)
        for (uint32_t i = 0; i < m->nelems; i++)
            wasm_free(&env, full->elems[i].refs, sizeof(uint64_t) * full->elems[i].n);
    wasm_free(&env, full->elems, sizeof(struct elem_rt) * m->nelems);
    if (inst->tables)
        for (uint32_t i = m->ntable_imports; i < m->ntables; i++)
            nub_wasm_table_free(&env, inst->tables[i]);
    if (inst->globals)
        for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++)
            nub_wasm_global_free(&env, inst->globals[i]);
    if (inst->own_mem)
        nub_wasm_memory_free(&env, inst->mem);
    wasm_free(&env, inst->tables, sizeof(void *) * m->ntables);
    wasm_free(&env, inst->globals, sizeof(void *) * m->nglobals);
    wasm_free(&env, inst->funcs, sizeof(void *) * m->nfuncs);
    wasm_free(&env, inst->own_funcs, sizeof(struct nub_wasm_func) * (m->nfuncs - m->nfunc_imports));
    wasm_free(&env, inst->elem_dropped, m->nelems);
    wasm_free(&env, inst->data_dropped, m->ndata);
    wasm_free(&env, full, sizeof *full);
}

static enum nub_wasm_err link_imports(struct nub_wasm_instance *inst,
                                      const struct nub_wasm_extern *imports, uint32_t nimports,
                                      const char **msg)
{
    const struct nub_wasm_module *m = inst->m;
    if (nimports < m->nimports) {
        *msg = "unknown import";
        return NUB_WASM_E_UNLINKABLE;
    }
    for (uint32_t i = 0; i < m->nimports; i++) {
        const struct wasm_import *im = &m->imports[i];
        const struct nub_wasm_extern *ex = &imports[i];
        *msg = "incompatible import type";
        if ((uint8_t)ex->kind != im->kind || !ex->u.func)
            return NUB_WASM_E_UNLINKABLE;
        switch (im->kind) {
        case NUB_WASM_KFUNC:
            if (!wasm_types_equal(ex->u.func->type, &m->types[im->typeidx]))
                return NUB_WASM_E_UNLINKABLE;
            inst->funcs[im->index] = ex->u.func;
            break;
        case NUB_WASM_KTABLE: {
            const struct nub_wasm_table *t = ex->u.table;
            if (t->type != im->type || !limits_ok(t->size, t->has_max, t->max, &im->lim))
                return NUB_WASM_E_UNLINKABLE;
            inst->tables[im->index] = ex->u.table;
            break;
        }
        case NUB_WASM_KMEMORY: {
            const struct nub_wasm_memory *mm = ex->u.memory;
            if (!limits_ok(mm->pages, mm->has_max, mm->max, &im->lim))
                return NUB_WASM_E_UNLINKABLE;
            inst->mem = ex->u.memory;
            break;
        }
        case NUB_WASM_KGLOBAL:
            if (ex->u.global->type != im->type || ex->u.global->mut != im->mut)
                return NUB_WASM_E_UNLINKABLE;
            inst->globals[im->index] = ex->u.global;
            break;
        }
    }
    *msg = NULL;
    return NUB_WASM_E_OK;
}

enum nub_wasm_err nub_wasm_instantiate(const struct nub_wasm_module *m,
                                       const struct nub_wasm_extern *imports, uint32_t nimports,
                                       uint64_t start_fuel,
                                       struct nub_wasm_instance **out, const char **msg)
{
    const struct nub_wasm_env *env = &m->env;
    const char *dummy;
    if (!msg)
        msg = &dummy;
    *out = NULL;
    *msg = NULL;
    struct inst_full *full = wasm_zalloc(env, 1, sizeof *full);
    if (!full) {
        *msg = "out of memory";
        return NUB_WASM_E_NOMEM;
    }
    struct nub_wasm_instance *inst = &full->pub;
    inst->m = m;
    inst->env = *env;
    uint32_t nown = m->nfuncs - m->nfunc_imports;
    inst->funcs = wasm_zalloc(env, m->nfuncs, sizeof(void *));
    inst->own_funcs = wasm_zalloc(env, nown, sizeof(struct nub_wasm_func));
    inst->tables = wasm_zalloc(env, m->ntables, sizeof(void *));
    inst->globals = wasm_zalloc(env, m->nglobals, sizeof(void *));
    inst->elem_dropped = wasm_zalloc(env, m->nelems, 1);
    inst->data_dropped = wasm_zalloc(env, m->ndata, 1);
    full->elems = wasm_zalloc(env, m->nelems, sizeof(struct elem_rt));
    enum nub_wasm_err err = NUB_WASM_E_OK;
    if (!inst->funcs || !inst->own_funcs || !inst->tables || !inst->globals ||
        !inst->elem_dropped || !inst->data_dropped || !full->elems) {
        *msg = "out of memory";
        err = NUB_WASM_E_NOMEM;
        goto fail;
    }
    err = link_imports(inst, imports, nimports, msg);
    if (err)
        goto fail;
    for (uint32_t i = 0; i < nown; i++) {
        struct nub_wasm_func *f = &inst->own_funcs[i];
        uint32_t ti = m->func_type[m->nfunc_imports + i];
        f->type = &m->types[m->type_canon[ti]];
        f->inst = inst;
        f->code = &m->codes[i];
        inst->funcs[m->nfunc_imports + i] = f;
    }
    for (uint32_t i = m->ntable_imports; i < m->ntables; i++) {
        const struct wasm_tabledef *td = &m->tables[i];
        if (td->lim.min > m->lim.max_table) {
            *msg = "table over the limit";
            err = NUB_WASM_E_LIMIT;
            goto fail;
        }
        inst->tables[i] = nub_wasm_table_new(env, td->type, td->lim.min, td->lim.max,
                                             td->lim.has_max);
        if (!inst->tables[i]) {
            *msg = "out of memory";
            err = NUB_WASM_E_NOMEM;
            goto fail;
        }
    }
    if (m->nmems > m->nmem_imports) {
        if (m->mem.min > m->lim.max_pages) {
            *msg = "memory over the limit";
            err = NUB_WASM_E_LIMIT;
            goto fail;
        }
        inst->mem = nub_wasm_memory_new(env, m->mem.min, m->mem.max, m->mem.has_max);
        if (!inst->mem) {
            *msg = "out of memory";
            err = NUB_WASM_E_NOMEM;
            goto fail;
        }
        inst->own_mem = true;
        inst->mem->limit = m->lim.max_pages;
    }
    for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++) {
        const struct wasm_globaldef *gd = &m->globals[i];
        inst->globals[i] = nub_wasm_global_new(env, gd->type, gd->mut, 0);
        if (!inst->globals[i]) {
            *msg = "out of memory";
            err = NUB_WASM_E_NOMEM;
            goto fail;
        }
        inst->globals[i]->val = cexpr_value(inst, &gd->init);
    }
    for (uint32_t i = 0; i < m->nelems; i++) {
        const struct wasm_elem *e = &m->elems[i];
        full->elems[i].refs = wasm_zalloc(env, e->count, sizeof(uint64_t));
        if (!full->elems[i].refs) {
            *msg = "out of memory";
            err = NUB_WASM_E_NOMEM;
            goto fail;
        }
        full->elems[i].n = e->count;
        for (uint32_t k = 0; k < e->count; k++)
            full->elems[i].refs[k] = cexpr_value(inst, &e->items[k]);
    }
    /* segments in order; a trap stops here (earlier writes to imported
     * tables and memories stay, as the spec says) */
    for (uint32_t i = 0; i < m->nelems; i++) {
        const struct wasm_elem *e = &m->elems[i];
        if (e->mode == SEG_ACTIVE) {
            struct nub_wasm_table *t = inst->tables[e->table];
            uint64_t off = (uint32_t)cexpr_value(inst, &e->offset);
            if (off + e->count > t->size) {
                *msg = "out of bounds table access";
                err = NUB_WASM_E_TRAP;
                goto fail;
            }
            for (uint32_t k = 0; k < e->count; k++)
                t->elems[off + k] = full->elems[i].refs[k];
        }
        if (e->mode != SEG_PASSIVE)
            inst->elem_dropped[i] = 1;
    }
    for (uint32_t i = 0; i < m->ndata; i++) {
        const struct wasm_data *d = &m->data[i];
        if (d->mode != SEG_ACTIVE)
            continue;
        uint64_t off = (uint32_t)cexpr_value(inst, &d->offset);
        if (off + d->len > inst->mem->size) {
            *msg = "out of bounds memory access";
            err = NUB_WASM_E_TRAP;
            goto fail;
        }
        if (d->len)
            WASM_MEMCPY(inst->mem->data + off, m->bytes + d->off, d->len);
        inst->data_dropped[i] = 1;
    }
    if (m->has_start) {
        struct nub_wasm_task *t = nub_wasm_task_new(env, &m->lim);
        if (!t) {
            *msg = "out of memory";
            err = NUB_WASM_E_NOMEM;
            goto fail;
        }
        nub_wasm_task_start(t, inst->funcs[m->start], NULL);
        enum nub_wasm_status s = nub_wasm_run(t, start_fuel);
        if (s != NUB_WASM_DONE) {
            *msg = s == NUB_WASM_TRAPPED ? nub_wasm_trap_str(nub_wasm_task_trap(t))
                                          : "start function did not finish";
            err = NUB_WASM_E_TRAP;
            nub_wasm_task_free(t);
            goto fail;
        }
        nub_wasm_task_free(t);
    }
    *out = inst;
    return NUB_WASM_E_OK;
fail:
    if (err == NUB_WASM_E_TRAP) {
        /* its functions may sit in imported tables: the caller frees it */
        *out = inst;
        return err;
    }
    nub_wasm_instance_free(inst);
    return err;
}

struct nub_wasm_memory *nub_wasm_instance_memory(const struct nub_wasm_instance *inst)
{
    return inst->mem;
}

bool nub_wasm_export(const struct nub_wasm_instance *inst, const char *name, size_t name_len,
                     struct nub_wasm_extern *out)
{
    const struct nub_wasm_module *m = inst->m;
    for (uint32_t i = 0; i < m->nexports; i++) {
        const struct wasm_export *e = &m->exports[i];
        if (e->name.len != name_len)
            continue;
        const uint8_t *nm = m->bytes + e->name.off;
        size_t k = 0;
        while (k < name_len && nm[k] == (uint8_t)name[k])
            k++;
        if (k != name_len)
            continue;
        out->kind = (enum nub_wasm_kind)e->kind;
        switch (e->kind) {
        case NUB_WASM_KFUNC: out->u.func = inst->funcs[e->index]; break;
        case NUB_WASM_KTABLE: out->u.table = inst->tables[e->index]; break;
        case NUB_WASM_KMEMORY: out->u.memory = inst->mem; break;
        case NUB_WASM_KGLOBAL: out->u.global = inst->globals[e->index]; break;
        }
        return true;
    }
    return false;
}
