/* The cap window's address allocator: a sorted array of free extents. */
#include "cap_window.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 4096ull

static uint64_t round_page(uint64_t len)
{
    return (len + PAGE - 1) & ~(PAGE - 1);
}

static int reserve(struct nub_cap_window *w, size_t n)
{
    if (n <= w->cap)
        return 0;
    size_t cap = w->cap ? w->cap * 2 : 16;
    while (cap < n)
        cap *= 2;
    struct nub_cap_extent *v = realloc(w->free, cap * sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    w->free = v;
    w->cap = cap;
    return 0;
}

int nub_cap_window_init(struct nub_cap_window *w, uint64_t base, uint64_t size)
{
    memset(w, 0, sizeof(*w));
    if (size == 0 || base % PAGE || size % PAGE || base > UINT64_MAX - size)
        return -EINVAL;
    w->base = base;
    w->size = size;
    if (reserve(w, 1) < 0)
        return -ENOMEM;
    w->free[0] = (struct nub_cap_extent){base, size};
    w->nfree = 1;
    w->free_bytes = size;
    return 0;
}

void nub_cap_window_destroy(struct nub_cap_window *w)
{
    free(w->free);
    memset(w, 0, sizeof(*w));
}

int nub_cap_window_alloc(struct nub_cap_window *w, uint64_t len, uint64_t *gpa)
{
    if (len == 0 || len > w->size)
        return len == 0 ? -EINVAL : -ENOSPC;
    len = round_page(len);
    for (size_t i = 0; i < w->nfree; i++) {
        struct nub_cap_extent *e = &w->free[i];
        if (e->len < len)
            continue;
        *gpa = e->gpa;
        e->gpa += len;
        e->len -= len;
        if (e->len == 0) {
            memmove(e, e + 1, (w->nfree - i - 1) * sizeof(*e));
            w->nfree--;
        }
        w->free_bytes -= len;
        return 0;
    }
    return -ENOSPC;
}

int nub_cap_window_free(struct nub_cap_window *w, uint64_t gpa, uint64_t len)
{
    if (len == 0)
        return -EINVAL;
    len = round_page(len);
    if (gpa % PAGE || gpa < w->base || gpa - w->base > w->size || len > w->size - (gpa - w->base))
        return -EINVAL;
    /* First free extent above gpa. */
    size_t lo = 0, hi = w->nfree;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->free[mid].gpa <= gpa)
            lo = mid + 1;
        else
            hi = mid;
    }
    struct nub_cap_extent *prev = lo > 0 ? &w->free[lo - 1] : NULL;
    struct nub_cap_extent *next = lo < w->nfree ? &w->free[lo] : NULL;
    if ((prev != NULL && prev->gpa + prev->len > gpa) || (next != NULL && gpa + len > next->gpa))
        return -EINVAL; /* overlaps free space: freed twice */
    bool join_prev = prev != NULL && prev->gpa + prev->len == gpa;
    bool join_next = next != NULL && gpa + len == next->gpa;
    if (join_prev && join_next) {
        prev->len += len + next->len;
        memmove(next, next + 1, (w->nfree - lo - 1) * sizeof(*next));
        w->nfree--;
    } else if (join_prev) {
        prev->len += len;
    } else if (join_next) {
        next->gpa = gpa;
        next->len += len;
    } else {
        if (reserve(w, w->nfree + 1) < 0)
            return -ENOMEM;
        memmove(&w->free[lo + 1], &w->free[lo], (w->nfree - lo) * sizeof(w->free[0]));
        w->free[lo] = (struct nub_cap_extent){gpa, len};
        w->nfree++;
    }
    w->free_bytes += len;
    return 0;
}
