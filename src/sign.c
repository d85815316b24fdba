/* Ed25519 keys, key files and detached signatures (see sign.h for the
 * file formats and the key id). */
#include "sign.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYFILE_MAX 4096
#define KEY_HEX 64u /* both files carry 32 bytes */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

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

int nub_sig_status_errno(enum nub_sig_status st)
{
    switch (st) {
    case NUB_SIG_OK: return 0;
    case NUB_SIG_NO_SIGNATURE: return ENOKEY;
    case NUB_SIG_BAD_SIGNATURE:
    case NUB_SIG_UNTRUSTED_KEY: return EKEYREJECTED;
    case NUB_SIG_MALFORMED: return EBADMSG;
    }
    return EINVAL;
}

void nub_key_id(const uint8_t pk[NUB_SIGN_PUBLIC_BYTES], uint8_t id[NUB_KEYID_BYTES])
{
    uint8_t h[32];
    crypto_generichash(h, sizeof h, pk, NUB_SIGN_PUBLIC_BYTES, NULL, 0);
    memcpy(id, h, NUB_KEYID_BYTES);
}

void nub_key_id_hex(const uint8_t id[NUB_KEYID_BYTES], char out[NUB_KEYID_HEX])
{
    sodium_bin2hex(out, NUB_KEYID_HEX, id, NUB_KEYID_BYTES);
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
        seterr(err, errlen, "does not start with \"%.*s\"", (int)(plen - 1), prefix);
        return -EINVAL;
    }
    const char *hex = text + plen;
    size_t hlen = len - plen;
    if (hlen != KEY_HEX) {
        seterr(err, errlen, "expected %u hex digits after \"%.*s\" on one line, found %zu bytes",
               KEY_HEX, (int)(plen - 1), prefix, hlen);
        return -EINVAL;
    }
    for (size_t i = 0; i < hlen; i++) {
        char c = hex[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            seterr(err, errlen, "byte %zu is not a lowercase hex digit", plen + i);
            return -EINVAL;
        }
    }
    size_t got = 0;
    if (sodium_hex2bin(out, 32, hex, hlen, NULL, &got, NULL) != 0 || got != 32) {
        seterr(err, errlen, "bad hex");
        return -EINVAL;
    }
    return 0;
}

int nub_pubkey_parse(const char *text, size_t len, struct nub_pubkey *out, char *err,
                     size_t errlen)
{
    if (nub_sign_init() < 0)
        return -EIO;
    int r = parse_line(text, len, NUB_PUB_PREFIX, out->pk, err, errlen);
    if (r < 0)
        return r;
    nub_key_id(out->pk, out->id);
    return 0;
}

int nub_seckey_parse(const char *text, size_t len, struct nub_seckey *out, char *err,
                     size_t errlen)
{
    if (nub_sign_init() < 0)
        return -EIO;
    uint8_t seed[NUB_SIGN_SEED_BYTES];
    int r = parse_line(text, len, NUB_SEC_PREFIX, seed, err, errlen);
    if (r == 0)
        seckey_from_seed(out, seed);
    sodium_memzero(seed, sizeof seed);
    return r;
}

/* Reads a small regular file into buf (NUL-terminated); returns its length
 * or -errno. `secret` refuses modes that let group/others in. */
static ssize_t read_keyfile(const char *path, char *buf, size_t bufsz, bool secret, char *err,
                            size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        seterr(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    ssize_t ret;
    if (fstat(fd, &st) < 0) {
        ret = -errno;
        seterr(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = -EINVAL;
        seterr(err, errlen, "%s: not a regular file", path);
        goto out;
    }
    size_t n = 0;
    for (;;) {
        if (n == bufsz - 1) {
            /* One more byte would exceed the limit: the file is too big. */
            char c;
            ssize_t extra = read(fd, &c, 1);
            if (extra != 0) {
                ret = -EINVAL;
                seterr(err, errlen, "%s: malformed key file (larger than %zu bytes)", path,
                       bufsz - 1);
                goto out;
            }
            break;
        }
        ssize_t k = read(fd, buf + n, bufsz - 1 - n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            ret = -errno;
            seterr(err, errlen, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    buf[n] = '\0';
    if (secret && n >= strlen(NUB_PUB_PREFIX) && !memcmp(buf, NUB_PUB_PREFIX, strlen(NUB_PUB_PREFIX))) {
        ret = -EINVAL;
        seterr(err, errlen, "%s: is a public key file; a secret key (.key) is needed here", path);
        goto out;
    }
    /* Checked after reading so a mix-up of .pub and .key gets the message above. */
    if (secret && (st.st_mode & 077)) {
        ret = -EPERM;
        seterr(err, errlen, "%s: secret key is accessible by others (mode %04o); chmod 600 it",
               path, (unsigned)(st.st_mode & 07777));
        goto out;
    }
    ret = (ssize_t)n;
out:
    close(fd);
    return ret;
}

int nub_pubkey_load(const char *path, struct nub_pubkey *out, char *err, size_t errlen)
{
    char buf[KEYFILE_MAX + 1];
    ssize_t n = read_keyfile(path, buf, sizeof buf, false, err, errlen);
    if (n < 0)
        return (int)n;
    char why[NUB_SIGN_ERR_MAX];
    int r = nub_pubkey_parse(buf, (size_t)n, out, why, sizeof why);
    if (r < 0)
        seterr(err, errlen, "%s: malformed public key file (%s)", path, why);
    return r;
}

int nub_seckey_load(const char *path, struct nub_seckey *out, char *err, size_t errlen)
{
    char buf[KEYFILE_MAX + 1];
    ssize_t n = read_keyfile(path, buf, sizeof buf, true, err, errlen);
    if (n < 0) {
        sodium_memzero(buf, sizeof buf);
        return (int)n;
    }
    char why[NUB_SIGN_ERR_MAX];
    int r = nub_seckey_parse(buf, (size_t)n, out, why, sizeof why);
    sodium_memzero(buf, sizeof buf);
    if (r < 0)
        seterr(err, errlen, "%s: malformed secret key file (%s)", path, why);
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
            seterr(err, errlen, "%s: path too long", path);
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
            seterr(err, errlen, "%s: already exists (use --force to replace it)", path);
        else
            seterr(err, errlen, "%s: %s", target, strerror(e));
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
        seterr(err, errlen, "%s: %s", target, strerror(-r));
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
        seterr(err, errlen, "%s: path too long", base);
        return -ENAMETOOLONG;
    }
    struct stat st;
    if (!force && lstat(ppath, &st) == 0) {
        /* Check before creating the .key so a refusal writes nothing. */
        seterr(err, errlen, "%s: already exists (use --force to replace it)", ppath);
        return -EEXIST;
    }
    /* prefix + 64 hex + "\n" + NUL */
    char sline[sizeof NUB_SEC_PREFIX + 2 * NUB_SIGN_SEED_BYTES + 2];
    char pline[sizeof NUB_PUB_PREFIX + 2 * NUB_SIGN_PUBLIC_BYTES + 2];
    char hex[2 * 32 + 1];
    sodium_bin2hex(hex, sizeof hex, key->sk, NUB_SIGN_SEED_BYTES);
    snprintf(sline, sizeof sline, "%s%s\n", NUB_SEC_PREFIX, hex);
    sodium_bin2hex(hex, sizeof hex, key->pub.pk, NUB_SIGN_PUBLIC_BYTES);
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
