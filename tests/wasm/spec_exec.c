/* The spec runner's commands against nubwasm: modules (decoded,
 * instantiated against the `spectest` host module and the registered
 * instances), register, actions, and every assertion kind. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_exec.h"
#include "wasm.h"
#include "wasm_host.h"

#define MAX_INST 4096
#define SPEC_FUEL 20000000000ull /* a bound against a runaway test */

struct named {
    char name[128];
    struct nub_wasm_instance *inst;
};

struct spec_ctx {
    char dir[PATH_MAX];
    char msg[1024];
    const struct nub_wasm_env *env;
    struct nub_wasm_module **mods;
    struct nub_wasm_instance **insts;
    unsigned n;
    struct nub_wasm_instance *cur;
    struct named names[MAX_INST], regs[MAX_INST];
    unsigned nnames, nregs;
    struct nub_wasm_task *task;
    /* spectest */
    struct nub_wasm_func *print[7];
    struct nub_wasm_global *g_i32, *g_i64, *g_f32, *g_f64;
    struct nub_wasm_table *table;
    struct nub_wasm_memory *memory;
};

static enum nub_wasm_status spectest_print(void *ctx, struct nub_wasm_task *t,
                                           const uint64_t *args, uint64_t *results)
{
    (void)ctx;
    (void)t;
    (void)args;
    (void)results;
    return NUB_WASM_DONE;
}

static const char *const print_names[7] = {"print", "print_i32", "print_i64", "print_f32",
                                           "print_f64", "print_i32_f32", "print_f64_f64"};

struct spec_ctx *spec_ctx_new(const char *dir)
{
    struct spec_ctx *sx = calloc(1, sizeof *sx);
    snprintf(sx->dir, sizeof sx->dir, "%s", dir);
    sx->env = &nub_wasm_host_env;
    sx->mods = calloc(MAX_INST, sizeof *sx->mods);
    sx->insts = calloc(MAX_INST, sizeof *sx->insts);
    static const uint8_t I = NUB_WASM_I32, L = NUB_WASM_I64, F = NUB_WASM_F32, D = NUB_WASM_F64;
    static const uint8_t p_if[] = {NUB_WASM_I32, NUB_WASM_F32}, p_dd[] = {NUB_WASM_F64, NUB_WASM_F64};
    const struct nub_wasm_functype types[7] = {
        {0, 0, NULL, NULL}, {1, 0, &I, NULL}, {1, 0, &L, NULL}, {1, 0, &F, NULL},
        {1, 0, &D, NULL},   {2, 0, p_if, NULL}, {2, 0, p_dd, NULL}};
    for (int i = 0; i < 7; i++)
        sx->print[i] = nub_wasm_host_func(sx->env, &types[i], spectest_print, NULL);
    sx->g_i32 = nub_wasm_global_new(sx->env, NUB_WASM_I32, false, 666);
    sx->g_i64 = nub_wasm_global_new(sx->env, NUB_WASM_I64, false, 666);
    sx->g_f32 = nub_wasm_global_new(sx->env, NUB_WASM_F32, false, 0x4426a666u); /* 666.6 */
    sx->g_f64 = nub_wasm_global_new(sx->env, NUB_WASM_F64, false, 0x4084d4cccccccccdull);
    sx->table = nub_wasm_table_new(sx->env, NUB_WASM_FUNCREF, 10, 20, true);
    sx->memory = nub_wasm_memory_new(sx->env, 1, 2, true);
    sx->task = nub_wasm_task_new(sx->env, NULL);
    return sx;
}

void spec_ctx_free(struct spec_ctx *sx)
{
    for (unsigned i = sx->n; i-- > 0;) {
        nub_wasm_instance_free(sx->insts[i]);
        nub_wasm_module_free(sx->mods[i]);
    }
    for (int i = 0; i < 7; i++)
        nub_wasm_host_func_free(sx->env, sx->print[i]);
    nub_wasm_global_free(sx->env, sx->g_i32);
    nub_wasm_global_free(sx->env, sx->g_i64);
    nub_wasm_global_free(sx->env, sx->g_f32);
    nub_wasm_global_free(sx->env, sx->g_f64);
    nub_wasm_table_free(sx->env, sx->table);
    nub_wasm_memory_free(sx->env, sx->memory);
    nub_wasm_task_free(sx->task);
    free(sx->mods);
    free(sx->insts);
    free(sx);
}

static unsigned char *load(struct spec_ctx *sx, const char *name, size_t *len)
{
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", sx->dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)(n > 0 ? n : 0);
    return buf;
}

