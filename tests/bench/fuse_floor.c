/* Benchmark peer (not a test, never in ctest): the least a FUSE file
 * system can do on this machine. It serves the regular files of one
 * directory, read into memory at start, read-only, with nubfs's own
 * answers for caps: one LOOKUP per name (entries, attributes and absent
 * names cached a day), OPEN with keep_cache and noflush, RELEASE. Every
 * request is a table look-up, so what tests/bench/fuse_floor.sh measures
 * through it is the cost of the round trip itself: the floor under any
 * FUSE file system's cold `stat` and small-file reads here.
 *
 *   fuse_floor [-s] [-r] SRC_DIR MOUNTPOINT   (foreground; fusermount3 -u ends it)
 *
 * It mounts read-write, as nubfs must for ctl/ (no request here writes;
 * the kernel treats such a mount differently: nubfs(8) NOTES); -r mounts
 * read-only. -s serves on one thread; the default is libfuse's
 * multi-threaded loop with its default settings, as nubfs uses. No
 * listing (readdir). */
#define FUSE_USE_VERSION 314
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FLOOR_TIMEOUT 86400.0              /* nothing here ever changes */
#define FLOOR_MAX_FILES 4000000u           /* bounds the start-up scan */
#define FLOOR_MAX_BYTES (1024ull << 20)    /* all file bytes held in memory */

struct floor_file {
    char *name;
    unsigned char *bytes;
    size_t size;
};

static struct floor_file *files; /* sorted by name; inode = index + 2 */
static size_t nfiles;
static time_t start_time;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct floor_file *)a)->name, ((const struct floor_file *)b)->name);
}

/* read_all: the whole of a regular file of SIZE bytes at NAME in DIRFD. */
static int read_all(int dirfd, const char *name, size_t size, unsigned char **out)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = pread(fd, buf + got, size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) { /* an error, or the file shrank under us */
            int err = r < 0 ? -errno : -EIO;
            free(buf);
            close(fd);
            return err;
        }
        got += (size_t)r;
    }
    close(fd);
    *out = buf;
    return 0;
}

/* load: every regular file of DIR, in memory, sorted. */
static int load(const char *dir)
{
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return -errno;
    DIR *d = fdopendir(dirfd);
    if (!d) {
        close(dirfd);
        return -errno;
    }
    size_t cap = 0;
    unsigned long long total = 0;
    int err = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (nfiles == FLOOR_MAX_FILES || (unsigned long long)st.st_size > FLOOR_MAX_BYTES - total) {
            err = -EFBIG;
            break;
        }
        if (nfiles == cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            struct floor_file *n = realloc(files, ncap * sizeof(*n));
            if (!n) {
                err = -ENOMEM;
                break;
            }
            files = n;
            cap = ncap;
        }
        struct floor_file *f = &files[nfiles];
        f->size = (size_t)st.st_size;
        f->name = strdup(de->d_name);
        if (!f->name) {
            err = -ENOMEM;
            break;
        }
        err = read_all(dirfd, de->d_name, f->size, &f->bytes);
        if (err) {
            free(f->name);
            break;
        }
        total += f->size;
        nfiles++;
    }
    closedir(d);
    if (!err && nfiles > 1)
        qsort(files, nfiles, sizeof(*files), by_name);
    return err;
}

static struct floor_file *file_of(fuse_ino_t ino)
{
    return ino >= 2 && ino - 2 < nfiles ? &files[ino - 2] : NULL;
}

static void fill_attr(fuse_ino_t ino, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_ino = ino;
    st->st_mtime = st->st_ctime = st->st_atime = start_time;
    st->st_uid = getuid();
    st->st_gid = getgid();
    struct floor_file *f = file_of(ino);
    if (f) {
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        st->st_size = (off_t)f->size;
        st->st_blocks = (blkcnt_t)((f->size + 511) / 512);
    } else {
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2;
    }
}

static void floor_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct fuse_entry_param e = {.entry_timeout = FLOOR_TIMEOUT};
    if (parent == FUSE_ROOT_ID) {
        struct floor_file key = {.name = (char *)name};
        struct floor_file *f = bsearch(&key, files, nfiles, sizeof(*files), by_name);
        if (f) {
            e.ino = (fuse_ino_t)(f - files) + 2;
            e.attr_timeout = FLOOR_TIMEOUT;
            fill_attr(e.ino, &e.attr);
        }
    }
    fuse_reply_entry(req, &e); /* ino 0: an absent name, cached as such */
}

static void floor_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)fi;
    if (ino != FUSE_ROOT_ID && !file_of(ino)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    struct stat st;
    fill_attr(ino, &st);
    fuse_reply_attr(req, &st, FLOOR_TIMEOUT);
}

static void floor_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    if (!file_of(ino)) {
        fuse_reply_err(req, ino == FUSE_ROOT_ID ? EISDIR : ENOENT);
        return;
    }
    if ((fi->flags & O_ACCMODE) != O_RDONLY) {
        fuse_reply_err(req, EROFS);
        return;
    }
    fi->keep_cache = 1;
    fi->noflush = 1;
    fuse_reply_open(req, fi);
}

static void floor_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
    (void)fi;
    struct floor_file *f = file_of(ino);
    if (!f || off < 0) {
        fuse_reply_err(req, f ? EINVAL : ENOENT);
        return;
    }
    if ((unsigned long long)off >= f->size) {
        fuse_reply_buf(req, NULL, 0);
        return;
    }
    size_t left = f->size - (size_t)off;
    fuse_reply_buf(req, (const char *)f->bytes + off, size < left ? size : left);
}

static void floor_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    (void)fi;
    fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops floor_ops = {
    .lookup = floor_lookup,
    .getattr = floor_getattr,
    .open = floor_open,
    .read = floor_read,
    .release = floor_release,
};

static int usage(const char *prog)
{
    fprintf(stderr, "usage: %s [-s] [-r] SRC_DIR MOUNTPOINT\n", prog);
    return 2;
}

int main(int argc, char **argv)
{
    bool single = false, rdonly = false;
    int opt;
    while ((opt = getopt(argc, argv, "sr")) != -1) {
        if (opt == 's')
            single = true;
        else if (opt == 'r')
            rdonly = true;
        else
            return usage(argv[0]);
    }
    if (optind + 2 != argc)
        return usage(argv[0]);
    const char *src = argv[optind], *mnt = argv[optind + 1];
    start_time = time(NULL);
    int err = load(src);
    if (err) {
        fprintf(stderr, "fuse_floor: %s: %s\n", src, strerror(-err));
        return 1;
    }
    char *fargv[] = {argv[0], "-o",
                     rdonly ? "ro,fsname=fuse_floor,subtype=fuse_floor" : "fsname=fuse_floor,subtype=fuse_floor",
                     NULL};
    struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
    struct fuse_session *se = fuse_session_new(&args, &floor_ops, sizeof(floor_ops), NULL);
    if (!se)
        return 1;
    int rc = 1;
    if (fuse_set_signal_handlers(se) == 0) {
        if (fuse_session_mount(se, mnt) == 0) {
            if (single) {
                rc = fuse_session_loop(se);
            } else {
                struct fuse_loop_config *cfg = fuse_loop_cfg_create();
                rc = cfg ? fuse_session_loop_mt(se, cfg) : -1;
                if (cfg)
                    fuse_loop_cfg_destroy(cfg);
            }
            fuse_session_unmount(se);
        }
        fuse_remove_signal_handlers(se);
    }
    fuse_session_destroy(se);
    return rc < 0 ? 1 : 0;
}
