/* Guest memory regions: lookup, overflow-safe range checks and copies. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "guest_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void nub_gm_init(struct nub_guest_mem *gm)
{
    memset(gm, 0, sizeof(*gm));
    gm->cap = NUB_GM_INLINE_REGIONS;
}

void nub_gm_destroy(struct nub_guest_mem *gm)
{
    free(gm->spill);
    nub_gm_init(gm);
}

static struct nub_gm_region *regions(const struct nub_guest_mem *gm)
{
    return gm->spill != NULL ? gm->spill : (struct nub_gm_region *)gm->inline_regions;
}

/* Exclusive end of a region; regions never wrap (checked on add), but a
 * region may end exactly at 2^64, which is represented by end == 0 and
 * handled by comparing "offset into region" instead of ends. */
static bool region_contains(const struct nub_gm_region *r, nub_gpa gpa)
{
    return gpa >= r->gpa && gpa - r->gpa < r->size;
}

/* Index of the first region whose gpa is above gpa (binary search). */
static size_t upper_bound(const struct nub_guest_mem *gm, nub_gpa gpa)
{
    const struct nub_gm_region *v = regions(gm);
    size_t lo = 0, hi = gm->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].gpa <= gpa)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Room for one more region: doubles the array, moving off the inline
 * storage the first time. */
