/* The recovery gate (docs/cap-store.md "Replace and recovery without a
 * gap"): from the moment a guest is found poisoned until every package
 * is re-mounted into its successor, readers of the guest's directory and
 * mount table (caps/ and mounts/ lookups, getattr, readdir, opens, live
 * region reads) wait instead of seeing a half-built directory and
 * answering ENOENT. Reads of open caps/ files never wait: they are served
 * from the cap store. The recovering thread itself passes (it reads the
 * directory it rebuilds). Waits are bounded, so a recovery that hangs
 * slows readers down but never stops them for good. */
#include "nubfs.h"

#include "clock.h"

#include <errno.h>
#include <time.h>

/* The longest a reader waits for a recovery to finish. */
#define GATE_MAX_MS 30000
/* A poisoned guest nobody recovers yet: the caller that saw the crash is
 * about to; this long at most. */
#define GATE_POISON_MS 500

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static __thread bool in_recovery;
static int gave_up; /* the last recovery left the guest poisoned */

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

void nubfs_gate_close(struct nubfs *fs)
{
    in_recovery = true;
    __atomic_add_fetch(&fs->recovering, 1, __ATOMIC_SEQ_CST);
}

void nubfs_gate_open(struct nubfs *fs)
{
    __atomic_store_n(&gave_up, nub_sandbox_poisoned(fs->sb), __ATOMIC_RELEASE);
    pthread_mutex_lock(&gate_mu);
    __atomic_sub_fetch(&fs->recovering, 1, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

void nubfs_gate_leave(void)
{
    in_recovery = false;
}

/* 0: open; else how long (ms) a reader may wait for it now. */
static unsigned closed(struct nubfs *fs)
{
    if (__atomic_load_n(&fs->recovering, __ATOMIC_SEQ_CST) > 0)
        return GATE_MAX_MS;
    if (nub_sandbox_poisoned(fs->sb) && !__atomic_load_n(&gave_up, __ATOMIC_ACQUIRE))
        return GATE_POISON_MS;
    return 0;
}

void nubfs_settled_rdlock(struct nubfs *fs)
{
    if (in_recovery) {
        nub_sandbox_rdlock(fs->sb);
        return;
    }
    uint64_t start = now_ms();
    for (;;) {
        /* A guest call holds it: the wait may be long, so this thread
         * lets another read /dev/fuse meanwhile (turn.c). */
        if (!nub_sandbox_tryrdlock(fs->sb)) {
            nubfs_turn_yield();
            nub_sandbox_rdlock(fs->sb);
        }
        unsigned limit = closed(fs);
        if (limit == 0 || now_ms() - start >= limit)
            return; /* settled, or waited long enough: serve what there is */
        nub_sandbox_rdunlock(fs->sb);
        nubfs_turn_yield();
        /* Woken at the end of the recovery; re-checked every 20 ms. */
        struct timespec until = nub_deadline_ms(CLOCK_REALTIME, 20);
        pthread_mutex_lock(&gate_mu);
        if (closed(fs) != 0)
            pthread_cond_timedwait(&gate_cv, &gate_mu, &until);
        pthread_mutex_unlock(&gate_mu);
    }
}
