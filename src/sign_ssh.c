/* OpenSSH Ed25519 keys (see sign_ssh.h). The binary forms are the SSH
 * wire encoding (RFC 4251 strings: a big-endian u32 length, then the
 * bytes) and OpenSSH's PROTOCOL.key; base64 is libsodium's. Every length
 * is checked against what is left before it is used, every loop is bounded
 * by the input, and secret bytes are wiped before their buffer is freed. */
#include "sign_ssh.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errbuf.h"

#define LINE_MAX_BYTES 8192u /* one public key line */
#define ED25519_BLOB_LEN 51u /* string "ssh-ed25519" + string pk[32] */
#define PRIVATE_END "-----END OPENSSH PRIVATE KEY-----"
#define PRIVATE_MAGIC "openssh-key-v1" /* and its NUL */

/* ---- SSH wire encoding --------------------------------------------------- */

struct wire {
    const uint8_t *p;
    size_t len, off; /* off <= len always */
};

static bool get_u32(struct wire *w, uint32_t *v)
{
    if (w->len - w->off < 4)
        return false;
    const uint8_t *b = w->p + w->off;
    *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    w->off += 4;
    return true;
}

static bool get_string(struct wire *w, const uint8_t **s, uint32_t *n)
{
    uint32_t l;
    if (!get_u32(w, &l) || l > w->len - w->off)
        return false;
    *s = w->p + w->off;
    *n = l;
    w->off += l;
    return true;
}

static bool bytes_are(const uint8_t *s, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(s, want, n) == 0;
}

/* A public key blob: string "ssh-ed25519", string pk[32], nothing more. */
static bool ed25519_blob(const uint8_t *b, size_t n, uint8_t pk[NUB_SIGN_PUBLIC_BYTES])
{
    struct wire w = {b, n, 0};
    const uint8_t *t, *k;
    uint32_t tn, kn;
    if (!get_string(&w, &t, &tn) || !bytes_are(t, tn, NUB_SSH_ED25519) ||
        !get_string(&w, &k, &kn) || kn != NUB_SIGN_PUBLIC_BYTES || w.off != w.len)
        return false;
    memcpy(pk, k, NUB_SIGN_PUBLIC_BYTES);
    return true;
}

/* The base64 alphabet (and '=' padding) only. libsodium's decoder is not
 * enough on its own: it maps some bytes >= 0x80 to digits, so the same key
 * could be spelt in many ways (found by fuzz.keyfile). */
static bool base64_chars(const char *s, size_t n, bool line_breaks)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '/' || c == '=' ||
                  (line_breaks && (c == '\n' || c == '\r'));
        if (!ok)
            return false;
    }
    return true;
}

/* ---- public key lines ---------------------------------------------------- */

struct tok {
    const char *s;
    size_t n;
};

static bool tok_is(const struct tok *t, const char *s)
{
    return t->n == strlen(s) && memcmp(t->s, s, t->n) == 0;
}

static bool tok_prefix(const struct tok *t, const char *s)
{
    size_t n = strlen(s);
    return t->n >= n && memcmp(t->s, s, n) == 0;
}

static bool tok_suffix(const struct tok *t, const char *s)
{
    size_t n = strlen(s);
    return t->n >= n && memcmp(t->s + t->n - n, s, n) == 0;
}

/* The key types OpenSSH writes into these files. */
static bool is_key_type(const struct tok *t)
{
    return tok_is(t, NUB_SSH_ED25519) || tok_is(t, "ssh-rsa") || tok_is(t, "ssh-dss") ||
           tok_prefix(t, "ecdsa-sha2-") || (tok_prefix(t, "sk-") && tok_suffix(t, "@openssh.com")) ||
           tok_suffix(t, "-cert-v01@openssh.com");
}

/* Next field of s[*pos, len) up to an unquoted space or tab (or, with
 * comma, an unquoted ','), as OpenSSH splits option fields: double quotes
 * group, \" inside them is a quote. 1: a field in *t; 0: none left; -1: an
 * unterminated quote. */
