/* Kernel cache invalidation (docs/ARCHITECTURE.md "Kernel caches"): caps/
 * entries, present and absent, are cached for a day, so when a cap leaves
 * the directory (rm of the last package holding it) the kernel must
 * forget it before `rm` returns, and when a mount publishes caps the
 * kernel must forget its negative entries for their names before the
 * close() (or rename()) that mounted returns; mounts/<name> must be
 * forgotten when its package is replaced, renamed or unmounted. The
 * listing of caps/ is cached too (cache_readdir), so every change to the
 * set of caps also drops that (an invalidation of the caps/ inode).
 *
 * No race with a lookup under way: the kernel holds caps/'s lock (shared)
 * from before it asks us until the entry it got is in its cache, and an
 * invalidation takes that lock exclusively, so a negative answer read
 * before a cap was published is dropped by the invalidation that follows
 * the publication.
 *
 * Why a helper thread and a bounded wait. fuse_lowlevel_notify_inval_entry
 * makes the kernel take the parent directory's lock (caps/ or mounts/).
 * The request that caused the change may come from a syscall holding
 * another directory's lock: unlink and rename in ctl/ hold ctl/'s lock
 * (and its victim's), close()'s flush holds none. We never invalidate
 * anything in ctl/ itself (the kernel updates ctl/ dentries for its own
 * create/unlink/rename; ctl/ entries have zero timeouts for the rest), so
 * the notify never needs a lock the triggering syscall holds. It can still
 * wait on a third party: e.g. `mv caps/X ctl/Y` locks caps/ and then waits
 * for ctl/, held by our `rm ctl/Z` that waits for our reply: a cycle if
 * the handler blocked on the notify forever. Likewise with -s (one thread)
 * a notify that waits on a lookup in caps/ could not see it answered. So
 * the handler hands the work to this thread and waits for it at most
 * WAIT_MS: normally it is done in microseconds and the change is visible
 * the moment the syscall returns; in the rare cycle the reply goes out,
 * the cycle breaks, and the notify completes right after (logged).
 * Nothing here holds a daemon lock while notifying, so FUSE requests
 * that the kernel issues meanwhile are answered by the other workers. */
#include "nubfs.h"

#include "clock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS 2000

struct job {
    struct job *next;
    fuse_ino_t parent;
    fuse_ino_t ino; /* also invalidate this inode (0: none) */
    uint64_t seq;
    char name[];
};

struct nubfs_notifier {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    struct job *head, *tail;
    uint64_t posted, completed;
    bool stop;
    struct nubfs *fs;
};

/* The helper thread: runs queued invalidations in order, holding no lock
 * while it notifies, and wakes the waiters as each completes. */
static void *run(void *arg)
{
    struct nubfs_notifier *n = arg;
    pthread_mutex_lock(&n->mu);
    for (;;) {
        while (n->head == NULL && !n->stop)
            pthread_cond_wait(&n->work, &n->mu);
        if (n->head == NULL && n->stop)
            break;
        struct job *j = n->head;
        n->head = j->next;
        if (n->head == NULL)
            n->tail = NULL;
        pthread_mutex_unlock(&n->mu);
        struct fuse_session *se = n->fs->se;
        if (se != NULL && !n->stop) {
            /* -ENOENT: the kernel had nothing cached. */
            if (j->ino != 0)
                fuse_lowlevel_notify_inval_inode(se, j->ino, 0, 0);
            if (j->name[0] != '\0') /* "": only the inode (a listing) */
                fuse_lowlevel_notify_inval_entry(se, j->parent, j->name, strlen(j->name));
        }
        pthread_mutex_lock(&n->mu);
        n->completed = j->seq;
        free(j);
        pthread_cond_broadcast(&n->done);
    }
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

int nubfs_notify_start(struct nubfs *fs)
{
    struct nubfs_notifier *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return -ENOMEM;
    n->fs = fs;
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->work, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&n->done, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&n->th, NULL, run, n);
    if (rc != 0) {
        free(n);
        return -rc;
    }
    fs->notifier = n;
    return 0;
}

