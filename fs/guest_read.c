/* Reading guest memory from FUSE handlers: the cap directory reader
 * under the sandbox read lock, and read replies spliced straight from
 * the guest's memory (caps/ files, mounts/ regions). The lock is what
 * keeps the guest from running, or being rebooted and zeroed, while the
 * daemon or the kernel looks at its memory. */
#include "nubfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* libfuse (fuse_send_data_iov) wants a pipe of the reply's size plus
 * three pages (header, buffer, slack) plus the header itself, or it
 * falls back to copying; the kernel asks for up to 1 MiB, and pipes stop
 * at pipe-max-size (1 MiB by default) for most processes. */
#define SPLICE_SLACK_PAGES 4

size_t nubfs_splice_max_data(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    if (pg <= 0)
        pg = 4096;
    size_t want = ((size_t)1 << 20) + SPLICE_SLACK_PAGES * (size_t)pg;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return 0;
    int got = fcntl(p[0], F_SETPIPE_SZ, (int)want);
    if (got < 0) {
        /* Not allowed that much: the most this process may have. */
        long max = 0;
        FILE *f = fopen("/proc/sys/fs/pipe-max-size", "re");
        if (f != NULL) {
            if (fscanf(f, "%ld", &max) != 1)
                max = 0;
            fclose(f);
        }
        got = max > 0 && max < INT32_MAX ? fcntl(p[0], F_SETPIPE_SZ, (int)max) : -1;
        if (got < 0)
            got = fcntl(p[0], F_GETPIPE_SZ);
    }
    close(p[0]);
    close(p[1]);
    if (got <= SPLICE_SLACK_PAGES * pg)
        return 0;
    return ((size_t)got / (size_t)pg - SPLICE_SLACK_PAGES) * (size_t)pg;
}

int nubfs_reader_begin(struct nubfs *fs, struct nub_reader *r)
{
    nubfs_settled_rdlock(fs); /* never a directory a recovery is rebuilding */
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
