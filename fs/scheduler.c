/* The task scheduler (DESIGN §11, docs/wasm.md "The scheduler"): a daemon
 * thread that runs guest RUN slices (task_calls.h nub_call_run) while any
 * task can run, and sleeps when none can, until a mount, an unmount or a
 * recovery kicks it (nubfs_sched_kick). Each slice is one guest call under
 * the sandbox lock, bounded by fuel (-o task_fuel) and the watchdog, so a
 * reader of guest memory or a mount waits at most one slice. Between
 * slices it sleeps long enough to keep the guest's share of one core under
 * -o task_cpu. After a kick (a mount, an rm, a recovery) the next slice
 * waits until READER_GRACE_NS have passed without one (at most
 * GRACES_MAX such waits in a row): a `cp pkg.rvf ctl/` is usually followed at
 * once by reads of what it published (`ls caps`), and those go before the
 * package's first slice, which can hold the sandbox for tens of ms under
 * emulation (its tasks decode their module). A task that used
 * -o task_fuel_max without waiting on a queue is ended by the guest
 * (trapped, "out of fuel"). A slice that crashes the guest is recovered
 * from here (nubfs_recover: the packages are mounted again, their tasks
 * start over from their entry points); three crashes in a row park the
 * scheduler until the next kick. Traps are logged by the guest itself ("guest: task
 * PKG/COMPONENT.ENTRY trapped: REASON"). */
#include "nubfs.h"

#include <errno.h>
#include <jansson.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ctl.h"
#include "task_calls.h"

#define CRASHES_MAX 3u /* slices in a row that crash the guest: then park */
/* Readers first after a kick: long enough for the process that mounted
 * to return from close() and start its next command (a few ms on an idle
 * kvm-pvm machine; 20 ms was too short when its two cores were busy:
 * tests/bench/ctl_bench.sh). Tasks start that much later after a mount. */
#define READER_GRACE_NS (50u * 1000000ull)
#define GRACES_MAX 5u /* kicks that come faster still let a slice run */

struct nubfs_sched {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;  /* kicks and stop (CLOCK_MONOTONIC) */
    uint64_t kicks;     /* under mu: changes on every kick */
    uint64_t seen;      /* under mu: the kicks the thread has taken */
    bool waiting;       /* under mu: the thread waits for a kick */
    bool stop;          /* under mu */
    uint64_t started_ns;
    /* Counters for stats (atomic). */
    uint64_t slices, fuel_used, run_ns, max_slice_ns, last_slice_ns, insns;
    uint64_t trapped, done, crashes, runnable, blocked;
};