static enum nub_wasm_err decode(struct spec_ctx *sx, const char *file, struct nub_wasm_module **m)
{
    size_t len = 0;
    unsigned char *bytes = file ? load(sx, file, &len) : NULL;
    *m = NULL;
    if (!bytes) {
        snprintf(sx->msg, sizeof sx->msg, "cannot read %s", file ? file : "(none)");
        return NUB_WASM_E_LIMIT;
    }
    const char *msg = NULL;
    size_t where = 0;
    /* the suite grows memories to thousands of pages */
    struct nub_wasm_limits lim = {.max_pages = 65536};
    enum nub_wasm_err e = nub_wasm_decode(sx->env, &lim, bytes, len, m, &msg, &where);
    free(bytes);
    snprintf(sx->msg, sizeof sx->msg, "%s: %s at byte %zu", file, msg ? msg : "ok", where);
    return e;
}

static bool name_is(const char *s, uint32_t n, const char *z)
{
    return strlen(z) == n && !memcmp(s, z, n);
}

static struct nub_wasm_instance *find(struct named *tab, unsigned n, const char *s, size_t len)
{
    for (unsigned i = n; i-- > 0;)
        if (strlen(tab[i].name) == len && !memcmp(tab[i].name, s, len))
            return tab[i].inst;
    return NULL;
}

static bool spectest(struct spec_ctx *sx, const char *name, uint32_t len, struct nub_wasm_extern *ex)
{
    for (int i = 0; i < 7; i++)
        if (name_is(name, len, print_names[i])) {
            ex->kind = NUB_WASM_KFUNC;
            ex->u.func = sx->print[i];
            return true;
        }
    struct {
        const char *n;
        struct nub_wasm_global *g;
    } gl[] = {{"global_i32", sx->g_i32}, {"global_i64", sx->g_i64}, {"global_f32", sx->g_f32},
              {"global_f64", sx->g_f64}};
    for (int i = 0; i < 4; i++)
        if (name_is(name, len, gl[i].n)) {
            ex->kind = NUB_WASM_KGLOBAL;
            ex->u.global = gl[i].g;
            return true;
        }
    if (name_is(name, len, "table")) {
        ex->kind = NUB_WASM_KTABLE;
        ex->u.table = sx->table;
        return true;
    }
    if (name_is(name, len, "memory")) {
        ex->kind = NUB_WASM_KMEMORY;
        ex->u.memory = sx->memory;
        return true;
    }
    return false;
}

/* Decode and instantiate; *inst is set on success and on a trap. */
static enum nub_wasm_err load_module(struct spec_ctx *sx, const char *file,
                                     struct nub_wasm_instance **inst)
{
    struct nub_wasm_module *m;
    *inst = NULL;
    enum nub_wasm_err e = decode(sx, file, &m);
    if (e)
        return e;
    uint32_t n = nub_wasm_import_count(m);
    struct nub_wasm_extern *ex = calloc(n ? n : 1, sizeof *ex);
    for (uint32_t i = 0; i < n; i++) {
        const char *mod, *name;
        uint32_t ml, nl;
        enum nub_wasm_kind kind;
        nub_wasm_import_get(m, i, &mod, &ml, &name, &nl, &kind);
        bool ok = false;
        if (name_is(mod, ml, "spectest")) {
            ok = spectest(sx, name, nl, &ex[i]);
        } else {
            struct nub_wasm_instance *from = find(sx->regs, sx->nregs, mod, ml);
            ok = from && nub_wasm_export(from, name, nl, &ex[i]);
        }
        if (!ok) {
            snprintf(sx->msg, sizeof sx->msg, "unknown import %.*s.%.*s", (int)ml, mod, (int)nl, name);
            free(ex);
            nub_wasm_module_free(m);
            return NUB_WASM_E_UNLINKABLE;
        }
    }
    const char *msg = NULL;
    e = nub_wasm_instantiate(m, ex, n, SPEC_FUEL, inst, &msg);
    free(ex);
    if (e)
        snprintf(sx->msg, sizeof sx->msg, "%s: %s", file, msg ? msg : "?");
    if (*inst && sx->n < MAX_INST) {
        sx->mods[sx->n] = m;
        sx->insts[sx->n++] = *inst;
    } else {
        if (*inst)
            nub_wasm_instance_free(*inst);
        *inst = NULL;
        nub_wasm_module_free(m);
    }
    return e;
}

static bool parse_value(json_t *v, uint64_t *out)
{
    const char *type = json_string_value(json_object_get(v, "type"));
    const char *val = json_string_value(json_object_get(v, "value"));
    if (!type || !val)
        return false;
    if (!strcmp(val, "null")) {
        *out = 0;
        return true;
    }
    uint64_t x = strtoull(val, NULL, 10);
    if (!strcmp(type, "externref") || !strcmp(type, "funcref"))
        x += 1; /* ref.extern N is N+1: 0 is null */
    *out = x;
    return true;
}

