/* libFuzzer target: the key-file parsers of src/sign.c
 * (nub_pubkey_parse, nub_seckey_parse) on arbitrary bytes. They take the
 * text and its length (no NUL needed), so the input goes in as is, in an
 * exactly-sized copy. An accepted file must be exactly the format of
 * sign.h, and must print back to the same bytes; a refused one must say
 * why. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sign.h"

#define FUZZ_CHECK(cond)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,    \
                    #cond);                                                     \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* PREFIX + 64 lowercase hex of raw[32] (+ '\n' if nl) equals text[0, len). */
static bool prints_back(const char *prefix, const uint8_t raw[32], bool nl, const char *text,
                        size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char line[128];
    size_t n = strlen(prefix);
    memcpy(line, prefix, n);
    for (int i = 0; i < 32; i++) {
        line[n++] = hex[raw[i] >> 4];
        line[n++] = hex[raw[i] & 15];
    }
    if (nl)
        line[n++] = '\n';
    return n == len && memcmp(line, text, len) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    FUZZ_CHECK(text != NULL);
    if (size)
        memcpy(text, data, size);
    bool nl = size > 0 && text[size - 1] == '\n';
    char err[NUB_SIGN_ERR_MAX];

    struct nub_pubkey pub;
    err[0] = '\0';
    int r = nub_pubkey_parse(text, size, &pub, err, sizeof(err));
    FUZZ_CHECK(r == 0 || r == -EINVAL);
    if (r == 0) {
        FUZZ_CHECK(prints_back(NUB_PUB_PREFIX, pub.pk, nl, text, size));
        uint8_t id[NUB_KEYID_BYTES];
        nub_key_id(pub.pk, id);
        FUZZ_CHECK(memcmp(id, pub.id, sizeof(id)) == 0);
    } else {
        FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
    }

    struct nub_seckey sec;
    err[0] = '\0';
    int s = nub_seckey_parse(text, size, &sec, err, sizeof(err));
    FUZZ_CHECK(s == 0 || s == -EINVAL);
    /* One prefix or the other: never both formats at once. */
    FUZZ_CHECK(!(r == 0 && s == 0));
    if (s == 0) {
        /* The seed is libsodium's first 32 bytes of the secret key. */
        FUZZ_CHECK(prints_back(NUB_SEC_PREFIX, sec.sk, nl, text, size));
        FUZZ_CHECK(memcmp(sec.sk + 32, sec.pub.pk, 32) == 0);
        /* The pair works: a signature made with it verifies. */
        uint8_t sig[NUB_SIGN_BYTES];
        nub_sign_detached(&sec, (const uint8_t *)text, size, sig);
        FUZZ_CHECK(nub_sign_check(sec.pub.pk, sig, (const uint8_t *)text, size));
        nub_seckey_wipe(&sec);
    } else {
        FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
    }
    free(text);
    return 0;
}
