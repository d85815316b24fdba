/* The control directory's state, shared by ctl_table.c (the table and
 * its buffers), ctl_ops.c (the FUSE operations), mounter.c (mount,
 * replace, unmount), held.c (what a mounted entry holds), recover.c
 * (re-mount after a reboot) and mounts_ops.c (mounts/ shows the mounted
 * entries). */
#ifndef NUBFS_CTL_H
#define NUBFS_CTL_H

#include <limits.h>

#include "intake.h"
#include "nubfs.h"

/* Most files ctl/ holds at once (packages and staged dot-files). */
#define NUBFS_CTL_MAX_ENTRIES 1024u
/* <name> of <name>.rvf: at most this many bytes (a mount name, abi.h). */
#define NUBFS_PKG_NAME_MAX (NUB_MOUNT_NAME_LEN - 1)

/* Package bytes: a reference-counted anonymous mapping of `cap` bytes
 * (reserved, not committed: pages appear as they are written, and holes
 * read as zero). A buffer that was mounted is never written again. */
struct nubfs_buf {
    unsigned refs; /* atomic */
    uint8_t *p;
    size_t len; /* bytes of content */
    size_t cap; /* bytes mapped */
    /* A package replayed from the state directory holds only its
     * metadata at first: fill writes the rest (the payloads) into p,
     * once, on the first nubfs_buf_ready; fill_free(fill_ctx) at the
     * last unref. NULL: p is whole. */
    int (*fill)(void *ctx, struct nubfs_buf *b);
    void (*fill_free)(void *ctx);
    void *fill_ctx;
    int filled; /* atomic: 0 not yet, 1 done */
};
struct nubfs_buf *nubfs_buf_new(size_t cap);
struct nubfs_buf *nubfs_buf_ref(struct nubfs_buf *b);
void nubfs_buf_unref(struct nubfs_buf *b);
/* Makes p whole (see fill) before its payload bytes are read: 0, or
 * -errno (EIO: a cap file could not be read). */
int nubfs_buf_ready(struct nubfs_buf *b);
/* Sets len to n: zeroes what is cut off, so growing again reads zeros.
 * n must be <= cap. */
void nubfs_buf_resize(struct nubfs_buf *b, size_t n);

enum nubfs_ctl_name {
    NUBFS_CTL_NAME_BAD = 0, /* EINVAL: not <name>.rvf and not a dot-file */
    NUBFS_CTL_NAME_DOT,     /* .anything: staged, never mounted (rsync's temp files) */
    NUBFS_CTL_NAME_PKG,     /* <name>.rvf: mounted on flush or rename */
};
enum nubfs_ctl_name nubfs_ctl_name_kind(const char *name);

/* mnt_names.c: the stable indexes behind mounts/<name>/ inodes, by kind. */
enum { NUBFS_MNT_NAMES_REGIONS, NUBFS_MNT_NAMES_COMPONENTS, NUBFS_MNT_NAMES_KINDS };
#define NUBFS_MNT_NAMES_MAX 0xffffu
struct nubfs_mnt_names;
/* The index of name (added if new): 0, -ENOSPC when full, -ENOMEM. */
int nubfs_mnt_names_index(struct nubfs_mnt_names **t, unsigned kind, const char *name,
                          uint32_t *idx);
/* The name at idx, or NULL. */
const char *nubfs_mnt_names_at(const struct nubfs_mnt_names *t, unsigned kind, uint32_t idx);
void nubfs_mnt_names_free(struct nubfs_mnt_names *t);

struct nubfs_ctl_entry {
    uint64_t id; /* inode = NUBFS_INO_CTL_BIT | id */
    char name[NAME_MAX + 1];
    bool linked;     /* listed in ctl/ (false once removed) */
    unsigned opens;  /* open file handles */
    mode_t mode;     /* permission bits */
    uid_t uid;
    gid_t gid;
    struct timespec atime, mtime, ctime;

