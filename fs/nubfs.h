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

#include "cap_store.h"
#include "reader.h"
#include "sandbox.h"
#include "sign.h"

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
    NUBFS_INO_CTL = 5,
    NUBFS_INO_MOUNTS = 6,
};
#define NUBFS_INO_CAP_BIT (1ull << 63)
/* ctl/ files: this bit | the entry's id (ids are never reused). */
#define NUBFS_INO_CTL_BIT (1ull << 61)
/* Everything under mounts/<name>/: this bit | mount serial << 24 |
 * kind << 16 | index (see mounts.h). Serials are never reused and a
 * replace keeps its serial: an inode of a replaced package shows the new
 * one, an inode of an unmounted package answers ENOENT. */
#define NUBFS_INO_MNT_BIT (1ull << 62)

/* Kernel cache lifetimes (seconds). Caps never change. */
#define NUBFS_CAP_TIMEOUT 86400.0
/* caps/ names that are absent: as long (every publication invalidates
 * the names it adds, notify.c). */
#define NUBFS_NEG_TIMEOUT NUBFS_CAP_TIMEOUT
/* The root's names and the four directories' attributes (fixed: mode,
 * owner, the mount's time) never change while mounted: as long. */
#define NUBFS_FIXED_TIMEOUT NUBFS_CAP_TIMEOUT
/* mounts/ nodes: short, and invalidated explicitly when a package goes. */
#define NUBFS_MNT_TIMEOUT 1.0

/* ---- options (options.c) ---- */
struct nubfs_opts {
    char *kernel;       /* -o kernel=PATH, NULL = embedded */
    char *guest_mem_s;  /* -o guest_mem=SIZE as given */
    uint64_t guest_mem; /* parsed, 0 = default */
    char *preload;      /* -o preload=DIR */
    unsigned watchdog_ms;
    unsigned max_read;  /* -o max_read=N (also passed to FUSE), 0 = none */
    /* Hidden test knobs (test_knobs.c says what each does). */
    int test_ops;              /* -o test_ops: enables misbehaving guest ops */
    unsigned test_crash_after; /* -o test_crash_after=N */
    unsigned test_fail_step;   /* -o test_fail_step=N */
    int test_crash_mount;      /* -o test_crash_mount */
    char *test_forge_cap;      /* -o test_forge_cap=HEX */
    char *trust;               /* -o trust=DIR */
    char *state;               /* -o state=DIR (NULL: the default, state.c) */
    int ephemeral;             /* -o ephemeral: no state directory */
    int allow_unsigned;        /* -o allow_unsigned */
    int verify;                /* -o verify: a cap's bytes hashed before its first read */
    char *max_package_s;       /* -o max_package=SIZE as given */
    uint64_t max_package;      /* parsed; default NUBFS_DEFAULT_MAX_PACKAGE */
    char *store_max_s;         /* -o store_max=SIZE as given */
    uint64_t store_max;        /* parsed; 0 = half the host's RAM (store.c) */
    char *cap_file_min_s;      /* -o cap_file_min=SIZE as given */
    uint64_t cap_file_min;     /* parsed; 0 = NUB_CAP_FILE_MIN_DEFAULT */
    unsigned max_components, max_regions, max_queues, max_tasks; /* 0 = default */
    int nonempty;       /* -o nonempty: mount over a nubfs already there */
    char *read_path_s;  /* -o read_path=splice|auto as given */
    int read_path_splice; /* parsed: never passthrough */
    char *tasks_s;      /* -o tasks=on|off as given */
    int tasks_off;      /* parsed: mount packages without running their tasks */
    unsigned task_fuel; /* -o task_fuel=N: fuel of one RUN slice, 0 = default */
    unsigned task_cpu;  /* -o task_cpu=PERCENT of one core for tasks, 0 = default */
    uint64_t task_fuel_max; /* -o task_fuel_max=N: a task's fuel between queue waits,
                               0 = no limit (set to the default when not given) */
    int show_help, show_version;
    char *source;       /* first of two positionals (fstab/mount.fuse3) */
    char *mountpoint;
};
/* Parses argv into opts and leaves in args what fuse_parse_cmdline and
 * fuse_session_new should see. 0, or -1 with a message printed. */
