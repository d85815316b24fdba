/* NUB_OP_RUN: one slice of the scheduler (abi.h "Tasks"). The run state of
 * a mount is made the first time a slice sees its live record and dropped
 * the first time a slice sees it gone, so mount.c and unmount.c need not
 * know about it and an unmounted package's tasks stop at a slice boundary.
 * Every task has an instance of its own; traps end that task only. */
#include <string.h>

#include "nub/guest_addr.h"
#include "nub/guest_log.h"
#include "nub/guest_run.h"
#include "run_env.h"
#include "run_internal.h"

_Static_assert((int)NUB_WASM_TRAP_HOST == (int)NUB_TASK_TRAP_WASM_LAST,
               "abi.h task traps mirror wasm.h");

#define MAX_ROUNDS 64u /* passes over the tasks per slice (yield loops) */
/* What a task's first turn costs: decoding, validating and instantiating
 * its module, which fuel does not meter. Measured on kvm-pvm at about 100k
 * emulated instructions for a small module, ~18000 fuel at 5.5
 * instructions per unit (tests/bench/tasks_bench.sh): charged so that a
 * slice starts only a few tasks and a package of 64 stays far from the
 * watchdog. The first turn only starts the task; it runs from the next. */
#define START_FUEL 16000u
/* The same for a task whose component's module another task decoded
 * already (struct run_comp): only the instance; measured at ~17500
 * emulated instructions a task for 32 tasks of one small module, against
 * ~110000 when each task decoded its own copy. */
#define START_SHARED_FUEL 4000u

struct run_mount_full {
    struct run_mount rm;
    struct nub_run *run;
};

struct nub_wasm_limits run_limits(void)
{
    return (struct nub_wasm_limits){.max_pages = RUN_MAX_PAGES,
                                    .stack_slots = RUN_STACK_SLOTS,
                                    .call_depth = RUN_CALL_DEPTH};
}

void nub_run_init(struct nub_run *r, struct nub_heap *h, struct nub_mounts *m)
{
    /* *r is zero (guest_run.h): no 2.6 KB memset at every start. */
    r->heap = h;
    r->mounts = m;
    nub_run_env_init(&r->env, h);
}

static struct nub_mount_rec *slot_rec(const struct nub_run *r, uint32_t slot)
{
    return (struct nub_mount_rec *)nub_mem_ptr(r->mounts->slots_gpa) + slot;
}

/* A live record whose counts the runner can rely on. */
static int rec_ok(const struct nub_mount_rec *rec)
{
    return rec->state == NUB_MOUNT_S_LIVE && rec->ntasks <= NUB_MOUNT_MAX_TASKS &&
           rec->ncomponents <= NUB_MOUNT_MAX_COMPONENTS && rec->nqueues <= NUB_MOUNT_MAX_QUEUES &&
           rec->nregions <= NUB_MOUNT_MAX_REGIONS && rec->ngrants <= NUB_MOUNT_MAX_GRANTS;
}

const struct nub_mount_rec *run_rec(const struct run_task *t)
{
    const struct run_mount_full *f = (const struct run_mount_full *)t->rm;
    const struct nub_mount_rec *rec = slot_rec(f->run, t->rm->slot);
    return rec_ok(rec) && rec->handle == t->rm->handle ? rec : NULL;
}

/* Frees the task's instance and interpreter state (its module is its
 * component's: comp_done frees that). */
static void task_release(const struct nub_wasm_env *env, struct run_task *t)
{
    if (t->wt != NULL)
        nub_wasm_task_free(t->wt);
    if (t->inst != NULL)
        nub_wasm_instance_free(t->inst);
    run_imports_free(env, t);
    t->wt = NULL;
    t->inst = NULL;
    t->mod = NULL;
    t->wait = RUN_WAIT_NONE;
}

/* One of the component's tasks ended: the last one frees the module. */
static void comp_done(struct run_mount *rm, uint32_t comp)
{
    if (comp >= rm->ncomps || rm->comps[comp].pending == 0)
        return;
    struct run_comp *c = &rm->comps[comp];
    if (--c->pending == 0 && c->mod != NULL) {
        nub_wasm_module_free(c->mod);
        c->mod = NULL;
    }
}

