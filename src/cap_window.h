/* The guest-physical cap window's allocator (docs/cap-store.md): hands out
 * page-aligned address ranges for cap files and packs, first fit, and
 * takes them back (coalescing), so a window range is reused once the slot
 * that used it is gone. Host-side only: the guest never chooses a gpa.
 * Not thread-safe: the cap store calls it under its lock. */
#ifndef NUB_CAP_WINDOW_H
#define NUB_CAP_WINDOW_H

#include <stddef.h>
#include <stdint.h>

struct nub_cap_window {
    uint64_t base, size;
    struct nub_cap_extent *free; /* free ranges, sorted, disjoint, never adjacent */
    size_t nfree, cap;
    uint64_t free_bytes;
};

struct nub_cap_extent {
    uint64_t gpa, len;
};

/* [base, base + size): both page aligned, size > 0, no wrap. 0 or -EINVAL. */
int nub_cap_window_init(struct nub_cap_window *w, uint64_t base, uint64_t size);
void nub_cap_window_destroy(struct nub_cap_window *w);

/* A range of len bytes (rounded up to pages; len > 0): 0 and *gpa, or
 * -ENOSPC (no free range that big), -ENOMEM. O(free ranges). */
int nub_cap_window_alloc(struct nub_cap_window *w, uint64_t len, uint64_t *gpa);

/* Gives back a range nub_cap_window_alloc returned (same len). 0, -EINVAL
 * (not inside the window, or overlapping free space: a double free),
 * -ENOMEM. O(log free ranges) plus the move of the array tail. */
int nub_cap_window_free(struct nub_cap_window *w, uint64_t gpa, uint64_t len);

#endif /* NUB_CAP_WINDOW_H */
