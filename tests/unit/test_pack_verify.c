/* `nubfs-pack verify` and the guest's mount pipeline give the same verdict
 * (DESIGN §5: one validator). Each package of a small catalog is signed
 * with a real key, written to a file and checked twice: by the nubfs-pack
 * binary (argv[1]) with that key trusted, and by MOUNT on the host build of
 * the guest (nubguest over a buffer standing in for guest RAM). Both must
 * accept it, or both refuse it, and verify must print the guest's reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "guest_test_mem.h"
#include "nub/guest_core.h"
#include "rvf.h"
#include "rvf_build.h"
#include "sign.h"

#define MEM (64ull << 20)
#define IMAGE_END 0x219000ull

static const char *pack_bin;
static char dir[] = "/tmp/nubfs-pack-verify-XXXXXX";
static char pub_path[256];
static struct nub_seckey key;

/* ---- packages ------------------------------------------------------------ */

#define K_FUNC 0x00
#define K_GLOBAL 0x03

/* A module with one function and one i32 global that exports `name` as
 * `kind` (index 0). bad_order puts the export section before the function
 * section. Returns the length. */
static size_t module(uint8_t *out, const char *name, uint8_t kind, bool bad_order)
{
    static const uint8_t type[] = {0x01, 0x04, 0x01, 0x60, 0x00, 0x00};
    static const uint8_t func[] = {0x03, 0x02, 0x01, 0x00};
    static const uint8_t global[] = {0x06, 0x06, 0x01, 0x7f, 0x00, 0x41, 0x00, 0x0b};
    static const uint8_t code[] = {0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b};
    size_t n = strlen(name), i = 8;
    uint8_t exp[64] = {0x07, (uint8_t)(4 + n), 0x01, (uint8_t)n};
    memcpy(exp + 4, name, n);
    exp[4 + n] = kind;
    exp[5 + n] = 0x00;
    memcpy(out, "\0asm\1\0\0\0", 8);
#define PUT(b, len)               \
    do {                          \
        memcpy(out + i, b, len);  \
        i += len;                 \
    } while (0)
    PUT(type, sizeof type);
    if (bad_order)
        PUT(exp, 6 + n);
    PUT(func, sizeof func);
    PUT(global, sizeof global);
    if (!bad_order)
        PUT(exp, 6 + n);
    PUT(code, sizeof code);
#undef PUT
    return i;
}

struct variant {
    const char *what;
    const char *export_name; /* what the module exports */
    uint8_t export_kind;
    bool bad_order;
    const char *entry; /* what the manifest names as entry point */
    bool mounts;       /* the expected verdict */
};

static const struct variant catalog[] = {
    {"entry point exported", "run", K_FUNC, false, "run", true},
    {"entry point not exported", "run", K_FUNC, false, "main", false},
    {"entry point exported as a global", "run", K_GLOBAL, false, "run", false},
    {"module sections out of order", "run", K_FUNC, true, "run", false},
};

/* manifest, one WASM segment, CRYPTO signed with `key`. */
static void build(struct tpkg *p, const struct variant *v)
{
    uint8_t wasm[128];
    size_t wlen = module(wasm, v->export_name, v->export_kind, v->bad_order);
    const char *entries[] = {v->entry};
    struct rvf_component_desc comp = {.name = "app", .priority = 1, .entries = entries,
                                      .nentries = 1};
    rvf_hash128(wasm, wlen, comp.wasm_hash);
    struct rvf_manifest_desc d = {.name = "verdict", .version = "1", .components = &comp,
                                  .ncomponents = 1};
    uint8_t mf[1024];
    size_t mlen;
    struct rvf_result res;
    if (rvf_manifest_encode(&d, NULL, mf, sizeof mf, &mlen, &res) != RVF_OK)
        fail_msg("encode: %s", res.msg);
    tpkg_init(p);
    tpkg_add(p, RVF_SEG_MANIFEST, mf, mlen);
    tpkg_add(p, RVF_SEG_WASM, wasm, wlen);
    uint8_t sig[NUB_SIGN_BYTES];
    nub_sign_detached(&key, p->buf, p->len, sig);
    tpkg_add_crypto(p, key.pub.pk, sig);
}

/* ---- the two checkers ------------------------------------------------------ */

/* Exit status of `nubfs-pack verify PATH --pub PUB`; its stderr in err. */
static int run_verify(const char *path, char *err, size_t errlen)
{
    char errfile[300];
    snprintf(errfile, sizeof errfile, "%s/stderr", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen(errfile, "w", stderr) || !freopen("/dev/null", "w", stdout))
            _exit(126);
        execl(pack_bin, pack_bin, "verify", path, "--pub", pub_path, (char *)NULL);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    FILE *f = fopen(errfile, "r");
    assert_non_null(f);
    size_t n = fread(err, 1, errlen - 1, f);
    err[n] = '\0';
    fclose(f);
    return WEXITSTATUS(status);
}