static void mount_drop(struct nub_run *r, uint32_t slot)
{
    struct run_mount *rm = r->rm[slot];
    for (uint32_t i = 0; i < rm->ntasks; i++)
        task_release(&r->env, &rm->tasks[i]);
    for (uint32_t c = 0; c < rm->ncomps; c++)
        if (rm->comps[c].mod != NULL)
            nub_wasm_module_free(rm->comps[c].mod);
    if (rm->comps != NULL)
        r->env.free(r->env.ctx, rm->comps, sizeof(struct run_comp) * rm->ncomps);
    if (rm->tasks != NULL)
        r->env.free(r->env.ctx, rm->tasks, sizeof(struct run_task) * rm->ntasks);
    r->env.free(r->env.ctx, rm, sizeof(struct run_mount_full));
    r->rm[slot] = NULL;
}

/* Run state for every live mount, none for the others; looked at again
 * only when the table's generation moved (or a heap-full retry waits). */
static void sync(struct nub_run *r)
{
    if (r->synced && r->synced_gen == r->mounts->generation)
        return;
    int retry = 0;
    uint32_t cap = r->mounts->capacity < NUB_MOUNT_SLOTS ? r->mounts->capacity : NUB_MOUNT_SLOTS;
    for (uint32_t s = cap; s < NUB_MOUNT_SLOTS; s++)
        if (r->rm[s] != NULL)
            mount_drop(r, s);
    for (uint32_t s = 0; s < cap; s++) {
        const struct nub_mount_rec *rec = slot_rec(r, s);
        int live = rec_ok(rec);
        if (r->rm[s] != NULL && (!live || r->rm[s]->handle != rec->handle))
            mount_drop(r, s);
        if (!live || r->rm[s] != NULL || rec->ntasks == 0)
            continue;
        uint32_t nc = rec->ncomponents ? rec->ncomponents : 1;
        struct run_mount_full *f = r->env.zalloc(r->env.ctx, sizeof *f);
        struct run_task *tasks =
            f ? r->env.zalloc(r->env.ctx, sizeof(struct run_task) * rec->ntasks) : NULL;
        struct run_comp *comps =
            tasks ? r->env.zalloc(r->env.ctx, sizeof(struct run_comp) * nc) : NULL;
        if (comps == NULL) {
            if (tasks != NULL)
                r->env.free(r->env.ctx, tasks, sizeof(struct run_task) * rec->ntasks);
            if (f != NULL)
                r->env.free(r->env.ctx, f, sizeof *f);
            retry = 1;
            continue; /* heap full: tried again next slice */
        }
        f->run = r;
        f->rm = (struct run_mount){.handle = rec->handle, .slot = s, .ntasks = rec->ntasks,
                                   .ncomps = nc, .tasks = tasks, .comps = comps};
        const struct nub_mount_task *tr = nub_mem_ptr(rec->tasks_gpa);
        for (uint32_t i = 0; i < rec->ntasks; i++) {
            tasks[i] = (struct run_task){.rm = &f->rm, .index = i, .comp = tr[i].component,
                                         .state = NUB_TASK_READY};
            if (tr[i].component < nc)
                comps[tr[i].component].pending++;
        }
        r->rm[s] = &f->rm;
    }
    r->nlive = 0;
    for (uint32_t s = 0; s < NUB_MOUNT_SLOTS; s++)
        if (r->rm[s] != NULL)
            r->live[r->nlive++] = (uint16_t)s;
    r->synced_gen = r->mounts->generation;
    r->synced = !retry;
}

/* Mirror the task's state into its record, which the host reads. */
static void publish(struct run_task *t)
{
    const struct nub_mount_rec *rec = run_rec(t);
    if (rec == NULL || t->index >= rec->ntasks)
        return;
    struct nub_mount_task *tr = (struct nub_mount_task *)nub_mem_ptr(rec->tasks_gpa) + t->index;
    tr->state = t->state;
    tr->trap = t->trap;
    tr->fuel_used = t->fuel_used;
}

