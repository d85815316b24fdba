/* The host's one hex codec (src/hex.c on libsodium): what it prints, and
 * that it takes exactly lowercase digits of the right length, from a buffer
 * without a NUL as well as from a file name of any length. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"

static void encodes_lowercase(void **state)
{
    (void)state;
    const uint8_t b[] = {0x00, 0x01, 0xab, 0xcd, 0xef, 0xff, 0x7f};
    char s[2 * sizeof b + 1];
    assert_ptr_equal(nub_hex_encode(s, sizeof s, b, sizeof b), s);
    assert_string_equal(s, "0001abcdefff7f");
    char e[1];
    assert_string_equal(nub_hex_encode(e, sizeof e, b, 0), "");
}

static void decodes_exact_lowercase(void **state)
{
    (void)state;
    uint8_t out[4] = {9, 9, 9, 9};
    /* no NUL after the digits: the length bounds the read */
    const char digits[8] = {'d', 'e', 'a', 'd', 'b', 'e', 'e', 'f'};
    assert_int_equal(nub_hex_decode(out, 4, digits, 8), 0);
    const uint8_t want[] = {0xde, 0xad, 0xbe, 0xef};
    assert_memory_equal(out, want, 4);

    static const char *const bad[] = {
        "DEADBEEF", "deadBeef", "deadbee", "deadbeef0", "deadbeeg", "dead beef",
        "0xdeadbe", "deadbe:f", "deadbe\nf", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t o[4] = {1, 2, 3, 4};
        assert_int_equal(nub_hex_decode(o, 4, bad[i], strlen(bad[i])), -EINVAL);
        assert_memory_equal(o, ((const uint8_t[]){1, 2, 3, 4}), 4); /* untouched */
    }
    const char nul[8] = {'d', 'e', 'a', 'd', '\0', 'e', 'e', 'f'};
    assert_int_equal(nub_hex_decode(out, 4, nul, 8), -EINVAL);
    /* more than the helper decodes at once */
    char big[2 * 65];
    memset(big, 'a', sizeof big);
    uint8_t o65[65];
    assert_int_equal(nub_hex_decode(o65, 65, big, sizeof big), -EINVAL);
}

static void hash_names_round_trip(void **state)
{
    (void)state;
    uint8_t h[16], back[16];
    for (int i = 0; i < 16; i++)
        h[i] = (uint8_t)(i * 17 + 3);
    char s[33];
    nub_hash_to_hex(h, s);
    assert_int_equal(strlen(s), 32);
    assert_int_equal(nub_hash_from_hex(s, back), 0);
    assert_memory_equal(h, back, 16);
    /* a file name far longer than a hash is refused without a long read */
    char *longname = malloc(5000);
    assert_non_null(longname);
    memset(longname, 'a', 4999);
    longname[4999] = '\0';
    assert_int_equal(nub_hash_from_hex(longname, back), -EINVAL);
    free(longname);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encodes_lowercase),
        cmocka_unit_test(decodes_exact_lowercase),
        cmocka_unit_test(hash_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
