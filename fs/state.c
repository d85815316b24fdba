/* The state directory (DESIGN.md §10, nubfs(8) STATE DIRECTORY): where
 * what survives a restart lives. This file owns its plumbing: choosing it
 * (state=DIR, else the default per mountpoint from paths.c; ephemeral:
 * none), creating it 0700, the lock that keeps two daemons out of one
 * directory, a write probe (a read-only or forbidden directory is one
 * line at start, exit 1), and the versioned `format` file, which is
 * written once and never rewritten: a newer version is refused.
 *
 * Layout of format version 2 (nubfs(8) STATE DIRECTORY, docs/state.md):
 *   format   "nubfs-state 2\n" (later versions may add lines after it)
 *   lock     flock(2)ed by the daemon that uses the directory; its pid
 *   caps/    the cap store's files, <32 hex digits> each (src/cap_disk.c)
 *   pkgs/    one frame per acknowledged package (state_pkgs.c, frame.c)
 * Version 1 had format and lock only: it is upgraded in place (caps/ and
 * pkgs/ made, then the format file replaced). A version that adds to the
 * layout raises NUBFS_STATE_FORMAT. */
#include "state.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"

#define FORMAT_MAGIC "nubfs-state "
/* How long a start waits for another daemon to let go of the lock. */
#define LOCK_WAIT_MS 3000
#define NOT_STATE_MSG                                                                          \
    "state directory %s is not empty and has no format file: it is %s; give state= an "      \
    "empty or a nubfs state directory"

struct nubfs_state {
    char *dir;  /* absolute */
    int dirfd;  /* O_DIRECTORY */
    int lockfd; /* flock(LOCK_EX) held while open */
    int capsfd, pkgsfd; /* caps/ and pkgs/ */
};

static void set_err(char *err, size_t errlen, const char *fmt, const char *dir, const char *what)
{
    snprintf(err, errlen, fmt, dir, what);
}

/* mkdir -p with 0700 for every directory it creates. */
static int make_dirs(const char *path)
{
    char *p = strdup(path);
    if (p == NULL)
        return -ENOMEM;
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            rc = -errno;
            break;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    free(p);
    return rc;
}

/* Can we create files in it? O_TMPFILE leaves nothing behind, even if we
 * die here; a file system without it is probed by the lock file. */
static int probe_writable(int dirfd)
{
    int fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
        return 0;
    return -errno;
}

/* The other daemon's pid from the lock file, or 0. */
static long holder_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

static int take_lock(struct nubfs_state *st, char *err, size_t errlen)
{
    st->lockfd = openat(st->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (st->lockfd < 0) {
        int e = errno;
        set_err(err, errlen, "state directory %s: cannot create its lock file: %s", st->dir,
                strerror(e));
        return -e;
    }
    /* A daemon that was just unmounted may still be shutting down: give
     * it a moment, so `fusermount3 -u` then a new start just works. */
    int r, e = 0;
    for (int i = 0; (r = flock(st->lockfd, LOCK_EX | LOCK_NB)) != 0 && i < LOCK_WAIT_MS / 50;
         i++) {
        if (errno != EWOULDBLOCK && errno != EINTR)
            break;
        usleep(50 * 1000);
    }
    if (r != 0) {
        e = errno;
        if (e == EWOULDBLOCK) {
            long pid = holder_pid(st->lockfd);
            char who[48] = "";
            if (pid > 0)
                snprintf(who, sizeof(who), " (pid %ld)", pid);
            snprintf(err, errlen,
                     "state directory %s is in use by another nubfs%s; give each mount its own "
                     "state=",
                     st->dir, who);
            return -EBUSY;
        }
        set_err(err, errlen, "state directory %s: cannot lock it: %s", st->dir, strerror(e));
        return -e;
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(st->lockfd, 0) != 0 || pwrite(st->lockfd, pid, (size_t)n, 0) != n) {
        int e = errno ? errno : EIO;
        set_err(err, errlen, "state directory %s: cannot write its lock file: %s", st->dir,
                strerror(e));
        return -e;
    }
    return 0;
}

/* An existing directory without a format file may hold only what a
 * daemon that died before writing it leaves: the lock, format.tmp, and
 * caps/ and pkgs/ (made first, still empty). */
static int only_ours(int dirfd)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return -ENOMEM;
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (strcmp(n, ".") && strcmp(n, "..") && strcmp(n, "lock") && strcmp(n, "format.tmp") &&
            strcmp(n, "caps") && strcmp(n, "pkgs")) {
            rc = -ENOTEMPTY;
            break;
        }
    }
    closedir(d);
    return rc;
}

