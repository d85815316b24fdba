/* libFuzzer target: the key-file parsers of src/sign.c and
 * src/sign_ssh.c (nub_pubkeys_parse, nub_pubkey_parse, nub_seckey_parse;
 * nubfs and OpenSSH formats) on arbitrary bytes. They take the text and
 * its length (no NUL needed), so the input goes in as is, in an
 * exactly-sized copy. An accepted nubfs-format file must print back to
 * the same bytes; an accepted OpenSSH public key must appear in the text
 * as its own base64; an accepted secret key must sign as its public key;
 * a refused file must say why. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

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

static bool starts(const char *text, size_t len, const char *p)
{
    return len >= strlen(p) && memcmp(text, p, strlen(p)) == 0;
}

/* The OpenSSH wire blob of pk, base64, occurs in text[0, len). */
static bool ssh_key_in(const uint8_t pk[32], const char *text, size_t len)
{
    uint8_t blob[51] = {0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9',
                        0, 0, 0, 32};
    memcpy(blob + 19, pk, 32);
    char b64[80];
    sodium_bin2base64(b64, sizeof b64, blob, sizeof blob, sodium_base64_VARIANT_ORIGINAL);
    return memmem(text, len, b64, strlen(b64)) != NULL;
}

struct seen {
    const char *text;
    size_t len;
    size_t n;
};

static int check_key(void *ctx, const struct nub_pubkey *k)
{
    struct seen *s = ctx;
    uint8_t id[NUB_KEYID_BYTES];
    nub_key_id(k->pk, id);
    FUZZ_CHECK(memcmp(id, k->id, sizeof(id)) == 0);
    FUZZ_CHECK(starts(s->text, s->len, NUB_PUB_PREFIX) || ssh_key_in(k->pk, s->text, s->len));
    s->n++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    FUZZ_CHECK(text != NULL);
    if (size)
        memcpy(text, data, size);
    bool nl = size > 0 && text[size - 1] == '\n';
    char err[NUB_SIGN_ERR_MAX];

    struct seen seen = {text, size, 0};
    err[0] = '\0';
    int m = nub_pubkeys_parse(text, size, check_key, &seen, err, sizeof(err));
    FUZZ_CHECK(m == 0 || m == -EINVAL);
    FUZZ_CHECK(m != 0 || seen.n >= 1);
    if (m != 0)
        FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);

    struct nub_pubkey pub;
    err[0] = '\0';
    int r = nub_pubkey_parse(text, size, &pub, err, sizeof(err));
    FUZZ_CHECK(r == 0 || r == -EINVAL);
    FUZZ_CHECK(r != 0 || (m == 0 && seen.n == 1));
    if (r == 0) {
        if (starts(text, size, NUB_PUB_PREFIX))
            FUZZ_CHECK(prints_back(NUB_PUB_PREFIX, pub.pk, nl, text, size));
        else
            FUZZ_CHECK(ssh_key_in(pub.pk, text, size));
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
        if (starts(text, size, NUB_SEC_PREFIX))
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