static struct nub_wasm_instance *target(struct spec_ctx *sx, json_t *action)
{
    const char *mod = json_string_value(json_object_get(action, "module"));
    if (!mod)
        return sx->cur;
    return find(sx->names, sx->nnames, mod, strlen(mod));
}

/* Run an action: DONE with results, or the status. */
static enum nub_wasm_status do_action(struct spec_ctx *sx, json_t *action, const uint64_t **res,
                                      uint32_t *nres, bool *ok)
{
    static uint64_t gval;
    *ok = false;
    struct nub_wasm_instance *inst = target(sx, action);
    const char *field = json_string_value(json_object_get(action, "field"));
    const char *type = json_string_value(json_object_get(action, "type"));
    if (!inst || !field || !type) {
        snprintf(sx->msg, sizeof sx->msg, "no instance or field");
        return NUB_WASM_TRAPPED;
    }
    struct nub_wasm_extern ex;
    size_t flen = json_string_length(json_object_get(action, "field"));
    if (!nub_wasm_export(inst, field, flen, &ex)) {
        snprintf(sx->msg, sizeof sx->msg, "no export %s", field);
        return NUB_WASM_TRAPPED;
    }
    if (!strcmp(type, "get")) {
        if (ex.kind != NUB_WASM_KGLOBAL)
            return NUB_WASM_TRAPPED;
        gval = nub_wasm_global_value(ex.u.global);
        *res = &gval;
        *nres = 1;
        *ok = true;
        return NUB_WASM_DONE;
    }
    if (ex.kind != NUB_WASM_KFUNC)
        return NUB_WASM_TRAPPED;
    json_t *args = json_object_get(action, "args");
    size_t n = json_array_size(args);
    uint64_t *av = calloc(n ? n : 1, sizeof *av);
    for (size_t i = 0; i < n; i++)
        parse_value(json_array_get(args, i), &av[i]);
    if (nub_wasm_func_type(ex.u.func)->nparams != n) {
        free(av);
        snprintf(sx->msg, sizeof sx->msg, "argument count");
        return NUB_WASM_TRAPPED;
    }
    nub_wasm_task_start(sx->task, ex.u.func, av);
    free(av);
    *ok = true;
    enum nub_wasm_status s = nub_wasm_run(sx->task, SPEC_FUEL);
    if (s == NUB_WASM_DONE)
        *res = nub_wasm_task_results(sx->task, nres);
    return s;
}

static bool value_matches(json_t *e, uint64_t got, char *why, size_t whylen)
{
    const char *type = json_string_value(json_object_get(e, "type"));
    const char *val = json_string_value(json_object_get(e, "value"));
    if (!type || !val)
        return false;
    bool ok;
    if (!strcmp(type, "f32") && !strncmp(val, "nan:", 4)) {
        uint32_t b = (uint32_t)got;
        if (!strcmp(val, "nan:canonical"))
            ok = (b & 0x7fffffffu) == 0x7fc00000u;
        else
            ok = (b & 0x7fc00000u) == 0x7fc00000u;
    } else if (!strcmp(type, "f64") && !strncmp(val, "nan:", 4)) {
        if (!strcmp(val, "nan:canonical"))
            ok = (got & 0x7fffffffffffffffull) == 0x7ff8000000000000ull;
        else
            ok = (got & 0x7ff8000000000000ull) == 0x7ff8000000000000ull;
    } else {
        uint64_t want;
        parse_value(e, &want);
        if (!strcmp(type, "i32") || !strcmp(type, "f32"))
            ok = (uint32_t)got == (uint32_t)want;
        else if (!strcmp(type, "funcref") && strcmp(val, "null"))
            ok = got != 0;
        else
            ok = got == want;
    }
    if (!ok)
        snprintf(why, whylen, "%s expected %s, got 0x%" PRIx64, type, val, got);
    return ok;
}

