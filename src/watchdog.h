/* The per-call watchdog: a POSIX timer aimed at the thread running the
 * vCPU. When it fires, its signal handler sets kvm_run.immediate_exit, so
 * KVM_RUN returns -EINTR whether the signal lands inside the ioctl or just
 * before it; the caller then sees nub_watchdog_fired(). */
#ifndef NUB_WATCHDOG_H
#define NUB_WATCHDOG_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <linux/kvm.h>

struct nub_watchdog {
    timer_t timer;
    bool armed;
    struct kvm_run *run;
    sigset_t old_mask;
};

/* The signal used (SIGRTMIN+3); its handler is installed once per process. */
int nub_watchdog_signal(void);

/* Arms a one-shot timer of ms milliseconds for the calling thread and lets
 * its signal through (libfuse worker threads block every signal). Always
 * pair with nub_watchdog_disarm, even on failure. 0 or -errno. */
int nub_watchdog_arm(struct nub_watchdog *wd, struct kvm_run *run, uint32_t ms);

/* True once the armed timer has fired in this thread. */
bool nub_watchdog_fired(void);

/* Stops the timer, clears immediate_exit, restores the signal mask. */
void nub_watchdog_disarm(struct nub_watchdog *wd);

#endif /* NUB_WATCHDOG_H */
