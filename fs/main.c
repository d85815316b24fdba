/* nubfs: options, pre-flight checks, trusted keys, the state directory,
 * boot the guest, preload, mount, detach, serve with the multi-threaded
 * FUSE loop, SIGHUP re-reads trust=, and shut down cleanly on SIGTERM/SIGINT or `fusermount3 -u`. */
#include "nubfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "daemon.h"
#include "elf_load.h"
#include "preflight.h"
#include "state.h"

#ifndef NUBFS_VERSION
#define NUBFS_VERSION "0"
#endif

static struct nubfs g_fs = {.recover_mu = PTHREAD_MUTEX_INITIALIZER,
                            .change_mu = PTHREAD_MUTEX_INITIALIZER};

/* Adds "-o fsname=...,subtype=nubfs" unless the user named them. */
static void add_names(struct fuse_args *args, const char *source)
{
    bool has_fsname = false, has_subtype = false;
    for (int i = 0; i < args->argc; i++) {
        if (strstr(args->argv[i], "fsname="))
            has_fsname = true;
        if (strstr(args->argv[i], "subtype="))
            has_subtype = true;
    }
    const char *fsname = source && *source && !strchr(source, ',') ? source : "nubfs";
    char opt[PATH_MAX + 32];
    if (!has_fsname) {
        snprintf(opt, sizeof(opt), "-ofsname=%s", fsname);
        fuse_opt_add_arg(args, opt);
    }
    if (!has_subtype)
        fuse_opt_add_arg(args, "-osubtype=nubfs");
}

/* Creates the sandbox from the options; the exit code for main (a KVM
 * that is missing or not ours to use gets NUBFS_EXIT_NODEV). */
static int boot(struct nubfs *fs)
{
    char err[512] = "";
    fs->sb_opts.mem_size = fs->opts.guest_mem;
    fs->sb_opts.watchdog_ms = fs->opts.watchdog_ms;
    fs->sb_opts.test_ops = fs->opts.test_ops != 0;
    fs->sb_opts.log = nubfs_log_sandbox;
    fs->sb_opts.log_ctx = fs;
    int rc = nub_sandbox_create(&fs->sb_opts, &fs->sb, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "%s\n", err[0] ? err : strerror(-rc));
        return rc == -ENOENT || rc == -EACCES || rc == -EPERM || rc == -ENODEV
                   ? NUBFS_EXIT_NODEV
                   : NUBFS_EXIT_FAIL;
    }
    const struct nub_boot_times *t = nub_sandbox_boot_times(fs->sb);
    nubfs_log("guest booted (%s): ready in %.2f ms, init %.2f ms, %llu MiB",
              t->guest[0] ? t->guest : "no banner", (double)t->ready_ns / 1e6,
              (double)t->init_ns / 1e6,
              (unsigned long long)((fs->opts.guest_mem ? fs->opts.guest_mem : NUB_DEFAULT_MEM) >>
                                   20));
    return 0;
}

/* Mounts, tells the waiting parent we are up (ready_fd), and runs the
 * FUSE loop until unmount or a signal; then unmounts. */
