/* Unit tests of the guest's formatter, log ring and panic (host build). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nub/guest_host.h"
#include "nub/guest_log.h"

static void test_fmt(void **state)
{
    (void)state;
    char b[128];
    nub_fmt(b, sizeof b, "%s=%d %u %x %llx %zu %c%%", "k", -42, 7u, 0xbeefu,
            (unsigned long long)UINT64_MAX, (size_t)12, 'z');
    assert_string_equal(b, "k=-42 7 beef ffffffffffffffff 12 z%");
    nub_fmt(b, sizeof b, "%lld %ld %i", (long long)INT64_MIN, -1L, 0);
    assert_string_equal(b, "-9223372036854775808 -1 0");
    nub_fmt(b, sizeof b, "[%04d|%3u|%08llx|%05d]", 7, 5u, 0xabcull, -12);
    assert_string_equal(b, "[0007|  5|00000abc|-0012]");
    nub_fmt(b, sizeof b, "%p %s", (void *)0x1000, (const char *)NULL);
    assert_string_equal(b, "0x1000 (null)");
    /* Truncation keeps a terminating NUL and reports what was written. */
    assert_int_equal(nub_fmt(b, 5, "abcdefgh"), 4);
    assert_string_equal(b, "abcd");
    assert_int_equal(nub_fmt(b, 0, "abc"), 0);
}

static void test_log_ring_wraps(void **state)
{
    (void)state;
    static struct nub_log_ring ring;
    memset(&ring, 0, sizeof ring);
    nub_log_attach(&ring, NULL);
    unsigned long before = nub_host_log_notifies;
    nub_logf("hello %d", 1);
    assert_int_equal(ring.head, 8);
    assert_memory_equal(ring.data, "hello 1\n", 8);
    assert_int_equal(nub_host_log_notifies, before + 1);
    /* Past the ring size the head keeps counting and bytes wrap. */
    for (int i = 0; i < 2000; i++)
        nub_logf("line %04d", i); /* 10 bytes each */
    assert_int_equal(ring.head, 8 + 2000 * 10);
    uint64_t last = ring.head - 10;
    char line[11];
    for (int i = 0; i < 10; i++)
        line[i] = ring.data[(last + (uint64_t)i) % NUB_LOG_RING_SIZE];
    line[10] = 0;
    assert_string_equal(line, "line 1999\n");
    /* Over-long lines are cut, still one line. */
    char big[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    uint64_t h0 = ring.head;
    nub_logf("%s", big);
    assert_int_equal(ring.head - h0, NUB_LOG_LINE_MAX);
    assert_int_equal(ring.data[(ring.head - 1) % NUB_LOG_RING_SIZE], '\n');
    nub_log_attach(NULL, NULL);
}

static jmp_buf jb;
static void hook(void) { longjmp(jb, 1); }

static void test_panic_message(void **state)
{
    (void)state;
    static struct nub_mailbox mb;
    nub_log_attach(NULL, &mb);
    nub_host_abort_hook = hook;
    if (setjmp(jb) == 0) {
        nub_panic("bad thing %u at 0x%llx", 3u, 0x2000ull);
        fail_msg("nub_panic returned");
    }
    nub_host_abort_hook = NULL;
    assert_string_equal(mb.msg, "bad thing 3 at 0x2000");
    nub_log_attach(NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt),
        cmocka_unit_test(test_log_ring_wraps),
        cmocka_unit_test(test_panic_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