int nubfs_opts_parse(struct fuse_args *args, struct nubfs_opts *opts);
void nubfs_opts_free(struct nubfs_opts *opts);
void nubfs_usage(const char *prog);
#define NUBFS_DEFAULT_MAX_PACKAGE (256ull << 20)
/* The task scheduler's defaults (scheduler.c, nubfs(8) TASKS). */
#define NUBFS_DEFAULT_TASK_FUEL 20000u
#define NUBFS_MAX_TASK_FUEL 100000000u
#define NUBFS_DEFAULT_TASK_CPU 50u
/* The most fuel a task uses without waiting on a queue: ~1e9 WASM
 * instructions, seconds of computing on hardware KVM (room for a real
 * batch job), hours on kvm-pvm; a task that spins meanwhile costs only
 * its share of task_cpu (nubfs(8) TASKS). */
#define NUBFS_DEFAULT_TASK_FUEL_MAX 1000000000ull
#define NUBFS_MAX_TASK_FUEL_MAX 1000000000000ull
/* -o watchdog=MS: 1 ms to an hour. */
#define NUBFS_MAX_WATCHDOG_MS 3600000u
/* "256M" -> bytes (K/M/G/T suffixes, powers of 1024); -EINVAL/-ERANGE. */
int nubfs_parse_size(const char *s, uint64_t *out);

/* stacked.c: true if mountinfo (/proc/self/mountinfo) lists a fuse.nubfs
 * mounted on dir (an absolute path). */
bool nubfs_mounted_here(const char *mountinfo, const char *dir);

/* utc.c: secs (Unix time) as "YYYY-MM-DDTHH:MM:SS" in UTC, without the
 * C library's time zone load. */
#define NUBFS_UTC_TIME_MAX 32
void nubfs_utc_time(int64_t secs, char out[NUBFS_UTC_TIME_MAX]);

/* ---- event log (eventlog.c): recent events behind `log` ---- */
void nubfs_log_init(bool foreground);
void nubfs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A refusal (a package, a file name): syslog's notice level. */
void nubfs_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Control characters as \n, \r, \t or \xNN, so a text is one line;
 * cut to fit outlen. Returns the length written. */
size_t nubfs_log_sanitize(const char *in, char *out, size_t outlen);
/* Like nubfs_log, but also shown on the terminal until the daemon detaches. */
void nubfs_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log callback for the sandbox (guest lines and sandbox events). */
void nubfs_log_sandbox(void *ctx, const char *line);
/* Renders the ring, oldest first, into a malloc'd buffer. */
char *nubfs_log_render(size_t *len);
/* The daemon has told its parent it is up: warnings stop going to the
 * terminal, and the start's lines held back from syslog go there. */
void nubfs_log_detached(void);
/* At exit: held lines to syslog (a start that failed), closelog. */
void nubfs_log_close(void);

/* ---- inode map (inodes.c) ---- */
void nubfs_inodes_init(void);
void nubfs_inodes_destroy(void);
/* Sizes the map for about `entries` kernel-held inodes (it grows by
 * itself too; this saves the rehashing on the way). */
void nubfs_inodes_reserve(size_t entries);
/* Inode for hash, taking one kernel lookup reference. 0 or -EIO. */
int nubfs_ino_ref(const uint8_t hash[16], uint64_t *ino);
/* The same for each of hashes[0, n) (n at most NUBFS_INO_REF_MANY_MAX, a
 * READDIRPLUS reply's worth) under one hold of the write lock: inos[i] is
 * the inode, or 0 where it failed (-EIO, -ENOMEM: that entry has none).
 * Returns how many got one. */
#define NUBFS_INO_REF_MANY_MAX 256
size_t nubfs_ino_ref_many(const uint8_t (*hashes)[16], size_t n, uint64_t *inos);
/* Inode the kernel would get for hash, without a reference (readdir). */
uint64_t nubfs_ino_peek(const uint8_t hash[16]);
/* Hash of a cap inode the kernel holds; -ENOENT if unknown. */
int nubfs_ino_hash(uint64_t ino, uint8_t hash[16]);
void nubfs_ino_forget(uint64_t ino, uint64_t nlookup);
/* The same for each of f[0, count) (FORGET_MULTI): the write lock once per
 * chunk of them, not both locks once each. */
