/* Internals of the mount pipeline (guest/mount/): the state of one mount
 * in progress and the steps, each in its own file with its undo. Every
 * step records how far it got, so the rollback in mount.c undoes exactly
 * what was done, in reverse order. */
#ifndef NUB_MOUNT_INTERNAL_H
#define NUB_MOUNT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "nub/abi.h"
#include "nub/guest_mount.h"
#include "rvf.h"

/* The mount table stores the manifest's enums and rights as they are
 * (abi.h "= the manifest's values"): pinned here, where both are seen. */
_Static_assert((int)NUB_OBJ_REGION == (int)RVF_OBJ_REGION &&
                   (int)NUB_OBJ_QUEUE == (int)RVF_OBJ_QUEUE &&
                   (int)NUB_OBJ_COMPONENT == (int)RVF_OBJ_COMPONENT,
               "abi.h object kinds mirror rvf.h");
_Static_assert(NUB_RIGHT_READ == RVF_RIGHT_READ && NUB_RIGHT_WRITE == RVF_RIGHT_WRITE &&
                   NUB_RIGHT_GRANT == RVF_RIGHT_GRANT && NUB_RIGHT_REVOKE == RVF_RIGHT_REVOKE &&
                   NUB_RIGHT_EXECUTE == RVF_RIGHT_EXECUTE,
               "abi.h rights mirror rvf.h");
_Static_assert((int)NUB_REGION_IMMUTABLE == (int)RVF_REGION_IMMUTABLE &&
                   (int)NUB_REGION_APPEND_ONLY == (int)RVF_REGION_APPEND_ONLY &&
                   (int)NUB_REGION_SLAB == (int)RVF_REGION_SLAB,
               "abi.h region policies mirror rvf.h");

struct mctx {
    struct nub_mounts *m;
    const struct nub_mount_req *req;
    char *msg;
    size_t msg_cap;
    const uint8_t *bytes;        /* the package, in guest memory (ABI 1) */
    int caps_mode;               /* NUB_MOUNT_F_CAPS: req is a cap list (cap_list.c);
                                    segs sorted by hash, payload_offset = gpa,
                                    offset = the package's segment index */
    struct rvf_segment *wasm_segs; /* caps mode: the WASM segments (scratch) */
    uint16_t first_of[257];      /* caps mode: segs[first_of[b], first_of[b + 1])
                                    are those whose hash starts with byte b */
    uint32_t nwasm;
    uint64_t scratch_gpa;        /* segment array (freed at the end, always) */
    struct rvf_limits lim;       /* this mount's limits (step 2 sets them) */
    struct rvf_package pkg;
    struct rvf_manifest mf;
    uint32_t slot;               /* free table slot the mount will take */
    struct nub_mount_rec rec;    /* copied into the slot at commit */
    struct nub_mount_component *comps;
    struct nub_mount_region *regions;
    struct nub_mount_queue *queues;
    struct nub_mount_task *tasks;
    struct nub_mount_grant *grants;
    struct nub_mount_cap *caps;
    /* progress, for the rollback */
    int records_made;
    uint32_t regions_made;
    uint32_t caps_refd;          /* caps[0..caps_refd) looked up, present ones referenced */
    uint32_t caps_made;          /* caps[0..caps_made) all hold a reference */
    uint32_t caps_new;
    uint32_t queues_made;
    int dir_reserved;            /* dir_mark holds an open directory reservation */
    struct nub_dir_mark dir_mark;
};

