/* Unit tests of fs/paths.c: `~` expansion of path options, the
 * systemd-escape --path spelling of a mountpoint, and the default state
 * directory for root and for a user. */
#include <errno.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "paths.h"

static void expect_expand(const char *in, const char *want)
{
    char *out = NULL;
    assert_int_equal(nubfs_expand_home(in, &out), 0);
    assert_string_equal(out, want);
    free(out);
}

static void test_expand_home(void **state)
{
    (void)state;
    setenv("HOME", "/home/me", 1);
    expect_expand("~", "/home/me");
    expect_expand("~/", "/home/me/");
    expect_expand("~/keys", "/home/me/keys");
    expect_expand("/abs/~x", "/abs/~x");
    expect_expand("rel/path", "rel/path");
    expect_expand("", "");
    setenv("HOME", "/home/me//", 1);
    expect_expand("~/keys", "/home/me/keys");
    setenv("HOME", "/", 1);
    expect_expand("~/keys", "/keys");
    /* A relative or missing HOME: the password database. */
    struct passwd *pw = getpwuid(getuid());
    assert_non_null(pw);
    char want[4096];
    snprintf(want, sizeof(want), "%s/k", strcmp(pw->pw_dir, "/") ? pw->pw_dir : "");
    unsetenv("HOME");
    expect_expand("~/k", want);
    setenv("HOME", "relative", 1);
    expect_expand("~/k", want);
    /* ~user */
    struct passwd *root = getpwnam("root");
    assert_non_null(root);
    snprintf(want, sizeof(want), "%s/.config/nubfs", root->pw_dir);
    expect_expand("~root/.config/nubfs", want);
    expect_expand("~root", root->pw_dir);
    char *out = (char *)1;
    assert_int_equal(nubfs_expand_home("~no-such-user-nubfs/x", &out), -ENOENT);
    assert_null(out);
}

static void expect_escape(const char *in, const char *want)
{
    char *out = nubfs_escape_path(in);
    assert_non_null(out);
    assert_string_equal(out, want);
    free(out);
}

static void test_escape_path(void **state)
{
    (void)state;
    /* What systemd-escape --path prints for each. */
    expect_escape("/srv/nub", "srv-nub");
    expect_escape("/tmp/nubfs-abc/mnt", "tmp-nubfs\\x2dabc-mnt");
    expect_escape("/", "-");
    expect_escape("//a//b/", "a-b");
    expect_escape("/srv/.hid/x y", "srv-.hid-x\\x20y");
    expect_escape("/.x", "\\x2ex");
    expect_escape("/a:b_c.d/\xc3\xbc", "a:b_c.d-\\xc3\\xbc");
    expect_escape("/a\\b", "a\\x5cb");
}

static void expect_state(uid_t uid, const char *want)
{
    char *out = NULL;
    assert_int_equal(nubfs_default_state_dir("/srv/my-nub", uid, &out), 0);
    assert_string_equal(out, want);
    free(out);
}

static void test_default_state_dir(void **state)
{
    (void)state;
    setenv("HOME", "/home/me", 1);
    setenv("XDG_STATE_HOME", "/xdg/state", 1);
    expect_state(0, "/var/lib/nubfs/srv-my\\x2dnub");
    expect_state(1000, "/xdg/state/nubfs/srv-my\\x2dnub");
    setenv("XDG_STATE_HOME", "not/absolute", 1); /* ignored, as XDG says */
    expect_state(1000, "/home/me/.local/state/nubfs/srv-my\\x2dnub");
    unsetenv("XDG_STATE_HOME");
    expect_state(1000, "/home/me/.local/state/nubfs/srv-my\\x2dnub");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expand_home),
        cmocka_unit_test(test_escape_path),
        cmocka_unit_test(test_default_state_dir),
    };
    return cmocka_run_group_tests_name("paths", tests, NULL, NULL);
}
