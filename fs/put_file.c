/* Publishing host files as caps (preload=DIR, and again into a rebooted
 * guest): each file's bytes go into the cap store (which hashes what it
 * copied, so the name matches the stored bytes even if the file changes
 * later), then the store objects are published with PUT_CAPS in batches
 * of NUB_PUT_CAPS_BATCH (guest_calls.h): one guest call for many caps,
 * and the guest gets (hash, gpa, len) of the read-only window, never a
 * copy. */
#include "nubfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest_calls.h"

int nubfs_store_file(struct nubfs *fs, const char *path, uint8_t hash[16], uint64_t *len,
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
    bool created;
    int rc = nub_cap_store_put_fd(fs->store, fd, (uint64_t)st.st_size, NUB_CAP_BLOB, hash, objp,
                                  &created);
    close(fd);
    if (rc != 0)
        return rc;
    *len = (*objp)->len;
    return 0;
}

int nubfs_publish_objs(struct nubfs *fs, struct nub_cap_obj *const *objs, size_t n,
                       size_t *done, char *msg)
{
    *done = 0;
    msg[0] = '\0';
    size_t max = n < NUB_PUT_CAPS_BATCH ? n : NUB_PUT_CAPS_BATCH;
    struct nub_cap_desc *d = calloc(max ? max : 1, sizeof(*d));
    if (d == NULL)
        return -ENOMEM;
    int rc = 0;
    while (rc == 0 && *done < n) {
        uint32_t k = (uint32_t)(n - *done < max ? n - *done : max);
        for (uint32_t i = 0; i < k; i++) {
            const struct nub_cap_obj *o = objs[*done + i];
            d[i] = (struct nub_cap_desc){.gpa = o->gpa, .len = o->len, .kind = NUB_CAP_BLOB};
            memcpy(d[i].hash, o->hash, 16);
        }
        rc = nub_call_put_caps(fs->sb, d, k, NULL, msg);
        if (rc == 0)
            *done += k;
    }
    free(d);
    return rc;
}
