/* Unit tests for package signatures: key files, key ids, sign/verify and
 * trust directories (src/sign.c, src/sign_trust.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "errors.h"
#include "rvf_build.h"
#include "sign.h"
#include "sign_pkg.h"

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/nub-test-sign-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    return nub_sign_init();
}

static int teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_in(char *out, const char *name)
{
    snprintf(out, PATH_MAX, "%s/%s", tmpdir, name);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static char *read_text(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void test_key_id_is_blake2b_prefix(void **state)
{
    (void)state;
    /* `head -c32 /dev/zero | b2sum -l 256` starts with these 16 digits. */
    uint8_t pk[32] = {0}, id[8];
    char hex[NUB_KEYID_HEX];
    nub_key_id(pk, id);
    nub_key_id_hex(id, hex);
    assert_string_equal(hex, "89eb0d6a8a691dae");
}

static void test_keygen_files(void **state)
{
    (void)state;
    struct nub_seckey k;
    char base[PATH_MAX], kp[PATH_MAX], pp[PATH_MAX], err[NUB_SIGN_ERR_MAX];
    assert_int_equal(nub_key_generate(&k), 0);
    path_in(base, "alice");
    path_in(kp, "alice.key");
    path_in(pp, "alice.pub");
    mode_t old = umask(0); /* a permissive umask must not widen the secret */
    assert_int_equal(nub_key_write_pair(base, &k, false, err, sizeof err), 0);
    umask(old);

    struct stat st;
    assert_int_equal(stat(kp, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(stat(pp, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);

    const char *pub = read_text(pp);
    assert_int_equal(strncmp(pub, NUB_PUB_PREFIX, strlen(NUB_PUB_PREFIX)), 0);
    assert_int_equal(strlen(pub), strlen(NUB_PUB_PREFIX) + 64 + 1);

    struct nub_pubkey p;
    struct nub_seckey s;
    assert_int_equal(nub_pubkey_load(pp, &p, err, sizeof err), 0);
    assert_int_equal(nub_seckey_load(kp, &s, err, sizeof err), 0);
    assert_memory_equal(p.pk, k.pub.pk, 32);
    assert_memory_equal(p.id, k.pub.id, 8);
    assert_memory_equal(s.sk, k.sk, 64);

    /* No overwrite without force, and the files stay as they were. */
    struct nub_seckey k2;
    assert_int_equal(nub_key_generate(&k2), 0);
    assert_int_equal(nub_key_write_pair(base, &k2, false, err, sizeof err), -EEXIST);
    assert_non_null(strstr(err, "already exists"));
    assert_int_equal(nub_pubkey_load(pp, &p, err, sizeof err), 0);
    assert_memory_equal(p.pk, k.pub.pk, 32);

    /* Only the .pub existing also refuses and creates no .key. */
    char b2[PATH_MAX], k2p[PATH_MAX], p2p[PATH_MAX];
    path_in(b2, "bob");
    path_in(k2p, "bob.key");
    path_in(p2p, "bob.pub");
    write_text(p2p, "x", 0644);
    assert_int_equal(nub_key_write_pair(b2, &k2, false, err, sizeof err), -EEXIST);
    assert_int_equal(access(k2p, F_OK), -1);

    /* --force replaces both, secret still 0600. */
    assert_int_equal(nub_key_write_pair(base, &k2, true, err, sizeof err), 0);
    assert_int_equal(nub_pubkey_load(pp, &p, err, sizeof err), 0);
    assert_memory_equal(p.pk, k2.pub.pk, 32);
    assert_int_equal(stat(kp, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    nub_seckey_wipe(&k);
    nub_seckey_wipe(&k2);
    nub_seckey_wipe(&s);
}

static void test_sign_verify(void **state)
{
    (void)state;
    struct nub_seckey a, b;
    assert_int_equal(nub_key_generate(&a), 0);
    assert_int_equal(nub_key_generate(&b), 0);
    uint8_t msg[1000];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 7);
    uint8_t sig[64];
    nub_sign_detached(&a, msg, sizeof msg, sig);

    struct nub_trust t;
    nub_trust_init(&t);
    assert_int_equal(nub_trust_add(&t, &a.pub), 0);
    assert_int_equal(nub_sig_verify(&t, a.pub.pk, sig, msg, sizeof msg), NUB_SIG_OK);

    /* Every single flipped byte of the message is caught. */
    for (size_t i = 0; i < sizeof msg; i += 97) {
        msg[i] ^= 1;
        assert_int_equal(nub_sig_verify(&t, a.pub.pk, sig, msg, sizeof msg),
                         NUB_SIG_BAD_SIGNATURE);
        msg[i] ^= 1;
    }
    sig[10] ^= 0x80;
    assert_int_equal(nub_sig_verify(&t, a.pub.pk, sig, msg, sizeof msg), NUB_SIG_BAD_SIGNATURE);
    sig[10] ^= 0x80;

    /* Good signature, key not trusted. */
    struct nub_trust tb;
    nub_trust_init(&tb);
    assert_int_equal(nub_trust_add(&tb, &b.pub), 0);
    assert_int_equal(nub_sig_verify(&tb, a.pub.pk, sig, msg, sizeof msg),
                     NUB_SIG_UNTRUSTED_KEY);
    assert_int_equal(nub_sig_verify(NULL, a.pub.pk, sig, msg, sizeof msg),
                     NUB_SIG_UNTRUSTED_KEY);
    /* A's signature presented as B's (trusted) key: bad, not accepted. */
    assert_int_equal(nub_sig_verify(&tb, b.pub.pk, sig, msg, sizeof msg),
                     NUB_SIG_BAD_SIGNATURE);

    assert_int_equal(nub_errno_sig(NUB_SIG_NO_SIGNATURE), -ENOKEY);
    assert_int_equal(nub_errno_sig(NUB_SIG_BAD_SIGNATURE), -EKEYREJECTED);
    assert_int_equal(nub_errno_sig(NUB_SIG_UNTRUSTED_KEY), -EKEYREJECTED);
    assert_int_equal(nub_errno_sig(NUB_SIG_OK), 0);
    nub_trust_free(&t);
    nub_trust_free(&tb);
    nub_seckey_wipe(&a);
    nub_seckey_wipe(&b);
}

/* Signature first: nub_sig_check_bytes finds the CRYPTO segment at its
 * fixed place from the end and checks it without parsing anything else,
 * so the body may be garbage: a signed garbage body is OK (the parsers
 * refuse it later), an unsigned one NO_SIGNATURE, an edited one BAD. */
static void test_sig_check_bytes(void **state)
{
    (void)state;
    struct nub_seckey a, b;
    assert_int_equal(nub_key_generate(&a), 0);
    assert_int_equal(nub_key_generate(&b), 0);
    struct nub_trust t;
    nub_trust_init(&t);
    assert_int_equal(nub_trust_add(&t, &a.pub), 0);

    struct tpkg p;
    tpkg_init(&p);
    uint8_t junk[300];
    memset(junk, 'x', sizeof junk);
    tpkg_add(&p, RVF_SEG_DATA, junk, sizeof junk);
    memset(p.buf, 'x', 64); /* not even a segment header any more */
    uint8_t sig[64];
    nub_sign_detached(&a, p.buf, p.len, sig);
    size_t body = p.len;
    tpkg_add_crypto(&p, a.pub.pk, sig);
    assert_int_equal(p.len, body + RVF_CRYPTO_SEGMENT_SIZE);

    uint8_t id[NUB_KEYID_BYTES];
    struct nub_sig_tail tail;
    assert_int_equal(nub_sig_check_bytes(&t, p.buf, p.len, id, &tail), NUB_SIG_OK);
    assert_true(tail.present);
    assert_int_equal(tail.signed_len, body);
    assert_memory_equal(id, a.pub.id, NUB_KEYID_BYTES);
    /* Not trusted: still the claimed signer's id. */
    assert_int_equal(nub_sig_check_bytes(NULL, p.buf, p.len, id, NULL), NUB_SIG_UNTRUSTED_KEY);
    assert_memory_equal(id, a.pub.id, NUB_KEYID_BYTES);
    /* Any edited byte of the body: BAD, trusted or not. */
    for (size_t i = 0; i < body; i += 61) {
        p.buf[i] ^= 0x20;
        assert_int_equal(nub_sig_check_bytes(&t, p.buf, p.len, NULL, NULL), NUB_SIG_BAD_SIGNATURE);
        assert_int_equal(nub_sig_check_bytes(NULL, p.buf, p.len, NULL, NULL),
                         NUB_SIG_BAD_SIGNATURE);
        p.buf[i] ^= 0x20;
    }
    /* Signed by b over a's key: bad. */
    uint8_t bsig[64];
    nub_sign_detached(&b, p.buf, body, bsig);
    memcpy(p.buf + body + RVF_SEG_HEADER_SIZE + RVF_CRYPTO_SIG, bsig, 64);
    assert_int_equal(nub_sig_check_bytes(&t, p.buf, p.len, NULL, NULL), NUB_SIG_BAD_SIGNATURE);
    memcpy(p.buf + body + RVF_SEG_HEADER_SIZE + RVF_CRYPTO_SIG, sig, 64);
    /* A CRYPTO header with another algorithm or payload size: malformed. */
    p.buf[body + RVF_SEG_HEADER_SIZE + RVF_CRYPTO_ALGO] = 1;
    assert_int_equal(nub_sig_check_bytes(&t, p.buf, p.len, id, &tail), NUB_SIG_MALFORMED);
    assert_true(tail.present);
    p.buf[body + RVF_SEG_HEADER_SIZE + RVF_CRYPTO_ALGO] = 0;
    p.buf[body + RVF_SH_PAYLOAD_LEN] = 99;
    assert_int_equal(nub_sig_check_bytes(&t, p.buf, p.len, NULL, NULL), NUB_SIG_MALFORMED);
    p.buf[body + RVF_SH_PAYLOAD_LEN] = RVF_CRYPTO_PAYLOAD_LEN;
    assert_int_equal(nub_sig_check_bytes(&t, p.buf, p.len, NULL, NULL), NUB_SIG_OK);
    /* No CRYPTO header at the fixed place: unsigned, whatever precedes. */
    assert_int_equal(nub_sig_check_bytes(&t, p.buf, p.len - 1, id, &tail), NUB_SIG_NO_SIGNATURE);
    assert_false(tail.present);
    static const uint8_t zero[NUB_KEYID_BYTES];
    assert_memory_equal(id, zero, NUB_KEYID_BYTES);
    assert_int_equal(nub_sig_check_bytes(&t, p.buf, body, NULL, NULL), NUB_SIG_NO_SIGNATURE);
    assert_int_equal(nub_sig_check_bytes(&t, p.buf, RVF_CRYPTO_SEGMENT_SIZE - 1, NULL, NULL),
                     NUB_SIG_NO_SIGNATURE);
    assert_int_equal(nub_sig_check_bytes(&t, NULL, 0, NULL, NULL), NUB_SIG_NO_SIGNATURE);
    /* Just the CRYPTO segment: a signature over nothing. */
    const uint8_t *only = p.buf + body;
    uint8_t esig[64];
    nub_sign_detached(&a, only, 0, esig);
    uint8_t seg[RVF_CRYPTO_SEGMENT_SIZE];
    memcpy(seg, only, sizeof seg);
    memcpy(seg + RVF_SEG_HEADER_SIZE + RVF_CRYPTO_SIG, esig, 64);
    assert_int_equal(nub_sig_check_bytes(&t, seg, sizeof seg, NULL, NULL), NUB_SIG_OK);

    tpkg_free(&p);
    nub_trust_free(&t);
    nub_seckey_wipe(&a);
    nub_seckey_wipe(&b);
}

struct reports {
    int n;
    char last[NUB_SIGN_ERR_MAX];
};

static void on_report(void *ctx, const char *path, const char *reason)
{
    struct reports *r = ctx;
    (void)path;
    r->n++;
    snprintf(r->last, sizeof r->last, "%s", reason);
}

static void test_trust_dir(void **state)
{
    (void)state;
    char dir[PATH_MAX], base[PATH_MAX + 16], err[NUB_SIGN_ERR_MAX];
    path_in(dir, "trust");
    assert_int_equal(mkdir(dir, 0755), 0);
    struct nub_seckey k[3];
    const char *names[3] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(nub_key_generate(&k[i]), 0);
        snprintf(base, sizeof base, "%s/%s", dir, names[i]);
        assert_int_equal(nub_key_write_pair(base, &k[i], false, err, sizeof err), 0);
    }
    /* Secret keys, README and hidden files in the dir are not keys. */
    snprintf(base, sizeof base, "%s/README", dir);
    write_text(base, "not a key\n", 0644);
    snprintf(base, sizeof base, "%s/.old.pub", dir);
    write_text(base, "garbage\n", 0644);

    struct nub_trust t;
    nub_trust_init(&t);
    struct reports rep = {0};
    assert_int_equal(nub_trust_load_dir(&t, dir, on_report, &rep, err, sizeof err), 0);
    assert_int_equal(rep.n, 0);
    assert_int_equal(t.count, 3);
    for (int i = 0; i < 3; i++)
        assert_non_null(nub_trust_find(&t, k[i].pub.pk));
    nub_trust_free(&t);

    /* A malformed key is reported (naming the file), the others still load. */
    snprintf(base, sizeof base, "%s/bad.pub", dir);
    write_text(base, "nubfs-ed25519-public 1234\n", 0644);
    nub_trust_init(&t);
    assert_int_equal(nub_trust_load_dir(&t, dir, on_report, &rep, err, sizeof err), -EINVAL);
    assert_int_equal(rep.n, 1);
    assert_non_null(strstr(rep.last, "bad.pub"));
    assert_non_null(strstr(err, "bad.pub"));
    assert_int_equal(t.count, 3);
    nub_trust_free(&t);

    /* Something named *.pub that cannot be read as a file is reported too. */
    snprintf(base, sizeof base, "%s/bad.pub", dir);
    unlink(base);
    snprintf(base, sizeof base, "%s/dir.pub", dir);
    assert_int_equal(mkdir(base, 0755), 0);
    rep.n = 0;
    nub_trust_init(&t);
    assert_int_equal(nub_trust_load_dir(&t, dir, on_report, &rep, err, sizeof err), -EINVAL);
    assert_int_equal(rep.n, 1);
    assert_non_null(strstr(rep.last, "dir.pub: not a regular file"));
    nub_trust_free(&t);

    /* A missing directory is an error, not an empty trust set, and its one
     * reason is err: it is not a key file to report. Same for a file. */
    path_in(base, "no-such-dir");
    nub_trust_init(&t);
    rep.n = 0;
    assert_int_equal(nub_trust_load_dir(&t, base, on_report, &rep, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "no-such-dir: No such file or directory"));
    assert_int_equal(rep.n, 0);
    snprintf(base, sizeof base, "%s/README", dir);
    assert_int_equal(nub_trust_load_dir(&t, base, on_report, &rep, err, sizeof err), -ENOTDIR);
    assert_non_null(strstr(err, "README: Not a directory"));
    assert_int_equal(rep.n, 0);
    nub_trust_free(&t);
    for (int i = 0; i < 3; i++)
        nub_seckey_wipe(&k[i]);
}

static void test_malformed_key_files(void **state)
{
    (void)state;
    static const char hex64[] =
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    char good_pub[128], good_sec[128];
    snprintf(good_pub, sizeof good_pub, NUB_PUB_PREFIX "%s\n", hex64);
    snprintf(good_sec, sizeof good_sec, NUB_SEC_PREFIX "%s\n", hex64);
    struct nub_pubkey p;
    struct nub_seckey s;
    char err[NUB_SIGN_ERR_MAX];
    assert_int_equal(nub_pubkey_parse(good_pub, strlen(good_pub), &p, err, sizeof err), 0);
    /* without the final newline is fine too */
    assert_int_equal(nub_pubkey_parse(good_pub, strlen(good_pub) - 1, &p, err, sizeof err), 0);
    assert_int_equal(nub_seckey_parse(good_sec, strlen(good_sec), &s, err, sizeof err), 0);

    char buf[256];
    const char *bad_pub[] = {
        "",
        "\n",
        "nubfs-ed25519-public\n",
        "nubfs-ed25519-public 00112233\n",
        "nubfs-ed25519-secret 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
        "nubfs-ed25519-public 00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\n",
        "nubfs-ed25519-public 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff \n",
        "nubfs-ed25519-public 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\r\n",
        "nubfs-ed25519-public 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n\n",
        "nubfs-ed25519-public  00112233445566778899aabbccddeeff00112233445566778899aabbccddeef\n",
        "nubfs-ed25519-public 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeffaa\n",
        "nubfs-ed25519-public 0011223344556677g899aabbccddeeff00112233445566778899aabbccddeeff\n",
        " nubfs-ed25519-public 00112233445566778899aabbccddeeff00112233445566778899aabbccddeef\n",
    };
    for (size_t i = 0; i < sizeof bad_pub / sizeof *bad_pub; i++) {
        snprintf(buf, sizeof buf, "%s", bad_pub[i]);
        assert_int_equal(nub_pubkey_parse(buf, strlen(buf), &p, err, sizeof err), -EINVAL);
    }
    /* A NUL inside the line is not accepted either. */
    memcpy(buf, good_pub, strlen(good_pub));
    buf[30] = '\0';
    assert_int_equal(nub_pubkey_parse(buf, strlen(good_pub), &p, err, sizeof err), -EINVAL);
    /* A public key line is not a secret key. */
    assert_int_equal(nub_seckey_parse(good_pub, strlen(good_pub), &s, err, sizeof err), -EINVAL);

    /* Files: the message names the file; a world-readable secret is refused. */
    char path[PATH_MAX];
    path_in(path, "bad.pub");
    write_text(path, "hello\n", 0644);
    assert_int_equal(nub_pubkey_load(path, &p, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "bad.pub: malformed public key file"));
    path_in(path, "open.key");
    write_text(path, good_sec, 0644);
    assert_int_equal(nub_seckey_load(path, &s, err, sizeof err), -EPERM);
    assert_non_null(strstr(err, "open.key"));
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(nub_seckey_load(path, &s, err, sizeof err), 0);
    /* A .pub where a secret key belongs says so, whatever its mode. */
    path_in(path, "mixup.pub");
    write_text(path, good_pub, 0644);
    assert_int_equal(nub_seckey_load(path, &s, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "mixup.pub: is a public key file"));
    path_in(path, "missing.pub");
    assert_int_equal(nub_pubkey_load(path, &p, err, sizeof err), -ENOENT);
    /* oversized file */
    path_in(path, "big.pub");
    char big[5000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    write_text(path, big, 0644);
    assert_int_equal(nub_pubkey_load(path, &p, err, sizeof err), -EINVAL);
    nub_seckey_wipe(&s);
}

/* ---- OpenSSH keys (src/sign_ssh.c) ---------------------------------------- */

/* A growing byte buffer in the SSH wire encoding. */
struct wbuf {
    uint8_t b[2048];
    size_t n;
};

static void w_u32(struct wbuf *w, uint32_t v)
{
    assert_true(w->n + 4 <= sizeof w->b);
    for (int i = 3; i >= 0; i--)
        w->b[w->n++] = (uint8_t)(v >> (8 * i));
}

static void w_bytes(struct wbuf *w, const void *p, size_t n)
{
    assert_true(w->n + n <= sizeof w->b);
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void w_str(struct wbuf *w, const void *p, size_t n)
{
    w_u32(w, (uint32_t)n);
    w_bytes(w, p, n);
}

static void w_cstr(struct wbuf *w, const char *s) { w_str(w, s, strlen(s)); }

static void pub_blob(struct wbuf *w, const char *type, const uint8_t *pk, size_t pklen)
{
    w->n = 0;
    w_cstr(w, type);
    w_str(w, pk, pklen);
}

/* "ssh-ed25519 BASE64(blob)" + tail into out. */
static void ssh_line(char *out, size_t cap, const char *lead, const struct wbuf *blob,
                     const char *tail)
{
    char b64[1024];
    sodium_bin2base64(b64, sizeof b64, blob->b, blob->n, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf(out, cap, "%sssh-ed25519 %s%s", lead, b64, tail);
    assert_true(n > 0 && (size_t)n < cap);
}

struct keys_seen {
    int n;
    struct nub_pubkey k[8];
};

static int collect(void *ctx, const struct nub_pubkey *k)
{
    struct keys_seen *s = ctx;
    if (s->n < 8)
        s->k[s->n] = *k;
    s->n++;
    return 0;
}

static int parse_all(const char *text, struct keys_seen *seen, char *err)
{
    memset(seen, 0, sizeof *seen);
    return nub_pubkeys_parse(text, strlen(text), collect, seen, err, NUB_SIGN_ERR_MAX);
}

static void test_ssh_public_lines(void **state)
{
    (void)state;
    struct nub_seckey k, k2;
    assert_int_equal(nub_key_generate(&k), 0);
    assert_int_equal(nub_key_generate(&k2), 0);
    struct wbuf blob, blob2;
    pub_blob(&blob, "ssh-ed25519", k.pub.pk, 32);
    pub_blob(&blob2, "ssh-ed25519", k2.pub.pk, 32);
    char line[4096], l2[2048], err[NUB_SIGN_ERR_MAX];
    struct nub_pubkey p;
    struct keys_seen seen;

    /* As ssh-keygen writes NAME.pub; the key id is nubfs's for that key. */
    ssh_line(line, sizeof line, "", &blob, " me@host\n");
    assert_int_equal(nub_pubkey_parse(line, strlen(line), &p, err, sizeof err), 0);
    assert_memory_equal(p.pk, k.pub.pk, 32);
    assert_memory_equal(p.id, k.pub.id, NUB_KEYID_BYTES);
    char hex[65], nubline[128];
    sodium_bin2hex(hex, sizeof hex, k.pub.pk, 32);
    snprintf(nubline, sizeof nubline, NUB_PUB_PREFIX "%s\n", hex);
    struct nub_pubkey q;
    assert_int_equal(nub_pubkey_parse(nubline, strlen(nubline), &q, err, sizeof err), 0);
    assert_memory_equal(p.id, q.id, NUB_KEYID_BYTES);

    static const char *const good_tails[] = {"", "\n", "\r\n", " a comment with spaces\n",
                                             "\tx\n"};
    for (size_t i = 0; i < sizeof good_tails / sizeof *good_tails; i++) {
        ssh_line(line, sizeof line, "", &blob, good_tails[i]);
        assert_int_equal(nub_pubkey_parse(line, strlen(line), &p, err, sizeof err), 0);
    }
    /* allowed_signers: principals, options; comments and blank lines. */
    static const char *const good_leads[] = {
        "me@example.com ",
        "me@example.com,*@corp.example ",
        "\"me and you\" ",
        "me@example.com namespaces=\"nubfs\" ",
        "me@example.com namespaces=\"git,nubfs\" ",
        "me@example.com NAMESPACES=\"*\" ",
        "  me@example.com\tnamespaces=\"file,nubfs\"\t",
    };
    for (size_t i = 0; i < sizeof good_leads / sizeof *good_leads; i++) {
        ssh_line(line, sizeof line, good_leads[i], &blob, " c\n");
        assert_int_equal(nub_pubkey_parse(line, strlen(line), &p, err, sizeof err), 0);
        assert_memory_equal(p.pk, k.pub.pk, 32);
    }
    ssh_line(l2, sizeof l2, "other@example.com namespaces=\"git\" ", &blob2, "\n");
    char file[8192];
    ssh_line(line, sizeof line, "me@example.com ", &blob, "\n");
    snprintf(file, sizeof file, "# team\n\n   \n%s%s# end\n", line, l2);
    assert_int_equal(parse_all(file, &seen, err), 0);
    assert_int_equal(seen.n, 1); /* the git-only key is not for nubfs */
    ssh_line(l2, sizeof l2, "", &blob2, "\n");
    snprintf(file, sizeof file, "%s%s", line, l2);
    assert_int_equal(parse_all(file, &seen, err), 0);
    assert_int_equal(seen.n, 2);
    assert_int_equal(nub_pubkey_parse(file, strlen(file), &p, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "holds 2 keys"));
    ssh_line(line, sizeof line, "x namespaces=\"git\" ", &blob, "\n");
    assert_int_equal(parse_all(line, &seen, err), -EINVAL);
    assert_non_null(strstr(err, "no key for nubfs"));
    assert_int_equal(parse_all("# nothing\n\n", &seen, err), -EINVAL);

    /* Hostile lines: each refused with a reason naming its line. */
    struct {
        const char *lead, *tail, *needle;
    } bad[] = {
        {"\"unterminated ", "\n", "quote"},
        {"a b c ", "\n", "neither"},
        {"me namespaces=\"nubfs ", "\n", "quote"},
        {"me frobnicate ", "\n", "unknown option"},
        {"me namespaces=\"nubfs\",no-touch-required ", "\n", "unknown option"},
        {"me cert-authority ", "\n", "cert-authority"},
        {"me valid-after=\"20200101\" ", "\n", "valid-after"},
        {"me valid-before=\"20990101\" ", "\n", "valid-before"},
        {"me namespaces=\"nubfs\",,x ", "\n", "unknown option"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ssh_line(line, sizeof line, bad[i].lead, &blob, bad[i].tail);
        assert_int_equal(parse_all(line, &seen, err), -EINVAL);
        assert_non_null(strstr(err, "line 1: "));
        if (!strstr(err, bad[i].needle))
            fail_msg("'%s': got '%s', want '%s'", line, err, bad[i].needle);
    }
    /* Other key types, and blobs that are not one Ed25519 key. */
    static const char *const other_types[] = {
        "ssh-rsa AAAAB3NzaC1yc2E= x\n",
        "ecdsa-sha2-nistp256 AAAA x\n",
        "sk-ssh-ed25519@openssh.com AAAA x\n",
        "ssh-ed25519-cert-v01@openssh.com AAAA x\n",
        "me ssh-dss AAAA\n",
    };
    for (size_t i = 0; i < sizeof other_types / sizeof *other_types; i++) {
        assert_int_equal(parse_all(other_types[i], &seen, err), -EINVAL);
        assert_non_null(strstr(err, "only ssh-ed25519"));
    }
    struct wbuf wrong;
    pub_blob(&wrong, "ssh-ed25518", k.pub.pk, 32);
    ssh_line(line, sizeof line, "", &wrong, "\n");
    assert_int_equal(parse_all(line, &seen, err), -EINVAL);
    pub_blob(&wrong, "ssh-ed25519", k.pub.pk, 31);
    ssh_line(line, sizeof line, "", &wrong, "\n");
    assert_int_equal(parse_all(line, &seen, err), -EINVAL);
    wrong = blob;
    w_bytes(&wrong, "", 1); /* one byte too many */
    ssh_line(line, sizeof line, "", &wrong, "\n");
    assert_int_equal(parse_all(line, &seen, err), -EINVAL);
    wrong.n = 0;
    w_u32(&wrong, 0xffffffffu); /* a length past everything */
    w_bytes(&wrong, "ssh-ed25519", 11);
    ssh_line(line, sizeof line, "", &wrong, "\n");
    assert_int_equal(parse_all(line, &seen, err), -EINVAL);
    static const char *const bad_b64[] = {
        "ssh-ed25519\n",
        "ssh-ed25519 \n",
        "ssh-ed25519 !!!!\n",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI=== x\n",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 x\n",
    };
    for (size_t i = 0; i < sizeof bad_b64 / sizeof *bad_b64; i++)
        assert_int_equal(parse_all(bad_b64[i], &seen, err), -EINVAL);
    /* Every truncation of a good line is refused or parses the same key. */
    ssh_line(line, sizeof line, "me@example.com namespaces=\"nubfs\" ", &blob, " c");
    for (size_t n = 0; n < strlen(line); n++) {
        int r = nub_pubkeys_parse(line, n, collect, &seen, err, sizeof err);
        memset(&seen, 0, sizeof seen);
        assert_true(r == 0 || r == -EINVAL);
    }
    /* A byte >= 0x80 in the base64 (libsodium's decoder maps some of them
     * to digits; found by fuzz.keyfile) is refused. */
    ssh_line(line, sizeof line, "", &blob, " me@host\n");
    line[strlen("ssh-ed25519 ") + 60] = (char)0xff;
    assert_int_equal(parse_all(line, &seen, err), -EINVAL);
    assert_non_null(strstr(err, "not an ssh-ed25519 public key"));
    /* A NUL in the line, a line over 8 KiB, a secret key given as public. */
    ssh_line(line, sizeof line, "", &blob, " c\n");
    size_t n = strlen(line);
    line[5] = '\0';
    assert_int_equal(nub_pubkeys_parse(line, n, collect, &seen, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "NUL"));
    char *big = malloc(9000);
    assert_non_null(big);
    memset(big, 'a', 8999);
    big[8999] = '\0';
    assert_int_equal(parse_all(big, &seen, err), -EINVAL);
    assert_non_null(strstr(err, "longer than"));
    free(big);
    assert_int_equal(parse_all("-----BEGIN OPENSSH PRIVATE KEY-----\n", &seen, err), -EINVAL);
    assert_non_null(strstr(err, "secret key"));
    nub_seckey_wipe(&k);
    nub_seckey_wipe(&k2);
}

/* Knobs for the openssh-key-v1 writer below: zero is a good key. */
struct sshpriv {
    const char *cipher, *kdf;
    uint32_t nkeys, check2_delta;
    int pk_in_priv_other, sk_pk_other, bad_pad, no_pad_block, trailing, seed_other;
};

/* An "openssh-key-v1" private key of k as ssh-keygen -N '' writes it,
 * armoured, into out. */
static void ssh_private(char *out, size_t cap, const struct nub_seckey *k, const struct sshpriv *o)
{
    struct nub_seckey other;
    assert_int_equal(nub_key_generate(&other), 0);
    struct wbuf w = {.n = 0}, pub, priv = {.n = 0};
    w_bytes(&w, "openssh-key-v1", 15);
    w_cstr(&w, o->cipher ? o->cipher : "none");
    w_cstr(&w, o->kdf ? o->kdf : "none");
    w_str(&w, "", 0);
    w_u32(&w, o->nkeys ? o->nkeys : 1);
    pub_blob(&pub, "ssh-ed25519", k->pub.pk, 32);
    w_str(&w, pub.b, pub.n);
    w_u32(&priv, 0x12345678u);
    w_u32(&priv, 0x12345678u + o->check2_delta);
    w_cstr(&priv, "ssh-ed25519");
    w_str(&priv, o->pk_in_priv_other ? other.pub.pk : k->pub.pk, 32);
    uint8_t sk[64];
    memcpy(sk, o->seed_other ? other.sk : k->sk, 32);
    memcpy(sk + 32, o->sk_pk_other ? other.pub.pk : k->pub.pk, 32);
    w_str(&priv, sk, 64);
    w_cstr(&priv, "me@host");
    for (uint8_t i = 1; priv.n % 8 != 0; i++) {
        uint8_t b = o->bad_pad && i == 2 ? 9 : i;
        w_bytes(&priv, &b, 1);
    }
    if (o->no_pad_block)
        w_bytes(&priv, "\x01", 1);
    w_str(&w, priv.b, priv.n);
    if (o->trailing)
        w_bytes(&w, "x", 1);
    char b64[4096];
    sodium_bin2base64(b64, sizeof b64, w.b, w.n, sodium_base64_VARIANT_ORIGINAL);
    /* 70 characters a line, as ssh-keygen writes it */
    size_t at = (size_t)snprintf(out, cap, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
    for (size_t i = 0; b64[i]; i += 70)
        at += (size_t)snprintf(out + at, cap - at, "%.70s\n", b64 + i);
    snprintf(out + at, cap - at, "-----END OPENSSH PRIVATE KEY-----\n");
    nub_seckey_wipe(&other);
}

static void test_ssh_private_keys(void **state)
{
    (void)state;
    struct nub_seckey k, got;
    assert_int_equal(nub_key_generate(&k), 0);
    char text[8192], err[NUB_SIGN_ERR_MAX];
    struct sshpriv good = {0};
    ssh_private(text, sizeof text, &k, &good);
    assert_int_equal(nub_seckey_parse(text, strlen(text), &got, err, sizeof err), 0);
    assert_memory_equal(got.sk, k.sk, 64);
    assert_memory_equal(got.pub.id, k.pub.id, NUB_KEYID_BYTES);
    /* It signs as the same key. */
    uint8_t sig[NUB_SIGN_BYTES];
    nub_sign_detached(&got, (const uint8_t *)"m", 1, sig);
    assert_true(nub_sign_check(k.pub.pk, sig, (const uint8_t *)"m", 1));

    /* Written with CRLF line ends, and without the final newline. */
    char crlf[9000];
    size_t j = 0;
    for (size_t i = 0; text[i]; i++) {
        if (text[i] == '\n')
            crlf[j++] = '\r';
        crlf[j++] = text[i];
    }
    crlf[j] = '\0';
    assert_int_equal(nub_seckey_parse(crlf, j, &got, err, sizeof err), 0);
    assert_int_equal(nub_seckey_parse(text, strlen(text) - 1, &got, err, sizeof err), 0);

    struct {
        struct sshpriv o;
        const char *needle;
    } bad[] = {
        {{.cipher = "aes256-ctr", .kdf = "bcrypt"}, "encrypted"},
        {{.kdf = "bcrypt"}, "encrypted"},
        {{.nkeys = 2}, "holds 2 keys"},
        {{.check2_delta = 1}, "private section"},
        {{.pk_in_priv_other = 1}, "private section"},
        {{.sk_pk_other = 1}, "private section"},
        {{.bad_pad = 1}, "padding"},
        {{.no_pad_block = 1}, "private section"},
        {{.trailing = 1}, "after the private section"},
        {{.seed_other = 1}, "does not match"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ssh_private(text, sizeof text, &k, &bad[i].o);
        assert_int_equal(nub_seckey_parse(text, strlen(text), &got, err, sizeof err), -EINVAL);
        if (!strstr(err, bad[i].needle))
            fail_msg("case %zu: got '%s', want '%s'", i, err, bad[i].needle);
    }
    /* Every truncation of a good key is refused, never read past. */
    ssh_private(text, sizeof text, &k, &good);
    size_t len = strlen(text);
    for (size_t n = 0; n + 2 < len; n++) {
        char *copy = malloc(n ? n : 1); /* exactly n bytes: ASan sees any overread */
        assert_non_null(copy);
        memcpy(copy, text, n);
        assert_int_equal(nub_seckey_parse(copy, n, &got, err, sizeof err), -EINVAL);
        free(copy);
    }
    /* Armour and base64 damage. */
    char *body = strchr(text, '\n') + 1;
    char saved = body[10];
    body[10] = '!';
    assert_int_equal(nub_seckey_parse(text, len, &got, err, sizeof err), -EINVAL);
    body[10] = '\0'; /* libsodium would skip a NUL in the ignore list */
    assert_int_equal(nub_seckey_parse(text, len, &got, err, sizeof err), -EINVAL);
    body[10] = (char)0xff; /* and map some bytes >= 0x80 to digits */
    assert_int_equal(nub_seckey_parse(text, len, &got, err, sizeof err), -EINVAL);
    body[10] = saved;
    char *end = strstr(text, "-----END");
    end[5] = 'X';
    assert_int_equal(nub_seckey_parse(text, len, &got, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "does not end with"));
    nub_seckey_wipe(&k);
    nub_seckey_wipe(&got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_id_is_blake2b_prefix),
        cmocka_unit_test(test_keygen_files),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_sig_check_bytes),
        cmocka_unit_test(test_trust_dir),
        cmocka_unit_test(test_malformed_key_files),
        cmocka_unit_test(test_ssh_public_lines),
        cmocka_unit_test(test_ssh_private_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