/* format.tmp -> fsync -> rename to format -> fsync of the directory. */
static int write_format(struct nubfs_state *st)
{
    char text[64];
    int n = snprintf(text, sizeof(text), FORMAT_MAGIC "%u\n", NUBFS_STATE_FORMAT);
    int fd = openat(st->dirfd, "format.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (write(fd, text, (size_t)n) != n)
        rc = errno ? -errno : -EIO;
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    close(fd);
    if (rc == 0 && renameat(st->dirfd, "format.tmp", st->dirfd, "format") != 0)
        rc = -errno;
    if (rc == 0 && fsync(st->dirfd) != 0)
        rc = -errno;
    if (rc != 0)
        unlinkat(st->dirfd, "format.tmp", 0);
    return rc;
}

/* caps/ and pkgs/ (made if missing, the directory fsynced then), opened. */
static int open_subdirs(struct nubfs_state *st)
{
    const char *names[2] = {"caps", "pkgs"};
    int *fds[2] = {&st->capsfd, &st->pkgsfd};
    bool made = false;
    for (int i = 0; i < 2; i++) {
        if (mkdirat(st->dirfd, names[i], 0700) == 0)
            made = true;
        else if (errno != EEXIST)
            return -errno;
        *fds[i] = openat(st->dirfd, names[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (*fds[i] < 0)
            return -errno;
    }
    if (made && fsync(st->dirfd) != 0)
        return -errno;
    return 0;
}

/* Reads format (creating it in a new directory, upgrading version 1,
 * which held nothing, to this one). 0, or -errno with err. */
static int check_format(struct nubfs_state *st, char *err, size_t errlen)
{
    int fd = openat(st->dirfd, "format", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        int rc = only_ours(st->dirfd);
        if (rc == -ENOTEMPTY) {
            set_err(err, errlen, NOT_STATE_MSG, st->dir, "not a nubfs state directory");
            return rc;
        }
        if (rc == 0)
            rc = open_subdirs(st);
        if (rc == 0)
            rc = write_format(st);
        if (rc != 0)
            set_err(err, errlen, "state directory %s: cannot write its format file: %s", st->dir,
                    strerror(-rc));
        return rc;
    }
    if (fd < 0) {
        int e = errno;
        set_err(err, errlen, "state directory %s: cannot read its format file: %s", st->dir,
                strerror(e));
        return -e;
    }
    char buf[128];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0) {
        int e = errno;
        set_err(err, errlen, "state directory %s: cannot read its format file: %s", st->dir,
                strerror(e));
        return -e;
    }
    buf[n] = '\0';
    char *end = NULL;
    unsigned long v = 0;
    bool ok = strncmp(buf, FORMAT_MAGIC, strlen(FORMAT_MAGIC)) == 0 &&
              buf[strlen(FORMAT_MAGIC)] >= '0' && buf[strlen(FORMAT_MAGIC)] <= '9';
    if (ok) {
        errno = 0;
        v = strtoul(buf + strlen(FORMAT_MAGIC), &end, 10);
        ok = errno == 0 && v > 0 && (*end == '\n' || *end == '\0');
    }
    if (!ok) {
        set_err(err, errlen, "state directory %s: its format file is %s (want \"nubfs-state N\")",
                st->dir, "not a nubfs state format");
        return -EINVAL;
    }
    if (v > NUBFS_STATE_FORMAT) {
        snprintf(err, errlen,
                 "state directory %s has format version %lu, newer than this nubfs reads (%u): "
                 "use a newer nubfs, or another state=; nothing was changed",
                 st->dir, v, NUBFS_STATE_FORMAT);
        return -EPROTONOSUPPORT;
    }
    int rc = open_subdirs(st);
    if (rc == 0 && v < NUBFS_STATE_FORMAT) {
        rc = write_format(st);
        if (rc == 0)
            nubfs_log("state: %s upgraded from format %lu to %u", st->dir, v, NUBFS_STATE_FORMAT);
    }
    if (rc != 0)
        set_err(err, errlen, "state directory %s: cannot set up format 2: %s", st->dir,
                strerror(-rc));
    return rc;
}

int nubfs_state_open(struct nubfs *fs, const char *mountpoint, char *err, size_t errlen)
{
    fs->state = NULL;
    if (fs->opts.ephemeral) {
        nubfs_log("state: ephemeral: nothing survives a restart");
        return 0;
    }
    char *dir = NULL;
    int rc = 0;
    if (fs->opts.state != NULL) {
        dir = strdup(fs->opts.state);
        if (dir == NULL)
            rc = -ENOMEM;
    } else {
        rc = nubfs_default_state_dir(mountpoint, geteuid(), &dir);
        if (rc == -ENOENT) {
            snprintf(err, errlen, "no home directory for the default state directory: "
                                  "give state=DIR or ephemeral");
            return rc;
        }
    }
    if (rc != 0) {
        snprintf(err, errlen, "state directory: %s", strerror(-rc));
        return rc;
    }
    struct nubfs_state *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        free(dir);
        snprintf(err, errlen, "state directory: %s", strerror(ENOMEM));
        return -ENOMEM;
    }
    st->dir = dir;
    st->dirfd = st->lockfd = st->capsfd = st->pkgsfd = -1;
    rc = make_dirs(dir);
    if (rc != 0) {
        set_err(err, errlen, "state directory %s: cannot create it: %s", dir, strerror(-rc));
        goto fail;
    }
    /* Absolute, for messages after the daemon's chdir("/"). */
    char *abs = realpath(dir, NULL);
    if (abs != NULL) {
        free(st->dir);
        st->dir = abs;
    }
    st->dirfd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (st->dirfd < 0) {
        rc = -errno;
        set_err(err, errlen, "state directory %s: %s", st->dir, strerror(-rc));
        goto fail;
    }
    rc = probe_writable(st->dirfd);
    if (rc != 0) {
        set_err(err, errlen, "state directory %s is not writable: %s", st->dir, strerror(-rc));
        goto fail;
    }
    /* Refuse a directory that is not ours before the lock file is made
     * in it; checked again under the lock. */
    if (faccessat(st->dirfd, "format", F_OK, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT &&
        only_ours(st->dirfd) == -ENOTEMPTY) {
        rc = -ENOTEMPTY;
        set_err(err, errlen, NOT_STATE_MSG, st->dir, "not a nubfs state directory");
        goto fail;
    }
    if ((rc = take_lock(st, err, errlen)) != 0 || (rc = check_format(st, err, errlen)) != 0)
        goto fail;
    fs->state = st;
    nubfs_log("state: %s (format %u)", st->dir, NUBFS_STATE_FORMAT);
    return 0;
fail:
    fs->state = st;
    nubfs_state_close(fs);
    return rc;
}

const char *nubfs_state_dir(const struct nubfs *fs)
{
    return fs->state ? fs->state->dir : NULL;
}

int nubfs_state_caps_fd(const struct nubfs *fs)
{
    return fs->state ? fs->state->capsfd : -1;
}

int nubfs_state_pkgs_fd(const struct nubfs *fs)
{
    return fs->state ? fs->state->pkgsfd : -1;
}

void nubfs_state_close(struct nubfs *fs)
{
    nubfs_kept_free(fs);
    struct nubfs_state *st = fs->state;
    if (st == NULL)
        return;
    if (st->lockfd >= 0)
        close(st->lockfd); /* releases the lock */
    if (st->dirfd >= 0)
        close(st->dirfd);
    if (st->capsfd >= 0)
        close(st->capsfd);
    if (st->pkgsfd >= 0)
        close(st->pkgsfd);
    free(st->dir);
    free(st);
    fs->state = NULL;
}