static void add(uint64_t *p, uint64_t v)
{
    __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

static void put(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static struct timespec deadline(uint64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t t = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + ns;
    return (struct timespec){.tv_sec = (time_t)(t / 1000000000ull),
                             .tv_nsec = (long)(t % 1000000000ull)};
}

/* Sleeps ns, or less if told to stop. false once stopping. */
static bool pause_ns(struct nubfs_sched *s, uint64_t ns)
{
    struct timespec until = deadline(ns);
    pthread_mutex_lock(&s->mu);
    while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT) {
    }
    bool go = !s->stop;
    pthread_mutex_unlock(&s->mu);
    return go;
}

/* Waits for a kick newer than *seen (or returns at once if there is one).
 * false once stopping. */
static bool wait_kick(struct nubfs_sched *s, uint64_t *seen)
{
    pthread_mutex_lock(&s->mu);
    s->seen = *seen;
    s->waiting = true;
    while (!s->stop && s->kicks == *seen)
        pthread_cond_wait(&s->cv, &s->mu);
    s->waiting = false;
    *seen = s->kicks;
    bool go = !s->stop;
    pthread_mutex_unlock(&s->mu);
    return go;
}

static void *sched_main(void *arg)
{
    struct nubfs *fs = arg;
    struct nubfs_sched *s = fs->sched;
    uint64_t fuel = fs->opts.task_fuel ? fs->opts.task_fuel : NUBFS_DEFAULT_TASK_FUEL;
    unsigned cpu = fs->opts.task_cpu ? fs->opts.task_cpu : NUBFS_DEFAULT_TASK_CPU;
    /* Replayed packages may have tasks: look once, after the grace a
     * kick gets (the start is the first reads' time too). With none
     * mounted there is nothing to run: a slice then cost the first `ls`
     * a core for ~3.7 ms of emulation. */
    size_t mounted = 0, staged = 0;
    nubfs_ctl_lock(fs);
    nubfs_ctl_count(fs, &mounted, &staged);
    nubfs_ctl_unlock(fs);
    bool more = mounted > 0;
    uint64_t seen = 0, graced = more ? UINT64_MAX : 0; /* graced: the kicks the last grace was for */
    unsigned crashes = 0;
    bool ran = false; /* a slice since the last heap refresh */
    for (;;) {
        if (!more) {
            /* Settled: the guest heap level in stats as the tasks left
             * it (instances made and freed), as after any other change. */
            if (ran) {
                pthread_mutex_lock(&fs->change_mu);
                nubfs_heap_refresh(fs);
                pthread_mutex_unlock(&fs->change_mu);
                ran = false;
            }
            if (!wait_kick(s, &seen))
                break;
        }
        pthread_mutex_lock(&s->mu);
        seen = s->kicks;
        bool stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            break;
        /* Readers first: no slice within READER_GRACE_NS of the last
         * kick, unless kicks keep coming (then one every GRACES_MAX). */
        bool go = true;
        for (unsigned g = 0; go && seen != graced && g < GRACES_MAX; g++) {
            graced = seen;
            go = pause_ns(s, READER_GRACE_NS);
            pthread_mutex_lock(&s->mu);
            seen = s->kicks;
            pthread_mutex_unlock(&s->mu);
        }
        if (!go)
            break;
        graced = seen;
        struct nub_call_run_result res;
        /* Several turns per slice: a quarter of it each. */
        uint64_t flags = nubfs_knob_crash_run(fs) ? NUB_RUN_F_TEST_CRASH : 0;
        int r = nub_call_run(fs->sb, fuel, fuel / 4, fs->opts.task_fuel_max, flags, &res);
        ran = true;
        add(&s->slices, 1);
        add(&s->run_ns, res.ns);
        add(&s->insns, res.insns);
        put(&s->last_slice_ns, res.ns);
        if (res.ns > get(&s->max_slice_ns))
            put(&s->max_slice_ns, res.ns);
        if (r == -EIO || r == -ESHUTDOWN) {
            add(&s->crashes, 1);
            nubfs_warn("tasks: a RUN slice crashed the guest; recovering (tasks start over)");
            nubfs_recover(fs);
            /* The recovery's own kick (its re-mounts) is taken here: a
             * park waits for a mount or rm after it. */
            pthread_mutex_lock(&s->mu);
            seen = s->kicks;
            pthread_mutex_unlock(&s->mu);
            more = ++crashes < CRASHES_MAX;
            if (!more)
                nubfs_warn("tasks: %u slices in a row crashed the guest; parked until the next "
                           "mount or rm", CRASHES_MAX);
            continue;
        }
        if (r != 0) {
            nubfs_warn("tasks: RUN refused: %s; parked until the next mount or rm", strerror(-r));
            more = false;
            continue;
        }
        crashes = 0;
        add(&s->fuel_used, res.fuel_used);
        add(&s->trapped, res.trapped);
        add(&s->done, res.done);
        put(&s->runnable, res.runnable);
        put(&s->blocked, res.blocked);
        more = res.runnable > 0;
        /* The share of one core: a slice of t ns is followed by t * (100 -
         * cpu) / cpu ns of rest; always a yield, so that a mount waiting
         * for the sandbox gets in. */
        uint64_t rest = cpu >= 100 ? 0 : res.ns * (100 - cpu) / cpu;
        if (more && rest > 0 && !pause_ns(s, rest))
            break;
        sched_yield();
    }
    return NULL;
}

int nubfs_sched_start(struct nubfs *fs)
{
    if (fs->opts.tasks_off) {
        nubfs_log("tasks: not run (-o tasks=off)");
        return 0;
    }
    struct nubfs_sched *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -ENOMEM;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    s->started_ns = nub_now_ns();
    fs->sched = s;
    int rc = pthread_create(&s->thread, NULL, sched_main, fs);
    if (rc != 0) {
        fs->sched = NULL;
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return -rc;
    }
    return 0;
}

void nubfs_sched_stop(struct nubfs *fs)
{
    struct nubfs_sched *s = fs->sched;
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    fs->sched = NULL;
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void nubfs_sched_kick(struct nubfs *fs)
{
    struct nubfs_sched *s = fs->sched;
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->kicks++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static json_t *ms(uint64_t ns)
{
    return json_real((double)ns / 1e6);
}

void *nubfs_sched_json(struct nubfs *fs)
{
    struct nubfs_sched *s = fs->sched;
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "run", json_boolean(s != NULL));
    bool sleeping = true;
    if (s != NULL) {
        pthread_mutex_lock(&s->mu);
        sleeping = s->waiting && s->kicks == s->seen;
        pthread_mutex_unlock(&s->mu);
    }
    json_object_set_new(o, "sleeping", json_boolean(sleeping));
    json_object_set_new(o, "slice_fuel",
                        json_integer((json_int_t)(fs->opts.task_fuel ? fs->opts.task_fuel
                                                                     : NUBFS_DEFAULT_TASK_FUEL)));
    json_object_set_new(o, "cpu_limit",
                        json_integer(fs->opts.task_cpu ? fs->opts.task_cpu
                                                       : NUBFS_DEFAULT_TASK_CPU));
    json_object_set_new(o, "fuel_max", json_integer((json_int_t)fs->opts.task_fuel_max));
    uint64_t slices = s ? get(&s->slices) : 0, run_ns = s ? get(&s->run_ns) : 0;
    uint64_t up = s ? nub_now_ns() - s->started_ns : 0;
    json_object_set_new(o, "slices", json_integer((json_int_t)slices));
    json_object_set_new(o, "fuel_used", json_integer((json_int_t)(s ? get(&s->fuel_used) : 0)));
    json_object_set_new(o, "run_ms", ms(run_ns));
    json_object_set_new(o, "last_slice_ms", ms(s ? get(&s->last_slice_ns) : 0));
    json_object_set_new(o, "max_slice_ms", ms(s ? get(&s->max_slice_ns) : 0));
    json_object_set_new(o, "cpu_used", json_real(up ? (double)run_ns * 100.0 / (double)up : 0));
    json_object_set_new(o, "emulated_instructions",
                        json_integer((json_int_t)(s ? get(&s->insns) : 0)));
    json_object_set_new(o, "runnable", json_integer((json_int_t)(s ? get(&s->runnable) : 0)));
    json_object_set_new(o, "blocked", json_integer((json_int_t)(s ? get(&s->blocked) : 0)));
    json_object_set_new(o, "trapped", json_integer((json_int_t)(s ? get(&s->trapped) : 0)));
    json_object_set_new(o, "done", json_integer((json_int_t)(s ? get(&s->done) : 0)));
    json_object_set_new(o, "crashes", json_integer((json_int_t)(s ? get(&s->crashes) : 0)));
    return o;
}
