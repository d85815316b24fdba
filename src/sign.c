/* Ed25519 keys, key files and detached signatures (see sign.h for the
 * file formats and the key id; OpenSSH's formats are in sign_ssh.c). */
#include "sign.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "file_util.h"
#include "hex.h"
#include "sign_ssh.h"

#define SECRET_FILE_MAX 4096u
#define PUBLIC_FILE_MAX 65536u /* an allowed_signers file holds many keys */
#define KEY_HEX 64u /* both nubfs files carry 32 bytes */

int nub_sign_init(void)
{
    /* sodium_init is idempotent and thread-safe: 1 means already done. */
    return sodium_init() < 0 ? -EIO : 0;
}

const char *nub_sig_status_str(enum nub_sig_status st)
{
    switch (st) {
    case NUB_SIG_OK: return "signature good";
    case NUB_SIG_NO_SIGNATURE: return "package is not signed";
    case NUB_SIG_BAD_SIGNATURE: return "signature does not match the package";
    case NUB_SIG_UNTRUSTED_KEY: return "signed by a key that is not trusted";
    case NUB_SIG_MALFORMED: return "malformed signature segment";
    }
    return "unknown signature status";
}

void nub_key_id(const uint8_t pk[NUB_SIGN_PUBLIC_BYTES], uint8_t id[NUB_KEYID_BYTES])
{
    uint8_t h[32];
    crypto_generichash(h, sizeof h, pk, NUB_SIGN_PUBLIC_BYTES, NULL, 0);
    memcpy(id, h, NUB_KEYID_BYTES);
}

void nub_key_id_hex(const uint8_t id[NUB_KEYID_BYTES], char out[NUB_KEYID_HEX])
{
    nub_hex_encode(out, NUB_KEYID_HEX, id, NUB_KEYID_BYTES);
}

static void seckey_from_seed(struct nub_seckey *k, const uint8_t seed[NUB_SIGN_SEED_BYTES])
{
    crypto_sign_seed_keypair(k->pub.pk, k->sk, seed);
    nub_key_id(k->pub.pk, k->pub.id);
}

int nub_key_generate(struct nub_seckey *out)
{
    if (nub_sign_init() < 0)
        return -EIO;
    uint8_t seed[NUB_SIGN_SEED_BYTES];
    randombytes_buf(seed, sizeof seed);
    seckey_from_seed(out, seed);
    sodium_memzero(seed, sizeof seed);
    return 0;
}

void nub_seckey_wipe(struct nub_seckey *k)
{
    sodium_memzero(k, sizeof *k);
}

/* "PREFIX" + 64 lowercase hex + optional "\n", nothing else. */
static int parse_line(const char *text, size_t len, const char *prefix, uint8_t out[32],
                      char *err, size_t errlen)
{
    size_t plen = strlen(prefix);
    if (len > 0 && text[len - 1] == '\n')
        len--;
    if (len < plen || memcmp(text, prefix, plen) != 0) {
        nub_set_err(err, errlen, "does not start with \"%.*s\"", (int)(plen - 1), prefix);
        return -EINVAL;
    }
    const char *hex = text + plen;
    size_t hlen = len - plen;
    if (hlen != KEY_HEX) {
        nub_set_err(err, errlen,
                    "expected %u hex digits after \"%.*s\" on one line, found %zu bytes", KEY_HEX,
                    (int)(plen - 1), prefix, hlen);
        return -EINVAL;
    }
    if (nub_hex_decode(out, 32, hex, hlen) != 0) {
        nub_set_err(err, errlen, "expected %u lowercase hex digits after \"%.*s\"", KEY_HEX,
                    (int)(plen - 1), prefix);
        return -EINVAL;
    }
    return 0;
}

static bool starts_with(const char *text, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(text, prefix, n) == 0;
}

int nub_pubkeys_parse(const char *text, size_t len, nub_pubkey_fn add, void *ctx, char *err,
                      size_t errlen)
{
    if (nub_sign_init() < 0)
        return -EIO;
    if (starts_with(text, len, NUB_SEC_PREFIX) || starts_with(text, len, NUB_SSH_PRIVATE_BEGIN)) {
        nub_set_err(err, errlen, "is a secret key; a public key (.pub) is needed here");
        return -EINVAL;
    }
    if (!starts_with(text, len, NUB_PUB_PREFIX))
        return nub_ssh_pubkeys_parse(text, len, add, ctx, err, errlen);
    struct nub_pubkey k;
    int r = parse_line(text, len, NUB_PUB_PREFIX, k.pk, err, errlen);
    if (r < 0)
        return r;
    nub_key_id(k.pk, k.id);
    return add(ctx, &k);
}