struct guest {
    uint8_t *base;
    struct nub_boot_info bi;
    struct nub_mailbox mb;
    struct nub_log_ring ring;
    struct nub_core core;
    uint64_t seq;
};

static uint32_t call(struct guest *g, uint32_t op, uint64_t a0, uint64_t a1, const uint8_t *hash)
{
    memset(g->mb.args, 0, sizeof g->mb.args);
    g->mb.args[0] = a0;
    g->mb.args[1] = a1;
    memset(g->mb.hash, 0, sizeof g->mb.hash);
    if (hash)
        memcpy(g->mb.hash, hash, 16);
    g->mb.op = op;
    g->mb.seq = ++g->seq;
    g->mb.status = NUB_ST_PENDING;
    nub_core_call(&g->core);
    assert_true(guest_test_scrub(&g->mb, g->bi.heap_start, MEM) >= 0);
    uint32_t st = g->mb.status;
    char msg[NUB_MAILBOX_MSG];
    memcpy(msg, g->mb.msg, sizeof msg);
    while (g->mb.scrub_more) { /* the host's half of the scrub protocol */
        g->mb.op = NUB_OP_NOP;
        g->mb.seq = ++g->seq;
        nub_core_call(&g->core);
        assert_true(guest_test_scrub(&g->mb, g->bi.heap_start, MEM) >= 0);
    }
    memcpy(g->mb.msg, msg, sizeof msg);
    return st;
}

/* MOUNT of p in a fresh guest: its status, and msg the reason. */
static uint32_t guest_mount(const struct tpkg *p, char *msg, size_t msglen)
{
    struct guest *g = calloc(1, sizeof *g);
    assert_non_null(g);
    g->base = guest_test_boot(MEM, 7, IMAGE_END, &g->bi, &g->mb, &g->ring, &g->core);
    assert_non_null(g->base);
    assert_int_equal(call(g, NUB_OP_INIT, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(call(g, NUB_OP_ALLOC, p->len, 0, NULL), NUB_ST_OK);
    uint64_t gpa = g->mb.ret[0];
    memcpy(nub_mem_ptr(gpa), p->buf, p->len);
    uint8_t signer[16] = {0}; /* the mailbox's hash argument: the key id, padded */
    memcpy(signer, key.pub.id, NUB_KEYID_BYTES);
    uint32_t st = call(g, NUB_OP_MOUNT, gpa, p->len, signer);
    snprintf(msg, msglen, "%.*s", (int)sizeof g->mb.msg, g->mb.msg);
    guest_test_mem_close(g->base, MEM);
    free(g);
    return st;
}

/* ---- tests ----------------------------------------------------------------- */

static void verify_and_mount_agree(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof catalog / sizeof catalog[0]; i++) {
        const struct variant *v = &catalog[i];
        struct tpkg p;
        build(&p, v);
        char path[300];
        snprintf(path, sizeof path, "%s/pkg.rvf", dir);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(p.buf, 1, p.len, f), p.len);
        assert_int_equal(fclose(f), 0);

        char err[2048], why[NUB_MAILBOX_MSG + 1];
        int code = run_verify(path, err, sizeof err);
        uint32_t st = guest_mount(&p, why, sizeof why);
        print_message("%s: verify exit %d, guest MOUNT status %u (%s)\n", v->what, code, st, why);
        if (v->mounts) {
            assert_int_equal(st, NUB_ST_OK);
            assert_int_equal(code, 0);
        } else {
            assert_int_equal(st, NUB_ST_BADMSG);
            assert_int_equal(code, 1);
            /* Same code, same words: verify prints the guest's reason. */
            assert_non_null(strstr(err, why));
        }
        tpkg_free(&p);
    }
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir) || nub_key_generate(&key) < 0)
        return -1;
    char base[256], err[NUB_SIGN_ERR_MAX];
    snprintf(base, sizeof base, "%s/k", dir);
    snprintf(pub_path, sizeof pub_path, "%s/k.pub", dir);
    if (nub_key_write_pair(base, &key, false, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    const char *files[] = {"k.key", "k.pub", "pkg.rvf", "stderr"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[300];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    nub_seckey_wipe(&key);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-TO-nubfs-pack\n", argv[0]);
        return 2;
    }
    pack_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(verify_and_mount_agree),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