    /* The mounted package (pkg != NULL and handle != 0), or nothing. */
    struct nubfs_buf *pkg;
    uint64_t handle;  /* guest mount handle (changes when re-mounted after a reboot) */
    uint64_t mseq;    /* mount serial: inodes of mounts/<name>/ (survives reboots and replaces) */
    struct nubfs_mnt_names *names; /* stable indexes of its region and component names */
    uint64_t order;   /* mount order, for re-mounting in the same order */
    struct timespec mounted_at;
    struct nub_intake_result res; /* package name, version, signer, counts, times */
    uint8_t (*caps)[16];         /* its segments' cap hashes (not the signature) */
    uint32_t ncaps;
    struct nub_cap_obj **objs;   /* its store references, one per cap */
    uint32_t nobjs;
    uint8_t *frame;              /* its frame in the state directory (frame.h), or NULL */
    size_t frame_len;

    /* Writes since the last flush go here (NULL: none; content is pkg). */
    struct nubfs_buf *stage;
    bool dirty;       /* written (or created, truncated) since the last flush */
    int stage_err;    /* sticky error of the writes (-EFBIG), reported by flush */
    uint64_t stage_t0; /* first write, for the receive time */
};

/* ctl_table.c. Every function below runs with t->mu held (ctl_lock). */
struct nubfs_ctl_table {
    pthread_mutex_t mu;
    struct nubfs_ctl_entry **v; /* by increasing id (ids are never reused) */
    size_t n, cap;
    uint64_t next_id, next_mseq, next_order;
};
int nubfs_ctl_table_init(struct nubfs *fs);
void nubfs_ctl_table_destroy(struct nubfs *fs);
void nubfs_ctl_lock(struct nubfs *fs);
void nubfs_ctl_unlock(struct nubfs *fs);
struct nubfs_ctl_entry *nubfs_ctl_by_name(struct nubfs *fs, const char *name);
struct nubfs_ctl_entry *nubfs_ctl_by_id(struct nubfs *fs, uint64_t id);
/* The mounted, linked entry with this mount serial. */
struct nubfs_ctl_entry *nubfs_ctl_by_mseq(struct nubfs *fs, uint64_t mseq);
/* A new linked entry; NULL with *err (-ENOSPC, -ENOMEM). */
struct nubfs_ctl_entry *nubfs_ctl_new(struct nubfs *fs, const char *name, mode_t mode, uid_t uid,
                                      gid_t gid, int *err);
/* Removes it from ctl/ (it lives on while open). */
void nubfs_ctl_remove(struct nubfs *fs, struct nubfs_ctl_entry *e);
/* Drops an open handle; frees a removed entry with none left. */
void nubfs_ctl_close(struct nubfs *fs, struct nubfs_ctl_entry *e);
/* The i-th entry in id order (readdir), or NULL. */
struct nubfs_ctl_entry *nubfs_ctl_at(struct nubfs *fs, size_t i);
size_t nubfs_ctl_count(struct nubfs *fs, size_t *mounted, size_t *staged);
/* Content as a reader sees it: the staged bytes if any, else the package. */
struct nubfs_buf *nubfs_ctl_content(struct nubfs_ctl_entry *e);
/* "hello.rvf" -> "hello" (into out, NUBFS_PKG_NAME_MAX + 1 bytes). */
void nubfs_ctl_mount_name(const char *ctlname, char *out);

/* mounter.c. Everything with fs->change_mu held, no ctl lock. Each
 * returns 0 or -errno, logs what happened (with the reason), and has
 * already asked the kernel to forget what changed when it returns. */
/* Mounts buf under entry e (named ctlname); on success e holds buf and the
 * package it replaces (if any) is unmounted. On failure e is unchanged. */
int nubfs_mount_entry(struct nubfs *fs, struct nubfs_ctl_entry *e, const char *ctlname,
                      struct nubfs_buf *buf);
