/* Command line: our own -o options (kernel=, guest_mem=, preload=,
 * watchdog=, trust=, state=, ephemeral, allow_unsigned, max_package= and the count limits,
 * store_max=, cap_file_min=, read_path=, tasks=, task_fuel=, task_cpu=,
 * task_fuel_max=,
 * hidden test knobs), -h/-V, and up to two positionals (mount.fuse3 passes a
 * source before the mountpoint). Everything else stays in args for
 * fuse_parse_cmdline (-f, -d, -s) and fuse_session_new (allow_other, ...). */
#include "nubfs.h"

#include "ctl.h"
#include "paths.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KEY_HELP, KEY_VERSION, KEY_MAX_READ };

/* The numeric options, taken as text and checked by check_numbers: the
 * %u of fuse_opt is sscanf's, which takes "-5" as 4294967291 and wraps
 * what does not fit. */
enum { NUM_WATCHDOG, NUM_CRASH_AFTER, NUM_FAIL_STEP, NUM_COMPONENTS, NUM_REGIONS, NUM_QUEUES,
       NUM_TASKS, NUM_TASK_FUEL, NUM_TASK_CPU, NUM_TASK_FUEL_MAX, NUM_N };

/* fuse_opt hands proc the same pointer it fills templates through, so the
 * options must sit at offset 0 of the state. */
struct parse_state {
    struct nubfs_opts o;
    int npos;
    char *pos[2];
    int too_many;
    char *num[NUM_N]; /* the numeric options as given */
};

#define OPT(t, p) {t, offsetof(struct nubfs_opts, p), 1}
#define NUM(t, i) {t, offsetof(struct parse_state, num) + (i) * sizeof(char *), 1}
static const struct fuse_opt specs[] = {
    OPT("kernel=%s", kernel),
    OPT("guest_mem=%s", guest_mem_s),
    OPT("preload=%s", preload),
    NUM("watchdog=%s", NUM_WATCHDOG),
    OPT("test_ops", test_ops),
    NUM("test_crash_after=%s", NUM_CRASH_AFTER),
    NUM("test_fail_step=%s", NUM_FAIL_STEP),
    OPT("test_crash_mount", test_crash_mount),
    OPT("test_forge_cap=%s", test_forge_cap),
    OPT("trust=%s", trust),
    OPT("state=%s", state),
    OPT("ephemeral", ephemeral),
    OPT("allow_unsigned", allow_unsigned),
    OPT("verify", verify),
    OPT("nonempty", nonempty), /* libfuse 3 dropped it; ours: see stacked.c */
    OPT("max_package=%s", max_package_s),
    OPT("store_max=%s", store_max_s),
    OPT("cap_file_min=%s", cap_file_min_s),
    OPT("read_path=%s", read_path_s),
    OPT("tasks=%s", tasks_s),
    NUM("task_fuel=%s", NUM_TASK_FUEL),
    NUM("task_cpu=%s", NUM_TASK_CPU),
    NUM("task_fuel_max=%s", NUM_TASK_FUEL_MAX),
    NUM("max_components=%s", NUM_COMPONENTS),
    NUM("max_regions=%s", NUM_REGIONS),
    NUM("max_queues=%s", NUM_QUEUES),
    NUM("max_tasks=%s", NUM_TASKS),
    FUSE_OPT_KEY("max_read=", KEY_MAX_READ), /* read here and kept for FUSE */
    FUSE_OPT_KEY("-h", KEY_HELP),
    FUSE_OPT_KEY("--help", KEY_HELP),
    FUSE_OPT_KEY("-V", KEY_VERSION),
    FUSE_OPT_KEY("--version", KEY_VERSION),
    FUSE_OPT_END,
};

static int proc(void *data, const char *arg, int key, struct fuse_args *out)
{
    (void)out;
    struct parse_state *st = data;
    switch (key) {
    case KEY_HELP:
        st->o.show_help = 1;
        return 0;
    case KEY_VERSION:
        st->o.show_version = 1;
        return 0;
    case KEY_MAX_READ: {
        /* libfuse stops the session at INIT unless init() names the same
         * limit as the mount option (tree.c op_init does): so a value it
         * could not take is refused here, before anything boots. */
        const char *v = arg + strlen("max_read=");
        char *end;
        errno = 0;
        unsigned long n = strtoul(v, &end, 10);
        if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 || n < 4096 || n > UINT32_MAX) {
            fprintf(stderr, "nubfs: bad max_read=%s: want a number of bytes from 4096 up, "
                            "e.g. max_read=131072\n", v);
            return -1;
        }
        st->o.max_read = (unsigned)n;
        return 1;
    }
    case FUSE_OPT_KEY_NONOPT:
        if (st->npos < 2)
            st->pos[st->npos++] = strdup(arg);
        else
            st->too_many = 1;
        return 0; /* we hand the mountpoint back ourselves */
    default:
        return 1; /* keep: a FUSE option */
    }
}