void nubfs_ino_forget_many(const struct fuse_forget_data *f, size_t count);
size_t nubfs_inodes_count(void);
/* Snapshot of the hashes of every cap inode the kernel holds (malloc'd). */
int nubfs_inodes_hashes(uint8_t (**out)[16], size_t *count);

/* ---- the daemon (main.c state, shared) ---- */
struct nubfs_preload_item {
    char *path;
    uint8_t hash[16];
    uint64_t len;
    struct nub_cap_obj *obj; /* its bytes in the cap store */
};

/* Counters behind `stats` for the control directory (mounter.c). */
struct nubfs_mount_counters {
    uint64_t mounts, mount_failures, unmounts, replaces, remounts, remount_failures;
    uint64_t last_mount_ns, last_receive_ns, bytes_mounted;
};

struct nubfs_ctl_table; /* ctl_table.c */
struct nubfs_notifier;  /* notify.c */
struct nubfs_state;     /* state.c */
struct nubfs_kept;      /* state_kept.c */
struct nubfs_sched;     /* scheduler.c */

struct nubfs {
    struct nub_sandbox *sb;
    struct nub_cap_store *store; /* every published cap's bytes (store.c) */
    struct nub_cap_obj *forged_obj; /* test_forge_cap's junk, held */
    struct nub_sandbox_opts sb_opts;
    struct nubfs_opts opts;
    struct timespec mount_time;
    uid_t uid;
    gid_t gid;
    struct fuse_session *se; /* set once serving (cache invalidation) */
    /* Serializes recovery (reboot + re-publish + re-mount). */
    pthread_mutex_t recover_mu;
    struct nubfs_preload_item *preload;
    size_t npreload;
    uint64_t preload_bytes;
    /* Packages (ctl/ and mounts/). */
    struct nub_trust trust;      /* decides new mounts; swapped by SIGHUP under change_mu */
    struct nub_trust trust_ever; /* every key trusted since start: recovery re-mounts */
    pthread_t reload_thread;     /* reload.c */
    bool reload_started;         /* the thread, not only the handler */
    struct nubfs_ctl_table *ctl;
    struct nubfs_notifier *notifier;
    struct nubfs_state *state; /* NULL with -o ephemeral */
    struct nubfs_kept *kept;   /* frames the options refuse now (state_kept.c) */
    struct nubfs_sched *sched; /* NULL with -o tasks=off or before serving */
    /* Every change to what is mounted (mount, unmount, replace, rename in
     * ctl/, recovery) holds this for its whole length: guest calls are
     * serialized anyway, and it keeps "mount new, unmount old" atomic as
     * seen by other ctl/ operations. Lock order: change_mu, then the
     * sandbox lock, then the ctl table lock (innermost, never held across
     * a guest call or a kernel notification). */
    pthread_mutex_t change_mu;
    struct nubfs_mount_counters mc; /* under change_mu; read racily by stats */
    /* Guest heap level from a STATS call after every change (a cache
     * keyed by the directory generation: docs/ARCHITECTURE.md). */
    uint64_t heap_used, heap_total, heap_gen;
    /* Test knobs at run time (test_knobs.c; need test_ops). */
    unsigned test_fail_step;
    int test_crash_mount;
    unsigned test_exit_mount, test_exit_unmount; /* the crash matrix (0: off) */
    unsigned test_crash_run; /* RUN slices left that crash the guest (atomic) */
    uint64_t verify_failures; /* -o verify refusals (atomic; stats) */
    uint64_t replayed, replay_ns; /* packages the start re-mounted from the state directory */
    bool test_forged; /* test_forge_cap published (re-published on reboot) */
    /* Non-zero while a recovery rebuilds the directory (atomic): caps/
     * answers absent names without a negative entry then, since a cap
     * missing from the half-built directory may be back a moment later. */
    int recovering;
};

/* guest_read.c: the reader for the current directory, with the sandbox
 * read lock held (release with nubfs_reader_end). Returns 0, -ENOENT if
 * the guest has no directory yet (treat as empty), -EIO if it is corrupt.
 * The lock is held even on error. */
