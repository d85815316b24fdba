/* unit.guest_wasm: the interpreter inside the REAL guest kernel
 * (NUB_OP_TEST_WASM) against its host build on the same module
 * (guest_wasm.wat): status, trap, results and fuel must be equal for every
 * case (integer and float arithmetic, tables, memory, traps, fuel
 * exhaustion, stack exhaustion). Prints the guest instructions one WASM
 * instruction costs (the emulated-instruction stat; on kvm-pvm every
 * guest instruction). Exits 77 (skipped) without /dev/kvm. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "sandbox.h"
#include "task_calls.h"
#include "wasm.h"
#include "wasm_host.h"

static unsigned char module[65536];
static size_t module_len;
static struct nub_sandbox *sb;

struct wcase {
    const char *name;
    uint32_t nargs;
    uint64_t args[4];
    uint64_t fuel;
};

static uint64_t f64b(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static uint64_t f32b(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static const struct wcase cases[] = {
    {"fib", 1, {15}, 0},
    {"spin", 1, {1000}, 0},
    {"spin", 1, {1000000}, 5000}, /* runs out of fuel */
    {"forever", 0, {0}, 20000},
    {"deep", 1, {1}, 0},          /* call stack exhausted */
    {"indirect", 2, {0, 12}, 0},
    {"indirect", 2, {1, 12}, 0},
    {"indirect", 2, {2, 12}, 0},  /* fib(12) through the table */
    {"indirect", 2, {3, 12}, 0},  /* past the table */
    {"i64ops", 2, {0xfedcba9876543210ull, 12345}, 0},
    {"i64ops", 2, {7, 0}, 0},     /* division by zero */
    {"f64ops", 2, {0, 0}, 0},
    {"f64ops", 2, {0, 0}, 0},
    {"f32ops", 2, {0, 0}, 0},
    {"trunc_nan", 0, {0}, 0},
    {"div0", 1, {0}, 0},
    {"div0", 1, {1}, 0},
    {"overflow", 0, {0}, 0},
    {"trap", 0, {0}, 0},
    {"oob", 1, {65534}, 0},
    {"oob", 1, {16}, 0},
    {"grow", 1, {2}, 0},
    {"grow", 1, {9}, 0},          /* past the declared maximum: -1 */
    {"hash_sort", 0, {0}, 0},
};

static void host_run(const struct wcase *c, struct nub_call_wasm_result *out)
{
    memset(out, 0, sizeof *out);
    struct nub_wasm_limits lim = {0};
    struct nub_wasm_module *m = NULL;
    struct nub_wasm_instance *inst = NULL;
    const char *msg = NULL;
    assert_int_equal(nub_wasm_decode(&nub_wasm_host_env, &lim, module, module_len, &m, &msg, NULL),
                     NUB_WASM_E_OK);
    assert_int_equal(nub_wasm_instantiate(m, NULL, 0, 0, &inst, &msg), NUB_WASM_E_OK);
    struct nub_wasm_extern ex;
    assert_true(nub_wasm_export(inst, c->name, strlen(c->name), &ex));
    struct nub_wasm_task *t = nub_wasm_task_new(&nub_wasm_host_env, &lim);
    assert_non_null(t);
    assert_int_equal(nub_wasm_task_start(t, ex.u.func, c->args), 0);
    out->status = nub_wasm_run(t, c->fuel);
    out->trap = nub_wasm_task_trap(t);
    out->fuel_used = nub_wasm_task_fuel_used(t);
    if (out->status == NUB_WASM_DONE) {
        uint32_t n = 0;
        const uint64_t *r = nub_wasm_task_results(t, &n);
        out->nresults = n;
        memcpy(out->results, r, sizeof(uint64_t) * (n > 4 ? 4 : n));
    }
    nub_wasm_task_free(t);
    nub_wasm_instance_free(inst);
    nub_wasm_module_free(m);
}

static int guest_run(const struct wcase *c, struct nub_call_wasm_result *out)
{
    struct nub_test_wasm_req req = {.fuel = c->fuel, .nargs = c->nargs};
    snprintf(req.export_name, sizeof req.export_name, "%s", c->name);
    memcpy(req.args, c->args, sizeof c->args);
    return nub_call_test_wasm(sb, module, module_len, &req, out);
}