int nubfs_parse_size(const char *s, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0)
        return -ERANGE;
    unsigned shift = 0;
    switch (*end) {
    case '\0':
        break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default:
        return -EINVAL;
    }
    if (shift && (*end == 'i' || *end == 'I') && (end[1] == 'b' || end[1] == 'B'))
        end += 2; /* "256MiB" */
    if (*end != '\0')
        return -EINVAL;
    if (shift && v > (UINT64_MAX >> shift))
        return -ERANGE;
    *out = (uint64_t)v << shift;
    return 0;
}

/* Every numeric option: decimal digits only, in its range; one line
 * naming the option and the range otherwise. 0, or -1 with it printed. */
static int check_numbers(struct parse_state *st)
{
    struct nubfs_opts *o = &st->o;
    const struct {
        const char *name;
        unsigned *v;
        unsigned long long min, max;
        uint64_t *v64; /* instead of v */
    } n[NUM_N] = {
        [NUM_WATCHDOG] = {"watchdog", &o->watchdog_ms, 1, NUBFS_MAX_WATCHDOG_MS, NULL},
        [NUM_CRASH_AFTER] = {"test_crash_after", &o->test_crash_after, 0, 1000000, NULL},
        [NUM_FAIL_STEP] = {"test_fail_step", &o->test_fail_step, 0, 255, NULL},
        [NUM_COMPONENTS] = {"max_components", &o->max_components, 1, NUB_MOUNT_MAX_COMPONENTS,
                            NULL},
        [NUM_REGIONS] = {"max_regions", &o->max_regions, 1, NUB_MOUNT_MAX_REGIONS, NULL},
        [NUM_QUEUES] = {"max_queues", &o->max_queues, 1, NUB_MOUNT_MAX_QUEUES, NULL},
        [NUM_TASKS] = {"max_tasks", &o->max_tasks, 1, NUB_MOUNT_MAX_TASKS, NULL},
        [NUM_TASK_FUEL] = {"task_fuel", &o->task_fuel, 100, NUBFS_MAX_TASK_FUEL, NULL},
        [NUM_TASK_CPU] = {"task_cpu", &o->task_cpu, 1, 100, NULL},
        [NUM_TASK_FUEL_MAX] = {"task_fuel_max", NULL, 0, NUBFS_MAX_TASK_FUEL_MAX,
                               &o->task_fuel_max},
    };
    o->task_fuel_max = NUBFS_DEFAULT_TASK_FUEL_MAX;
    for (size_t i = 0; i < NUM_N; i++) {
        const char *s = st->num[i];
        if (s == NULL)
            continue;
        size_t len = strspn(s, "0123456789");
        unsigned long long v = 0;
        bool good = len > 0 && s[len] == '\0' && len <= 12;
        if (good) {
            v = strtoull(s, NULL, 10); /* at most 12 digits: no overflow */
            good = v >= n[i].min && v <= n[i].max;
        }
        if (!good) {
            fprintf(stderr, "nubfs: bad %s=%s: want a whole number from %llu to %llu\n",
                    n[i].name, s, n[i].min, n[i].max);
            return -1;
        }
        if (n[i].v64 != NULL)
            *n[i].v64 = v;
        else
            *n[i].v = (unsigned)v;
    }
    return 0;
}

/* `~` and `~user` in the path options: sh, fstab and systemd pass them
 * literally. 0, or -1 with a message printed. */
static int expand_paths(struct nubfs_opts *o)
{
    struct {
        const char *name;
        char **v;
    } p[] = {{"kernel", &o->kernel}, {"preload", &o->preload}, {"trust", &o->trust},
             {"state", &o->state}};
    for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
        if (*p[i].v == NULL)
            continue;
        char *x;
        int rc = nubfs_expand_home(*p[i].v, &x);
        if (rc != 0) {
            fprintf(stderr, "nubfs: %s=%s: %s\n", p[i].name, *p[i].v,
                    rc == -ENOENT ? "no such user, or no home directory" : strerror(-rc));
            return -1;
        }
        free(*p[i].v);
        *p[i].v = x;
    }
    if (o->state != NULL && o->ephemeral) {
        fprintf(stderr, "nubfs: state= and ephemeral exclude each other\n");
        return -1;
    }
    if (o->state != NULL && o->state[0] == '\0') {
        fprintf(stderr, "nubfs: state= needs a directory\n");
        return -1;
    }
    return 0;
}

