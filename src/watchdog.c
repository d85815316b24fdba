/* Per-call vCPU watchdog: POSIX timer + signal + kvm_run.immediate_exit. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

/* Per thread: the run area to stop, and whether the timer fired. Only
 * async-signal-safe accesses happen in the handler. */
static __thread struct kvm_run *volatile tl_run;
static __thread volatile sig_atomic_t tl_fired;

int nub_watchdog_signal(void)
{
    return SIGRTMIN + 3;
}

static void kick_handler(int sig)
{
    (void)sig;
    tl_fired = 1;
    struct kvm_run *run = tl_run;
    if (run != NULL)
        run->immediate_exit = 1;
}

static pthread_once_t kick_once = PTHREAD_ONCE_INIT;

static void install_kick(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kick_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(nub_watchdog_signal(), &sa, NULL);
}

int nub_watchdog_arm(struct nub_watchdog *wd, struct kvm_run *run, uint32_t ms)
{
    pthread_once(&kick_once, install_kick);
    wd->armed = false;
    wd->run = run;
    tl_fired = 0;
    run->immediate_exit = 0;
    tl_run = run;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, nub_watchdog_signal());
    pthread_sigmask(SIG_UNBLOCK, &set, &wd->old_mask);
    struct sigevent sev;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = nub_watchdog_signal();
    sev._sigev_un._tid = gettid(); /* sigev_notify_thread_id */
    if (timer_create(CLOCK_MONOTONIC, &sev, &wd->timer) != 0)
        return -errno;
    struct itimerspec its = {
        .it_value = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L}};
    if (timer_settime(wd->timer, 0, &its, NULL) != 0) {
        int e = errno;
        timer_delete(wd->timer);
        return -e;
    }
    wd->armed = true;
    return 0;
}

bool nub_watchdog_fired(void)
{
    return tl_fired != 0;
}

void nub_watchdog_disarm(struct nub_watchdog *wd)
{
    if (wd->armed)
        timer_delete(wd->timer); /* a signal already sent was delivered by now */
    wd->armed = false;
    tl_run = NULL;
    if (wd->run != NULL)
        wd->run->immediate_exit = 0;
    pthread_sigmask(SIG_SETMASK, &wd->old_mask, NULL);
}
