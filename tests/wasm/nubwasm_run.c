/* nubwasm_run: run one export of a module with nubwasm (host build), for
 * the benchmark (tests/bench/wasm_bench.sh) and by hand.
 * Usage: nubwasm_run FILE.wasm EXPORT [i32 args...]
 * Prints "EXPORT() => i32:N" as wabt's wasm-interp does, so the two can
 * be compared, and the run's time on stderr. Imports are refused. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wasm.h"
#include "wasm_host.h"

static const char *tname(uint8_t t)
{
    switch (t) {
    case NUB_WASM_I32: return "i32";
    case NUB_WASM_I64: return "i64";
    case NUB_WASM_F32: return "f32";
    case NUB_WASM_F64: return "f64";
    default: return "ref";
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s FILE.wasm EXPORT [i32 args...]\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    static unsigned char buf[16 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    const struct nub_wasm_env *env = &nub_wasm_host_env;
    struct nub_wasm_module *m;
    const char *msg;
    size_t where;
    enum nub_wasm_err e = nub_wasm_decode(env, NULL, buf, len, &m, &msg, &where);
    if (e) {
        fprintf(stderr, "%s: %s at byte %zu\n", argv[1], msg, where);
        return 1;
    }
    struct nub_wasm_instance *inst;
    e = nub_wasm_instantiate(m, NULL, 0, 0, &inst, &msg);
    if (e) {
        fprintf(stderr, "%s: %s\n", argv[1], msg);
        return 1;
    }
    struct nub_wasm_extern ex;
    if (!nub_wasm_export(inst, argv[2], strlen(argv[2]), &ex) || ex.kind != NUB_WASM_KFUNC) {
        fprintf(stderr, "%s: no function %s\n", argv[1], argv[2]);
        return 1;
    }
    const struct nub_wasm_functype *ft = nub_wasm_func_type(ex.u.func);
    uint64_t args[16] = {0};
    for (int i = 3; i < argc && i - 3 < 16; i++)
        args[i - 3] = (uint32_t)strtol(argv[i], NULL, 0);
    struct nub_wasm_task *t = nub_wasm_task_new(env, NULL);
    nub_wasm_task_start(t, ex.u.func, args);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    enum nub_wasm_status s = nub_wasm_run(t, 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (s != NUB_WASM_DONE) {
        fprintf(stderr, "%s: %s\n", argv[2], nub_wasm_trap_str(nub_wasm_task_trap(t)));
        return 1;
    }
    uint32_t n;
    const uint64_t *r = nub_wasm_task_results(t, &n);
    printf("%s() =>", argv[2]);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t ty = ft->results[i];
        if (ty == NUB_WASM_I32)
            printf(" i32:%" PRIu32, (uint32_t)r[i]);
        else
            printf(" %s:%" PRIu64, tname(ty), r[i]);
    }
    printf("\n");
    fprintf(stderr, "time %.3f s, fuel %" PRIu64 "\n",
            (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9,
            nub_wasm_task_fuel_used(t));
    nub_wasm_task_free(t);
    nub_wasm_instance_free(inst);
    nub_wasm_module_free(m);
    return 0;
}