int nubfs_opts_parse(struct fuse_args *args, struct nubfs_opts *opts)
{
    struct parse_state st = {.o = *opts};
    int rc = fuse_opt_parse(args, &st, specs, proc);
    if (rc == 0)
        rc = check_numbers(&st);
    for (size_t i = 0; i < NUM_N; i++)
        free(st.num[i]);
    *opts = st.o;
    if (rc != 0) {
        free(st.pos[0]);
        free(st.pos[1]);
        return -1;
    }
    if (st.too_many) {
        fprintf(stderr, "nubfs: too many arguments (expected [SOURCE] MOUNTPOINT)\n");
        free(st.pos[0]);
        free(st.pos[1]);
        return -1;
    }
    if (st.npos == 2) {
        opts->source = st.pos[0];
        opts->mountpoint = st.pos[1];
    } else if (st.npos == 1) {
        opts->mountpoint = st.pos[0];
    }
    if (opts->guest_mem_s != NULL) {
        int rc = nubfs_parse_size(opts->guest_mem_s, &opts->guest_mem);
        if (rc != 0 || opts->guest_mem < NUB_MIN_MEM || opts->guest_mem > NUB_MAX_MEM) {
            fprintf(stderr, "nubfs: bad guest_mem=%s: want a size from %lluM to %lluG, e.g. 512M\n",
                    opts->guest_mem_s, (unsigned long long)(NUB_MIN_MEM >> 20),
                    (unsigned long long)(NUB_MAX_MEM >> 30));
            return -1;
        }
    }
    opts->max_package = NUBFS_DEFAULT_MAX_PACKAGE;
    if (opts->max_package_s != NULL) {
        int rc = nubfs_parse_size(opts->max_package_s, &opts->max_package);
        if (rc != 0 || opts->max_package < 64 || opts->max_package > NUB_MAX_MEM) {
            fprintf(stderr, "nubfs: bad max_package=%s: want a size from 64 bytes to %lluG, "
                            "e.g. 256M\n",
                    opts->max_package_s, (unsigned long long)(NUB_MAX_MEM >> 30));
            return -1;
        }
    }
    /* The cap store: all caps' bytes, and the size from which a cap has
     * a file of its own (docs/cap-store.md). */
    if (opts->store_max_s != NULL) {
        int rc = nubfs_parse_size(opts->store_max_s, &opts->store_max);
        if (rc != 0 || opts->store_max < 4096 || opts->store_max > NUB_CAP_WINDOW_SIZE) {
            fprintf(stderr, "nubfs: bad store_max=%s: want a size from 4K to %lluG, e.g. 4G\n",
                    opts->store_max_s, (unsigned long long)(NUB_CAP_WINDOW_SIZE >> 30));
            return -1;
        }
    }
    if (opts->cap_file_min_s != NULL) {
        int rc = nubfs_parse_size(opts->cap_file_min_s, &opts->cap_file_min);
        if (rc != 0 || opts->cap_file_min < 1 || opts->cap_file_min > NUB_CAP_PACK_MAX_CLASS) {
            fprintf(stderr, "nubfs: bad cap_file_min=%s: want a size from 1 byte to %lluM, "
                            "e.g. 64K\n",
                    opts->cap_file_min_s, (unsigned long long)(NUB_CAP_PACK_MAX_CLASS >> 20));
            return -1;
        }
    }
    /* How caps/ files are read: passthrough where the kernel allows it. */
    if (opts->read_path_s != NULL) {
        if (strcmp(opts->read_path_s, "splice") == 0) {
            opts->read_path_splice = 1;
        } else if (strcmp(opts->read_path_s, "auto") != 0) {
            fprintf(stderr, "nubfs: bad read_path=%s: want splice or auto\n", opts->read_path_s);
            return -1;
        }
    }
    /* Whether the packages' tasks run (scheduler.c). */
    if (opts->tasks_s != NULL) {
        if (strcmp(opts->tasks_s, "off") == 0) {
            opts->tasks_off = 1;
        } else if (strcmp(opts->tasks_s, "on") != 0) {
            fprintf(stderr, "nubfs: bad tasks=%s: want on or off\n", opts->tasks_s);
            return -1;
        }
    }
    if (expand_paths(opts) != 0)
        return -1;
    char err[160];
    if (nubfs_knobs_check_opts(opts, err, sizeof(err)) != 0) {
        fprintf(stderr, "nubfs: %s\n", err);
        return -1;
    }
    return 0;
}