static int serve(struct nubfs *fs, struct fuse_session *se, struct fuse_cmdline_opts *co,
                 int ready_fd)
{
    int ret = NUBFS_EXIT_FAIL;
    if (fuse_set_signal_handlers(se) != 0)
        return ret;
    if (nubfs_reload_arm(fs) != 0) {
        nubfs_warn("cannot set up SIGHUP (re-reading trust=)");
        goto out_signals;
    }
    if (fuse_session_mount(se, co->mountpoint) != 0)
        goto out_signals;
    nubfs_pt_setup(fs, se);
    fs->se = se;
    /* The parent is told before the three helper threads start (~0.2 ms
     * of every start): no FUSE request is served before the loop below,
     * so none can miss them. The cost is that a thread that cannot be
     * created (no memory, no threads left) now ends a mount the parent
     * has reported; the log says why (nubfs(8) EXIT STATUS). */
    nubfs_daemon_ready(ready_fd);
    if (nubfs_reload_start(fs) != 0) {
        nubfs_warn("cannot start the SIGHUP (re-reading trust=) thread");
        goto out_unmount;
    }
    if (nubfs_notify_start(fs) != 0) {
        nubfs_warn("cannot start the cache invalidation thread");
        goto out_unmount;
    }
    if (nubfs_sched_start(fs) != 0) {
        nubfs_warn("cannot start the task scheduler thread");
        goto out_notify;
    }
    nubfs_log("mounted on %s", co->mountpoint);
    {
        char status[PATH_MAX + 32];
        snprintf(status, sizeof(status), "READY=1\nSTATUS=serving %s", co->mountpoint);
        nubfs_service_notify(status);
    }
    if (ready_fd >= 0)
        nubfs_log_detached();

    int rc;
    if (co->singlethread) {
        rc = fuse_session_loop(se);
    } else {
        struct fuse_loop_config *cfg = fuse_loop_cfg_create();
        fuse_loop_cfg_set_clone_fd(cfg, (unsigned)co->clone_fd);
        fuse_loop_cfg_set_max_threads(cfg, co->max_threads);
        rc = fuse_session_loop_mt(se, cfg);
        fuse_loop_cfg_destroy(cfg);
    }
    /* A signal ends the loop with its (positive) number; unmount ends it
     * with 0. Only a negative value is a failure. */
    ret = rc < 0 ? NUBFS_EXIT_FAIL : NUBFS_EXIT_OK;
    nubfs_log("shutting down%s", rc < 0 ? " after an error" : "");
    nubfs_service_notify("STOPPING=1");
    nubfs_sched_stop(fs);
out_notify:
    nubfs_notify_stop(fs);
out_unmount:
    fs->se = NULL;
    nubfs_pt_shutdown();
    fuse_session_unmount(se);
out_signals:
    nubfs_reload_stop(fs);
    fuse_remove_signal_handlers(se);
    return ret;
}