static const char *trap_text(uint32_t trap)
{
    switch (trap) {
    case NUB_TASK_TRAP_INSTANTIATE: return "instantiation failed";
    case NUB_TASK_TRAP_NOMEM: return "out of memory";
    case NUB_TASK_TRAP_START_FUEL: return "start function out of fuel";
    case NUB_TASK_TRAP_ENTRY: return "entry point is not an exported function";
    case NUB_TASK_TRAP_FUEL: return "out of fuel";
    default: return nub_wasm_trap_str((enum nub_wasm_trap)trap);
    }
}

static void end_task(struct nub_run *r, struct run_task *t, uint32_t state, uint32_t trap,
                     const char *why)
{
    t->state = state;
    t->trap = trap;
    const struct nub_mount_rec *rec = run_rec(t);
    if (state == NUB_TASK_TRAPPED && rec != NULL && t->comp < rec->ncomponents &&
        t->index < rec->ntasks) {
        const struct nub_mount_component *c =
            (const struct nub_mount_component *)nub_mem_ptr(rec->components_gpa) + t->comp;
        const struct nub_mount_task *tr =
            (const struct nub_mount_task *)nub_mem_ptr(rec->tasks_gpa) + t->index;
        char pkg[NUB_MOUNT_NAME_LEN], comp[NUB_MOUNT_NAME_LEN], entry[NUB_MOUNT_NAME_LEN];
        memcpy(pkg, rec->name, sizeof pkg);
        memcpy(comp, c->name, sizeof comp);
        memcpy(entry, tr->entry, sizeof entry);
        pkg[sizeof pkg - 1] = comp[sizeof comp - 1] = entry[sizeof entry - 1] = '\0';
        nub_logf("task %s/%s.%s trapped: %s%s%s", pkg, comp, entry, trap_text(trap),
                 why ? ": " : "", why ? why : "");
    }
    task_release(&r->env, t);
    comp_done(t->rm, t->comp);
    publish(t);
}

/* First turn: the task's own instance of its component's module, and a
 * call of its entry point (arguments zero). 0, or the task has ended. */