static int grow(struct nub_guest_mem *gm)
{
    if (gm->count < gm->cap)
        return 0;
    if (gm->cap > SIZE_MAX / 2 / sizeof(struct nub_gm_region))
        return -ENOMEM;
    size_t cap = gm->cap * 2;
    struct nub_gm_region *v = realloc(gm->spill, cap * sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    if (gm->spill == NULL)
        memcpy(v, gm->inline_regions, gm->count * sizeof(*v));
    gm->spill = v;
    gm->cap = cap;
    return 0;
}

static int add(struct nub_guest_mem *gm, nub_gpa gpa, uint64_t size, void *host, int fd,
               off_t fd_offset, bool readonly)
{
    if (size == 0 || host == NULL)
        return -EINVAL;
    /* last = gpa + size - 1 must not wrap. */
    if (gpa > UINT64_MAX - (size - 1))
        return -EINVAL;
    nub_gpa last = gpa + (size - 1);
    /* Sorted and disjoint: only the neighbours can overlap. */
    size_t at = upper_bound(gm, gpa);
    const struct nub_gm_region *v = regions(gm);
    if (at > 0 && region_contains(&v[at - 1], gpa))
        return -EINVAL;
    if (at < gm->count && v[at].gpa <= last)
        return -EINVAL;
    int r = grow(gm);
    if (r < 0)
        return r;
    struct nub_gm_region *w = regions(gm);
    memmove(&w[at + 1], &w[at], (gm->count - at) * sizeof(w[0]));
    w[at] = (struct nub_gm_region){
        .gpa = gpa, .size = size, .host = host, .fd = fd, .fd_offset = fd_offset,
        .readonly = readonly};
    gm->count++;
    return 0;
}

int nub_gm_add_region(struct nub_guest_mem *gm, nub_gpa gpa, uint64_t size, void *host, int fd,
                      off_t fd_offset)
{
    return add(gm, gpa, size, host, fd, fd_offset, false);
}

int nub_gm_add_ro_region(struct nub_guest_mem *gm, nub_gpa gpa, uint64_t size, const void *host,
                         int fd, off_t fd_offset)
{
    return add(gm, gpa, size, (void *)host, fd, fd_offset, true);
}

int nub_gm_remove_region(struct nub_guest_mem *gm, nub_gpa gpa)
{
    size_t at = upper_bound(gm, gpa);
    struct nub_gm_region *w = regions(gm);
    if (at == 0 || w[at - 1].gpa != gpa)
        return -ENOENT;
    at--;
    memmove(&w[at], &w[at + 1], (gm->count - at - 1) * sizeof(w[0]));
    gm->count--;
    return 0;
}

size_t nub_gm_num_regions(const struct nub_guest_mem *gm)
{
    return gm->count;
}

const struct nub_gm_region *nub_gm_region_at(const struct nub_guest_mem *gm, size_t i)
{
    return i < gm->count ? &regions(gm)[i] : NULL;
}

const struct nub_gm_region *nub_gm_find_region(const struct nub_guest_mem *gm, nub_gpa gpa)
{
    size_t at = upper_bound(gm, gpa);
    if (at == 0)
        return NULL;
    const struct nub_gm_region *r = &regions(gm)[at - 1];
    return region_contains(r, gpa) ? r : NULL;
}

nub_gpa nub_gm_last_addr(const struct nub_guest_mem *gm)
{
    if (gm->count == 0)
        return 0;
    const struct nub_gm_region *r = &regions(gm)[gm->count - 1];
    return r->gpa + (r->size - 1);
}

/* Walks [gpa, gpa+len) region by region, calling fn for each piece.
 * Fails with -EFAULT before calling fn at all if any byte is missing. */
typedef void (*piece_fn)(const struct nub_gm_region *r, uint64_t roff, size_t done, size_t n,
                         void *ctx);

static int walk(const struct nub_guest_mem *gm, nub_gpa gpa, uint64_t len, piece_fn fn,
                void *ctx, bool write)
{
    if (len == 0)
        return 0;
    if (gpa > UINT64_MAX - (len - 1))
        return -EFAULT;
    /* One binary search for the first byte, then the following regions in
     * order, each of which must start where the previous one ended (no
     * hole). Two passes: check everything first, so copies are
     * all-or-nothing. Bounded by the number of regions. */
    size_t first = upper_bound(gm, gpa);
    if (first == 0)
        return -EFAULT;
    first--;
    const struct nub_gm_region *v = regions(gm);
    for (int pass = 0; pass < 2; pass++) {
        nub_gpa cur = gpa;
        uint64_t left = len;
        size_t done = 0;
        for (size_t i = first; left > 0; i++) {
            if (i >= gm->count || !region_contains(&v[i], cur) || (write && v[i].readonly))
                return -EFAULT;
            const struct nub_gm_region *r = &v[i];
            uint64_t roff = cur - r->gpa;
            uint64_t avail = r->size - roff;
            uint64_t n = left < avail ? left : avail;
            if (pass == 1 && fn != NULL)
                fn(r, roff, done, (size_t)n, ctx);
            left -= n;
            done += (size_t)n;
            if (left > 0)
                cur += n; /* cannot wrap: checked above */
        }
        if (fn == NULL)
            break;
    }
    return 0;
}

bool nub_gm_check_range(const struct nub_guest_mem *gm, nub_gpa gpa, uint64_t len)
{
    return walk(gm, gpa, len, NULL, NULL, false) == 0;
}

bool nub_gm_check_range_above(const struct nub_guest_mem *gm, nub_gpa floor, nub_gpa gpa,
                              uint64_t len)
{
    return len == 0 || (gpa >= floor && nub_gm_check_range(gm, gpa, len));
}

bool nub_gm_checked_offset(const struct nub_guest_mem *gm, nub_gpa gpa, uint64_t off,
                           nub_gpa *out)
{
    if (gpa > UINT64_MAX - off)
        return false;
    if (nub_gm_find_region(gm, gpa + off) == NULL)
        return false;
    *out = gpa + off;
    return true;
}

static void piece_read(const struct nub_gm_region *r, uint64_t roff, size_t done, size_t n,
                       void *ctx)
{
    memcpy((uint8_t *)ctx + done, r->host + roff, n);
}

/* A piece this large of a memfd-backed region is written through the fd:
 * the kernel fills the pages itself, where a memcpy through the mapping
 * takes a page fault on each page not yet touched (a few us each on
 * kvm-pvm; the guest image's ~40 pages at every boot). Below it, one
 * syscall costs more than the faults it could save. */
#define WRITE_VIA_FD_MIN (16u * 1024)

static void piece_write(const struct nub_gm_region *r, uint64_t roff, size_t done, size_t n,
                        void *ctx)
{
    const uint8_t *src = (const uint8_t *)ctx + done;
    size_t put = 0;
    if (r->fd >= 0 && n >= WRITE_VIA_FD_MIN) {
        /* Bounded: each round writes at least a byte or stops. */
        while (put < n) {
            ssize_t w = pwrite(r->fd, src + put, n - put, r->fd_offset + (off_t)(roff + put));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break; /* the rest through the mapping, which cannot fail */
            put += (size_t)w;
        }
    }
    memcpy(r->host + roff + put, src + put, n - put);
}

/* Zeroes one piece; whole pages of a memfd-backed region are punched
 * out instead, so zeroing a large range also gives the memory back. */
static void piece_zero(const struct nub_gm_region *r, uint64_t roff, size_t done, size_t n,
                       void *ctx)
{
    (void)done;
    (void)ctx;
    uint8_t *p = r->host + roff;
    if (r->fd >= 0) {
        /* Punch whole pages: the kernel drops them and reads back zeros. */
        const uint64_t pg = 4096;
        uint64_t first = (roff + pg - 1) & ~(pg - 1);
        uint64_t end = roff + n;
        uint64_t last = end & ~(pg - 1);
        if (first < last &&
            fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      r->fd_offset + (off_t)first, (off_t)(last - first)) == 0) {
            memset(p, 0, first - roff);
            memset(r->host + last, 0, end - last);
            return;
        }
    }
    memset(p, 0, n);
}

