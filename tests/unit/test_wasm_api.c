/* unit.wasm_api: nubwasm's embedding API: decode, instantiate, call an
 * export, fuel exhaustion and resume, a suspending host import, limits,
 * traps, and refusals (malformed, invalid, unlinkable). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wasm.h"
#include "wasm_host.h"

static unsigned char *module_bytes(size_t *len)
{
    FILE *f = fopen(NUB_TEST_WASM_API, "rb");
    assert_non_null(f);
    static unsigned char buf[65536];
    *len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

static int get_calls;
static bool get_suspends;

static enum nub_wasm_status host_get(void *ctx, struct nub_wasm_task *t, const uint64_t *args,
                                     uint64_t *results)
{
    (void)ctx;
    (void)t;
    (void)args;
    get_calls++;
    if (get_suspends)
        return NUB_WASM_SUSPENDED;
    results[0] = 41;
    return NUB_WASM_DONE;
}

struct fixture {
    struct nub_wasm_module *m;
    struct nub_wasm_instance *inst;
    struct nub_wasm_func *get;
    struct nub_wasm_task *task;
};

static void setup_with(struct fixture *fx, const struct nub_wasm_limits *lim)
{
    size_t len;
    unsigned char *b = module_bytes(&len);
    const char *msg = NULL;
    assert_int_equal(nub_wasm_decode(&nub_wasm_host_env, lim, b, len, &fx->m, &msg, NULL),
                     NUB_WASM_E_OK);
    assert_int_equal(nub_wasm_import_count(fx->m), 1);
    static const uint8_t r_i32[] = {NUB_WASM_I32};
    struct nub_wasm_functype ft = {0, 1, NULL, r_i32};
    fx->get = nub_wasm_host_func(&nub_wasm_host_env, &ft, host_get, NULL);
    struct nub_wasm_extern ex = {.kind = NUB_WASM_KFUNC, .u.func = fx->get};
    assert_int_equal(nub_wasm_instantiate(fx->m, &ex, 1, 0, &fx->inst, &msg), NUB_WASM_E_OK);
    fx->task = nub_wasm_task_new(&nub_wasm_host_env, lim);
    assert_non_null(fx->task);
}

static void teardown_fx(struct fixture *fx)
{
    nub_wasm_task_free(fx->task);
    nub_wasm_instance_free(fx->inst);
    nub_wasm_module_free(fx->m);
    nub_wasm_host_func_free(&nub_wasm_host_env, fx->get);
}

static struct nub_wasm_func *export(struct fixture *fx, const char *name)
{
    struct nub_wasm_extern ex;
    assert_true(nub_wasm_export(fx->inst, name, strlen(name), &ex));
    assert_int_equal(ex.kind, NUB_WASM_KFUNC);
    return ex.u.func;
}

static enum nub_wasm_status call(struct fixture *fx, const char *name, const uint64_t *args,
                                 uint64_t fuel)
{
    assert_int_equal(nub_wasm_task_start(fx->task, export(fx, name), args), 0);
    return nub_wasm_run(fx->task, fuel);
}

static uint64_t result0(struct fixture *fx)
{
    uint32_t n;
    const uint64_t *r = nub_wasm_task_results(fx->task, &n);
    assert_int_equal(n, 1);
    return r[0];
}

static void test_call_export(void **state)
{
    (void)state;
    struct fixture fx;
    setup_with(&fx, NULL);
    uint64_t args[] = {2, 3};
    assert_int_equal(call(&fx, "add", args, 0), NUB_WASM_DONE);
    assert_int_equal(result0(&fx), 5);
    uint64_t fargs[] = {0x3ff8000000000000ull, 0x4002000000000000ull}; /* 1.5, 2.25 */
    assert_int_equal(call(&fx, "fadd", fargs, 0), NUB_WASM_DONE);
    assert_int_equal(result0(&fx), 0x400e000000000000ull); /* 3.75 */
    struct nub_wasm_extern ex;
    assert_false(nub_wasm_export(fx.inst, "nope", 4, &ex));
    teardown_fx(&fx);
}

static void test_fuel_resume(void **state)
{
    (void)state;
    struct fixture fx;
    setup_with(&fx, NULL);
    uint64_t n = 100000;
    assert_int_equal(nub_wasm_task_start(fx.task, export(&fx, "count"), &n), 0);
    unsigned slices = 0;
    enum nub_wasm_status s;
    while ((s = nub_wasm_run(fx.task, 1000)) == NUB_WASM_OUT_OF_FUEL)
        slices++;
    assert_int_equal(s, NUB_WASM_DONE);
    assert_int_equal(result0(&fx), 100000);
    /* each slice stops within one loop iteration of its budget */
    assert_true(slices >= 100000 * 10 / 1000 / 2);
    assert_true(nub_wasm_task_fuel_used(fx.task) > 0);
    teardown_fx(&fx);
}

static void test_import_suspends(void **state)
{
    (void)state;
    struct fixture fx;
    setup_with(&fx, NULL);
    get_calls = 0;
    get_suspends = false;
    assert_int_equal(call(&fx, "use_import", NULL, 0), NUB_WASM_DONE);
    assert_int_equal(result0(&fx), 42);
    get_suspends = true;
    assert_int_equal(call(&fx, "use_import", NULL, 0), NUB_WASM_SUSPENDED);
    assert_int_equal(nub_wasm_run(fx.task, 0), NUB_WASM_SUSPENDED); /* still waiting */
    uint64_t r = 99;
    assert_int_equal(nub_wasm_resume(fx.task, &r), 0);
    assert_int_equal(nub_wasm_run(fx.task, 0), NUB_WASM_DONE);
    assert_int_equal(result0(&fx), 100);
    assert_int_equal(get_calls, 2);
    assert_int_not_equal(nub_wasm_resume(fx.task, &r), 0); /* not suspended */
    teardown_fx(&fx);
}