int nubfs_reader_begin(struct nubfs *fs, struct nub_reader *r);
void nubfs_reader_end(struct nubfs *fs);

/* Replies to a read of [off, off + size) of the guest bytes [base, base +
 * len) (a range already checked), clamped to them, spliced from the guest
 * memfd when it can be; the caller holds the sandbox read lock across the
 * call. */
void nubfs_reply_guest(fuse_req_t req, struct nubfs *fs, nub_gpa base, uint64_t len,
                       uint64_t off, size_t size);

/* The largest read reply, in data bytes, that libfuse can still splice
 * (its pipe holds the reply and about three pages more, and it cannot
 * grow past /proc/sys/fs/pipe-max-size without CAP_SYS_RESOURCE); 0 if
 * no pipe could be made. Probed once, at FUSE INIT. */
size_t nubfs_splice_max_data(void);

/* put_file.c: puts the regular file at path into the cap store (not yet
 * into the guest); 0 or -errno. *len gets its size, hash its cap hash,
 * *obj the store reference (the caller owns it). */
int nubfs_store_file(struct nubfs *fs, const char *path, uint8_t hash[16], uint64_t *len,
                     struct nub_cap_obj **obj);
/* Publishes objs[0, n) as caps (kind BLOB; each gains a guest reference)
 * with PUT_CAPS, NUB_PUT_CAPS_BATCH per guest call, each call all or
 * nothing. 0 or -errno of the first refused call (*done: how many were
 * published before it; msg, NUB_MAILBOX_MSG bytes: the guest's reason). */
int nubfs_publish_objs(struct nubfs *fs, struct nub_cap_obj *const *objs, size_t n,
                       size_t *done, char *msg);

/* store.c: the cap store, with the sandbox as its mapper (after boot),
 * freed after the sandbox is destroyed. */
int nubfs_store_create(struct nubfs *fs);
void nubfs_store_free(struct nubfs *fs);
/* Replies to a read of [off, off + size) of obj's bytes, clamped to them,
 * spliced from its file. No lock needed: the caller holds a reference. */
void nubfs_reply_obj(fuse_req_t req, const struct nub_cap_obj *obj, uint64_t off, size_t size);
/* Before a read path serves obj's bytes (caps/, an immutable region, the
 * payloads of a replayed ctl/<name>.rvf): -EIO, logged with the cap's
 * name and via, when its file is damaged (the wrong size: store stats
 * damaged_caps) or, with -o verify, does not hash to its name
 * (verify_failures); else 0. */
int nubfs_obj_readable(struct nubfs *fs, struct nub_cap_obj *o, const char *via);
/* passthrough.c: FUSE passthrough for caps with a file of their own.
 * Setup right after fuse_session_mount (installs the custom /dev/fuse
 * I/O that edits the INIT and OPEN replies), shutdown before unmount. */
int nubfs_pt_setup(struct nubfs *fs, struct fuse_session *se);
void nubfs_pt_shutdown(void);
/* Whether the INIT exchange turned passthrough on, and why (not). */
bool nubfs_pt_on(void);
const char *nubfs_pt_reason(void);
uint64_t nubfs_pt_opens(void);
/* turn.c: one thread at a time reads /dev/fuse; short requests are served
 * by it, and it hands the turn on before anything that can wait long.
 * nubfs_turn_read is read(2) for the session's custom I/O; call
 * nubfs_turn_yield before a wait that may be long (no-op in a thread
 * without the turn). */
ssize_t nubfs_turn_read(int fd, void *buf, size_t len);
void nubfs_turn_yield(void);
/* Replies to the open of a cap handle (fi->fh set): passthrough when obj
 * has a file of its own and passthrough is on, else keep_cache for the
 * spliced reads. fuse_reply_open's result. */
int nubfs_pt_reply_open(fuse_req_t req, struct nub_cap_obj *obj, struct fuse_file_info *fi);
/* obj's backing id for passthrough, registered on first use; 0 when it
 * has none (no file of its own, empty) or passthrough is off. */
