/* Package frames: encoding and the checked decoding (see frame.h). A
 * frame is metadata only: its size grows with the number of segments,
 * not with the payloads. */
#include "frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rvf.h"

static const char magic[8] = {'N', 'U', 'B', 'F', 'R', 'A', 'M', 'E'};

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put_meta(uint8_t *b, const struct nubfs_frame_meta *m)
{
    put32(b + 24, m->mode);
    put32(b + 28, m->uid);
    put32(b + 32, m->gid);
    put32(b + 36, 0);
    const struct timespec *t[3] = {&m->atime, &m->mtime, &m->ctime};
    for (int i = 0; i < 3; i++) {
        put64(b + 40 + 16 * i, (uint64_t)(int64_t)t[i]->tv_sec);
        put32(b + 48 + 16 * i, (uint32_t)t[i]->tv_nsec);
        put32(b + 52 + 16 * i, 0);
    }
}

static void seal(uint8_t *blob, size_t len)
{
    rvf_hash128(blob, len - NUBFS_FRAME_SUM, blob + len - NUBFS_FRAME_SUM);
}

int nubfs_frame_encode(const struct nubfs_frame_meta *m, const uint8_t *pkg, uint64_t len,
                       const struct nubfs_frame_cap *caps, uint32_t n, uint8_t **out,
                       size_t *outlen)
{
    *out = NULL;
    /* The pieces: a literal before each cap where there is a gap, and
     * one after the last. Check the caps and count first. */
    uint64_t at = 0, lit = 0;
    uint32_t np = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (caps[i].off < at || caps[i].off > len || caps[i].len > len - caps[i].off)
            return -EINVAL;
        if (caps[i].off > at) {
            np++;
            lit += caps[i].off - at;
        }
        np++;
        at = caps[i].off + caps[i].len;
    }
    if (at < len) {
        np++;
        lit += len - at;
    }
    if (np > NUBFS_FRAME_MAX_PIECES || lit > SIZE_MAX - NUBFS_FRAME_HDR - NUBFS_FRAME_SUM -
                                                (size_t)np * NUBFS_FRAME_PIECE)
        return -EINVAL;
    size_t size = NUBFS_FRAME_HDR + (size_t)np * NUBFS_FRAME_PIECE + (size_t)lit + NUBFS_FRAME_SUM;
    uint8_t *b = calloc(1, size);
    if (b == NULL)
        return -ENOMEM;
    memcpy(b, magic, 8);
    put32(b + 8, NUBFS_FRAME_VERSION);
    put32(b + 12, np);
    put64(b + 16, len);
    put_meta(b, m);
    uint8_t *pp = b + NUBFS_FRAME_HDR, *lp = pp + (size_t)np * NUBFS_FRAME_PIECE;
    at = 0;
    for (uint32_t i = 0; i <= n; i++) {
        uint64_t end = i < n ? caps[i].off : len;
        if (end > at) { /* a literal piece */
            put64(pp, end - at);
            memcpy(lp, pkg + at, (size_t)(end - at));
            lp += end - at;
            pp += NUBFS_FRAME_PIECE;
        }
        if (i == n)
            break;
        put64(pp, caps[i].len);
        put32(pp + 8, 1);
        put32(pp + 12, caps[i].kind);
        memcpy(pp + 16, caps[i].hash, 16);
        pp += NUBFS_FRAME_PIECE;
        at = caps[i].off + caps[i].len;
    }
    seal(b, size);
    *out = b;
    *outlen = size;
    return 0;
}

int nubfs_frame_decode(const uint8_t *blob, size_t len, uint64_t max_pkg, struct nubfs_frame *f)
{
    memset(f, 0, sizeof(*f));
    if (len < NUBFS_FRAME_HDR + NUBFS_FRAME_SUM || memcmp(blob, magic, 8) != 0)
        return -EBADMSG;
    uint8_t sum[16];
    rvf_hash128(blob, len - NUBFS_FRAME_SUM, sum);
    if (memcmp(sum, blob + len - NUBFS_FRAME_SUM, 16) != 0)
        return -EBADMSG;
    uint32_t ver = get32(blob + 8);
    if (ver > NUBFS_FRAME_VERSION)
        return -EPROTONOSUPPORT;
    if (ver != NUBFS_FRAME_VERSION)
        return -EBADMSG;
    uint32_t np = get32(blob + 12);
    uint64_t pkg_len = get64(blob + 16);
    size_t room = len - NUBFS_FRAME_HDR - NUBFS_FRAME_SUM;
    if (np > NUBFS_FRAME_MAX_PIECES || np > room / NUBFS_FRAME_PIECE)
        return -EBADMSG;
    if (pkg_len > max_pkg)
        return -EFBIG;
    struct nubfs_frame_meta *m = &f->meta;
    m->mode = get32(blob + 24);
    m->uid = get32(blob + 28);
    m->gid = get32(blob + 32);
    struct timespec *t[3] = {&m->atime, &m->mtime, &m->ctime};
    for (int i = 0; i < 3; i++) {
        t[i]->tv_sec = (time_t)(int64_t)get64(blob + 40 + 16 * i);
        uint32_t ns = get32(blob + 48 + 16 * i);
        if (ns >= 1000000000u)
            return -EBADMSG;
        t[i]->tv_nsec = (long)ns;
    }
    f->pieces = calloc(np ? np : 1, sizeof(*f->pieces));
    if (f->pieces == NULL)
        return -ENOMEM;
    const uint8_t *pp = blob + NUBFS_FRAME_HDR;
    const uint8_t *lp = pp + (size_t)np * NUBFS_FRAME_PIECE;
    size_t lit_left = room - (size_t)np * NUBFS_FRAME_PIECE;
    uint64_t total = 0;
    for (uint32_t i = 0; i < np; i++, pp += NUBFS_FRAME_PIECE) {
        struct nubfs_frame_piece *p = &f->pieces[i];
        p->len = get64(pp);
        uint32_t kind = get32(pp + 8);
        p->kind = get32(pp + 12);
        if (kind > 1 || (kind == 0 && p->kind != 0) || p->kind > UINT16_MAX ||
            p->len > pkg_len - total)
            goto bad;
        total += p->len;
        p->cap = kind == 1;
        if (p->cap) {
            memcpy(p->hash, pp + 16, 16);
        } else {
            if (p->len > lit_left)
                goto bad;
            p->bytes = lp;
            lp += p->len;
            lit_left -= (size_t)p->len;
        }
    }
    if (total != pkg_len || lit_left != 0)
        goto bad;
    f->npieces = np;
    f->pkg_len = pkg_len;
    return 0;
bad:
    nubfs_frame_free(f);
    return -EBADMSG;
}

void nubfs_frame_free(struct nubfs_frame *f)
{
    free(f->pieces);
    f->pieces = NULL;
    f->npieces = 0;
}

void nubfs_frame_set_meta(uint8_t *blob, size_t len, const struct nubfs_frame_meta *m)
{
    if (len < NUBFS_FRAME_HDR + NUBFS_FRAME_SUM)
        return;
    put_meta(blob, m);
    seal(blob, len);
}
