/* The nubfs daemon's shared state and the interfaces between its files:
 * options, event log, inode map, the FUSE operation groups. */
#ifndef NUBFS_H
#define NUBFS_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "reader.h"
#include "sandbox.h"

/* Exit statuses (documented in nubfs(8)). */
#define NUBFS_EXIT_OK 0
#define NUBFS_EXIT_FAIL 1
#define NUBFS_EXIT_USAGE 2
#define NUBFS_EXIT_NODEV 69 /* /dev/kvm or /dev/fuse missing or unusable */

/* Fixed inodes. Caps have the top bit set, so they never meet these. */
enum {
    NUBFS_INO_ROOT = FUSE_ROOT_ID, /* 1 */
    NUBFS_INO_CAPS = 2,
    NUBFS_INO_LOG = 3,
    NUBFS_INO_STATS = 4,
};
#define NUBFS_INO_CAP_BIT (1ull << 63)

/* Kernel cache lifetimes (seconds). Caps never change. */
#define NUBFS_CAP_TIMEOUT 86400.0
#define NUBFS_DIR_TIMEOUT 1.0

/* ---- options (options.c) ---- */
struct nubfs_opts {
    char *kernel;       /* -o kernel=PATH, NULL = embedded */
    char *guest_mem_s;  /* -o guest_mem=SIZE as given */
    uint64_t guest_mem; /* parsed, 0 = default */
    char *preload;      /* -o preload=DIR */
    unsigned watchdog_ms;
    int test_ops;       /* -o test_ops (hidden: enables misbehaving guest ops) */
    unsigned test_crash_after; /* hidden, needs test_ops: triple-fault the
                                  guest after this many preloads (tests
                                  the recovery path) */
    int show_help, show_version;
    char *source;       /* first of two positionals (fstab/mount.fuse3) */
    char *mountpoint;
};
/* Parses argv into opts and leaves in args what fuse_parse_cmdline and
 * fuse_session_new should see. 0, or -1 with a message printed. */
int nubfs_opts_parse(struct fuse_args *args, struct nubfs_opts *opts);
void nubfs_opts_free(struct nubfs_opts *opts);
void nubfs_usage(const char *prog);
/* "256M" -> bytes (K/M/G/T suffixes, powers of 1024); -EINVAL/-ERANGE. */
int nubfs_parse_size(const char *s, uint64_t *out);

/* ---- event log (eventlog.c): recent events behind `log` ---- */
void nubfs_log_init(bool to_stderr);
void nubfs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log callback for the sandbox (guest lines and sandbox events). */
void nubfs_log_sandbox(void *ctx, const char *line);
/* Renders the ring, oldest first, into a malloc'd buffer. */
char *nubfs_log_render(size_t *len);
void nubfs_log_stop_stderr(void);

/* ---- inode map (inodes.c) ---- */
void nubfs_inodes_init(void);
void nubfs_inodes_destroy(void);
/* Inode for hash, taking one kernel lookup reference. 0 or -EIO. */
int nubfs_ino_ref(const uint8_t hash[16], uint64_t *ino);
/* Inode the kernel would get for hash, without a reference (readdir). */
uint64_t nubfs_ino_peek(const uint8_t hash[16]);
/* Hash of a cap inode the kernel holds; -ENOENT if unknown. */
int nubfs_ino_hash(uint64_t ino, uint8_t hash[16]);
void nubfs_ino_forget(uint64_t ino, uint64_t nlookup);
size_t nubfs_inodes_count(void);

/* ---- the daemon (main.c state, shared) ---- */
struct nubfs_preload_item {
    char *path;
    uint8_t hash[16];
    uint64_t len;
};

struct nubfs {
    struct nub_sandbox *sb;
    struct nub_sandbox_opts sb_opts;
    struct nubfs_opts opts;
    struct timespec mount_time;
    uid_t uid;
    gid_t gid;
    /* Serializes recovery (reboot + re-publish). */
    pthread_mutex_t recover_mu;
    struct nubfs_preload_item *preload;
    size_t npreload;
    uint64_t preload_bytes;
};

/* The reader for the current directory, with the sandbox read lock held
 * (release with nubfs_reader_end). Returns 0, -ENOENT if the guest has no
 * directory yet (treat as empty), -EIO if it is corrupt. The lock is held
 * even on error. */
int nubfs_reader_begin(struct nubfs *fs, struct nub_reader *r);
void nubfs_reader_end(struct nubfs *fs);

/* preload.c: PUT every regular file of dir; 0 or -errno (message logged). */
int nubfs_preload(struct nubfs *fs, const char *dir);
/* Re-publishes the preloaded files into a fresh guest. */
int nubfs_republish(struct nubfs *fs);
/* If the sandbox is poisoned: log why, reboot, re-publish. 0 if healthy. */
int nubfs_recover(struct nubfs *fs);
void nubfs_preload_free(struct nubfs *fs);

/* stats.c: the JSON behind `stats` (malloc'd). */
char *nubfs_stats_render(struct nubfs *fs, size_t *len);

/* ---- FUSE operation groups ---- */
void nubfs_fill_ops(struct fuse_lowlevel_ops *ops);
/* tree.c helpers shared with caps_ops.c / files_ops.c */
void nubfs_dir_attr(struct nubfs *fs, fuse_ino_t ino, struct stat *st);
void nubfs_file_attr(struct nubfs *fs, fuse_ino_t ino, uint64_t size, struct stat *st);
/* caps_ops.c */
void nubfs_caps_lookup(fuse_req_t req, struct nubfs *fs, const char *name);
int nubfs_caps_getattr(struct nubfs *fs, fuse_ino_t ino, struct stat *st);
void nubfs_caps_readdir(fuse_req_t req, struct nubfs *fs, size_t size, off_t off, bool plus);
void nubfs_caps_open(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, struct fuse_file_info *fi);
void nubfs_caps_read(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, size_t size, off_t off);
/* files_ops.c: log and stats (snapshot on open, served from the copy) */
void nubfs_files_open(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino,
                      struct fuse_file_info *fi);
void nubfs_files_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi);
void nubfs_files_release(struct fuse_file_info *fi);

#endif /* NUBFS_H */
