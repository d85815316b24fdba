/* FUSE passthrough reads for caps with a file of their own
 * (docs/cap-store.md "Reads"). libfuse 3.14 has no passthrough API, so
 * the daemon supplies the /dev/fuse I/O itself (fuse_session_custom_io)
 * and edits two raw replies on their way to the kernel: INIT (ask for
 * FUSE_PASSTHROUGH with a stack depth of 1, if the kernel offered it) and
 * the OPEN of a cap whose memfd is registered as a backing file
 * (FOPEN_PASSTHROUGH + its backing id, never FOPEN_KEEP_CACHE). The
 * kernel then reads and maps the memfd itself. Each object is registered
 * once (FUSE_DEV_IOC_BACKING_OPEN) and unregistered when the store tears
 * it down, after every handle let go. Where anything refuses, reads are
 * spliced as before and the reason is kept for `stats` and the log. The
 * same read hook passes the reading turn between threads (turn.c). */
#include "nubfs.h"

#include <errno.h>
#include <linux/fuse.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

/* Kernel UAPI of 7.40 (Linux 6.9) that Debian 12's <linux/fuse.h>
 * (7.38) lacks. */
#ifndef FUSE_PASSTHROUGH
#define FUSE_PASSTHROUGH (1ull << 37) /* INIT flag: bit 5 of flags2 */
#endif
#ifndef FOPEN_PASSTHROUGH
#define FOPEN_PASSTHROUGH (1u << 7)
#endif
struct nubfs_backing_map { /* struct fuse_backing_map */
    int32_t fd;
    uint32_t flags;
    uint64_t padding;
};
#define NUBFS_IOC_BACKING_OPEN _IOW(229, 1, struct nubfs_backing_map)
#define NUBFS_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)
/* fuse_init_out.max_stack_depth: the word after flags2 (unused[0] in 7.38). */
#define INIT_OUT_STACK_DEPTH (offsetof(struct fuse_init_out, flags2) + 4)

enum { PT_UNDECIDED, PT_ON, PT_OFF };

static struct {
    int devfd;          /* the session's /dev/fuse fd, -1 once unmounted */
    int state;          /* PT_*, written once by the INIT reply (then read racily) */
    uint64_t init_unique;
    bool init_seen, kernel_offers;
    char reason[160];
    uint64_t opens; /* passthrough opens granted (stats) */
} pt = {.devfd = -1};

/* The open being answered by this thread: the writev hook edits only a
 * reply that carries this very handle, sent from this very thread. */
static __thread struct {
    uint64_t fh;
    int backing_id;
} pending;

static void set_off(const char *why)
{
    snprintf(pt.reason, sizeof(pt.reason), "%s", why);
    __atomic_store_n(&pt.state, PT_OFF, __ATOMIC_RELEASE);
}

static ssize_t pt_read(int fd, void *buf, size_t len, void *userdata)
{
    (void)userdata;
    ssize_t n = nubfs_turn_read(fd, buf, len);
    if (n < 0 || __atomic_load_n(&pt.init_seen, __ATOMIC_ACQUIRE) ||
        (size_t)n < sizeof(struct fuse_in_header))
        return n;
    struct fuse_in_header h;
    memcpy(&h, buf, sizeof(h));
    if (h.opcode != FUSE_INIT)
        return n;
    pt.init_unique = h.unique;
    struct fuse_init_in in = {0};
    size_t have = (size_t)n - sizeof(h);
    memcpy(&in, (const char *)buf + sizeof(h), have < sizeof(in) ? have : sizeof(in));
    uint64_t flags = in.flags;
    if ((flags & FUSE_INIT_EXT) && have >= offsetof(struct fuse_init_in, flags2) + 4)
        flags |= (uint64_t)in.flags2 << 32;
    pt.kernel_offers = (flags & FUSE_PASSTHROUGH) != 0;
    __atomic_store_n(&pt.init_seen, true, __ATOMIC_RELEASE);
    return n;
}

