/* Unit tests of fs/turn.c, which daemon thread reads /dev/fuse next: a
 * pipe stands in for the device (each request one 40-byte header, read
 * whole), and worker threads take commands (read, yield, exit) from the
 * test, which sees who read what and who is still waiting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"
#include "nubfs.h"

#include <errno.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum cmd { C_NONE, C_READ, C_YIELD, C_EXIT };

struct worker {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    enum cmd cmd;
    bool busy;        /* a command is being carried out */
    uint64_t got;     /* unique of the last request read */
    unsigned reads;   /* requests read so far */
};

static int dev[2]; /* the "device": the test writes requests, workers read */

static void *work(void *arg)
{
    struct worker *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (w->cmd == C_NONE)
            pthread_cond_wait(&w->cv, &w->mu);
        enum cmd c = w->cmd;
        w->busy = true;
        pthread_mutex_unlock(&w->mu);
        if (c == C_EXIT)
            return NULL;
        uint64_t got = 0;
        if (c == C_READ) {
            struct fuse_in_header h;
            ssize_t n = nubfs_turn_read(dev[0], &h, sizeof(h));
            got = n == (ssize_t)sizeof(h) ? h.unique : 0;
        } else {
            nubfs_turn_yield();
        }
        pthread_mutex_lock(&w->mu);
        if (c == C_READ) {
            w->got = got;
            w->reads++;
        }
        w->cmd = C_NONE;
        w->busy = false;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
}

static void start(struct worker *w)
{
    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    assert_int_equal(pthread_create(&w->th, NULL, work, w), 0);
}

static void order(struct worker *w, enum cmd c)
{
    pthread_mutex_lock(&w->mu);
    w->cmd = c;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* done_within: whether w finished its command within ms. */
static bool done_within(struct worker *w, int ms)
{
    struct timespec until = nub_deadline_ms(CLOCK_REALTIME, (unsigned)ms);
    pthread_mutex_lock(&w->mu);
    int rc = 0;
    while (w->cmd != C_NONE && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w->cv, &w->mu, &until);
    bool done = w->cmd == C_NONE;
    pthread_mutex_unlock(&w->mu);
    return done;
}

static void finish(struct worker *w)
{
    order(w, C_EXIT);
    pthread_join(w->th, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

static void send_req(uint32_t opcode, uint64_t nodeid, uint64_t unique)
{
    struct fuse_in_header h = {.len = sizeof(h), .opcode = opcode, .unique = unique, .nodeid = nodeid};
    assert_int_equal(write(dev[1], &h, sizeof(h)), (ssize_t)sizeof(h));
}

/* read_one: orders w to read, sends the request, and checks w read it. */
static void read_one(struct worker *w, uint32_t opcode, uint64_t nodeid, uint64_t unique)
{
    order(w, C_READ);
    send_req(opcode, nodeid, unique);
    assert_true(done_within(w, 5000));
    assert_int_equal(w->got, unique);
}

static int setup(void **state)
{
    (void)state;
    return pipe(dev);
}

static int teardown(void **state)
{
    (void)state;
    close(dev[0]);
    close(dev[1]);
    return 0;
}

/* A short request keeps the turn: another thread waits instead of
 * reading, and the holder reads the next request itself. */
static void test_short_keeps_turn(void **state)
{
    (void)state;
    struct worker a, b;
    start(&a);
    start(&b);
    read_one(&a, FUSE_LOOKUP, NUBFS_INO_CAPS, 1);
    order(&b, C_READ);
    send_req(FUSE_GETATTR, NUBFS_INO_ROOT, 2);
    assert_false(done_within(&b, 200)); /* b waits for the turn, not in read */
    order(&a, C_READ);                  /* the holder reads request 2 */
    assert_true(done_within(&a, 5000));
    assert_int_equal(a.got, 2);
    read_one(&a, FUSE_OPEN, NUBFS_INO_CAP_BIT | 7, 3);
    assert_int_equal(a.reads, 3);
    assert_false(done_within(&b, 100));
    /* A request of another kind (a write to ctl/) hands the turn on. */
    read_one(&a, FUSE_WRITE, NUBFS_INO_CTL, 4);
    send_req(FUSE_RELEASE, NUBFS_INO_CAP_BIT | 7, 5);
    assert_true(done_within(&b, 5000)); /* b has the turn now */
    assert_int_equal(b.got, 5);
    order(&b, C_YIELD);
    assert_true(done_within(&b, 5000));
    finish(&a);
    finish(&b);
}

/* A yield hands the turn to the thread that started waiting last. */
static void test_yield_latest_first(void **state)
{
    (void)state;
    struct worker a, b, c;
    start(&a);
    start(&b);
    start(&c);
    read_one(&a, FUSE_LOOKUP, NUBFS_INO_CAPS, 10);
    order(&b, C_READ);
    assert_false(done_within(&b, 100));
    order(&c, C_READ);
    assert_false(done_within(&c, 100));
    order(&a, C_YIELD); /* as before a wait for the sandbox lock */
    assert_true(done_within(&a, 5000));
    send_req(FUSE_WRITE, NUBFS_INO_CTL, 11);
    assert_true(done_within(&c, 5000));
    assert_int_equal(c.got, 11);
    assert_false(done_within(&b, 100));
    send_req(FUSE_WRITE, NUBFS_INO_CTL, 12); /* c handed on at its write */
    assert_true(done_within(&b, 5000));
    assert_int_equal(b.got, 12);
    finish(&a);
    finish(&b);
    finish(&c);
}

/* A thread that ends holding the turn (libfuse ends surplus workers
 * right after a request) hands it on; so does a cancelled waiter that
 * had been given it. */
static void test_exit_and_cancel_hand_on(void **state)
{
    (void)state;
    struct worker a, b, c;
    start(&a);
    start(&b);
    start(&c);
    read_one(&a, FUSE_LOOKUP, NUBFS_INO_CAPS, 20);
    order(&b, C_READ);
    assert_false(done_within(&b, 100));
    finish(&a); /* exits with the turn */
    send_req(FUSE_LOOKUP, NUBFS_INO_CAPS, 21);
    assert_true(done_within(&b, 5000));
    assert_int_equal(b.got, 21);
    /* b holds it; c waits and is cancelled, as libfuse does at unmount. */
    order(&c, C_READ);
    assert_false(done_within(&c, 100));
    pthread_cancel(c.th);
    pthread_join(c.th, NULL);
    order(&b, C_YIELD);
    assert_true(done_within(&b, 5000));
    struct worker d;
    start(&d);
    read_one(&d, FUSE_WRITE, NUBFS_INO_CTL, 22); /* free: d reads at once */
    finish(&b);
    finish(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_short_keeps_turn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yield_latest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_and_cancel_hand_on, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
