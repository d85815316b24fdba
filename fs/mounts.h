/* mounts/: the inode scheme and the view of one mounted package, shared
 * by mounts_ops.c (the tree) and mounts_json.c (its JSON files). */
#ifndef NUBFS_MOUNTS_H
#define NUBFS_MOUNTS_H

#include "ctl.h"
#include "mount_reader.h"

/* Node kinds (bits 16..23 of the inode). */
enum mnt_kind {
    MK_MDIR = 1,     /* mounts/<name>/ */
    MK_INFO = 2,     /* mounts/<name>/info */
    MK_COMPS = 3,    /* mounts/<name>/components/ */
    MK_REGIONS = 4,  /* mounts/<name>/regions/ */
    MK_QUEUES = 5,   /* mounts/<name>/queues */
    MK_TASKS = 6,    /* mounts/<name>/tasks */
    MK_COMP = 7,     /* components/<comp>/ (stable index of its name, mnt_names.c) */
    MK_MODULE = 8,   /* components/<comp>/module -> ../../../../caps/<hash> */
    MK_GRANTS = 9,   /* components/<comp>/grants */
    MK_ENTRY = 10,   /* components/<comp>/entry */
    MK_REGION = 11,  /* regions/<region> (stable index of its name) */
};

#define MNT_SEQ_BITS 37
static inline fuse_ino_t mnt_ino(uint64_t mseq, unsigned kind, uint32_t idx)
{
    return NUBFS_INO_MNT_BIT | ((mseq & ((1ull << MNT_SEQ_BITS) - 1)) << 24) |
           ((uint64_t)(kind & 0xff) << 16) | (idx & 0xffff);
}
static inline uint64_t mnt_seq(fuse_ino_t ino)
{
    return ((uint64_t)ino >> 24) & ((1ull << MNT_SEQ_BITS) - 1);
}
static inline unsigned mnt_kind(fuse_ino_t ino)
{
    return (unsigned)((ino >> 16) & 0xff);
}
static inline uint32_t mnt_idx(fuse_ino_t ino)
{
    return (uint32_t)(ino & 0xffff);
}

/* One mounted package as seen now: the daemon's facts (copied from its
 * ctl/ entry) and the guest's mount record. mview_begin takes the sandbox
 * read lock (held even on failure; mview_end drops it). */
struct mview {
    uint64_t mseq;
    char ctlname[NAME_MAX + 1];
    char name[NUBFS_PKG_NAME_MAX + 1];
    struct timespec mounted_at;
    uint64_t package_len;
    mode_t mode; /* of ctl/<name>.rvf: mounts/<name>/ follows it */
    uid_t uid;
    gid_t gid;
    struct nub_mtab_reader mr;
    struct nub_mtab_mount m;
};
int mview_begin(struct nubfs *fs, uint64_t mseq, struct mview *v);
void mview_end(struct nubfs *fs);

/* mounts_json.c: the JSON files (malloc'd, NUL-terminated, ends in a
 * newline), rendered from a view with the read lock held. NULL on error
 * (*err = -EIO for bad guest data, -ENOMEM). */
char *mnt_json_info(const struct mview *v, size_t *len, int *err);
char *mnt_json_queues(const struct mview *v, size_t *len, int *err);
char *mnt_json_tasks(const struct mview *v, size_t *len, int *err);
char *mnt_json_grants(const struct mview *v, uint32_t comp, size_t *len, int *err);
char *mnt_json_entry(const struct mview *v, uint32_t comp, size_t *len, int *err);

/* region_open.c: the open files of immutable regions, by inode, so that
 * fstat of one answers after its package went (the GETATTR names only
 * the inode). A region file handle embeds one; add at open, del at
 * release. nubfs_region_open_attr: the attributes of the inode's newest
 * open file, as of its open; -ENOENT if none is open. */
struct nubfs_region_open {
    struct nubfs_region_open *next, *prev;
    fuse_ino_t ino;
    struct stat st;
};
void nubfs_region_open_add(struct nubfs_region_open *o, fuse_ino_t ino, const struct stat *st);
void nubfs_region_open_del(struct nubfs_region_open *o);
int nubfs_region_open_attr(fuse_ino_t ino, struct stat *st);

#endif /* NUBFS_MOUNTS_H */
