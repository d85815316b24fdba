/* The user-facing errno table (src/errors.c), row by row: each row's
 * errno is what the statuses behind that failure map to, its message is
 * what strerror (so cp) prints, and it reads the same in the ERRORS table
 * of man/nubfs.8. Also the sign convention: every mapping returns 0 or a
 * negative errno. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"
#include "nub/abi.h"

/* What produces each row's errno: the mappings of the statuses that stand
 * for that failure (a -EIO from a guest crash comes from the sandbox). */
#define MAX_SOURCES 6
static const int row_errs[] = {ENOKEY, EKEYREJECTED, EBADMSG, EUCLEAN, ENOSPC,
                               EDQUOT, EFBIG,  EEXIST,       EIO};

/* got[i]: the errnos of the statuses behind row i, ended by 1. */
static void fill_sources(int (*got)[MAX_SOURCES])
{
    int v[][MAX_SOURCES] = {
        {nub_errno_rvf(RVF_E_NO_SIGNATURE), nub_errno_sig(NUB_SIG_NO_SIGNATURE), 1},
        {nub_errno_sig(NUB_SIG_BAD_SIGNATURE), nub_errno_sig(NUB_SIG_UNTRUSTED_KEY), 1},
        {nub_errno_rvf(RVF_E_MAGIC), nub_errno_rvf(RVF_E_MANIFEST), nub_errno_rvf(RVF_E_WASM),
         nub_errno_sig(NUB_SIG_MALFORMED), nub_errno_mount(NUB_ST_BADMSG), 1},
        {nub_errno_rvf(RVF_E_HASH), 1},
        {nub_errno_mount(NUB_ST_NOMEM), nub_errno_guest(NUB_ST_NOMEM), 1},
        {nub_errno_rvf(RVF_E_LIMIT), nub_errno_mount(NUB_ST_QUOTA),
         nub_errno_mount(NUB_ST_OVERFLOW), 1},
        {nub_errno_rvf(RVF_E_TOO_BIG), 1},
        {nub_errno_mount(NUB_ST_EXISTS), nub_errno_guest(NUB_ST_EXISTS), 1},
        {nub_errno_guest(NUB_ST_PENDING), 1},
    };
    memcpy(got, v, sizeof(v));
}

static void test_rows_map(void **state)
{
    (void)state;
    size_t n = sizeof(row_errs) / sizeof(row_errs[0]);
    assert_int_equal(nub_user_errors_count, n);
    int got[sizeof(row_errs) / sizeof(row_errs[0])][MAX_SOURCES];
    fill_sources(got);
    for (size_t i = 0; i < n; i++) {
        const struct nub_user_error *row = &nub_user_errors[i];
        assert_int_equal(row->err, row_errs[i]);
        for (size_t k = 0; k < MAX_SOURCES && got[i][k] != 1; k++) {
            if (got[i][k] != -row->err)
                fail_msg("row %s: source %zu maps to %d", row->name, k, got[i][k]);
        }
    }
}

static void test_rows_say_what_cp_prints(void **state)
{
    (void)state;
    for (size_t i = 0; i < nub_user_errors_count; i++) {
        const struct nub_user_error *row = &nub_user_errors[i];
        assert_string_equal(strerror(row->err), row->message);
        assert_non_null(row->failure);
        assert_true(row->name[0] == 'E');
    }
}

/* The rows of the tbl table under .SH ERRORS, between the "_" rule and
 * .TE: "failure<TAB>errno<TAB>message". */
static void test_rows_match_man_page(void **state)
{
    (void)state;
    FILE *f = fopen(NUB_MAN_DIR "/nubfs.8", "r");
    assert_non_null(f);
    char line[512];
    int section = 0, in_rows = 0;
    size_t row = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, ".SH ", 4) == 0)
            section = strcmp(line, ".SH ERRORS") == 0;
        if (!section)
            continue;
        if (strcmp(line, "_") == 0) {
            in_rows = 1;
            continue;
        }
        if (strcmp(line, ".TE") == 0)
            break;
        if (!in_rows)
            continue;
        char *failure = line, *name = strchr(line, '\t');
        assert_non_null(name);
        *name++ = '\0';
        char *message = strchr(name, '\t');
        assert_non_null(message);
        *message++ = '\0';
        assert_true(row < nub_user_errors_count);
        assert_string_equal(failure, nub_user_errors[row].failure);
        assert_string_equal(name, nub_user_errors[row].name);
        assert_string_equal(message, nub_user_errors[row].message);
        row++;
    }
    fclose(f);
    assert_int_equal(row, nub_user_errors_count);
}

/* One convention: 0 or a negative errno, whatever the status. */
static void test_sign_convention(void **state)
{
    (void)state;
    for (uint32_t st = 0; st < 64; st++) {
        assert_true(nub_errno_guest(st) <= 0);
        assert_true(nub_errno_mount(st) <= 0);
    }
    assert_int_equal(nub_errno_guest(NUB_ST_OK), 0);
    for (int st = 0; st <= RVF_E__COUNT; st++)
        assert_true(nub_errno_rvf((enum rvf_status)st) < 0 || st == RVF_OK);
    for (int st = 0; st <= NUB_SIG_MALFORMED + 1; st++)
        assert_true(nub_errno_sig((enum nub_sig_status)st) < 0 || st == NUB_SIG_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_map),
        cmocka_unit_test(test_rows_say_what_cp_prints),
        cmocka_unit_test(test_rows_match_man_page),
        cmocka_unit_test(test_sign_convention),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