static void test_limits(void **state)
{
    (void)state;
    struct nub_wasm_limits lim = {.max_pages = 3, .call_depth = 50};
    struct fixture fx;
    setup_with(&fx, &lim);
    uint64_t a = 0;
    assert_int_equal(call(&fx, "rec", &a, 0), NUB_WASM_TRAPPED);
    assert_int_equal(nub_wasm_task_trap(fx.task), NUB_WASM_TRAP_STACK_EXHAUSTED);
    uint64_t g = 2;
    assert_int_equal(call(&fx, "grow", &g, 0), NUB_WASM_DONE);
    assert_int_equal(result0(&fx), 1); /* old size */
    assert_int_equal(call(&fx, "grow", &g, 0), NUB_WASM_DONE);
    assert_int_equal(result0(&fx), 0xffffffffu); /* 5 > 3 pages */
    uint64_t addr = 3 * 65536 - 4;
    assert_int_equal(call(&fx, "load", &addr, 0), NUB_WASM_DONE);
    addr += 1;
    assert_int_equal(call(&fx, "load", &addr, 0), NUB_WASM_TRAPPED);
    assert_int_equal(nub_wasm_task_trap(fx.task), NUB_WASM_TRAP_OOB_MEMORY);
    teardown_fx(&fx);

    /* a small value stack runs out the same way */
    struct nub_wasm_limits small = {.stack_slots = 256};
    setup_with(&fx, &small);
    assert_int_equal(call(&fx, "rec", &a, 0), NUB_WASM_TRAPPED);
    assert_int_equal(nub_wasm_task_trap(fx.task), NUB_WASM_TRAP_STACK_EXHAUSTED);
    teardown_fx(&fx);
}

static void test_traps(void **state)
{
    (void)state;
    struct fixture fx;
    setup_with(&fx, NULL);
    uint64_t args[] = {7, 0};
    assert_int_equal(call(&fx, "div", args, 0), NUB_WASM_TRAPPED);
    assert_int_equal(nub_wasm_task_trap(fx.task), NUB_WASM_TRAP_DIV_ZERO);
    assert_string_equal(nub_wasm_trap_str(NUB_WASM_TRAP_DIV_ZERO), "integer divide by zero");
    uint64_t ov[] = {0x80000000u, 0xffffffffu};
    assert_int_equal(call(&fx, "div", ov, 0), NUB_WASM_TRAPPED);
    assert_int_equal(nub_wasm_task_trap(fx.task), NUB_WASM_TRAP_INT_OVERFLOW);
    teardown_fx(&fx);
}

static void test_refusals(void **state)
{
    (void)state;
    struct nub_wasm_module *m = NULL;
    const char *msg;
    static const uint8_t bad_magic[] = {0, 'a', 's', 'x', 1, 0, 0, 0};
    assert_int_equal(nub_wasm_decode(&nub_wasm_host_env, NULL, bad_magic, sizeof bad_magic, &m,
                                     &msg, NULL),
                     NUB_WASM_E_MALFORMED);
    assert_null(m);
    /* () -> i32 with an empty body: a type error */
    static const uint8_t invalid[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7f,
                                      3, 2, 1, 0, 10, 4, 1, 2, 0, 0x0b};
    assert_int_equal(nub_wasm_decode(&nub_wasm_host_env, NULL, invalid, sizeof invalid, &m, &msg,
                                     NULL),
                     NUB_WASM_E_INVALID);
    assert_string_equal(msg, "type mismatch");
    /* a truncated copy of the real module */
    size_t len;
    unsigned char *b = module_bytes(&len);
    for (size_t cut = 0; cut < len; cut += 7) {
        assert_int_not_equal(nub_wasm_decode(&nub_wasm_host_env, NULL, b, cut, &m, &msg, NULL),
                             NUB_WASM_E_OK);
        assert_null(m);
    }
    /* an import of the wrong type is unlinkable */
    assert_int_equal(nub_wasm_decode(&nub_wasm_host_env, NULL, b, len, &m, &msg, NULL),
                     NUB_WASM_E_OK);
    struct nub_wasm_functype ft = {0, 0, NULL, NULL};
    struct nub_wasm_func *f = nub_wasm_host_func(&nub_wasm_host_env, &ft, host_get, NULL);
    struct nub_wasm_extern ex = {.kind = NUB_WASM_KFUNC, .u.func = f};
    struct nub_wasm_instance *inst = NULL;
    assert_int_equal(nub_wasm_instantiate(m, &ex, 1, 0, &inst, &msg), NUB_WASM_E_UNLINKABLE);
    assert_null(inst);
    assert_int_equal(nub_wasm_instantiate(m, NULL, 0, 0, &inst, &msg), NUB_WASM_E_UNLINKABLE);
    nub_wasm_host_func_free(&nub_wasm_host_env, f);
    nub_wasm_module_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_export), cmocka_unit_test(test_fuel_resume),
        cmocka_unit_test(test_import_suspends), cmocka_unit_test(test_limits),
        cmocka_unit_test(test_traps), cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
