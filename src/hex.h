/* Lowercase hex, the one encoder and decoder of the host side (cap names,
 * key files, key ids, JSON), on libsodium's constant-time sodium_bin2hex
 * and sodium_hex2bin. */
#ifndef NUB_HEX_H
#define NUB_HEX_H

#include <stddef.h>
#include <stdint.h>

/* 2 * n lowercase hex digits of bin[0, n) and a NUL into out; out_cap must
 * be at least 2 * n + 1 (abort()s otherwise: a caller bug, never input).
 * Returns out. */
char *nub_hex_encode(char *out, size_t out_cap, const uint8_t *bin, size_t n);

/* Exactly 2 * n lowercase hex digits in hex[0, hexlen) (no NUL needed)
 * into bin[0, n). -EINVAL for any other length, an upper-case digit or
 * any other byte; bin is then untouched. */
int nub_hex_decode(uint8_t *bin, size_t n, const char *hex, size_t hexlen);

/* A cap hash (16 bytes) <-> 32 lowercase hex digits + NUL, as
 * `xxhsum -H2` prints it. nub_hash_from_hex takes a NUL-terminated string
 * (a file name) and accepts exactly 32 lowercase hex digits (-EINVAL). */
void nub_hash_to_hex(const uint8_t hash[16], char out[33]);
int nub_hash_from_hex(const char *s, uint8_t out[16]);

#endif /* NUB_HEX_H */
