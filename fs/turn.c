/* Which daemon thread reads /dev/fuse next: one at a time, the one that
 * just served a request first (docs/ARCHITECTURE.md "Serving threads").
 *
 * Left alone, libfuse's worker threads all sleep in read() and the
 * kernel wakes the one that has slept longest, so consecutive requests
 * land on different threads, often on another (idle) CPU; on a VM each
 * such wake-up is most of a small request's cost. Here only the thread
 * that holds the turn reads. A short request (the caps/ read path and
 * the root's fixed names) is served by it, and it reads again at once,
 * as a single-threaded loop would. The others wait, most recent on top.
 * Before anything that can wait long (any other request, a lock that a
 * guest call holds, -o verify's hashing) the holder hands the turn to
 * the thread on top, so a slow request never holds up the rest: that is
 * libfuse's multi-threaded loop again. libfuse keeps counting the
 * waiting threads as idle and starts one more when none is. */
#include "nubfs.h"

#include <errno.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

struct waiter {
    pthread_cond_t cv;
    bool handed; /* the turn is this thread's now */
    struct waiter *below;
};

static pthread_mutex_t turn_mu = PTHREAD_MUTEX_INITIALIZER;
static bool turn_held;      /* some thread holds the turn (turn_mu) */
static struct waiter *top;  /* waiting threads, the latest first (turn_mu) */
static __thread bool mine;  /* this thread holds the turn */

/* turn_mu held: the turn goes to the latest waiter, or is free. */
static void hand_on_locked(void)
{
    mine = false;
    struct waiter *w = top;
    if (w == NULL) {
        turn_held = false;
        return;
    }
    top = w->below;
    w->handed = true;
    pthread_cond_signal(&w->cv);
}

void nubfs_turn_yield(void)
{
    if (!mine)
        return;
    pthread_mutex_lock(&turn_mu);
    hand_on_locked();
    pthread_mutex_unlock(&turn_mu);
}

/* A waiter cancelled (libfuse ends its workers so at unmount) leaves the
 * stack, and hands on a turn it was given but never used. cond_wait has
 * taken turn_mu again before this runs. */
static void waiter_cancelled(void *arg)
{
    struct waiter *w = arg;
    if (w->handed) {
        mine = true;
        hand_on_locked();
    } else {
        for (struct waiter **p = &top; *p != NULL; p = &(*p)->below)
            if (*p == w) {
                *p = w->below;
                break;
            }
    }
    pthread_mutex_unlock(&turn_mu);
    pthread_cond_destroy(&w->cv);
}

/* libfuse ends a worker that finds too many idle ones right after it
 * served a request, possibly a short one, so with the turn: a thread
 * that ends holding it hands it on (a key's destructor runs at exit). */
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static bool no_key; /* no key to be had: every thread just reads */

static void thread_ends(void *arg)
{
    (void)arg;
    nubfs_turn_yield();
}

static void make_exit_key(void)
{
    no_key = pthread_key_create(&exit_key, thread_ends) != 0;
}

/* false: the turn cannot be kept safely here (no thread-exit hook). */
static bool take_turn(void)
{
    pthread_once(&exit_once, make_exit_key);
    if (no_key || pthread_setspecific(exit_key, &exit_key) != 0) /* non-NULL: it runs */
        return false;
    pthread_mutex_lock(&turn_mu);
    if (turn_held) {
        struct waiter w = {.handed = false, .below = top};
        pthread_cond_init(&w.cv, NULL);
        top = &w;
        pthread_cleanup_push(waiter_cancelled, &w);
        while (!w.handed)
            pthread_cond_wait(&w.cv, &turn_mu);
        pthread_cleanup_pop(0);
        pthread_cond_destroy(&w.cv);
    }
    turn_held = true;
    mine = true;
    pthread_mutex_unlock(&turn_mu);
    return true;
}

static void reader_cancelled(void *arg)
{
    (void)arg;
    nubfs_turn_yield();
}

/* Requests whose handlers only look things up (inode table, guest
 * directory under the sandbox read lock, store references, the fixed
 * root): served by the thread that read them. A handler that would wait
 * for a lock yields first (nubfs_turn_yield). */
static bool short_request(const void *buf, size_t n)
{
    struct fuse_in_header h;
    if (n < sizeof(h))
        return false;
    memcpy(&h, buf, sizeof(h));
    switch (h.opcode) {
    case FUSE_FORGET:
    case FUSE_BATCH_FORGET:
    case FUSE_INTERRUPT:
        return true;
    case FUSE_LOOKUP:
    case FUSE_GETATTR:
    case FUSE_OPEN:
    case FUSE_READ:
    case FUSE_RELEASE:
    case FUSE_OPENDIR:
    case FUSE_READDIR:
    case FUSE_READDIRPLUS:
    case FUSE_RELEASEDIR:
    case FUSE_ACCESS:
        return h.nodeid == NUBFS_INO_ROOT || h.nodeid == NUBFS_INO_CAPS ||
               (h.nodeid & NUBFS_INO_CAP_BIT) != 0;
    default:
        return false;
    }
}

ssize_t nubfs_turn_read(int fd, void *buf, size_t len)
{
    if (!mine && !take_turn())
        return read(fd, buf, len);
    ssize_t n;
    pthread_cleanup_push(reader_cancelled, NULL);
    n = read(fd, buf, len);
    pthread_cleanup_pop(0);
    /* An error (EINTR, ENODEV at unmount) is every thread's to see. */
    if (n < 0 || !short_request(buf, (size_t)n)) {
        int saved = errno;
        nubfs_turn_yield();
        errno = saved;
    }
    return n;
}