/* Formats the reason into c->msg and returns st. */
enum nub_status mount_fail(struct mctx *c, enum nub_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, for code without a mount context (unmount). */
enum nub_status mount_failv(char *msg, size_t cap, enum nub_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* dst: a char[NUB_MOUNT_NAME_LEN] field, written in full (NUL-padded);
 * src (a name the manifest parser checked: NUL-terminated) is cut at 63
 * characters. */
void mount_copy_name(char *dst, const char *src);

/* Parser status -> mount status: a limit is a quota, anything else the
 * parser refuses is a malformed package. */
enum nub_status mount_rvf_status(enum rvf_status st);

/* gpa of a segment's payload: inside the package, or its cap's window
 * range (caps mode). */
static inline uint64_t mount_payload_gpa(const struct mctx *c, const struct rvf_segment *s)
{
    return c->caps_mode ? s->payload_offset : c->req->pkg_gpa + s->payload_offset;
}

/* cap_list.c: step 2's parse of a cap list (caps mode): descriptors into
 * c->pkg (sorted segments, scratch_gpa), the manifest copied out of the
 * window and parsed into c->mf. block: the list's heap block size. */
enum nub_status mount_caps_parse(struct mctx *c, uint64_t block);
/* The segment with this hash (and type, unless 0), or NULL: a binary
 * search in caps mode, rvf_find_segment otherwise. */
const struct rvf_segment *mount_find_seg(const struct mctx *c, const uint8_t *hash, uint8_t type);

/* Step 2 (parse.c): check the block, settle this mount's limits, parse
 * container and manifest, take a table slot, allocate the records block
 * and fill the mount record. */
enum nub_status mount_parse(struct mctx *c);
void mount_parse_undo(struct mctx *c);

/* Step 3 (regions.c). */
enum nub_status mount_regions_create(struct mctx *c);
void mount_regions_destroy(struct nub_heap *h, struct nub_mount_region *r, uint32_t n);

/* Step 4 (components.c): validate the modules and fill the component
 * records; then caps.c publishes the caps. */
enum nub_status mount_components(struct mctx *c);
enum nub_status mount_caps_publish(struct mctx *c);
void mount_caps_undo(struct mctx *c);
/* Drops the references in caps[0..n) (last first); returns how many
 * directory entries went away. Used by rollback and unmount. */
uint32_t mount_caps_release(struct nub_mounts *m, const struct nub_mount_cap *caps, uint32_t n);
/* Directory entries created by this package that still point into it. */
uint32_t mount_caps_pinned(const struct nub_dir *d, const struct nub_mount_cap *caps, uint32_t n,
                           uint64_t pkg_gpa, uint64_t pkg_len);

/* dir_undo.c: the directory's part of step 4's all or nothing. reserve
 * opens the reservation (the first call) or makes room for `fresh` new
 * caps in it (the second, before any is inserted: so no insert grows the
 * table), commit keeps it, undo gives it back after the caps were
 * released (heap level as before). */
enum nub_status mount_dir_reserve(struct mctx *c, uint32_t fresh);
void mount_dir_commit(struct mctx *c);
void mount_dir_undo(struct mctx *c);

/* Step 5 (grants.c). */
enum nub_status mount_grants(struct mctx *c);
void mount_grants_revoke(struct nub_mount_component *comps, uint32_t ncomps,
                         struct nub_mount_grant *g, uint32_t n);

/* Step 6 (queues.c). */
enum nub_status mount_queues_connect(struct mctx *c);
void mount_queues_disconnect(struct nub_heap *h, struct nub_mount_queue *q, uint32_t n);

/* Step 7 (tasks.c). */
enum nub_status mount_tasks_spawn(struct mctx *c);
void mount_tasks_stop(struct nub_mount_task *t, uint32_t n);

/* mount_table.c */
struct nub_mount_rec *mount_slot(const struct nub_mounts *m, uint32_t i);
/* A free slot index, or -1. */
int64_t mount_table_free_slot(const struct nub_mounts *m);
/* Slot of the live mount with this handle, or -1. */
int64_t mount_table_find(const struct nub_mounts *m, uint64_t handle);
void mount_table_publish(const struct nub_mounts *m);
/* The table's default limits (struct nub_mounts: filled in on first use). */
const struct rvf_limits *mount_table_limits(struct nub_mounts *m);

#endif /* NUB_MOUNT_INTERNAL_H */