/* At start or SIGHUP (state_pkgs.c): mounts a package rebuilt from its
 * frame (blob, taken) with the order it had; no frame is written. A
 * refusal's reason goes to why. */
int nubfs_mount_entry_replay(struct nubfs *fs, struct nubfs_ctl_entry *e, const char *ctlname,
                             struct nubfs_buf *buf, uint64_t order, uint8_t *blob, size_t len,
                             char *why, size_t whylen);
/* A mounted e is renamed to newname: its frame follows (a new order).
 * 0 or -errno (nothing changed). */
int nubfs_entry_frame_rename(struct nubfs *fs, struct nubfs_ctl_entry *e, const char *newname);
/* Entry id's mode, owner and times into its frame (takes change_mu;
 * logged on failure). */
void nubfs_entry_frame_meta(struct nubfs *fs, uint64_t id);
/* Unmounts what e holds (e keeps its name). */
int nubfs_unmount_entry(struct nubfs *fs, struct nubfs_ctl_entry *e);

/* held.c: what a mounted entry holds for its package. */
struct nubfs_held {
    struct nubfs_buf *pkg;
    uint8_t (*caps)[16];
    uint32_t ncaps;
    struct nub_cap_obj **objs;
    uint32_t nobjs;
};
/* Takes the package out of e: it is no longer mounted. ctl lock held. */
struct nubfs_held nubfs_held_take(struct nubfs_ctl_entry *e);
/* After the package of ctl/<ctlname> left the guest (or was replaced):
 * the kernel forgets its caps that left the directory and its mounts/
 * tree, and what the entry held is freed (its store references too: the
 * bytes of a cap no one else holds go, unless a file is open). No ctl
 * lock, no sandbox lock. */
void nubfs_held_drop(struct nubfs *fs, const char *ctlname, struct nubfs_held *h);

/* options.c: the mount options for one package: the daemon's limits (0
 * keeps the default), allow_unsigned, and (tests) the test knobs' hooks. */
void nubfs_mount_opts(struct nubfs *fs, const char *ctlname, bool tests,
                      struct nub_intake_opts *o);

/* test_knobs.c: the test knobs' part of a mount's options (failing step,
 * the one-shot crash hook); nothing without test_ops. change_mu held. */
void nubfs_knobs_mount_opts(struct nubfs *fs, struct nub_intake_opts *o);
/* test_exit_mount=N / test_exit_unmount=N (xattrs): the daemon _exit()s
 * right after step N of a mount or a removal (the crash matrix). */
enum {
    NUBFS_EXIT_MOUNT_STAGED = 1,    /* the bytes are staged, nothing else done */
    NUBFS_EXIT_MOUNT_CAPS = 2,      /* caps written, fsynced, names fsynced */
    NUBFS_EXIT_MOUNT_FRAME_TMP = 3, /* frame in pkgs/.tmp-N, fsynced */
    NUBFS_EXIT_MOUNT_CALL = 4,      /* MOUNT returned yes, the frame still .tmp-N */
    NUBFS_EXIT_MOUNT_DONE = 5,      /* frame renamed, pkgs/ fsynced, not yet answered */
    NUBFS_EXIT_MOUNT_REFUSED = 6,   /* refused after the frame was staged, .tmp-N not yet gone */
    NUBFS_EXIT_UNMOUNT_FRAME = 1,   /* frame unlinked, pkgs/ fsynced */
    NUBFS_EXIT_UNMOUNT_CALL = 2,    /* UNMOUNT returned */
    NUBFS_EXIT_UNMOUNT_DONE = 3,    /* references (and cap files) gone, not yet answered */
};
#define NUBFS_EXIT_MOUNT_MAX 6u
#define NUBFS_EXIT_UNMOUNT_MAX 3u
void nubfs_knob_exit(struct nubfs *fs, bool mount, unsigned step);

#endif /* NUBFS_CTL_H */