struct one_key {
    struct nub_pubkey *out;
    size_t n;
};

static int take_one(void *ctx, const struct nub_pubkey *k)
{
    struct one_key *o = ctx;
    if (o->n++ == 0)
        *o->out = *k;
    return 0;
}

int nub_pubkey_parse(const char *text, size_t len, struct nub_pubkey *out, char *err,
                     size_t errlen)
{
    struct one_key o = {out, 0};
    int r = nub_pubkeys_parse(text, len, take_one, &o, err, errlen);
    if (r == 0 && o.n != 1) {
        nub_set_err(err, errlen, "holds %zu keys; one is expected here", o.n);
        r = -EINVAL;
    }
    return r;
}

int nub_seckey_parse(const char *text, size_t len, struct nub_seckey *out, char *err,
                     size_t errlen)
{
    if (nub_sign_init() < 0)
        return -EIO;
    uint8_t seed[NUB_SIGN_SEED_BYTES], pk[NUB_SIGN_PUBLIC_BYTES];
    int r;
    if (starts_with(text, len, NUB_SSH_PRIVATE_BEGIN)) {
        r = nub_ssh_seckey_parse(text, len, seed, pk, err, errlen);
    } else if (starts_with(text, len, NUB_SEC_PREFIX)) {
        r = parse_line(text, len, NUB_SEC_PREFIX, seed, err, errlen);
    } else {
        nub_set_err(err, errlen,
                    "neither a nubfs secret key (\"%.*s ...\") nor an OpenSSH private key",
                    (int)strlen(NUB_SEC_PREFIX) - 1, NUB_SEC_PREFIX);
        r = -EINVAL;
    }
    if (r == 0)
        seckey_from_seed(out, seed);
    sodium_memzero(seed, sizeof seed);
    return r;
}

/* Reads a key file (at most SECRET_FILE_MAX or PUBLIC_FILE_MAX bytes)
 * into a malloc'd, NUL-terminated *text the caller wipes and frees. 0 or
 * -errno. `secret` refuses a public key file and modes that let
 * group/others in. */
static int read_keyfile(const char *path, bool secret, char **text, size_t *len, char *err,
                        size_t errlen)
{
    uint8_t *buf;
    mode_t mode;
    const unsigned max = secret ? SECRET_FILE_MAX : PUBLIC_FILE_MAX;
    int r = nub_read_file(path, max, &buf, len, &mode, err, errlen);
    if (r == -EFBIG) {
        nub_set_err(err, errlen, "%s: malformed key file (larger than %u bytes)", path, max);
        return -EINVAL;
    }
    if (r < 0)
        return r;
    const char *t = (const char *)buf;
    if (secret && (starts_with(t, *len, NUB_PUB_PREFIX) ||
                   starts_with(t, *len, NUB_SSH_ED25519 " "))) {
        r = -EINVAL;
        nub_set_err(err, errlen, "%s: is a public key file; a secret key (.key) is needed here",
                    path);
    } else if (secret && (mode & 077)) {
        /* Checked after reading so a mix-up of .pub and .key gets the message above. */
        r = -EPERM;
        nub_set_err(err, errlen, "%s: secret key is accessible by others (mode %04o); chmod 600 it",
                    path, (unsigned)(mode & 07777));
    }
    if (r < 0) {
        sodium_memzero(buf, *len);
        free(buf);
        return r;
    }
    *text = (char *)buf;
    return 0;
}

int nub_pubkeys_load(const char *path, nub_pubkey_fn add, void *ctx, char *err, size_t errlen)
{
    char *text;
    size_t n;
    int r = read_keyfile(path, false, &text, &n, err, errlen);
    if (r < 0)
        return r;
    char why[NUB_SIGN_ERR_MAX];
    r = nub_pubkeys_parse(text, n, add, ctx, why, sizeof why);
    free(text);
    if (r == -EINVAL)
        nub_set_err(err, errlen, "%s: malformed public key file (%s)", path, why);
    else if (r < 0)
        nub_set_err(err, errlen, "%s: %s", path, strerror(-r));
    return r;
}

int nub_pubkey_load(const char *path, struct nub_pubkey *out, char *err, size_t errlen)
{
    struct one_key o = {out, 0};
    int r = nub_pubkeys_load(path, take_one, &o, err, errlen);
    if (r == 0 && o.n != 1) {
        nub_set_err(err, errlen, "%s: holds %zu keys; one is expected here", path, o.n);
        r = -EINVAL;
    }
    return r;
}

