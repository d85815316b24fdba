/* Publishing a host file as a cap (preload=DIR, and again into a
 * rebooted guest): mapped, hashed and PUT by the guest-call client. */
#include "nubfs.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest_calls.h"

int nubfs_put_file(struct nubfs *fs, const char *path, uint8_t hash[16], uint64_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    size_t n = (size_t)st.st_size;
    void *p = NULL;
    if (n > 0) {
        p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = -errno;
            close(fd);
            return e;
        }
    }
    close(fd);
    int rc = nub_call_put(fs->sb, p, n, NUB_CAP_BLOB, hash);
    if (p != NULL)
        munmap(p, n);
    *len = n;
    return rc;
}