void nubfs_opts_free(struct nubfs_opts *opts)
{
    free(opts->kernel);
    free(opts->guest_mem_s);
    free(opts->preload);
    free(opts->trust);
    free(opts->state);
    free(opts->max_package_s);
    free(opts->store_max_s);
    free(opts->cap_file_min_s);
    free(opts->read_path_s);
    free(opts->tasks_s);
    free(opts->test_forge_cap);
    free(opts->source);
    free(opts->mountpoint);
    memset(opts, 0, sizeof(*opts));
}

void nubfs_usage(const char *prog)
{
    printf("usage: %s [SOURCE] MOUNTPOINT [-f] [-d] [-o OPT[,OPT...]]\n"
           "\n"
           "Boots the nubfs guest kernel in KVM and mounts its cap directory at\n"
           "MOUNTPOINT. Copy RVF packages into MOUNTPOINT/ctl/ to mount them.\n"
           "\n"
           "nubfs options:\n"
           "    -h, --help             print this help and exit\n"
           "    -V, --version          print the version and exit\n"
           "    -f                     stay in the foreground\n"
           "    -d                     debug: foreground, print every FUSE request\n"
           "    -s                     single-threaded\n"
           "    -o kernel=PATH         boot this guest ELF instead of the embedded one\n"
           "    -o guest_mem=SIZE      guest RAM, K/M/G suffix (default %lluM)\n"
           "    -o preload=DIR         publish every regular file in DIR as a cap at startup\n"
           "    -o watchdog=MS         per-call guest time limit (default 5000)\n"
           "    -o trust=DIR           trust the Ed25519 public keys (*.pub) in DIR\n"
           "                           (without it every signed package is refused;\n"
           "                           read again on SIGHUP)\n"
           "    -o allow_unsigned      mount packages that carry no signature\n"
           "    -o nonempty            mount over a nubfs already mounted on MOUNTPOINT\n"
           "    -o state=DIR           the state directory (default\n"
           "                           ~/.local/state/nubfs/<escaped mountpoint>, for root\n"
           "                           /var/lib/nubfs/<escaped mountpoint>)\n"
           "    -o ephemeral           no state directory\n"
           "    -o verify              hash a cap's file again before its first read\n"
           "                           (EIO if it no longer matches its name)\n"
           "    -o max_package=SIZE    largest package ctl/ takes (default 256M)\n"
           "    -o store_max=SIZE      bytes all caps may take (default half the RAM)\n"
           "    -o cap_file_min=SIZE   caps this big get a file of their own (default 64K)\n"
           "    -o read_path=MODE      auto: FUSE passthrough where allowed (default); splice\n"
           "    -o max_components=N, max_regions=N, max_queues=N, max_tasks=N\n"
           "                           per-package limits (defaults 256, 256, 1024, 64)\n"
           "    -o tasks=on|off        run the packages' WebAssembly tasks (default on)\n"
           "    -o task_fuel=N         fuel (about WASM instructions) of one slice\n"
           "                           (default %u)\n"
           "    -o task_cpu=PERCENT    most of one core the tasks take (default %u)\n"
           "    -o task_fuel_max=N     most fuel a task uses without waiting on a queue\n"
           "                           (default %llu; 0: no limit)\n"
           "\n"
           "FUSE options (allow_other, default_permissions, ...): see mount.fuse3(8).\n"
           "See nubfs(8).\n",
           prog, (unsigned long long)(NUB_DEFAULT_MEM >> 20), NUBFS_DEFAULT_TASK_FUEL,
           NUBFS_DEFAULT_TASK_CPU, NUBFS_DEFAULT_TASK_FUEL_MAX);
}

/* The mount options for one package: the daemon's limits (0 keeps the
 * default), allow_unsigned, and (tests) the test knobs' hooks. */
void nubfs_mount_opts(struct nubfs *fs, const char *ctlname, bool tests,
                      struct nub_intake_opts *o)
{
    nub_intake_opts_default(o);
    o->limits.max_package = fs->opts.max_package;
    if (fs->opts.max_components)
        o->limits.max_components = fs->opts.max_components;
    if (fs->opts.max_regions)
        o->limits.max_regions = fs->opts.max_regions;
    if (fs->opts.max_queues)
        o->limits.max_queues = fs->opts.max_queues;
    if (fs->opts.max_tasks)
        o->limits.max_tasks = fs->opts.max_tasks;
    o->allow_unsigned = fs->opts.allow_unsigned != 0;
    o->name = ctlname;
    o->store = fs->store;
    if (tests)
        nubfs_knobs_mount_opts(fs, o);
}