/* Is the backing-file ioctl ours to use? Registers a scratch memfd. */
static int probe_backing(void)
{
    int fd = memfd_create("nubfs-probe", MFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct nubfs_backing_map m = {.fd = fd};
    int id = ioctl(pt.devfd, NUBFS_IOC_BACKING_OPEN, &m);
    int rc = id > 0 ? 0 : -errno;
    if (id > 0) {
        uint32_t u = (uint32_t)id;
        ioctl(pt.devfd, NUBFS_IOC_BACKING_CLOSE, &u);
    }
    close(fd);
    return rc;
}

/* The INIT reply: ask for passthrough (iov[1] is libfuse's fuse_init_out). */
static void edit_init(struct iovec *iov, int count, void *copy, size_t copylen)
{
    struct fuse_out_header oh;
    memcpy(&oh, iov[0].iov_base, sizeof(oh));
    if (oh.error != 0 || count < 2 || iov[1].iov_len < INIT_OUT_STACK_DEPTH + 4 ||
        iov[1].iov_len > copylen) {
        set_off("libfuse's INIT reply has no room for passthrough");
        return;
    }
    if (!pt.kernel_offers) {
        set_off("the kernel does not offer FUSE passthrough (Linux 6.9+ with "
                "CONFIG_FUSE_PASSTHROUGH)");
        return;
    }
    struct fuse_init_out out;
    memcpy(&out, iov[1].iov_base, sizeof(out) < iov[1].iov_len ? sizeof(out) : iov[1].iov_len);
    if (out.flags & FUSE_WRITEBACK_CACHE) {
        set_off("writeback cache is on");
        return;
    }
    out.flags |= FUSE_INIT_EXT;
    out.flags2 |= (uint32_t)(FUSE_PASSTHROUGH >> 32);
    memcpy(copy, iov[1].iov_base, iov[1].iov_len);
    memcpy(copy, &out, sizeof(out) < iov[1].iov_len ? sizeof(out) : iov[1].iov_len);
    uint32_t depth = 1; /* memfds sit on no stacked filesystem */
    memcpy((char *)copy + INIT_OUT_STACK_DEPTH, &depth, sizeof(depth));
    iov[1].iov_base = copy;
}

/* An OPEN reply of this thread's pending passthrough handle. */
static void edit_open(struct iovec *iov, int count, struct fuse_open_out *copy)
{
    struct fuse_out_header oh;
    memcpy(&oh, iov[0].iov_base, sizeof(oh));
    if (oh.error != 0 || count != 2 || iov[1].iov_len != sizeof(*copy))
        return;
    memcpy(copy, iov[1].iov_base, sizeof(*copy));
    if (copy->fh != pending.fh)
        return;
    copy->open_flags |= FOPEN_PASSTHROUGH;
    copy->open_flags &= ~(uint32_t)FOPEN_KEEP_CACHE; /* EIO with passthrough */
    copy->padding = (uint32_t)pending.backing_id;  /* backing_id since 7.40 */
    iov[1].iov_base = copy;
}

static ssize_t pt_writev(int fd, struct iovec *iov, int count, void *userdata)
{
    (void)userdata;
    char init_copy[256];
    struct fuse_open_out open_copy;
    bool is_init = false;
    if (count >= 1 && iov[0].iov_len >= sizeof(struct fuse_out_header)) {
        struct fuse_out_header oh;
        memcpy(&oh, iov[0].iov_base, sizeof(oh));
        if (pending.fh != 0)
            edit_open(iov, count, &open_copy);
        else if (__atomic_load_n(&pt.init_seen, __ATOMIC_ACQUIRE) && oh.unique == pt.init_unique &&
                 __atomic_load_n(&pt.state, __ATOMIC_ACQUIRE) == PT_UNDECIDED) {
            is_init = true;
            edit_init(iov, count, init_copy, sizeof(init_copy));
        }
    }
    ssize_t n = writev(fd, iov, count);
    if (is_init && __atomic_load_n(&pt.state, __ATOMIC_ACQUIRE) == PT_UNDECIDED) {
        /* The kernel took the reply (and set passthrough up) in writev. */
        int rc = n < 0 ? -errno : probe_backing();
        if (rc == 0) {
            snprintf(pt.reason, sizeof(pt.reason), "kernel FUSE passthrough");
            __atomic_store_n(&pt.state, PT_ON, __ATOMIC_RELEASE);
        } else if (rc == -EPERM) {
            set_off("not privileged (backing files need CAP_SYS_ADMIN)");
        } else {
            char why[128];
            snprintf(why, sizeof(why), "registering a backing file failed: %s", strerror(-rc));
            set_off(why);
        }
        if (pt.state == PT_ON)
            nubfs_log("reads: passthrough for caps with a file of their own, under caps/ "
                      "and as immutable regions under mounts/ (%s); smaller caps spliced "
                      "from their pack", pt.reason);
        else
            nubfs_log("reads: spliced, not passthrough: %s", pt.reason);
    }
    return n;
}

static ssize_t pt_splice_send(int fdin, off_t *offin, int fdout, off_t *offout, size_t len,
                              unsigned int flags, void *userdata)
{
    (void)userdata;
    return splice(fdin, offin, fdout, offout, len, flags);
}

int nubfs_pt_setup(struct nubfs *fs, struct fuse_session *se)
{
    pt.devfd = fuse_session_fd(se);
    if (fs->opts.read_path_splice)
        set_off("turned off (-o read_path=splice)");
    /* Installed either way: its read also decides which thread reads
     * next (turn.c). libfuse splices replies through custom I/O only
     * with a splice_send, which the splice read path gives it (as
     * before; the passthrough path never had one). */
    static const struct fuse_custom_io io = {.read = pt_read, .writev = pt_writev};
    static const struct fuse_custom_io io_splice = {
        .read = pt_read, .writev = pt_writev, .splice_send = pt_splice_send};
    int rc = fuse_session_custom_io(se, fs->opts.read_path_splice ? &io_splice : &io, pt.devfd);
    if (rc != 0)
        set_off("libfuse refused custom I/O");
    if (rc != 0 || fs->opts.read_path_splice)
        nubfs_log("reads: spliced, not passthrough: %s", pt.reason);
    return 0;
}

void nubfs_pt_shutdown(void)
{
    __atomic_store_n(&pt.devfd, -1, __ATOMIC_RELEASE);
}

bool nubfs_pt_on(void)
{
    return __atomic_load_n(&pt.state, __ATOMIC_ACQUIRE) == PT_ON;
}

const char *nubfs_pt_reason(void)
{
    return __atomic_load_n(&pt.state, __ATOMIC_ACQUIRE) == PT_UNDECIDED ? "not yet negotiated"
                                                                         : pt.reason;
}

uint64_t nubfs_pt_opens(void)
{
    return __atomic_load_n(&pt.opens, __ATOMIC_RELAXED);
}

int nubfs_pt_backing_id(struct nub_cap_obj *obj)
{
    if (obj == NULL || !obj->own_file || obj->len == 0 || !nubfs_pt_on())
        return 0;
    int id = __atomic_load_n(&obj->backing_id, __ATOMIC_ACQUIRE);
    if (id > 0)
        return id;
    int fd = __atomic_load_n(&pt.devfd, __ATOMIC_ACQUIRE);
    if (fd < 0)
        return 0;
    struct nubfs_backing_map m = {.fd = obj->fd};
    int got = ioctl(fd, NUBFS_IOC_BACKING_OPEN, &m);
    if (got <= 0) {
        static int warned;
        if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
            nubfs_log("reads: registering a cap's backing file failed (%s); "
                      "that cap is spliced", strerror(errno));
        return 0;
    }
    id = nub_cap_obj_set_backing_id(obj, got);
    if (id != got) { /* another open registered it first */
        uint32_t u = (uint32_t)got;
        ioctl(fd, NUBFS_IOC_BACKING_CLOSE, &u);
    }
    return id;
}

int nubfs_pt_reply_with(fuse_req_t req, struct fuse_file_info *fi, int backing_id)
{
    fi->keep_cache = 0;
    pending.fh = fi->fh;
    pending.backing_id = backing_id;
    int rc = fuse_reply_open(req, fi);
    pending.fh = 0;
    if (rc == 0)
        __atomic_add_fetch(&pt.opens, 1, __ATOMIC_RELAXED);
    return rc;
}

int nubfs_pt_reply_open(fuse_req_t req, struct nub_cap_obj *obj, struct fuse_file_info *fi)
{
    int id = nubfs_pt_backing_id(obj);
    if (id <= 0) {
        fi->keep_cache = 1; /* the bytes behind a hash never change */
        return fuse_reply_open(req, fi);
    }
    return nubfs_pt_reply_with(req, fi, id);
}

void nubfs_pt_release_obj(void *ctx, struct nub_cap_obj *obj)
{
    (void)ctx;
    int fd = __atomic_load_n(&pt.devfd, __ATOMIC_ACQUIRE);
    if (obj->backing_id > 0 && fd >= 0) {
        uint32_t u = (uint32_t)obj->backing_id;
        ioctl(fd, NUBFS_IOC_BACKING_CLOSE, &u);
    }
}