static void test_same_results(void **state)
{
    (void)state;
    struct wcase all[sizeof cases / sizeof cases[0]];
    memcpy(all, cases, sizeof all);
    /* float arguments as bit patterns */
    all[11].args[0] = f64b(2.0), all[11].args[1] = f64b(3.0);
    all[12].args[0] = f64b(-0.0), all[12].args[1] = f64b(1e308);
    all[13].args[0] = f32b(2.5f), all[13].args[1] = f32b(-1.75e9f);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        struct nub_call_wasm_result h, g;
        host_run(&all[i], &h);
        int r = guest_run(&all[i], &g);
        if (r != 0)
            fail_msg("%s: guest call %d: %s", all[i].name, r, g.msg);
        printf("  %-10s status %u trap %-2u fuel %-6llu results %u [%llx %llx]: %s\n",
               all[i].name, g.status, g.trap, (unsigned long long)g.fuel_used, g.nresults,
               (unsigned long long)g.results[0], (unsigned long long)g.results[1],
               h.status == g.status && h.trap == g.trap && h.fuel_used == g.fuel_used &&
                       h.nresults == g.nresults &&
                       memcmp(h.results, g.results, sizeof h.results) == 0
                   ? "same as host"
                   : "DIFFERS");
        assert_int_equal(g.status, h.status);
        assert_int_equal(g.trap, h.trap);
        assert_int_equal(g.fuel_used, h.fuel_used);
        assert_int_equal(g.nresults, h.nresults);
        assert_memory_equal(g.results, h.results, sizeof h.results);
    }
    /* The guest is still healthy. */
    struct nub_call st = {.op = NUB_OP_STATS};
    assert_int_equal(nub_sandbox_call(sb, &st), 0);
    assert_false(nub_sandbox_poisoned(sb));
}

static void test_refusals(void **state)
{
    (void)state;
    struct nub_call_wasm_result g;
    struct nub_test_wasm_req req = {.nargs = 0};
    snprintf(req.export_name, sizeof req.export_name, "nosuch");
    assert_int_equal(nub_call_test_wasm(sb, module, module_len, &req, &g), -EBADMSG);
    assert_non_null(strstr(g.msg, "no such function export"));
    unsigned char bad[sizeof module];
    memcpy(bad, module, module_len);
    bad[module_len / 2] ^= 0xff;
    snprintf(req.export_name, sizeof req.export_name, "fib");
    req.nargs = 1;
    int r = nub_call_test_wasm(sb, bad, module_len, &req, &g);
    assert_true(r == -EBADMSG || r == 0); /* a flipped byte may still validate */
    assert_false(nub_sandbox_poisoned(sb));
}

/* Guest instructions per WASM instruction: two runs of the spin loop,
 * differing only in the iterations, so the call's fixed cost cancels. */
static void test_insn_cost(void **state)
{
    (void)state;
    struct wcase a = {"spin", 1, {2000}, 0}, b = {"spin", 1, {6000}, 0};
    struct nub_call_wasm_result ga, gb;
    assert_int_equal(guest_run(&a, &ga), 0);
    assert_int_equal(guest_run(&b, &gb), 0);
    if (ga.insns == 0 || gb.insns <= ga.insns) {
        printf("  insn cost: this KVM does not count guest instructions\n");
        return;
    }
    double per = (double)(gb.insns - ga.insns) / (double)(gb.fuel_used - ga.fuel_used);
    printf("  insn cost: %llu fuel units, %llu guest instructions: %.1f guest instructions "
           "per WASM instruction (fixed cost of one call %llu)\n",
           (unsigned long long)(gb.fuel_used - ga.fuel_used),
           (unsigned long long)(gb.insns - ga.insns), per,
           (unsigned long long)(ga.insns - (uint64_t)(per * (double)ga.fuel_used)));
}

static void quiet(void *ctx, const char *line)
{
    (void)ctx;
    if (getenv("NUB_TEST_VERBOSE"))
        fprintf(stderr, "  log: %s\n", line);
}

int main(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        printf("SKIPPED: cannot open /dev/kvm: this test boots the real guest\n");
        return 77;
    }
    close(fd);
    FILE *f = fopen(NUB_TEST_GUEST_WASM, "rb");
    if (f == NULL)
        return 1;
    module_len = fread(module, 1, sizeof module, f);
    fclose(f);
    struct nub_sandbox_opts o = {.mem_size = 64ull << 20, .test_ops = true, .log = quiet};
    char err[512] = "";
    if (nub_sandbox_create(&o, &sb, err, sizeof err) != 0) {
        fprintf(stderr, "sandbox_create: %s\n", err);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_results),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_insn_cost),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    nub_sandbox_destroy(sb);
    return r;
}