int nub_seckey_load(const char *path, struct nub_seckey *out, char *err, size_t errlen)
{
    char *text;
    size_t n;
    int r = read_keyfile(path, true, &text, &n, err, errlen);
    if (r < 0)
        return r;
    char why[NUB_SIGN_ERR_MAX];
    r = nub_seckey_parse(text, n, out, why, sizeof why);
    sodium_memzero(text, n);
    free(text);
    if (r < 0)
        nub_set_err(err, errlen, "%s: malformed secret key file (%s)", path, why);
    return r;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Writes `text` to path with exactly `mode`. Without force the file is
 * created exclusively (an existing file, even a dangling symlink, is
 * -EEXIST); with force a temp file in the same directory is renamed over it. */
static int write_keyfile(const char *path, const char *text, mode_t mode, bool force,
                         char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    const char *target = path;
    int fd;
    if (force) {
        if ((size_t)snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= sizeof tmp) {
            nub_set_err(err, errlen, "%s: path too long", path);
            return -ENAMETOOLONG;
        }
        fd = mkostemp(tmp, O_CLOEXEC);
        target = tmp;
    } else {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    }
    if (fd < 0) {
        int e = errno;
        if (e == EEXIST)
            nub_set_err(err, errlen, "%s: already exists (use --force to replace it)", path);
        else
            nub_set_err(err, errlen, "%s: %s", target, strerror(e));
        return -e;
    }
    /* The umask may have narrowed the mode; set exactly what we mean. */
    int r = fchmod(fd, mode) < 0 ? -errno : 0;
    if (r == 0)
        r = write_all(fd, text, strlen(text));
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && force && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        nub_set_err(err, errlen, "%s: %s", target, strerror(-r));
        unlink(target);
    }
    return r;
}

int nub_key_write_pair(const char *base, const struct nub_seckey *key, bool force, char *err,
                       size_t errlen)
{
    char kpath[PATH_MAX], ppath[PATH_MAX];
    if ((size_t)snprintf(kpath, sizeof kpath, "%s.key", base) >= sizeof kpath ||
        (size_t)snprintf(ppath, sizeof ppath, "%s.pub", base) >= sizeof ppath) {
        nub_set_err(err, errlen, "%s: path too long", base);
        return -ENAMETOOLONG;
    }
    struct stat st;
    if (!force && lstat(ppath, &st) == 0) {
        /* Check before creating the .key so a refusal writes nothing. */
        nub_set_err(err, errlen, "%s: already exists (use --force to replace it)", ppath);
        return -EEXIST;
    }
    /* prefix + 64 hex + "\n" + NUL */
    char sline[sizeof NUB_SEC_PREFIX + 2 * NUB_SIGN_SEED_BYTES + 2];
    char pline[sizeof NUB_PUB_PREFIX + 2 * NUB_SIGN_PUBLIC_BYTES + 2];
    char hex[2 * 32 + 1];
    nub_hex_encode(hex, sizeof hex, key->sk, NUB_SIGN_SEED_BYTES);
    snprintf(sline, sizeof sline, "%s%s\n", NUB_SEC_PREFIX, hex);
    nub_hex_encode(hex, sizeof hex, key->pub.pk, NUB_SIGN_PUBLIC_BYTES);
    snprintf(pline, sizeof pline, "%s%s\n", NUB_PUB_PREFIX, hex);

    int r = write_keyfile(kpath, sline, 0600, force, err, errlen);
    sodium_memzero(sline, sizeof sline);
    if (r < 0)
        return r;
    r = write_keyfile(ppath, pline, 0644, force, err, errlen);
    if (r < 0 && !force)
        unlink(kpath); /* we created it just now: leave no half pair */
    return r;
}

void nub_sign_detached(const struct nub_seckey *key, const uint8_t *msg, size_t len,
                       uint8_t sig[NUB_SIGN_BYTES])
{
    crypto_sign_detached(sig, NULL, msg, len, key->sk);
}

bool nub_sign_check(const uint8_t pk[NUB_SIGN_PUBLIC_BYTES], const uint8_t sig[NUB_SIGN_BYTES],
                    const uint8_t *msg, size_t len)
{
    if (nub_sign_init() < 0)
        return false;
    return crypto_sign_verify_detached(sig, msg, len, pk) == 0;
}

enum nub_sig_status nub_sig_verify(const struct nub_trust *trust,
                                   const uint8_t pk[NUB_SIGN_PUBLIC_BYTES],
                                   const uint8_t sig[NUB_SIGN_BYTES],
                                   const uint8_t *signed_bytes, size_t len)
{
    if (!nub_sign_check(pk, sig, signed_bytes, len))
        return NUB_SIG_BAD_SIGNATURE;
    if (!trust || !nub_trust_find(trust, pk))
        return NUB_SIG_UNTRUSTED_KEY;
    return NUB_SIG_OK;
}