static int start(struct nub_run *r, struct run_task *t, uint64_t fuel)
{
    const struct nub_mount_rec *rec = run_rec(t);
    if (rec == NULL || t->comp >= rec->ncomponents || t->index >= rec->ntasks) {
        end_task(r, t, NUB_TASK_STOPPED, 0, NULL);
        return -1;
    }
    const struct nub_mount_component *c =
        (const struct nub_mount_component *)nub_mem_ptr(rec->components_gpa) + t->comp;
    const struct nub_mount_task *tr =
        (const struct nub_mount_task *)nub_mem_ptr(rec->tasks_gpa) + t->index;
    struct nub_wasm_limits lim = run_limits();
    const char *why = NULL;
    struct run_comp *rc = t->comp < t->rm->ncomps ? &t->rm->comps[t->comp] : NULL;
    enum nub_wasm_err e = NUB_WASM_E_OK;
    if (rc != NULL && rc->mod == NULL)
        e = nub_wasm_decode(&r->env, &lim, nub_mem_ptr(c->wasm_gpa), (size_t)c->wasm_len,
                            &rc->mod, &why, NULL);
    if (rc == NULL || e != NUB_WASM_E_OK) {
        if (rc != NULL)
            rc->mod = NULL;
        end_task(r, t, NUB_TASK_TRAPPED,
                 e == NUB_WASM_E_NOMEM ? NUB_TASK_TRAP_NOMEM : NUB_TASK_TRAP_INSTANTIATE, why);
        return -1;
    }
    t->mod = rc->mod;
    if (run_imports_link(&r->env, t, &why) != 0) {
        end_task(r, t, NUB_TASK_TRAPPED, NUB_TASK_TRAP_INSTANTIATE, why);
        return -1;
    }
    struct nub_wasm_extern *ext = NULL;
    if (t->nimports) {
        ext = r->env.zalloc(r->env.ctx, sizeof *ext * t->nimports);
        if (ext == NULL) {
            end_task(r, t, NUB_TASK_TRAPPED, NUB_TASK_TRAP_NOMEM, NULL);
            return -1;
        }
        for (uint32_t i = 0; i < t->nimports; i++)
            ext[i] = (struct nub_wasm_extern){.kind = NUB_WASM_KFUNC, .u.func = t->imports[i]};
    }
    e = nub_wasm_instantiate(t->mod, ext, t->nimports, fuel ? fuel : 1, &t->inst, &why);
    if (ext != NULL)
        r->env.free(r->env.ctx, ext, sizeof *ext * t->nimports);
    if (e != NUB_WASM_E_OK) {
        end_task(r, t, NUB_TASK_TRAPPED,
                 e == NUB_WASM_E_NOMEM ? NUB_TASK_TRAP_NOMEM
                 : e == NUB_WASM_E_TRAP ? NUB_TASK_TRAP_START_FUEL
                                        : NUB_TASK_TRAP_INSTANTIATE,
                 why);
        return -1;
    }
    size_t nlen = 0;
    while (nlen < NUB_MOUNT_NAME_LEN - 1 && tr->entry[nlen])
        nlen++;
    struct nub_wasm_extern ex;
    if (!nub_wasm_export(t->inst, tr->entry, nlen, &ex) || ex.kind != NUB_WASM_KFUNC) {
        end_task(r, t, NUB_TASK_TRAPPED, NUB_TASK_TRAP_ENTRY, NULL);
        return -1;
    }
    static const uint64_t zeros[16];
    const struct nub_wasm_functype *ft = nub_wasm_func_type(ex.u.func);
    t->wt = nub_wasm_task_new(&r->env, &lim);
    if (ft->nparams > 16 || t->wt == NULL || nub_wasm_task_start(t->wt, ex.u.func, zeros) != 0) {
        end_task(r, t, NUB_TASK_TRAPPED,
                 ft->nparams > 16 ? NUB_TASK_TRAP_ENTRY : NUB_TASK_TRAP_NOMEM, NULL);
        return -1;
    }
    return 0;
}

/* One turn of at most `fuel`, and of at most what is left of `max` (the
 * fuel a task may use without waiting on a queue, 0 = no limit); returns
 * the fuel it used. */
static uint64_t turn(struct nub_run *r, struct run_task *t, uint64_t fuel, uint64_t max,
                     uint64_t *ret)
{
    if (t->wt == NULL) {
        const struct nub_mount_rec *rec = run_rec(t);
        int shared = t->comp < t->rm->ncomps && t->rm->comps[t->comp].mod != NULL;
        uint64_t cost = shared ? START_SHARED_FUEL : START_FUEL;
        if (rec != NULL && t->comp < rec->ncomponents) {
            const struct nub_mount_component *c =
                (const struct nub_mount_component *)nub_mem_ptr(rec->components_gpa) + t->comp;
            uint64_t len = c->wasm_len < (1u << 24) ? c->wasm_len : (1u << 24);
            cost += shared ? len / 4 : len; /* decoding: ~1 a byte */
        }
        if (start(r, t, fuel) != 0 && t->state == NUB_TASK_TRAPPED)
            ret[3]++;
        return cost; /* instantiation is work too: the round moves on */
    }
    if (t->wait == RUN_WAIT_YIELD) {
        t->wait = RUN_WAIT_NONE;
        nub_wasm_resume(t->wt, NULL);
    }
    if (max != 0 && t->run_fuel >= max) { /* the limit was lowered */
        end_task(r, t, NUB_TASK_TRAPPED, NUB_TASK_TRAP_FUEL, NULL);
        ret[3]++;
        return 1;
    }
    if (max != 0 && fuel > max - t->run_fuel)
        fuel = max - t->run_fuel;
    uint64_t before = nub_wasm_task_fuel_used(t->wt);
    enum nub_wasm_status st = nub_wasm_run(t->wt, fuel);
    uint64_t used = nub_wasm_task_fuel_used(t->wt) - before;
    t->fuel_used += used;
    t->run_fuel += used;
    switch (st) {
    case NUB_WASM_DONE:
        end_task(r, t, NUB_TASK_DONE, 0, NULL);
        ret[4]++;
        break;
    case NUB_WASM_TRAPPED:
        end_task(r, t, NUB_TASK_TRAPPED, nub_wasm_task_trap(t->wt), NULL);
        ret[3]++;
        break;
    case NUB_WASM_OUT_OF_FUEL:
        if (max != 0 && t->run_fuel >= max) {
            end_task(r, t, NUB_TASK_TRAPPED, NUB_TASK_TRAP_FUEL, NULL);
            ret[3]++;
            break;
        }
        t->state = NUB_TASK_RUNNING;
        publish(t);
        break;
    case NUB_WASM_SUSPENDED:
        t->state = t->wait == RUN_WAIT_YIELD ? NUB_TASK_READY : NUB_TASK_BLOCKED;
        if (t->state == NUB_TASK_BLOCKED)
            t->run_fuel = 0; /* it waits for a queue: a new run starts */
        publish(t);
        break;
    }
    return used ? used : 1;
}

