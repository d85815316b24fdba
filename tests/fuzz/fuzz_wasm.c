/* fuzz.wasm: nubwasm over hostile modules: decode + validate, instantiate
 * (imported functions are host stubs of the expected type, a memory and a
 * table are offered), then every exported function run with zero
 * arguments under a fuel bound. Seeds: the spec suite's modules. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "wasm.h"
#include "wasm_host.h"

static enum nub_wasm_status stub(void *ctx, struct nub_wasm_task *t, const uint64_t *args,
                                 uint64_t *results)
{
    (void)t;
    (void)args;
    const struct nub_wasm_functype *ft = ctx;
    for (uint32_t i = 0; i < ft->nresults; i++)
        results[i] = 0;
    return NUB_WASM_DONE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct nub_wasm_env *env = &nub_wasm_host_env;
    struct nub_wasm_limits lim = {.max_pages = 16, .max_table = 4096, .stack_slots = 16384,
                                  .call_depth = 100, .max_module = 1u << 20};
    struct nub_wasm_module *m = NULL;
    if (nub_wasm_decode(env, &lim, data, size, &m, NULL, NULL) != NUB_WASM_E_OK)
        return 0;
    uint32_t ni = nub_wasm_import_count(m);
    struct nub_wasm_extern *ex = calloc(ni ? ni : 1, sizeof *ex);
    struct nub_wasm_func **stubs = calloc(ni ? ni : 1, sizeof *stubs);
    struct nub_wasm_memory *mem = nub_wasm_memory_new(env, 1, 16, true);
    struct nub_wasm_table *tab = nub_wasm_table_new(env, NUB_WASM_FUNCREF, 10, 20, true);
    for (uint32_t i = 0; i < ni; i++) {
        const char *mod, *name;
        uint32_t ml, nl;
        enum nub_wasm_kind kind;
        nub_wasm_import_get(m, i, &mod, &ml, &name, &nl, &kind);
        ex[i].kind = kind;
        if (kind == NUB_WASM_KFUNC) {
            const struct nub_wasm_functype *ft = nub_wasm_import_functype(m, i);
            stubs[i] = nub_wasm_host_func(env, ft, stub, (void *)ft);
            ex[i].u.func = stubs[i];
        } else if (kind == NUB_WASM_KMEMORY) {
            ex[i].u.memory = mem;
        } else if (kind == NUB_WASM_KTABLE) {
            ex[i].u.table = tab;
        }
    }
    struct nub_wasm_instance *inst = NULL;
    enum nub_wasm_err e = nub_wasm_instantiate(m, ex, ni, 20000, &inst, NULL);
    if (e == NUB_WASM_E_OK) {
        struct nub_wasm_task *t = nub_wasm_task_new(env, &lim);
        uint32_t ne = nub_wasm_export_count(m);
        for (uint32_t i = 0; t && i < ne && i < 64; i++) {
            const char *name;
            uint32_t nl;
            enum nub_wasm_kind kind;
            nub_wasm_export_get(m, i, &name, &nl, &kind);
            struct nub_wasm_extern x;
            if (kind != NUB_WASM_KFUNC || !nub_wasm_export(inst, name, nl, &x))
                continue;
            uint64_t args[64] = {0};
            if (nub_wasm_func_type(x.u.func)->nparams > 64)
                continue;
            nub_wasm_task_start(t, x.u.func, args);
            /* two slices: the second resumes where the first stopped */
            if (nub_wasm_run(t, 10000) == NUB_WASM_OUT_OF_FUEL)
                nub_wasm_run(t, 10000);
        }
        nub_wasm_task_free(t);
    }
    nub_wasm_instance_free(inst);
    nub_wasm_module_free(m);
    for (uint32_t i = 0; i < ni; i++)
        nub_wasm_host_func_free(env, stubs[i]);
    nub_wasm_memory_free(env, mem);
    nub_wasm_table_free(env, tab);
    free(stubs);
    free(ex);
    return 0;
}
