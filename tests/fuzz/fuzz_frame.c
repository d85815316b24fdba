/* libFuzzer target: the package frame decoder (fs/frame.c), which reads
 * files of the state directory (untrusted: a frame on disk may be
 * corrupt). The input, in an exactly-sized copy, with and without its
 * sum made right (so the fuzzer gets past the sum and reaches the
 * lengths). An accepted frame's pieces must lie inside the input and add
 * up to the package length; encoding its pieces again must give a frame
 * that decodes to the same pieces. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "rvf.h"

#define FUZZ_CHECK(cond)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,    \
                    #cond);                                                     \
            abort();                                                            \
        }                                                                       \
    } while (0)

#define MAX_PKG (1u << 20)

static void check(const uint8_t *b, size_t n)
{
    struct nubfs_frame f;
    int r = nubfs_frame_decode(b, n, MAX_PKG, &f);
    if (r != 0) {
        FUZZ_CHECK(r == -EBADMSG || r == -EFBIG || r == -EPROTONOSUPPORT || r == -ENOMEM);
        return;
    }
    uint64_t total = 0;
    for (uint32_t i = 0; i < f.npieces; i++) {
        const struct nubfs_frame_piece *p = &f.pieces[i];
        if (!p->cap)
            FUZZ_CHECK(p->bytes >= b && p->len <= (uint64_t)(b + n - p->bytes));
        total += p->len;
    }
    FUZZ_CHECK(total == f.pkg_len && total <= MAX_PKG);
    /* Re-encode: the package with the literal bytes, caps as zeros. */
    uint8_t *pkg = calloc(1, f.pkg_len ? f.pkg_len : 1);
    struct nubfs_frame_cap *caps = calloc(f.npieces ? f.npieces : 1, sizeof(*caps));
    FUZZ_CHECK(pkg != NULL && caps != NULL);
    uint32_t nc = 0;
    uint64_t at = 0;
    for (uint32_t i = 0; i < f.npieces; i++) {
        const struct nubfs_frame_piece *p = &f.pieces[i];
        if (p->cap)
            caps[nc++] = (struct nubfs_frame_cap){.off = at, .len = p->len, .kind = p->kind};
        else
            memcpy(pkg + at, p->bytes, p->len);
        if (p->cap)
            memcpy(caps[nc - 1].hash, p->hash, 16);
        at += p->len;
    }
    uint8_t *e;
    size_t en;
    FUZZ_CHECK(nubfs_frame_encode(&f.meta, pkg, f.pkg_len, caps, nc, &e, &en) == 0);
    struct nubfs_frame g;
    FUZZ_CHECK(nubfs_frame_decode(e, en, MAX_PKG, &g) == 0);
    FUZZ_CHECK(g.pkg_len == f.pkg_len && g.meta.mode == f.meta.mode);
    uint32_t gc = 0;
    for (uint32_t i = 0; i < g.npieces; i++)
        gc += g.pieces[i].cap;
    FUZZ_CHECK(gc == nc);
    nubfs_frame_free(&g);
    nubfs_frame_free(&f);
    free(e);
    free(caps);
    free(pkg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *b = malloc(size ? size : 1);
    if (b == NULL)
        return 0;
    memcpy(b, data, size);
    check(b, size);
    if (size >= NUBFS_FRAME_HDR + NUBFS_FRAME_SUM) {
        rvf_hash128(b, size - NUBFS_FRAME_SUM, b + size - NUBFS_FRAME_SUM);
        check(b, size);
    }
    free(b);
    return 0;
}