void nubfs_notify_stop(struct nubfs *fs)
{
    struct nubfs_notifier *n = fs->notifier;
    if (n == NULL)
        return;
    pthread_mutex_lock(&n->mu);
    n->stop = true;
    pthread_cond_broadcast(&n->work);
    pthread_mutex_unlock(&n->mu);
    pthread_join(n->th, NULL);
    while (n->head) {
        struct job *j = n->head;
        n->head = j->next;
        free(j);
    }
    pthread_cond_destroy(&n->work);
    pthread_cond_destroy(&n->done);
    pthread_mutex_destroy(&n->mu);
    free(n);
    fs->notifier = NULL;
}

/* Queues one job (under n->mu); returns its sequence number or 0. */
static uint64_t queue(struct nubfs_notifier *n, fuse_ino_t parent, const char *name,
                      fuse_ino_t ino)
{
    size_t len = strlen(name);
    struct job *j = malloc(sizeof(*j) + len + 1);
    if (j == NULL)
        return 0;
    j->next = NULL;
    j->parent = parent;
    j->ino = ino;
    memcpy(j->name, name, len + 1);
    j->seq = ++n->posted;
    if (n->tail)
        n->tail->next = j;
    else
        n->head = j;
    n->tail = j;
    return j->seq;
}

/* Waits (bounded) until job `seq` is done. n->mu held. */
static void wait_for(struct nubfs_notifier *n, uint64_t seq)
{
    struct timespec until = nub_deadline_ms(CLOCK_MONOTONIC, WAIT_MS);
    while (n->completed < seq) {
        if (pthread_cond_timedwait(&n->done, &n->mu, &until) == ETIMEDOUT) {
            nubfs_log("cache invalidation still waiting on a kernel lock after %d ms; "
                      "answering first (it completes in the background)",
                      WAIT_MS);
            break;
        }
    }
}

/* caps/<hash> for each hash, and the cap's inode too when it left. */
static void notify_caps(struct nubfs *fs, const uint8_t (*hashes)[16], size_t count, bool inode)
{
    struct nubfs_notifier *n = fs->notifier;
    if (n == NULL || fs->se == NULL || count == 0)
        return;
    pthread_mutex_lock(&n->mu);
    uint64_t last = 0;
    for (size_t i = 0; i < count; i++) {
        char hex[33];
        nub_hash_to_hex(hashes[i], hex);
        uint64_t s = queue(n, NUBFS_INO_CAPS, hex, inode ? nubfs_ino_peek(hashes[i]) : 0);
        if (s)
            last = s;
    }
    /* And the listing of caps/ the kernel caches (cache_readdir). */
    uint64_t s = queue(n, 0, "", NUBFS_INO_CAPS);
    if (s)
        last = s;
    pthread_cond_signal(&n->work);
    if (last)
        wait_for(n, last);
    pthread_mutex_unlock(&n->mu);
}

void nubfs_notify_caps(struct nubfs *fs, const uint8_t (*hashes)[16], size_t count)
{
    notify_caps(fs, hashes, count, true);
}

void nubfs_notify_published(struct nubfs *fs, const uint8_t (*hashes)[16], size_t count)
{
    notify_caps(fs, hashes, count, false);
}

void nubfs_notify_listing(struct nubfs *fs)
{
    struct nubfs_notifier *n = fs->notifier;
    if (n == NULL || fs->se == NULL)
        return;
    pthread_mutex_lock(&n->mu);
    uint64_t s = queue(n, 0, "", NUBFS_INO_CAPS);
    pthread_cond_signal(&n->work);
    if (s)
        wait_for(n, s);
    pthread_mutex_unlock(&n->mu);
}

void nubfs_notify_mount(struct nubfs *fs, const char *name)
{
    struct nubfs_notifier *n = fs->notifier;
    if (n == NULL || fs->se == NULL || name[0] == '\0')
        return;
    pthread_mutex_lock(&n->mu);
    uint64_t s = queue(n, NUBFS_INO_MOUNTS, name, 0);
    pthread_cond_signal(&n->work);
    if (s)
        wait_for(n, s);
    pthread_mutex_unlock(&n->mu);
}
