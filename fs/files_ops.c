/* log and stats: two generated text files at the root, read as
 * snapshots (snapshot.c) with direct_io; their size is 0 to stat, like
 * /proc files. */
#include "nubfs.h"

#include <errno.h>

static bool never_dir(fuse_ino_t ino)
{
    (void)ino;
    return false;
}

static void not_dir_lookup(fuse_req_t req, struct nubfs *fs, fuse_ino_t parent, const char *name)
{
    (void)fs, (void)parent, (void)name;
    fuse_reply_err(req, ENOTDIR);
}

static void files_open(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
    size_t len = 0;
    char *data = ino == NUBFS_INO_LOG ? nubfs_log_render(&len) : nubfs_stats_render(fs, &len);
    if (data == NULL) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    nubfs_snapshot_open(req, data, len, fi);
}

static void files_read(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    (void)fs, (void)ino;
    nubfs_snapshot_read(req, size, off, fi);
}

static void files_release(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino,
                          struct fuse_file_info *fi)
{
    (void)fs, (void)ino;
    nubfs_snapshot_release(fi);
    fuse_reply_err(req, 0);
}

const struct nubfs_subtree nubfs_files_tree = {
    .is_dir = never_dir, .lookup = not_dir_lookup, .open = files_open, .read = files_read,
    .release = files_release,
};
