/* Whole-file reads with a size bound (see file_util.h). */
#include "file_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"

int nub_read_file(const char *path, uint64_t max, uint8_t **out, size_t *len, mode_t *mode,
                  char *err, size_t errlen)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        nub_set_err(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    int r = 0;
    uint8_t *buf = NULL;
    size_t size = 0, n = 0;
    if (fstat(fd, &st) < 0) {
        r = -errno;
        nub_set_err(err, errlen, "%s: %s", path, strerror(-r));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        r = -EINVAL;
        nub_set_err(err, errlen, "%s: not a regular file", path);
        goto out;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > max || (uint64_t)st.st_size >= SIZE_MAX) {
        r = -EFBIG;
        nub_set_err(err, errlen, "%s: larger than %llu bytes", path, (unsigned long long)max);
        goto out;
    }
    size = (size_t)st.st_size;
    /* +1: room for the NUL, and a file that grew shows as a read past size. */
    buf = malloc(size + 1);
    if (buf == NULL) {
        r = -ENOMEM;
        nub_set_err(err, errlen, "%s: out of memory", path);
        goto out;
    }
    while (n < size + 1) {
        ssize_t k = read(fd, buf + n, size + 1 - n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            nub_set_err(err, errlen, "%s: %s", path, strerror(-r));
            goto out;
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    if (n != size) {
        r = -EAGAIN;
        nub_set_err(err, errlen, "%s: file changed while being read", path);
        goto out;
    }
    buf[size] = '\0';
    if (mode != NULL)
        *mode = st.st_mode;
    *out = buf;
    *len = size;
    buf = NULL;
out:
    if (buf != NULL) {
        explicit_bzero(buf, n);
        free(buf);
    }
    close(fd);
    return r;
}
