/* Reading guest memory from FUSE handlers: the cap directory reader
 * under the sandbox read lock, and read replies spliced straight from
 * the guest's memory (caps/ files, mounts/ regions). The lock is what
 * keeps the guest from running, or being rebooted and zeroed, while the
 * daemon or the kernel looks at its memory. */
#include "nubfs.h"

#include <errno.h>
#include <stdlib.h>

int nubfs_reader_begin(struct nubfs *fs, struct nub_reader *r)
{
    nub_sandbox_rdlock(fs->sb);
    enum nub_reader_error e =
        nub_reader_open(r, nub_sandbox_mem(fs->sb), nub_sandbox_boot_info_gpa(fs->sb));
    if (e == NUB_READER_OK)
        return 0;
    /* Not initialised: a guest between reboot and INIT has no caps. */
    return e == NUB_READER_UNINITIALISED ? -ENOENT : -EIO;
}

void nubfs_reader_end(struct nubfs *fs)
{
    nub_sandbox_rdunlock(fs->sb);
}

void nubfs_reply_guest(fuse_req_t req, struct nubfs *fs, nub_gpa base, uint64_t len,
                       uint64_t off, size_t size)
{
    /* Any sub-range of a checked range is guest memory too. */
    uint64_t n = off >= len ? 0 : len - off;
    if (n > size)
        n = size;
    nub_gpa at = base + off;
    if (n == 0) {
        fuse_reply_buf(req, NULL, 0);
        return;
    }
    const struct nub_guest_mem *gm = nub_sandbox_mem(fs->sb);
    struct fuse_bufvec bv = FUSE_BUFVEC_INIT(n);
    int fd;
    off_t foff;
    void *copy = NULL;
    struct nub_ro_view view;
    if (nub_gm_fd_range(gm, at, n, &fd, &foff) == 0) {
        bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
        bv.buf[0].fd = fd;
        bv.buf[0].pos = foff;
    } else if (nub_ro_view_make(gm, at, n, &view) == 0) {
        /* A read-only window the kernel copies from (libfuse's buffer
         * type is not const; nothing writes through it). */
        bv.buf[0].mem = (void *)(uintptr_t)view.host;
    } else {
        /* Across two regions: copy (rare; never with one memory slot). */
        copy = malloc(n);
        int err = copy == NULL ? ENOMEM : nub_gm_read(gm, at, copy, n) != 0 ? EIO : 0;
        if (err != 0) {
            free(copy);
            fuse_reply_err(req, err);
            return;
        }
        bv.buf[0].mem = copy;
    }
    /* The caller holds the read lock until the reply has left: the guest
     * must not run (or be rebooted and zeroed) while the kernel copies
     * these pages. */
    fuse_reply_data(req, &bv, 0);
    free(copy);
}
