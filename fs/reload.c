/* SIGHUP: read the trust directory again (trust.c), as a service manager's
 * `reload` (ExecReload=kill -HUP $MAINPID) expects. libfuse's own handlers
 * would end the daemon on SIGHUP; ours replaces that one after them. The
 * handler only writes a byte to a pipe (async-signal-safe); a thread of
 * its own does the work, outside any FUSE request. The handler is armed
 * before the mount, the thread is started after the waiting parent is
 * told (a thread is ~0.06 ms of the start): a SIGHUP in between waits in
 * the pipe. */
#include "nubfs.h"

#include "daemon.h"
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int g_pipe[2] = {-1, -1};

static void on_hup(int sig)
{
    (void)sig;
    int saved = errno;
    char c = 'h';
    ssize_t n = write(g_pipe[1], &c, 1); /* full pipe: a reload is pending anyway */
    (void)n;
    errno = saved;
}

static void *reload_main(void *arg)
{
    struct nubfs *fs = arg;
    for (;;) {
        char buf[64];
        ssize_t n = read(g_pipe[0], buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return NULL;
        /* Several signals in a burst are one reload; 'q' ends the thread. */
        if (memchr(buf, 'q', (size_t)n) != NULL)
            return NULL;
        nubfs_service_notify("RELOADING=1");
        /* Packages kept on disk because their signer was not trusted
         * (or another option refused them) are tried again. */
        if (nubfs_trust_reload(fs) == 0)
            nubfs_state_retry_kept(fs);
        nubfs_service_notify("READY=1");
    }
}

int nubfs_reload_arm(struct nubfs *fs)
{
    (void)fs;
    if (pipe2(g_pipe, O_CLOEXEC) != 0)
        return -errno;
    fcntl(g_pipe[1], F_SETFL, O_NONBLOCK);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_hup;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGHUP, &sa, NULL) != 0) {
        int e = -errno;
        close(g_pipe[0]);
        close(g_pipe[1]);
        g_pipe[0] = g_pipe[1] = -1;
        return e;
    }
    return 0;
}

int nubfs_reload_start(struct nubfs *fs)
{
    if (g_pipe[0] < 0)
        return -EINVAL;
    int rc = pthread_create(&fs->reload_thread, NULL, reload_main, fs);
    if (rc != 0)
        return -rc;
    fs->reload_started = true;
    return 0;
}

void nubfs_reload_stop(struct nubfs *fs)
{
    if (g_pipe[1] < 0)
        return;
    signal(SIGHUP, SIG_IGN); /* no reload once we are going */
    if (fs->reload_started) {
        char c = 'q';
        while (write(g_pipe[1], &c, 1) < 0 && errno == EINTR)
            ;
        pthread_join(fs->reload_thread, NULL);
        fs->reload_started = false;
    }
    close(g_pipe[0]);
    close(g_pipe[1]);
    g_pipe[0] = g_pipe[1] = -1;
}
