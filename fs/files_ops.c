/* log and stats: generated text. The content is rendered once at open and
 * served from that snapshot, so a reader sees one consistent version even
 * across several read calls; direct_io because the size is not known to
 * stat (it says 0, like /proc files). */
#include "nubfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct snapshot {
    char *data;
    size_t len;
};

void nubfs_files_open(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct snapshot *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    s->data = ino == NUBFS_INO_LOG ? nubfs_log_render(&s->len) : nubfs_stats_render(fs, &s->len);
    if (s->data == NULL) {
        free(s);
        fuse_reply_err(req, ENOMEM);
        return;
    }
    fi->fh = (uint64_t)(uintptr_t)s;
    fi->direct_io = 1;
    fi->nonseekable = 0;
    if (fuse_reply_open(req, fi) != 0) {
        free(s->data);
        free(s);
    }
}

void nubfs_files_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi)
{
    const struct snapshot *s = (const struct snapshot *)(uintptr_t)fi->fh;
    if (s == NULL) {
        fuse_reply_err(req, EBADF);
        return;
    }
    size_t o = (uint64_t)off >= s->len ? s->len : (size_t)off;
    size_t n = s->len - o < size ? s->len - o : size;
    fuse_reply_buf(req, s->data + o, n);
}

void nubfs_files_release(struct fuse_file_info *fi)
{
    struct snapshot *s = (struct snapshot *)(uintptr_t)fi->fh;
    if (s != NULL) {
        free(s->data);
        free(s);
    }
}