/* A blocked task whose queue moved: finish its send/receive. */
static void wake(struct run_task *t)
{
    uint64_t result = 0;
    if (t->state != NUB_TASK_BLOCKED || !run_imports_retry(t, &result))
        return;
    t->wait = RUN_WAIT_NONE;
    nub_wasm_resume(t->wt, &result);
    t->state = NUB_TASK_RUNNING;
    publish(t);
}

static int runnable(const struct run_task *t)
{
    return t->state == NUB_TASK_READY || t->state == NUB_TASK_RUNNING;
}

enum nub_status nub_run_call(struct nub_run *r, const uint64_t *args, uint64_t *ret, char *msg,
                             size_t msg_cap)
{
    uint64_t budget = args[0], quantum = args[1] && args[1] < budget ? args[1] : budget;
    uint64_t max = args[2];
    if (budget == 0) {
        nub_fmt(msg, msg_cap, "RUN: fuel must be > 0");
        return NUB_ST_INVAL;
    }
    if (args[3] & ~(uint64_t)NUB_RUN_F_TEST_CRASH) {
        nub_fmt(msg, msg_cap, "RUN: unknown flags 0x%llx", (unsigned long long)args[3]);
        return NUB_ST_INVAL;
    }
    sync(r);
    uint64_t used = 0;
    uint32_t n = r->nlive, j0 = 0; /* the first live slot at or after the cursor */
    while (j0 < n && r->live[j0] < r->cursor)
        j0++;
    for (uint32_t round = 0; round < MAX_ROUNDS && used < budget && n > 0; round++) {
        int ran = 0;
        for (uint32_t k = 0; k < n && used < budget; k++) {
            uint32_t s = r->live[(j0 + k) % n];
            struct run_mount *rm = r->rm[s];
            for (uint32_t i = 0; rm != NULL && i < rm->ntasks && used < budget; i++) {
                struct run_task *t = &rm->tasks[i];
                wake(t);
                if (!runnable(t))
                    continue;
                uint64_t f = budget - used < quantum ? budget - used : quantum;
                used += turn(r, t, f, max, ret);
                ran = 1;
            }
            if (used >= budget)
                r->cursor = (s + 1) % NUB_MOUNT_SLOTS;
        }
        if (!ran)
            break;
    }
    for (uint32_t j = 0; j < n; j++)
        for (uint32_t i = 0; i < r->rm[r->live[j]]->ntasks; i++) {
            struct run_task *t = &r->rm[r->live[j]]->tasks[i];
            wake(t);
            ret[0] += runnable(t);
            ret[2] += t->state == NUB_TASK_BLOCKED;
        }
    ret[1] = used;
    return NUB_ST_OK;
}