enum spec_result spec_command(struct spec_ctx *sx, json_t *cmd, const char **detail)
{
    const char *type = json_string_value(json_object_get(cmd, "type"));
    const char *file = json_string_value(json_object_get(cmd, "filename"));
    struct nub_wasm_module *m = NULL;
    struct nub_wasm_instance *inst = NULL;
    *detail = sx->msg;
    sx->msg[0] = 0;
    if (!strcmp(type, "module")) {
        enum nub_wasm_err e = load_module(sx, file, &inst);
        if (e != NUB_WASM_E_OK)
            return SPEC_MODULE_FAIL;
        sx->cur = inst;
        const char *name = json_string_value(json_object_get(cmd, "name"));
        if (name && sx->nnames < MAX_INST) {
            snprintf(sx->names[sx->nnames].name, sizeof sx->names[0].name, "%s", name);
            sx->names[sx->nnames++].inst = inst;
        }
        return SPEC_NOT_ASSERTION;
    }
    if (!strcmp(type, "register")) {
        const char *name = json_string_value(json_object_get(cmd, "name"));
        const char *as = json_string_value(json_object_get(cmd, "as"));
        struct nub_wasm_instance *r = name ? find(sx->names, sx->nnames, name, strlen(name)) : sx->cur;
        if (!r || !as || sx->nregs >= MAX_INST)
            return SPEC_MODULE_FAIL;
        snprintf(sx->regs[sx->nregs].name, sizeof sx->regs[0].name, "%s", as);
        sx->regs[sx->nregs++].inst = r;
        return SPEC_NOT_ASSERTION;
    }
    if (!strcmp(type, "assert_malformed") || !strcmp(type, "assert_invalid")) {
        enum nub_wasm_err e = decode(sx, file, &m);
        nub_wasm_module_free(m);
        if (e == NUB_WASM_E_OK) {
            snprintf(sx->msg, sizeof sx->msg, "%s accepted, expected \"%s\"", file,
                     json_string_value(json_object_get(cmd, "text")));
            return SPEC_FAIL;
        }
        return SPEC_PASS;
    }
    if (!strcmp(type, "assert_unlinkable") || !strcmp(type, "assert_uninstantiable")) {
        bool link = !strcmp(type, "assert_unlinkable");
        enum nub_wasm_err e = load_module(sx, file, &inst);
        if (e == (link ? NUB_WASM_E_UNLINKABLE : NUB_WASM_E_TRAP))
            return SPEC_PASS;
        if (e == NUB_WASM_E_OK)
            snprintf(sx->msg, sizeof sx->msg, "%s instantiated", file);
        return SPEC_FAIL;
    }
    json_t *action = json_object_get(cmd, "action");
    if (!action)
        return SPEC_NOT_ASSERTION;
    const uint64_t *res = NULL;
    uint32_t nres = 0;
    bool ok;
    enum nub_wasm_status s = do_action(sx, action, &res, &nres, &ok);
    const char *field = json_string_value(json_object_get(action, "field"));
    if (!strcmp(type, "action")) {
        if (s != NUB_WASM_DONE) {
            snprintf(sx->msg, sizeof sx->msg, "%s: %s", field ? field : "?",
                     nub_wasm_trap_str(nub_wasm_task_trap(sx->task)));
            return SPEC_MODULE_FAIL;
        }
        return SPEC_NOT_ASSERTION;
    }
    if (!strcmp(type, "assert_return")) {
        if (s != NUB_WASM_DONE) {
            if (!sx->msg[0])
                snprintf(sx->msg, sizeof sx->msg, "%s: %s", field ? field : "?",
                         s == NUB_WASM_TRAPPED ? nub_wasm_trap_str(nub_wasm_task_trap(sx->task))
                                               : "did not finish");
            return SPEC_FAIL;
        }
        json_t *exp = json_object_get(cmd, "expected");
        if (json_array_size(exp) != nres) {
            snprintf(sx->msg, sizeof sx->msg, "%s: %u results", field, nres);
            return SPEC_FAIL;
        }
        for (uint32_t i = 0; i < nres; i++) {
            char why[256];
            if (!value_matches(json_array_get(exp, i), res[i], why, sizeof why)) {
                snprintf(sx->msg, sizeof sx->msg, "%s: %s", field, why);
                return SPEC_FAIL;
            }
        }
        return SPEC_PASS;
    }
    if (!strcmp(type, "assert_trap") || !strcmp(type, "assert_exhaustion")) {
        const char *text = json_string_value(json_object_get(cmd, "text"));
        if (s != NUB_WASM_TRAPPED || !ok) {
            snprintf(sx->msg, sizeof sx->msg, "%s: no trap, expected \"%s\"", field, text);
            return SPEC_FAIL;
        }
        const char *got = nub_wasm_trap_str(nub_wasm_task_trap(sx->task));
        if (text && strncmp(text, got, strlen(got)) && strncmp(got, text, strlen(text))) {
            snprintf(sx->msg, sizeof sx->msg, "%s: trap \"%s\", expected \"%s\"", field, got, text);
            return SPEC_FAIL;
        }
        return SPEC_PASS;
    }
    return SPEC_UNSUPPORTED;
}
