/* The mount pipeline, guest side: nub_mount (docs/ARCHITECTURE.md "The mount path") and
 * unmount over a package the host copied into guest memory, plus the mount
 * table of abi.h that the host reads without a guest call.
 *
 * All or nothing: a mount either commits (a live record in the table, the
 * package block owned by the mount) or leaves the directory contents, the
 * table and the heap's used level exactly as they were. Work is
 * proportional to metadata (segments, components, regions, queues), never
 * to payload bytes: hashes were checked by the host, region memory comes
 * zeroed from the heap, immutable regions and caps point into the package
 * in place. Plain C: built into the kernel and into the host library. */
#ifndef NUB_GUEST_MOUNT_H
#define NUB_GUEST_MOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nub/abi.h"
#include "nub/guest_dir.h"
#include "nub/guest_heap.h"
#include "rvf.h"

struct nub_mounts {
    struct nub_heap *heap;
    struct nub_dir *dir;
    /* The guest's own view of the table; the published header is a copy
     * (the host, or TEST_CORRUPT, may scribble on it). */
    uint64_t table_gpa;   /* struct nub_mount_table */
    uint64_t slots_gpa;   /* struct nub_mount_rec[capacity] */
    uint32_t capacity;
    uint32_t live;
    uint32_t zombies;
    uint64_t next_handle;
    uint64_t generation;
    /* Default limits of every mount, counts clamped to NUB_MOUNT_MAX_*; a
     * MOUNT's own struct nub_mount_limits overrides them field by field.
     * Without limits from the creator they are filled in at the first
     * MOUNT (limits_set), not at INIT: ~50 emulated instructions of every
     * start. */
    struct rvf_limits limits;
    bool limits_set;
    /* The cap window (abi.h NUB_CAP_WINDOW_*; host tests move it into
     * their buffer): every cap descriptor's range must lie inside it. */
    uint64_t win_gpa, win_size;
};

/* Allocates the table header and its NUB_MOUNT_SLOTS records (owner
 * KERNEL), publishes the empty table. limits: NULL for the defaults
 * (rvf_limits_default, max_package left to the host: NUB_MAX_MEM); the
 * kernel always passes NULL and gets its limits with each MOUNT.
 * NUB_ST_OK or NUB_ST_NOMEM (nothing allocated). */
enum nub_status nub_mounts_create(struct nub_mounts *m, struct nub_heap *heap, struct nub_dir *dir,
                                  const struct rvf_limits *limits);
/* The same with the table (header and records) at table_gpa:
 * NUB_MOUNT_TABLE_BYTES of zero memory the table keeps for its life (e.g.
 * from nub_heap_init_reserve). *m must be zero (INIT's core is .bss): only
 * its nonzero fields are set, as a 160-byte store was ~20 emulated string
 * iterations of every start. Always NUB_ST_OK. */
#define NUB_MOUNT_TABLE_HEAD 64u
#define NUB_MOUNT_TABLE_BYTES                                                                      \
    (NUB_MOUNT_TABLE_HEAD + (uint64_t)NUB_MOUNT_SLOTS * sizeof(struct nub_mount_rec))
enum nub_status nub_mounts_create_at(struct nub_mounts *m, struct nub_heap *heap,
                                     struct nub_dir *dir, const struct rvf_limits *limits,
                                     uint64_t table_gpa);

/* Clamps the count limits to the NUB_MOUNT_MAX_* the record formats can
 * hold, and drops require_signature (step 1 is the host's). Every mount's
 * limits go through it; so do `nubfs-pack verify`'s. */
void nub_mount_limits_clamp(struct rvf_limits *l);

struct nub_mount_req {
    uint64_t pkg_gpa;  /* start of a host-owned heap block */
    uint64_t pkg_len;
    uint32_t fail_step; /* 0, or NUB_MOUNT_STEP_*: inject a failure after it */
    int caps;          /* NUB_MOUNT_F_CAPS: pkg_gpa/len is a cap list (abi.h) */
    uint8_t signer[NUB_MOUNT_SIGNER_LEN];
    /* 0, or a struct nub_mount_limits in the package's block after the
     * package (abi.h, MOUNT args[3]): this mount's limits. */
    uint64_t limits_gpa;
};

struct nub_mount_out {
    uint64_t handle;
    uint64_t rec_gpa;
    uint32_t caps_new;  /* directory entries created */
    uint32_t caps_held; /* references taken (= record ncaps) */
};

/* Mounts the package. On any error everything is rolled back and msg
 * (msg_cap bytes, NUL-terminated) says why; see abi.h for the codes. */
enum nub_status nub_mount(struct nub_mounts *m, const struct nub_mount_req *req,
                          struct nub_mount_out *out, char *msg, size_t msg_cap);

struct nub_unmount_out {
    uint32_t caps_removed;  /* directory entries that went away */
    uint32_t zombie;        /* 1: the package stays for caps others hold */
    uint32_t zombies_freed; /* packages freed (its own and swept zombies) */
};

/* Unmounts the live mount with this handle; NUB_ST_NOENT if none. */
enum nub_status nub_unmount(struct nub_mounts *m, uint64_t handle, struct nub_unmount_out *out,
                            char *msg, size_t msg_cap);

/* Frees every zombie no directory entry points into any more; returns how
 * many. Cost: the zombies' cap counts. MOUNT and UNMOUNT call it; callers
 * that release caps by other paths (RELEASE) may too. */
uint32_t nub_mounts_sweep(struct nub_mounts *m);

/* Mailbox glue for the op dispatcher: decodes MOUNT/UNMOUNT args as abi.h
 * documents and writes ret[]. test_ops: fault injection allowed. */
enum nub_status nub_mount_call(struct nub_mounts *m, int test_ops, const uint64_t *args,
                               const uint8_t hash[16], uint64_t *ret, char *msg, size_t msg_cap);
enum nub_status nub_unmount_call(struct nub_mounts *m, const uint64_t *args, uint64_t *ret,
                                 char *msg, size_t msg_cap);

/* 1 if [gpa, gpa + len) lies in m's cap window (overflow-safe). */
int nub_cap_range_ok(const struct nub_mounts *m, uint64_t gpa, uint64_t len);

/* PUT_CAPS (abi.h "Cap lists"): args[0] a host block of args[1]
 * descriptors; all or nothing; frees the block on success. */
enum nub_status nub_put_caps_call(struct nub_mounts *m, const uint64_t *args, uint64_t *ret,
                                  char *msg, size_t msg_cap);

/* 0 if the published table matches the guest's view and every record is
 * consistent (tests; O(slots + records)). */
int nub_mounts_check(const struct nub_mounts *m);

#endif /* NUB_GUEST_MOUNT_H */
