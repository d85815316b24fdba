/* nubfs-pack helpers: messages and atomic writes (whole-file reads are
 * nub_read_file, src/file_util.c). */
#include "pack.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "nubfs-pack: <message>" on stderr. */
static void report(const char *fmt, va_list ap)
{
    fputs(PACK_PROG ": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void pack_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(fmt, ap);
    va_end(ap);
}

int pack_usage_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(fmt, ap);
    va_end(ap);
    fputs("Try '" PACK_PROG " --help' for more information.\n", stderr);
    return PACK_EXIT_USAGE;
}

int pack_write_atomic(const char *path, const void *buf, size_t len, char *err, size_t errlen)
{
    char tmp[PATH_MAX], dcopy[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", path) >= sizeof tmp ||
        (size_t)snprintf(dcopy, sizeof dcopy, "%s", path) >= sizeof dcopy) {
        snprintf(err, errlen, "%s: path too long", path);
        return -ENAMETOOLONG;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: cannot create a temporary file: %s", path, strerror(e));
        return -e;
    }
    /* mkostemp makes 0600; a package is not secret: 0666 less the umask. */
    mode_t um = umask(0);
    umask(um);
    int r = fchmod(fd, 0666 & ~um) < 0 ? -errno : 0;
    const uint8_t *p = buf;
    size_t left = len;
    while (r == 0 && left > 0) {
        ssize_t k = write(fd, p, left);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            break;
        }
        p += k;
        left -= (size_t)k;
    }
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-r));
        unlink(tmp);
        return r;
    }
    /* Make the rename itself durable. */
    int dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}
