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

#include "errors.h"
#include "sign.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_id_is_blake2b_prefix),
        cmocka_unit_test(test_keygen_files),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_trust_dir),
        cmocka_unit_test(test_malformed_key_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
