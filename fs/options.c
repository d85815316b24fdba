/* Command line: our own -o options (kernel=, guest_mem=, preload=,
 * watchdog=), -h/-V, and up to two positionals (mount.fuse3 passes a
 * source before the mountpoint). Everything else stays in args for
 * fuse_parse_cmdline (-f, -d, -s) and fuse_session_new (allow_other, ...). */
#include "nubfs.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KEY_HELP, KEY_VERSION };

#define OPT(t, p) {t, offsetof(struct nubfs_opts, p), 1}
static const struct fuse_opt specs[] = {
    OPT("kernel=%s", kernel),
    OPT("guest_mem=%s", guest_mem_s),
    OPT("preload=%s", preload),
    OPT("watchdog=%u", watchdog_ms),
    OPT("test_ops", test_ops),
    OPT("test_crash_after=%u", test_crash_after),
    FUSE_OPT_KEY("-h", KEY_HELP),
    FUSE_OPT_KEY("--help", KEY_HELP),
    FUSE_OPT_KEY("-V", KEY_VERSION),
    FUSE_OPT_KEY("--version", KEY_VERSION),
    FUSE_OPT_END,
};

/* fuse_opt hands proc the same pointer it fills templates through, so the
 * options must sit at offset 0 of the state. */
struct parse_state {
    struct nubfs_opts o;
    int npos;
    char *pos[2];
    int too_many;
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

int nubfs_opts_parse(struct fuse_args *args, struct nubfs_opts *opts)
{
    struct parse_state st = {.o = *opts};
    int rc = fuse_opt_parse(args, &st, specs, proc);
    *opts = st.o;
    if (rc != 0)
        return -1;
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
    return 0;
}

void nubfs_opts_free(struct nubfs_opts *opts)
{
    free(opts->kernel);
    free(opts->guest_mem_s);
    free(opts->preload);
    free(opts->source);
    free(opts->mountpoint);
    memset(opts, 0, sizeof(*opts));
}

void nubfs_usage(const char *prog)
{
    printf("usage: %s [SOURCE] MOUNTPOINT [-f] [-d] [-o OPT[,OPT...]]\n"
           "\n"
           "Boots the nubfs guest kernel in KVM and mounts its cap directory,\n"
           "read-only, at MOUNTPOINT.\n"
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
           "\n"
           "FUSE options (allow_other, default_permissions, ...): see mount.fuse3(8).\n"
           "See nubfs(8).\n",
           prog, (unsigned long long)(NUB_DEFAULT_MEM >> 20));
}