static int next_field(const char *s, size_t len, size_t *pos, bool comma, struct tok *t)
{
    size_t i = *pos;
    if (!comma)
        while (i < len && (s[i] == ' ' || s[i] == '\t'))
            i++;
    if (i >= len) {
        *pos = len;
        return 0;
    }
    size_t start = i;
    bool quoted = false;
    for (; i < len; i++) {
        char c = s[i];
        if (quoted && c == '\\' && i + 1 < len)
            i++;
        else if (c == '"')
            quoted = !quoted;
        else if (!quoted && (c == ' ' || c == '\t' || (comma && c == ',')))
            break;
    }
    if (quoted)
        return -1;
    t->s = s + start;
    t->n = i - start;
    *pos = comma && i < len ? i + 1 : i; /* past the comma */
    return 1;
}

/* Whether a namespaces= list holds "nubfs" or "*" (no other patterns). */
static bool namespaces_include_nubfs(struct tok v)
{
    if (v.n >= 2 && v.s[0] == '"' && v.s[v.n - 1] == '"') {
        v.s++;
        v.n -= 2;
    }
    size_t pos = 0;
    struct tok item;
    while (pos < v.n && next_field(v.s, v.n, &pos, true, &item) == 1)
        if (tok_is(&item, "nubfs") || tok_is(&item, "*"))
            return true;
    return false;
}

/* The OPTIONS field of an allowed_signers line. 1: the key is for nubfs;
 * 0: its namespaces= leave nubfs out; -EINVAL with why: an option nubfs
 * cannot honour (refused rather than ignored, so a restriction is never
 * silently dropped). */
static int check_options(const struct tok *o, char *why, size_t whylen)
{
    int ok = 1;
    size_t pos = 0;
    struct tok opt;
    for (;;) {
        int r = next_field(o->s, o->n, &pos, true, &opt);
        if (r == 0)
            return ok;
        if (r < 0) {
            nub_set_err(why, whylen, "unterminated quote in the options");
            return -EINVAL;
        }
        const char *eq = memchr(opt.s, '=', opt.n);
        size_t nlen = eq ? (size_t)(eq - opt.s) : opt.n;
        if (nlen == 10 && eq && strncasecmp(opt.s, "namespaces", 10) == 0) {
            struct tok v = {eq + 1, opt.n - nlen - 1};
            if (!namespaces_include_nubfs(v))
                ok = 0;
            continue;
        }
        static const char *const refused[] = {"cert-authority", "valid-after", "valid-before"};
        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
            if (nlen == strlen(refused[i]) && strncasecmp(opt.s, refused[i], nlen) == 0) {
                nub_set_err(why, whylen,
                            "option %s is not supported (nubfs trusts plain keys, without "
                            "certificates or validity periods)",
                            refused[i]);
                return -EINVAL;
            }
        nub_set_err(why, whylen, "unknown option \"%.*s\"", (int)(nlen > 40 ? 40 : nlen), opt.s);
        return -EINVAL;
    }
}

/* One non-blank, non-comment line. 1: a key was added; 0: the line's
 * namespaces leave nubfs out; -EINVAL with why; or add's error. */