int nubfs_pt_backing_id(struct nub_cap_obj *obj);
/* Replies to an open (fi->fh set, nonzero) with FOPEN_PASSTHROUGH and
 * this backing id (fi->direct_io as the caller set it: with it, reads
 * still come to the daemon; keep_cache cleared). fuse_reply_open's
 * result. */
int nubfs_pt_reply_with(fuse_req_t req, struct fuse_file_info *fi, int backing_id);

/* region_pt.c: opens of regions under mounts/. A region's inode is the
 * same across replaces of its package, so its opens may hold different
 * caps, while the kernel allows one backing file per inode as long as
 * passthrough files are open on it (and then refuses any other open).
 * Replies to the open of region inode ino whose handle fi->fh (nonzero)
 * reads obj (the immutable region's cap; NULL: a live region): by
 * passthrough of obj's file when it has one and the inode holds no other
 * backing; with the backing the inode holds and reads served by the
 * daemon when it holds another (a replace while a file of the previous
 * version is open: mmap then shows that version's bytes); else spliced
 * (direct_io). *pt is set (before the reply) when the open counts on the
 * inode's backing: nubfs_region_pt_release(ino) at its release.
 * fuse_reply_open's result (nonzero: no release comes, nothing held). */
int nubfs_region_pt_open(fuse_req_t req, fuse_ino_t ino, struct nub_cap_obj *obj,
                         struct fuse_file_info *fi, bool *pt);
void nubfs_region_pt_release(fuse_ino_t ino);
/* stats: region opens by passthrough, by the daemon under an inode that
 * holds another version's backing, spliced. */
void nubfs_region_pt_counts(uint64_t *pt, uint64_t *served, uint64_t *spliced);
/* The store's release hook: closes the object's backing id. */
void nubfs_pt_release_obj(void *ctx, struct nub_cap_obj *obj);
/* stats' "store" object (a json_t *). */
void *nubfs_store_json(struct nubfs *fs);

/* preload.c: PUT every regular file of dir; 0 or -errno (message logged).
 * The list is kept: recovery publishes them again into a fresh guest. */
int nubfs_preload(struct nubfs *fs, const char *dir);
void nubfs_preload_free(struct nubfs *fs);

/* test_knobs.c: every test knob (hidden, need test_ops). One validator
 * of their values for options and xattrs: 0, or -EINVAL with err. */
int nubfs_knob_check(const char *knob, unsigned long v, char *err, size_t errlen);
/* The test options as a whole (test_ops given, syntax, ranges). */
int nubfs_knobs_check_opts(const struct nubfs_opts *o, char *err, size_t errlen);
/* Run-time knob state from the options (before serving). */
void nubfs_knobs_init(struct nubfs *fs);
/* setxattr user.nubfs.test_* on ctl/: 0, -ENOTSUP without test_ops,
 * -EINVAL for an unknown knob or a bad value. */
int nubfs_knob_setxattr(struct nubfs *fs, const char *name, const char *value, size_t size);
/* test_crash_after: called after the nth preloaded file; true if it
 * crashed the guest (the caller recovers). */
bool nubfs_knobs_preloaded(struct nubfs *fs, size_t n);
/* user.nubfs.test_crash_run: whether the scheduler's next RUN slice is to
 * crash the guest (abi.h NUB_RUN_F_TEST_CRASH); takes one from the count. */
bool nubfs_knob_crash_run(struct nubfs *fs);
/* -o test_forge_cap=HEX after boot and preload: junk bytes PUT under that
 * hash; sets fs->test_forged, and nubfs_republish does it again in a
 * rebooted guest. 0 or -errno (message logged). */
int nubfs_test_forge_cap(struct nubfs *fs);

/* recover.c: if the sandbox is poisoned: log why, reboot, re-publish the
 * preloaded files, re-mount every package held. 0 if healthy afterwards.
 * nubfs_recover takes change_mu; _locked expects the caller to hold it. */
int nubfs_recover(struct nubfs *fs);
int nubfs_recover_locked(struct nubfs *fs);

/* gate.c: readers of the guest's directory and mount table wait while a
 * recovery rebuilds them. nubfs_settled_rdlock takes the sandbox read
 * lock once no recovery is under way (at most a bounded wait; the
 * recovering thread never waits). recover.c closes the gate when it
 * starts, opens it once every package is back, and leaves at the end. */