int nub_gm_read(const struct nub_guest_mem *gm, nub_gpa gpa, void *dst, size_t len)
{
    return walk(gm, gpa, len, piece_read, dst, false);
}

int nub_gm_write(const struct nub_guest_mem *gm, nub_gpa gpa, const void *src, size_t len)
{
    return walk(gm, gpa, len, piece_write, (void *)src, true);
}

struct compare_ctx {
    const uint8_t *data;
    int differs;
};

static void piece_compare(const struct nub_gm_region *r, uint64_t roff, size_t done, size_t n,
                          void *ctx)
{
    struct compare_ctx *c = ctx;
    if (!c->differs && memcmp(r->host + roff, c->data + done, n) != 0)
        c->differs = 1;
}

int nub_gm_compare(const struct nub_guest_mem *gm, nub_gpa gpa, const void *data, uint64_t len)
{
    struct compare_ctx c = {.data = data, .differs = 0};
    int r = walk(gm, gpa, len, piece_compare, &c, false);
    return r != 0 ? r : c.differs;
}

int nub_gm_zero(const struct nub_guest_mem *gm, nub_gpa gpa, uint64_t len)
{
    return walk(gm, gpa, len, piece_zero, NULL, true);
}

void *nub_gm_host_addr(const struct nub_guest_mem *gm, nub_gpa gpa, uint64_t len)
{
    const struct nub_gm_region *r = nub_gm_find_region(gm, gpa);
    if (r == NULL)
        return NULL;
    uint64_t roff = gpa - r->gpa;
    if (len > r->size - roff)
        return NULL;
    return r->host + roff;
}

int nub_gm_fd_range(const struct nub_guest_mem *gm, nub_gpa gpa, uint64_t len, int *fd,
                    off_t *offset)
{
    const struct nub_gm_region *r = nub_gm_find_region(gm, gpa);
    if (r == NULL)
        return -EFAULT;
    uint64_t roff = gpa - r->gpa;
    if (len > r->size - roff)
        return -EFAULT;
    if (r->fd < 0)
        return -ENOTSUP;
    *fd = r->fd;
    *offset = r->fd_offset + (off_t)roff;
    return 0;
}

int nub_ro_view_make(const struct nub_guest_mem *gm, nub_gpa gpa, uint64_t len,
                     struct nub_ro_view *out)
{
    if (len == 0) {
        *out = (struct nub_ro_view){.gpa = gpa, .len = 0, .host = NULL};
        return 0;
    }
    const uint8_t *p = nub_gm_host_addr(gm, gpa, len);
    if (p == NULL)
        return -EFAULT;
    *out = (struct nub_ro_view){.gpa = gpa, .len = len, .host = p};
    return 0;
}

int nub_ro_view_copy(const struct nub_ro_view *v, uint64_t off, void *dst, size_t n)
{
    if (off > v->len || n > v->len - off)
        return -EFAULT;
    if (n == 0)
        return 0;
    /* volatile source: the guest may change it; we copy exactly once. */
    const volatile uint8_t *s = v->host + off;
    uint8_t *d = dst;
    for (size_t i = 0; i < n; i++)
        d[i] = s[i];
    return 0;
}
