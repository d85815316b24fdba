/* Lowercase hex on libsodium (see hex.h). */
#include "hex.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

char *nub_hex_encode(char *out, size_t out_cap, const uint8_t *bin, size_t n)
{
    if (n > (SIZE_MAX - 1) / 2 || out_cap < 2 * n + 1)
        abort();
    return sodium_bin2hex(out, out_cap, bin, n);
}

/* The longest decode on the stack: 64 bytes (a secret key pair). */
#define HEX_MAX_BYTES 64u

int nub_hex_decode(uint8_t *bin, size_t n, const char *hex, size_t hexlen)
{
    if (n > HEX_MAX_BYTES || hexlen != 2 * n)
        return -EINVAL;
    uint8_t tmp[HEX_MAX_BYTES];
    size_t got = 0;
    const char *end = NULL;
    int r = -EINVAL;
    /* sodium_hex2bin also takes upper case; encoding back and comparing
     * keeps the one spelling, without a digit loop of our own. */
    char back[2 * HEX_MAX_BYTES + 1];
    if (sodium_hex2bin(tmp, n, hex, hexlen, NULL, &got, &end) == 0 && got == n &&
        end == hex + hexlen) {
        sodium_bin2hex(back, sizeof back, tmp, n);
        if (sodium_memcmp(back, hex, hexlen) == 0) {
            memcpy(bin, tmp, n);
            r = 0;
        }
    }
    /* Key seeds come through here. */
    sodium_memzero(tmp, sizeof tmp);
    sodium_memzero(back, sizeof back);
    return r;
}

void nub_hash_to_hex(const uint8_t hash[16], char out[33])
{
    nub_hex_encode(out, 33, hash, 16);
}

int nub_hash_from_hex(const char *s, uint8_t out[16])
{
    /* A file name of any length: look at no more than 33 bytes. */
    size_t n = 0;
    while (n < 33 && s[n] != '\0')
        n++;
    return n == 32 ? nub_hex_decode(out, 16, s, 32) : -EINVAL;
}