int main(int argc, char *argv[])
{
    struct nubfs *fs = &g_fs;
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    struct fuse_cmdline_opts co = {0};
    void *kernel = NULL;
    struct fuse_session *se = NULL;
    int ret = NUBFS_EXIT_USAGE;

    if (nubfs_opts_parse(&args, &fs->opts) != 0)
        goto out;
    if (fs->opts.show_help) {
        nubfs_usage(argv[0]);
        ret = NUBFS_EXIT_OK;
        goto out;
    }
    if (fs->opts.show_version) {
        printf("nubfs %s (guest ABI %u, FUSE %s)\n", NUBFS_VERSION, NUB_ABI_VERSION,
               fuse_pkgversion());
        ret = NUBFS_EXIT_OK;
        goto out;
    }
    if (fs->opts.mountpoint == NULL) {
        fprintf(stderr, "nubfs: no mountpoint given (try nubfs --help)\n");
        goto out;
    }
    fuse_opt_add_arg(&args, fs->opts.mountpoint);
    add_names(&args, fs->opts.source);
    if (fuse_parse_cmdline(&args, &co) != 0)
        goto out;
    /* The session now, not after the boot: it is what checks the FUSE
     * options, and an unknown one is a usage error (libfuse prints it).
     * It holds no fd or thread until it mounts, so it survives the fork. */
    struct fuse_lowlevel_ops ops;
    nubfs_fill_ops(&ops);
    se = fuse_session_new(&args, &ops, sizeof(ops), fs);
    if (se == NULL)
        goto out;
    /* Absolute, so unmount still works after the daemon's chdir("/"). */
    char *abs = realpath(co.mountpoint, NULL);
    struct statx st;
    if (abs == NULL || statx(AT_FDCWD, abs, 0, STATX_TYPE, &st) != 0 || !S_ISDIR(st.stx_mode)) {
        fprintf(stderr, "nubfs: mountpoint %s: %s\n", co.mountpoint,
                abs ? "not a directory" : strerror(errno));
        free(abs);
        ret = NUBFS_EXIT_USAGE;
        goto out;
    }
    free(co.mountpoint);
    co.mountpoint = abs;
    /* Only the root of a mount can have nubfs on it: most starts skip
     * reading mountinfo, ~0.15 ms (a kernel without the attribute reads). */
    bool mount_root = !(st.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) ||
                      (st.stx_attributes & STATX_ATTR_MOUNT_ROOT);
    if (!fs->opts.nonempty && mount_root && nubfs_mounted_here("/proc/self/mountinfo", abs)) {
        fprintf(stderr,
                "nubfs: %s: nubfs is already mounted here, and a second one would hide it: "
                "unmount it first (fusermount3 -u %s), or give -o nonempty to mount over it\n",
                abs, abs);
        ret = NUBFS_EXIT_USAGE;
        goto out;
    }

    char err[512];
    if (nubfs_preflight(err, sizeof(err)) != 0) {
        fprintf(stderr, "nubfs: %s\n", err);
        ret = NUBFS_EXIT_NODEV;
        goto out;
    }
    if (fs->opts.kernel != NULL) {
        if (nub_elf_read_file(fs->opts.kernel, &kernel, &fs->sb_opts.kernel_size, err,
                              sizeof(err)) != 0) {
            fprintf(stderr, "%s\n", err);
            ret = NUBFS_EXIT_FAIL;
            goto out;
        }
        fs->sb_opts.kernel = kernel;
    }
    if (fs->opts.preload != NULL) {
        char *p = realpath(fs->opts.preload, NULL);
        if (p == NULL) {
            fprintf(stderr, "nubfs: preload=%s: %s\n", fs->opts.preload, strerror(errno));
            ret = NUBFS_EXIT_FAIL;
            goto out;
        }
        free(fs->opts.preload);
        fs->opts.preload = p;
    }

    int ready_fd = -1;
    if (!co.foreground) {
        ready_fd = nubfs_daemon_fork();
        if (ready_fd < 0) {
            fprintf(stderr, "nubfs: fork: %s\n", strerror(-ready_fd));
            ret = NUBFS_EXIT_FAIL;
            goto out;
        }
    }
    nubfs_log_init(co.foreground);
    nubfs_inodes_init();
    if (nubfs_ctl_table_init(fs) != 0 || nubfs_trust_load(fs) != 0) {
        ret = NUBFS_EXIT_FAIL;
        goto out;
    }
    if (nubfs_state_open(fs, co.mountpoint, err, sizeof(err)) != 0) {
        fprintf(stderr, "nubfs: %s\n", err);
        ret = NUBFS_EXIT_FAIL;
        goto out;
    }
    nubfs_knobs_init(fs);
    fs->uid = getuid();
    fs->gid = getgid();
    clock_gettime(CLOCK_REALTIME, &fs->mount_time);

    ret = boot(fs);
    if (ret != 0)
        goto out;
    if (nubfs_store_create(fs) != 0) {
        ret = NUBFS_EXIT_FAIL;
        goto out_sandbox;
    }
    if (fs->opts.preload != NULL && nubfs_preload(fs, fs->opts.preload) != 0) {
        ret = NUBFS_EXIT_FAIL;
        goto out_sandbox;
    }
    if (fs->opts.test_forge_cap != NULL && nubfs_test_forge_cap(fs) != 0) {
        ret = NUBFS_EXIT_FAIL;
        goto out_sandbox;
    }
    /* Every acknowledged package back, in order, before anyone sees the
     * mount (the parent's pipe, READY=1 come after serve mounts). */
    if (nubfs_state_replay(fs) != 0) {
        ret = NUBFS_EXIT_FAIL;
        goto out_sandbox;
    }
    nubfs_heap_refresh(fs);
    nubfs_inodes_reserve(fs->npreload); /* ls -l will want them all */
    ret = serve(fs, se, &co, ready_fd);

out_sandbox:
    nub_sandbox_destroy(fs->sb);
    fs->sb = NULL;
    nubfs_store_free(fs); /* after the VM that mapped its files */
    nubfs_preload_free(fs);
    nubfs_inodes_destroy();
out:
    if (se != NULL)
        fuse_session_destroy(se);
    nubfs_state_close(fs);
    nubfs_ctl_table_destroy(fs);
    nub_trust_free(&fs->trust);
    nub_trust_free(&fs->trust_ever);
    free(kernel);
    free(co.mountpoint);
    nubfs_opts_free(&fs->opts);
    fuse_opt_free_args(&args);
    nubfs_log_close();
    return ret;
}
