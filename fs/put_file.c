/* Publishing a host file as a cap (preload=DIR, and again into a
 * rebooted guest): its bytes go into the cap store (which hashes what it
 * copied, so the name matches the stored bytes even if the file changes
 * later), then the guest-call client PUTs them. */
#include "nubfs.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest_calls.h"

int nubfs_put_file(struct nubfs *fs, const char *path, uint8_t hash[16], uint64_t *len,
                   struct nub_cap_obj **objp)
{
    *objp = NULL;
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
    struct nub_cap_obj *obj;
    bool created;
    int rc = nub_cap_store_put_fd(fs->store, fd, (uint64_t)st.st_size, NUB_CAP_BLOB, hash, &obj,
                                  &created);
    close(fd);
    if (rc != 0)
        return rc;
    uint8_t put_hash[16];
    rc = nub_call_put(fs->sb, obj->bytes, (size_t)obj->len, NUB_CAP_BLOB, put_hash);
    if (rc == 0 && memcmp(put_hash, hash, 16) != 0)
        rc = -EIO; /* cannot be: both hash the same stored bytes */
    if (rc != 0) {
        nub_cap_obj_unref(obj);
        return rc;
    }
    *len = obj->len;
    *objp = obj;
    return 0;
}