void nubfs_settled_rdlock(struct nubfs *fs);
void nubfs_gate_close(struct nubfs *fs);
void nubfs_gate_open(struct nubfs *fs);
void nubfs_gate_leave(void);

/* trust.c: -o trust=DIR into fs->trust; malformed key files are logged.
 * 0, or -errno with a message printed (the directory cannot be read). */
int nubfs_trust_load(struct nubfs *fs);
/* SIGHUP: the trust directory again; the new set decides later mounts,
 * mounted packages stay. Logged. 0, or -errno (the old set stays). */
int nubfs_trust_reload(struct nubfs *fs);
/* reload.c: SIGHUP -> nubfs_trust_reload from a thread of its own. Arm
 * after fuse_set_signal_handlers (it takes SIGHUP back from libfuse), then
 * start the thread; a signal before the thread runs waits for it. Stop
 * undoes either. 0 or -errno. */
int nubfs_reload_arm(struct nubfs *fs);
int nubfs_reload_start(struct nubfs *fs);
void nubfs_reload_stop(struct nubfs *fs);

/* stats.c: the JSON behind `stats` (malloc'd). */
char *nubfs_stats_render(struct nubfs *fs, size_t *len);
/* Refreshes fs->heap_* with a STATS call (change_mu held or no ctl/ yet). */
void nubfs_heap_refresh(struct nubfs *fs);

/* scheduler.c: the thread that runs the packages' tasks in RUN slices
 * while any can run. Start once serving (after the replay), stop before
 * the sandbox goes; with -o tasks=off start only logs. kick: something
 * changed what may run (a mount, an unmount, a recovery); any thread, any
 * locks held. json: stats' "tasks" object (a json_t *). */
int nubfs_sched_start(struct nubfs *fs);
void nubfs_sched_stop(struct nubfs *fs);
void nubfs_sched_kick(struct nubfs *fs);
void *nubfs_sched_json(struct nubfs *fs);

/* notify.c: kernel cache invalidation from a helper thread, waited for
 * (bounded) before the triggering request is answered. */
int nubfs_notify_start(struct nubfs *fs);
void nubfs_notify_stop(struct nubfs *fs);
/* Forget the kernel's entries for these caps (they left the directory). */
void nubfs_notify_caps(struct nubfs *fs, const uint8_t (*hashes)[16], size_t n);
/* Forget the kernel's negative entries for these names (a mount has just
 * published them): caps/ lookups of absent names are cached too. */
void nubfs_notify_published(struct nubfs *fs, const uint8_t (*hashes)[16], size_t n);
/* Forget the cached listing of caps/ (after a recovery rebuilt it;
 * nubfs_notify_caps and _published do this themselves). */
void nubfs_notify_listing(struct nubfs *fs);
/* Forget mounts/<name> (its package was replaced, renamed or unmounted). */
void nubfs_notify_mount(struct nubfs *fs, const char *name);

/* ---- the tree: one small ops table per subtree ---- */
/* tree.c owns / and the fixed inodes, and dispatches every other request
 * by inode to the subtree it belongs to: caps/ (caps_ops.c), ctl/
 * (ctl_ops.c), mounts/ (mounts_ops.c), log and stats (files_ops.c). A NULL
 * operation gets tree.c's default answer (ENOENT, EINVAL, or 0 for
 * release and flush); a subtree without `changes` is read-only (EROFS). */
