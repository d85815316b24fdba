/* The mount-table reader: a read-only view of the guest's mount table
 * (abi.h "Mount table"), walked in guest memory by the host with no guest
 * call, for mounts/<name>/ in the tree.
 *
 * Guest memory is hostile: every structure is copied out before it is
 * validated, every count is bounded by the NUB_MOUNT_MAX_* constants,
 * every gpa/len is range-checked (overflow-safe), strings must be
 * NUL-terminated within NUB_MOUNT_NAME_LEN. Anything corrupt is -EIO, never
 * a crash or an out-of-bounds access. The caller holds the sandbox read
 * lock for as long as it uses what it got (addresses stay valid only while
 * the guest does not run). */
#ifndef NUB_MOUNT_READER_H
#define NUB_MOUNT_READER_H

#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "nub/abi.h"

struct nub_mtab_reader {
    const struct nub_guest_mem *gm;
    nub_gpa boot_info_gpa;
    nub_gpa table_gpa;
};

/* A live mount record as copied out and validated: name/version are
 * NUL-terminated, counts are within the NUB_MOUNT_MAX_* bounds, and every
 * array (count x record size) lies inside the records block, which lies in
 * guest memory. */
struct nub_mtab_mount {
    uint32_t slot;
    uint64_t handle;
    char name[NUB_MOUNT_NAME_LEN];
    char version[NUB_MOUNT_NAME_LEN];
    uint8_t signer[NUB_MOUNT_SIGNER_LEN]; /* all zero: unsigned */
    uint8_t manifest_hash[16];
    uint64_t package_gpa, package_len;
    uint64_t generation;
    uint32_t ncomponents, nregions, nqueues, ntasks, ngrants, ncaps;
    uint64_t components_gpa, regions_gpa, queues_gpa, tasks_gpa, grants_gpa, caps_gpa;
};

/* 0; -ENOENT if the guest has no mount table yet (mount_table_gpa 0);
 * -EIO if the boot info or the table header is bad or out of range. */
int nub_mtab_open(struct nub_mtab_reader *r, const struct nub_guest_mem *gm,
                          nub_gpa boot_info_gpa);

/* Validated copy of the table header (re-read every time): 0 or -EIO. */
int nub_mtab_header(const struct nub_mtab_reader *r, struct nub_mount_table *out);

/* Live records in slot order. *cursor starts at 0; 1 with *out filled and
 * the cursor past it, 0 at the end, -EIO if the header is corrupt. Records
 * that fail validation are skipped and counted in *bad (if not NULL). */
int nub_mtab_next(const struct nub_mtab_reader *r, uint64_t *cursor,
                          struct nub_mtab_mount *out, uint64_t *bad);

/* The live record with this handle: 0, -ENOENT, or -EIO (header corrupt,
 * or the record with that handle fails validation). */
int nub_mtab_find(const struct nub_mtab_reader *r, uint64_t handle,
                          struct nub_mtab_mount *out);

/* Copy items [first, first + n) of one of the mount's arrays into out and
 * validate each one (indices inside the mount's counts, enums known,
 * strings terminated, addresses inside guest memory). -EINVAL if the
 * range is outside the mount's count, -EIO if guest data is bad. */
int nub_mtab_components(const struct nub_mtab_reader *r, const struct nub_mtab_mount *m,
                                uint32_t first, uint32_t n, struct nub_mount_component *out);
int nub_mtab_regions(const struct nub_mtab_reader *r, const struct nub_mtab_mount *m,
                             uint32_t first, uint32_t n, struct nub_mount_region *out);
int nub_mtab_queues(const struct nub_mtab_reader *r, const struct nub_mtab_mount *m,
                            uint32_t first, uint32_t n, struct nub_mount_queue *out);
int nub_mtab_tasks(const struct nub_mtab_reader *r, const struct nub_mtab_mount *m,
                           uint32_t first, uint32_t n, struct nub_mount_task *out);
int nub_mtab_grants(const struct nub_mtab_reader *r, const struct nub_mtab_mount *m,
                            uint32_t first, uint32_t n, struct nub_mount_grant *out);
int nub_mtab_caps(const struct nub_mtab_reader *r, const struct nub_mtab_mount *m,
                          uint32_t first, uint32_t n, struct nub_mount_cap *out);

/* The grants of one component (a slice of the mount's grants array):
 * *first and *n so that nub_mtab_grants(r, m, *first, *n, ...)
 * reads them. -EIO if the component's slice is not inside the array. */
int nub_mtab_component_grants(const struct nub_mtab_mount *m,
                                      const struct nub_mount_component *c, uint32_t *first,
                                      uint32_t *n);

/* Reads bytes [off, off + len) of a region's live content: the region is
 * re-read from the mount's array (index i), its length is what counts
 * (append-only regions grow), and the range is checked inside guest
 * memory. Returns the bytes copied (short at the end of the content, 0
 * past it) or -EIO / -EINVAL. */
int64_t nub_mtab_region_read(const struct nub_mtab_reader *r,
                                     const struct nub_mtab_mount *m, uint32_t i, uint64_t off,
                                     void *dst, size_t len);

/* Copy of a queue's ring header, checked against the queue record (magic,
 * capacity, max_msg, slot size, ring length) and for head <= tail <=
 * head + capacity: 0 or -EIO. */
int nub_mtab_ring(const struct nub_mtab_reader *r, const struct nub_mount_queue *q,
                          struct nub_ring *out);

#endif /* NUB_MOUNT_READER_H */
