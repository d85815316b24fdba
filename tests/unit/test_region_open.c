/* Unit tests of fs/region_open.c: the open files of immutable regions by
 * inode, whose attributes fstat answers once their package went. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../fs/mounts.h"

static struct stat sized(off_t size)
{
    struct stat st;
    memset(&st, 0, sizeof(st));
    st.st_mode = S_IFREG | 0444;
    st.st_size = size;
    return st;
}

/* None open: ENOENT; the newest open file of an inode answers; closing
 * it (or one in the middle) leaves the others; another inode's opens do
 * not mix. */
static void test_newest_open_answers(void **state)
{
    (void)state;
    const fuse_ino_t ino = mnt_ino(7, MK_REGION, 3), other = ino + 256 * 1024;
    struct stat st;
    assert_int_equal(nubfs_region_open_attr(ino, &st), -ENOENT);

    struct nubfs_region_open a, b, c, d;
    struct stat sa = sized(100), sb = sized(200), sc = sized(300), sd = sized(9);
    nubfs_region_open_add(&a, ino, &sa);
    nubfs_region_open_add(&d, other, &sd);
    nubfs_region_open_add(&b, ino, &sb);
    nubfs_region_open_add(&c, ino, &sc);
    assert_int_equal(nubfs_region_open_attr(ino, &st), 0);
    assert_int_equal(st.st_size, 300);
    assert_int_equal(nubfs_region_open_attr(other, &st), 0);
    assert_int_equal(st.st_size, 9);

    nubfs_region_open_del(&b); /* the middle one */
    assert_int_equal(nubfs_region_open_attr(ino, &st), 0);
    assert_int_equal(st.st_size, 300);
    nubfs_region_open_del(&c); /* the newest */
    assert_int_equal(nubfs_region_open_attr(ino, &st), 0);
    assert_int_equal(st.st_size, 100);
    assert_true(S_ISREG(st.st_mode));
    nubfs_region_open_del(&a);
    assert_int_equal(nubfs_region_open_attr(ino, &st), -ENOENT);
    assert_int_equal(nubfs_region_open_attr(other, &st), 0);
    nubfs_region_open_del(&d);
    assert_int_equal(nubfs_region_open_attr(other, &st), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_newest_open_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