static int parse_key_line(const char *line, size_t n, nub_pubkey_fn add, void *ctx, char *why,
                          size_t whylen)
{
    struct tok lead[2], type, b64;
    size_t pos = 0, nlead = 0;
    int r;
    /* [PRINCIPALS [OPTIONS]] KEYTYPE: the type is the first key-type field. */
    for (;;) {
        r = next_field(line, n, &pos, false, &type);
        if (r < 0) {
            nub_set_err(why, whylen, "unterminated quote");
            return -EINVAL;
        }
        if (r == 0 || (!is_key_type(&type) && nlead == 2)) {
            nub_set_err(why, whylen,
                        "neither a nubfs public key nor an OpenSSH key line "
                        "([PRINCIPALS [OPTIONS]] ssh-ed25519 BASE64 [COMMENT])");
            return -EINVAL;
        }
        if (is_key_type(&type))
            break;
        lead[nlead++] = type;
    }
    if (!tok_is(&type, NUB_SSH_ED25519)) {
        nub_set_err(why, whylen, "key type %.*s: only ssh-ed25519 keys sign nubfs packages",
                    (int)(type.n > 40 ? 40 : type.n), type.s);
        return -EINVAL;
    }
    int for_us = 1;
    if (nlead == 2 && (for_us = check_options(&lead[1], why, whylen)) < 0)
        return for_us;
    if (next_field(line, n, &pos, false, &b64) != 1) {
        nub_set_err(why, whylen, "no base64 key after ssh-ed25519");
        return -EINVAL;
    }
    uint8_t blob[ED25519_BLOB_LEN + 1]; /* one more: a longer blob fails to fit */
    size_t blen = 0;
    const char *end = NULL;
    struct nub_pubkey k;
    if (!base64_chars(b64.s, b64.n, false) ||
        sodium_base642bin(blob, sizeof blob, b64.s, b64.n, NULL, &blen, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != b64.s + b64.n || !ed25519_blob(blob, blen, k.pk)) {
        nub_set_err(why, whylen, "the base64 field is not an ssh-ed25519 public key");
        return -EINVAL;
    }
    if (!for_us)
        return 0;
    nub_key_id(k.pk, k.id);
    r = add(ctx, &k);
    return r < 0 ? r : 1;
}

int nub_ssh_pubkeys_parse(const char *text, size_t len, nub_pubkey_fn add, void *ctx, char *err,
                          size_t errlen)
{
    if (nub_sign_init() < 0)
        return -EIO;
    size_t pos = 0, lineno = 0, added = 0, excluded = 0;
    char why[NUB_SIGN_ERR_MAX];
    while (pos < len) {
        lineno++;
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl != NULL);
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n > LINE_MAX_BYTES) {
            nub_set_err(err, errlen, "line %zu: longer than %u bytes", lineno, LINE_MAX_BYTES);
            return -EINVAL;
        }
        if (memchr(line, '\0', n)) {
            nub_set_err(err, errlen, "line %zu: NUL byte", lineno);
            return -EINVAL;
        }
        size_t i = 0;
        while (i < n && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == n || line[i] == '#')
            continue;
        int r = parse_key_line(line + i, n - i, add, ctx, why, sizeof why);
        if (r == -EINVAL) {
            nub_set_err(err, errlen, "line %zu: %s", lineno, why);
            return r;
        }
        if (r < 0)
            return r;
        if (r == 0)
            excluded++;
        else
            added++;
    }
    if (added == 0) {
        nub_set_err(err, errlen, "%s",
                    excluded ? "no key for nubfs: namespaces= leaves \"nubfs\" out on every line"
                             : "no key in the file");
        return -EINVAL;
    }
    return 0;
}

/* ---- private keys -------------------------------------------------------- */

/* Decoded "openssh-key-v1" bytes -> seed and pk. why on failure. */
static int parse_private_blob(const uint8_t *b, size_t n, uint8_t seed[NUB_SIGN_SEED_BYTES],
                              uint8_t pk[NUB_SIGN_PUBLIC_BYTES], char *why, size_t whylen)
{
    const size_t mlen = sizeof PRIVATE_MAGIC; /* with the NUL */
    if (n < mlen || memcmp(b, PRIVATE_MAGIC, mlen) != 0) {
        nub_set_err(why, whylen, "not an openssh-key-v1 private key");
        return -EINVAL;
    }
    struct wire w = {b, n, mlen};
    const uint8_t *cipher, *kdf, *kdfopt, *pub, *priv;
    uint32_t cn, kn, on, nkeys, pn, privn;
    if (!get_string(&w, &cipher, &cn) || !get_string(&w, &kdf, &kn) ||
        !get_string(&w, &kdfopt, &on) || !get_u32(&w, &nkeys)) {
        nub_set_err(why, whylen, "truncated header");
        return -EINVAL;
    }
    if (!bytes_are(cipher, cn, "none") || !bytes_are(kdf, kn, "none") || on != 0) {
        nub_set_err(why, whylen,
                    "the key is encrypted (cipher %.*s); nubfs-pack needs an unencrypted key: "
                    "copy it and run ssh-keygen -p -N '' -f COPY",
                    (int)(cn > 32 ? 32 : cn), (const char *)cipher);
        return -EINVAL;
    }
    if (nkeys != 1) {
        nub_set_err(why, whylen, "holds %u keys; one is expected", nkeys);
        return -EINVAL;
    }
    if (!get_string(&w, &pub, &pn) || !get_string(&w, &priv, &privn) || w.off != w.len) {
        nub_set_err(why, whylen, "truncated, or bytes after the private section");
        return -EINVAL;
    }
    if (!ed25519_blob(pub, pn, pk)) {
        nub_set_err(why, whylen, "not an Ed25519 key (only ssh-ed25519 keys sign nubfs packages)");
        return -EINVAL;
    }
    /* checkint x2, type, pk, sk (seed || pk), comment, padding 1 2 3 ...
     * to the cipher's block size (8 for "none"). */
    struct wire v = {priv, privn, 0};
    uint32_t c1, c2, tn, pkn, skn, comn;
    const uint8_t *type, *pk2, *sk, *comment;
    if (privn % 8 != 0 || !get_u32(&v, &c1) || !get_u32(&v, &c2) || c1 != c2 ||
        !get_string(&v, &type, &tn) || !bytes_are(type, tn, NUB_SSH_ED25519) ||
        !get_string(&v, &pk2, &pkn) || pkn != NUB_SIGN_PUBLIC_BYTES ||
        memcmp(pk2, pk, NUB_SIGN_PUBLIC_BYTES) != 0 || !get_string(&v, &sk, &skn) ||
        skn != NUB_SIGN_SECRET_BYTES ||
        memcmp(sk + NUB_SIGN_SEED_BYTES, pk, NUB_SIGN_PUBLIC_BYTES) != 0 ||
        !get_string(&v, &comment, &comn) || v.len - v.off >= 8) {
        nub_set_err(why, whylen, "malformed private section");
        return -EINVAL;
    }
    for (size_t i = 0; v.off + i < v.len; i++)
        if (priv[v.off + i] != (uint8_t)(i + 1)) {
            nub_set_err(why, whylen, "malformed padding of the private section");
            return -EINVAL;
        }
    /* The seed must give the public key the file names. */
    uint8_t derived[NUB_SIGN_PUBLIC_BYTES], full[NUB_SIGN_SECRET_BYTES];
    crypto_sign_seed_keypair(derived, full, sk);
    sodium_memzero(full, sizeof full);
    if (memcmp(derived, pk, sizeof derived) != 0) {
        nub_set_err(why, whylen, "the secret key does not match its public key");
        return -EINVAL;
    }
    memcpy(seed, sk, NUB_SIGN_SEED_BYTES);
    return 0;
}