struct nubfs_changes {
    /* On the subtree's directory. */
    void (*create)(fuse_req_t req, struct nubfs *fs, const char *name, mode_t mode,
                   struct fuse_file_info *fi);
    void (*mknod)(fuse_req_t req, struct nubfs *fs, const char *name, mode_t mode);
    void (*unlink)(fuse_req_t req, struct nubfs *fs, const char *name);
    void (*rename)(fuse_req_t req, struct nubfs *fs, const char *name, const char *newname,
                   unsigned flags);
    /* On the directory or one of its files. */
    void (*setxattr)(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, const char *name,
                     const char *value, size_t size);
    /* On one of its files. */
    void (*write)(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, const char *buf, size_t size,
                  off_t off);
    void (*flush)(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino);
    void (*setattr)(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, struct stat *attr,
                    int to_set);
};
struct nubfs_subtree {
    /* Directories: is_dir says which of the subtree's inodes are. */
    bool (*is_dir)(fuse_ino_t ino);
    void (*lookup)(fuse_req_t req, struct nubfs *fs, fuse_ino_t parent, const char *name);
    void (*readdir)(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, size_t size, off_t off,
                    bool plus);
    /* Nodes (the subtree's fixed inodes are answered by tree.c). getattr
     * sets the attribute timeout; release must reply. */
    int (*getattr)(struct nubfs *fs, fuse_ino_t ino, struct stat *st, double *timeout);
    void (*open)(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, struct fuse_file_info *fi);
    void (*read)(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, size_t size, off_t off,
                 struct fuse_file_info *fi);
    void (*release)(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, struct fuse_file_info *fi);
    void (*readlink)(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino);
    const struct nubfs_changes *changes;
};
extern const struct nubfs_subtree nubfs_caps_tree, nubfs_ctl_tree, nubfs_mounts_tree,
    nubfs_files_tree;

void nubfs_fill_ops(struct fuse_lowlevel_ops *ops);
/* FUSE requests answered, by kind (tree.c counts them; `stats` shows
 * them as "fuse_requests"). */
enum nubfs_req {
    NUBFS_REQ_LOOKUP, NUBFS_REQ_FORGET, NUBFS_REQ_GETATTR, NUBFS_REQ_OPENDIR,
    NUBFS_REQ_READDIR, NUBFS_REQ_READDIRPLUS, NUBFS_REQ_RELEASEDIR, NUBFS_REQ_OPEN,
    NUBFS_REQ_READ, NUBFS_REQ_FLUSH, NUBFS_REQ_RELEASE, NUBFS_REQ_ACCESS, NUBFS_REQ_OTHER,
    NUBFS_REQ_N
};
extern const char *const nubfs_req_names[NUBFS_REQ_N];
uint64_t nubfs_req_count(enum nubfs_req r);
/* perm.c: may the requester read what a ctl/ file of this owner, group
 * and mode guards (root and the mounting user always may)? */
bool nubfs_may_read(fuse_req_t req, const struct nubfs *fs, uid_t uid, gid_t gid, mode_t mode);
/* The mode mounts/<name>/ shows for a ctl/ file's mode: its read bits,
 * and search bits with them on directories; never writable. */
mode_t nubfs_mount_mode(mode_t file_mode, bool dir);
/* tree.c helpers shared with the subtrees */
void nubfs_dir_attr(struct nubfs *fs, fuse_ino_t ino, struct stat *st);
void nubfs_file_attr(struct nubfs *fs, fuse_ino_t ino, uint64_t size, struct stat *st);
/* Appends one directory entry to a readdir buffer; false if it is full. */
bool nubfs_dirbuf_add(fuse_req_t req, char *buf, size_t size, size_t *used, bool plus,
                      const char *name, const struct fuse_entry_param *e, off_t next);
/* Starts the listing of a directory just below the root: a malloc'd
 * buffer of size bytes holding "." (dir) and ".." (the root) from offset
 * off (1 after ".", 2 after ".."); *full if they filled it. NULL (ENOMEM
 * already replied) without memory. */
char *nubfs_dirbuf_begin(fuse_req_t req, struct nubfs *fs, size_t size, size_t *used, bool plus,
                         fuse_ino_t dir, off_t off, bool *full);

/* snapshot.c: generated text files (log, stats, mounts/ JSON), rendered
 * at open and served from that copy. nubfs_snapshot_open takes ownership
 * of the malloc'd data[0, len) and replies to the open. */
void nubfs_snapshot_open(fuse_req_t req, char *data, size_t len, struct fuse_file_info *fi);
void nubfs_snapshot_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi);
void nubfs_snapshot_release(struct fuse_file_info *fi);
/* s (malloc'd text, consumed) with the newline a text file ends in; *len
 * gets its length. NULL if s is NULL or without memory. */
char *nubfs_text_file(char *s, size_t *len);

#endif /* NUBFS_H */
