/* Guest memory as the host sees it: a sorted set of non-overlapping regions,
 * each backed by host memory (and optionally a file descriptor, so reads can
 * be spliced): RAM, plus one region per read-only cap slot (docs/cap-store.md),
 * so thousands of them. Every guest address and length the host uses goes
 * through here: range checks are overflow-safe, cross region boundaries and
 * fail on holes; a lookup is a binary search, O(log n).
 *
 * Not thread-safe by itself: the sandbox changes the set only under its
 * exclusive lock, and readers use it under the shared one. */
#ifndef NUB_GUEST_MEM_H
#define NUB_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Regions kept inside the struct; more spill to the heap
 * (nub_gm_destroy frees them). */
#define NUB_GM_INLINE_REGIONS 4

typedef uint64_t nub_gpa;

struct nub_gm_region {
    nub_gpa gpa;     /* first guest address */
    uint64_t size;   /* bytes, > 0 */
    uint8_t *host;   /* host mapping of the first byte */
    int fd;          /* backing fd, or -1 */
    off_t fd_offset; /* offset of the first byte in fd */
    bool readonly;   /* the host never writes or zeroes it (a cap slot) */
};

/* Do not copy one by value (the spill array would be shared). */
struct nub_guest_mem {
    struct nub_gm_region inline_regions[NUB_GM_INLINE_REGIONS];
    struct nub_gm_region *spill; /* NULL, or the whole sorted array */
    size_t count;
    size_t cap;                  /* slots in the array in use */
};

void nub_gm_init(struct nub_guest_mem *gm);
/* Frees what the set allocated and empties it (nub_gm_init again). */
void nub_gm_destroy(struct nub_guest_mem *gm);

/* Adds a region; -EINVAL if it is empty, wraps 2^64, or overlaps another;
 * -ENOMEM without host memory. Regions are kept sorted by gpa. */
int nub_gm_add_region(struct nub_guest_mem *gm, nub_gpa gpa, uint64_t size, void *host, int fd,
                      off_t fd_offset);

/* The same for a region the host only reads (its mapping may be
 * PROT_READ): nub_gm_write and nub_gm_zero refuse any range touching it. */
int nub_gm_add_ro_region(struct nub_guest_mem *gm, nub_gpa gpa, uint64_t size, const void *host,
                         int fd, off_t fd_offset);

/* Removes the region that starts exactly at gpa; -ENOENT if none does. */
int nub_gm_remove_region(struct nub_guest_mem *gm, nub_gpa gpa);

size_t nub_gm_num_regions(const struct nub_guest_mem *gm);
/* The i-th region in address order (i < nub_gm_num_regions), or NULL. */
const struct nub_gm_region *nub_gm_region_at(const struct nub_guest_mem *gm, size_t i);

/* The region holding gpa, or NULL. */
const struct nub_gm_region *nub_gm_find_region(const struct nub_guest_mem *gm, nub_gpa gpa);

/* Last valid guest address (inclusive); 0 when there are no regions. */
nub_gpa nub_gm_last_addr(const struct nub_guest_mem *gm);

/* True iff every byte of [gpa, gpa+len) is guest memory: no wrap past 2^64,
 * no hole (adjacent regions are fine). len == 0 is true iff gpa+0 is not
 * past 2^64 (always). */
bool nub_gm_check_range(const struct nub_guest_mem *gm, nub_gpa gpa, uint64_t len);

/* nub_gm_check_range, and the range starts at or above floor. len == 0 is
 * true with any address (nothing is ever read from it): the readers' rule
 * for guest-written addresses, which must never point at the low area. */
bool nub_gm_check_range_above(const struct nub_guest_mem *gm, nub_gpa floor, nub_gpa gpa,
                              uint64_t len);

/* gpa + off if that address is guest memory, with *out set; else false. */
bool nub_gm_checked_offset(const struct nub_guest_mem *gm, nub_gpa gpa, uint64_t off,
                           nub_gpa *out);

/* Copy out of / into guest memory, across region boundaries. All or
 * nothing: -EFAULT (and no byte copied) if the range is not all guest memory
 * (or, for a write, touches a read-only region). */
int nub_gm_read(const struct nub_guest_mem *gm, nub_gpa gpa, void *dst, size_t len);
int nub_gm_write(const struct nub_guest_mem *gm, nub_gpa gpa, const void *src, size_t len);

/* Compares guest [gpa, gpa+len) with data, region by region, without a
 * copy: 0 if equal, 1 if they differ, -EFAULT if the range is not all guest
 * memory. The caller keeps the guest from running meanwhile. */
int nub_gm_compare(const struct nub_guest_mem *gm, nub_gpa gpa, const void *data, uint64_t len);

/* Zero a guest range (punches a hole in the backing fd when whole pages
 * allow it, so the pages return to the kernel). -EFAULT if out of range
 * or read-only. */
int nub_gm_zero(const struct nub_guest_mem *gm, nub_gpa gpa, uint64_t len);

/* Host pointer to [gpa, gpa+len) if that range lies inside ONE region (so
 * it is contiguous on the host too); NULL otherwise. len may be 0. */
void *nub_gm_host_addr(const struct nub_guest_mem *gm, nub_gpa gpa, uint64_t len);

/* Backing fd and offset of [gpa, gpa+len) if inside one fd-backed region;
 * -EFAULT out of range or across regions, -ENOTSUP if not fd-backed. */
int nub_gm_fd_range(const struct nub_guest_mem *gm, nub_gpa gpa, uint64_t len, int *fd,
                    off_t *offset);

/* A read-only window on guest memory. A zero-length view may carry any
 * address (and never dereferences it); any other view lies wholly inside
 * one region. The guest can change the bytes under a view at any time it
 * runs, so callers copy out (nub_ro_view_copy) before validating. */
struct nub_ro_view {
    nub_gpa gpa;
    uint64_t len;
    const volatile uint8_t *host; /* NULL iff len == 0 */
};

/* 0, or -EFAULT if len > 0 and the range is not inside one region. */
int nub_ro_view_make(const struct nub_guest_mem *gm, nub_gpa gpa, uint64_t len,
                     struct nub_ro_view *out);

/* Copies [off, off+n) of the view to dst; -EFAULT if outside the view. */
int nub_ro_view_copy(const struct nub_ro_view *v, uint64_t off, void *dst, size_t n);

#endif /* NUB_GUEST_MEM_H */
