/* Detaching from the terminal. A KVM VM belongs to the process (mm) that
 * created it and vCPU threads do not survive fork(), so nubfs cannot boot
 * first and fork later as fuse_daemonize() would. Instead it forks early:
 * the child boots, preloads and mounts, then tells the waiting parent it
 * is ready; the parent exits 0. If the child fails first, its message has
 * already gone to the terminal (stderr is still shared) and the parent
 * exits with the child's status.
 *
 * Under systemd (nubfs@.service, Type=notify) nubfs runs with -f and says
 * READY=1 through sd_notify once mounted instead. libsystemd is opened
 * only then: linked in, it and the six libraries it needs cost every start
 * of nubfs milliseconds of dynamic loading, for a call that does nothing
 * without $NOTIFY_SOCKET. */
#include "daemon.h"

#include <systemd/sd-daemon.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int nubfs_daemon_fork(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int e = -errno;
        close(p[0]);
        close(p[1]);
        return e;
    }
    if (pid > 0) {
        close(p[1]);
        char c;
        ssize_t n;
        do
            n = read(p[0], &c, 1);
        while (n < 0 && errno == EINTR);
        if (n == 1)
            _exit(0);
        /* The child exited (or died) before it was ready. */
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (WIFEXITED(status))
            _exit(WEXITSTATUS(status) ? WEXITSTATUS(status) : 1);
        fprintf(stderr, "nubfs: daemon died during startup (signal %d)\n",
                WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        _exit(1);
    }
    close(p[0]);
    if (setsid() < 0) {
        /* Cannot happen for a fresh child; carry on attached. */
    }
    return p[1];
}

void nubfs_daemon_ready(int fd)
{
    if (fd < 0)
        return;
    if (chdir("/") != 0) {
        /* "/" always exists; ignore. */
    }
    int nul = open("/dev/null", O_RDWR);
    if (nul >= 0) {
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(nul, 2);
        if (nul > 2)
            close(nul);
    }
    char c = 'r';
    ssize_t n;
    do
        n = write(fd, &c, 1);
    while (n < 0 && errno == EINTR);
    close(fd);
}

static __typeof__(sd_notify) *notify_fn;
static pthread_once_t notify_once = PTHREAD_ONCE_INIT;

static void notify_open(void)
{
    void *h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    void *f = h != NULL ? dlsym(h, "sd_notify") : NULL;
    if (f == NULL) {
        /* The service manager waits for READY=1 until its timeout: say why. */
        fprintf(stderr, "nubfs: NOTIFY_SOCKET is set but sd_notify is unavailable: %s\n",
                dlerror());
        return;
    }
    notify_fn = (__typeof__(sd_notify) *)f;
}

void nubfs_service_notify(const char *state)
{
    if (getenv("NOTIFY_SOCKET") == NULL)
        return; /* not under a service manager: what sd_notify would do too */
    pthread_once(&notify_once, notify_open);
    /* 0: not under a service manager; < 0: it went away. Neither stops us. */
    if (notify_fn != NULL)
        (void)notify_fn(0, state);
}
