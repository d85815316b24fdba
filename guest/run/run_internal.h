/* Internals of the task runner (guest/run/): the run state of each live
 * mount and task, shared by tasks_run.c (NUB_OP_RUN, the scheduler's slice)
 * and imports.c (the `nub` import module, man/nubfs-rvf.5). The state is
 * kernel heap memory the host never reads; what the host sees is the task
 * records of the mount table (state, trap, fuel). */
#ifndef NUB_RUN_INTERNAL_H
#define NUB_RUN_INTERNAL_H

#include <stdint.h>

#include "nub/abi.h"
#include "nub/guest_heap.h"
#include "wasm.h"

/* What a suspended import waits for. */
enum run_wait { RUN_WAIT_NONE = 0, RUN_WAIT_SEND, RUN_WAIT_RECV, RUN_WAIT_YIELD };

struct run_mount;

struct run_task {
    struct run_mount *rm;
    uint32_t index;               /* in the mount's task records */
    uint32_t comp;                /* component index */
    uint32_t state;               /* enum nub_task_state (mirrored to the record) */
    uint32_t trap;                /* enum nub_task_trap */
    uint64_t fuel_used;
    uint64_t run_fuel;            /* since its start or its last queue wait */
    struct nub_wasm_module *mod;  /* its component's (run_mount.mods), borrowed */
    struct nub_wasm_instance *inst;
    struct nub_wasm_task *wt;
    struct nub_wasm_func **imports;
    uint32_t nimports;
    /* a suspended send/recv: its arguments, and the ring position it saw */
    enum run_wait wait;
    uint32_t wait_q;
    uint32_t wait_args[3];
    uint64_t wait_seen;
};

/* A component's module, decoded and validated once for all its tasks (the
 * first task to start decodes it) and freed when the last of them ends. */
struct run_comp {
    struct nub_wasm_module *mod;
    uint32_t pending; /* its tasks not ended yet */
};

struct run_mount {
    uint64_t handle;
    uint32_t slot;
    uint32_t ntasks;
    uint32_t ncomps;
    struct run_task *tasks;
    struct run_comp *comps; /* ncomps */
};

/* The task limits (man/nubfs-rvf.5 "Limits"). */
#define RUN_MAX_PAGES 64u       /* 4 MiB of linear memory */
#define RUN_STACK_SLOTS 16384u  /* 128 KiB of value stack */
#define RUN_CALL_DEPTH 512u
#define RUN_LOG_MAX 160u        /* bytes of one nub.log line */

struct nub_wasm_limits run_limits(void);

/* The live mount record of this task's mount (in guest memory; counts
 * already bounded by the runner), or NULL if it is gone. */
const struct nub_mount_rec *run_rec(const struct run_task *t);

/* imports.c: links the module's imports (all must be `nub` functions of
 * the right type). 0, or -1 with *why set; the functions go in t->imports. */
int run_imports_link(const struct nub_wasm_env *env, struct run_task *t, const char **why);
void run_imports_free(const struct nub_wasm_env *env, struct run_task *t);
/* A suspended send/recv whose queue moved: try again. Returns 1 and the
 * import's result in *result when it completed, 0 if it must still wait. */
int run_imports_retry(struct run_task *t, uint64_t *result);

#endif /* NUB_RUN_INTERNAL_H */
