/* NUB_OP_TEST_WASM: one export of a host-given module run inside the guest
 * (abi.h), so the host can compare the guest build of the interpreter with
 * its own on the same module and measure its cost under emulation. The
 * module and the request lie in a host-owned block: the request is copied
 * out before use; the interpreter copies the module itself. */
#include <string.h>

#include "nub/guest_addr.h"
#include "nub/guest_log.h"
#include "run_env.h"

static enum nub_status fail(char *msg, size_t cap, enum nub_status st, const char *what,
                            const char *why)
{
    nub_fmt(msg, cap, "TEST_WASM: %s%s%s", what, why ? ": " : "", why ? why : "");
    return st;
}

enum nub_status nub_run_test_wasm(struct nub_heap *h, const uint64_t *args, uint64_t *ret,
                                  char *msg, size_t msg_cap)
{
    enum nub_heap_owner owner = 0;
    uint64_t gpa = args[0], len = args[1], off = args[2];
    uint64_t size = nub_heap_block_size(h, gpa, &owner);
    if (size == 0 || owner != NUB_OWNER_HOST)
        return fail(msg, msg_cap, NUB_ST_INVAL, "args[0] is not a block from ALLOC", NULL);
    if (len > size || off < len || off > size || size - off < sizeof(struct nub_test_wasm_req) ||
        (off & 7))
        return fail(msg, msg_cap, NUB_ST_INVAL, "module or request outside the block", NULL);
    struct nub_test_wasm_req req;
    memcpy(&req, nub_mem_ptr(gpa + off), sizeof req);
    if (req.nargs > NUB_TEST_WASM_MAX_ARGS)
        return fail(msg, msg_cap, NUB_ST_INVAL, "too many arguments", NULL);
    size_t nlen = 0;
    while (nlen < sizeof req.export_name && req.export_name[nlen])
        nlen++;

    struct nub_wasm_env env;
    nub_run_env_init(&env, h);
    struct nub_wasm_limits lim = {0};
    struct nub_wasm_module *m = NULL;
    struct nub_wasm_instance *inst = NULL;
    struct nub_wasm_task *t = NULL;
    const char *why = NULL;
    enum nub_status st = NUB_ST_OK;
    if (nub_wasm_decode(&env, &lim, nub_mem_ptr(gpa), (size_t)len, &m, &why, NULL) !=
        NUB_WASM_E_OK) {
        st = fail(msg, msg_cap, NUB_ST_BADMSG, "module refused", why);
        goto out;
    }
    enum nub_wasm_err e = nub_wasm_instantiate(m, NULL, 0, 0, &inst, &why);
    if (e != NUB_WASM_E_OK) {
        st = fail(msg, msg_cap, NUB_ST_BADMSG, "instantiation failed", why);
        goto out;
    }
    struct nub_wasm_extern ex;
    if (!nub_wasm_export(inst, req.export_name, nlen, &ex) || ex.kind != NUB_WASM_KFUNC) {
        st = fail(msg, msg_cap, NUB_ST_BADMSG, "no such function export", NULL);
        goto out;
    }
    const struct nub_wasm_functype *ft = nub_wasm_func_type(ex.u.func);
    if (ft->nparams != req.nargs || ft->nresults > 4) {
        st = fail(msg, msg_cap, NUB_ST_INVAL, "argument or result count", NULL);
        goto out;
    }
    t = nub_wasm_task_new(&env, &lim);
    if (t == NULL || nub_wasm_task_start(t, ex.u.func, req.args) != 0) {
        st = fail(msg, msg_cap, NUB_ST_NOMEM, "no memory for the task", NULL);
        goto out;
    }
    enum nub_wasm_status rs = nub_wasm_run(t, req.fuel);
    ret[0] = rs;
    ret[1] = nub_wasm_task_trap(t);
    ret[2] = nub_wasm_task_fuel_used(t);
    if (rs == NUB_WASM_DONE) {
        uint32_t n = 0;
        const uint64_t *r = nub_wasm_task_results(t, &n);
        ret[3] = n;
        for (uint32_t i = 0; i < n && i < 4; i++)
            ret[4 + i] = r[i];
    }
out:
    if (t != NULL)
        nub_wasm_task_free(t);
    if (inst != NULL)
        nub_wasm_instance_free(inst);
    if (m != NULL)
        nub_wasm_module_free(m);
    return st;
}