int nub_ssh_seckey_parse(const char *text, size_t len, uint8_t seed[NUB_SIGN_SEED_BYTES],
                         uint8_t pk[NUB_SIGN_PUBLIC_BYTES], char *err, size_t errlen)
{
    if (nub_sign_init() < 0)
        return -EIO;
    const size_t bl = strlen(NUB_SSH_PRIVATE_BEGIN), el = strlen(PRIVATE_END);
    size_t p = bl, e = len;
    if (len < bl || memcmp(text, NUB_SSH_PRIVATE_BEGIN, bl) != 0) {
        nub_set_err(err, errlen, "does not start with \"%s\"", NUB_SSH_PRIVATE_BEGIN);
        return -EINVAL;
    }
    if (p < len && text[p] == '\r')
        p++;
    if (p >= len || text[p] != '\n') {
        nub_set_err(err, errlen, "no line break after \"%s\"", NUB_SSH_PRIVATE_BEGIN);
        return -EINVAL;
    }
    p++;
    if (e > p && text[e - 1] == '\n')
        e--;
    if (e > p && text[e - 1] == '\r')
        e--;
    if (e - p < el || memcmp(text + e - el, PRIVATE_END, el) != 0) {
        nub_set_err(err, errlen, "does not end with \"%s\"", PRIVATE_END);
        return -EINVAL;
    }
    const char *body = text + p;
    size_t blen = e - el - p;
    /* Only base64 and line breaks (libsodium's ignore list would also
     * match a NUL, and its decoder takes some bytes >= 0x80). */
    if (!base64_chars(body, blen, true)) {
        nub_set_err(err, errlen, "the key is not valid base64");
        return -EINVAL;
    }
    size_t cap = blen / 4 * 3 + 3, n = 0;
    uint8_t *bin = malloc(cap);
    if (!bin) {
        nub_set_err(err, errlen, "out of memory");
        return -ENOMEM;
    }
    const char *stop = NULL;
    char why[NUB_SIGN_ERR_MAX];
    int r;
    if (sodium_base642bin(bin, cap, body, blen, "\r\n", &n, &stop,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        stop != body + blen) {
        n = 0;
        r = -EINVAL;
        nub_set_err(err, errlen, "the key is not valid base64");
    } else if ((r = parse_private_blob(bin, n, seed, pk, why, sizeof why)) < 0) {
        nub_set_err(err, errlen, "%s", why);
    }
    sodium_memzero(bin, cap);
    free(bin);
    return r;
}
