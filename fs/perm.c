/* Who may read a ctl/ file and what its mount shows (nubfs(8), THE
 * CONTROL DIRECTORY): the file's mode bits for its owner, its group and
 * the others, as on any file system. The kernel checks nothing itself
 * (no default_permissions), so the daemon does, here, for both. */
#include "nubfs.h"

#include <stdlib.h>
#include <sys/stat.h>

static bool in_group(fuse_req_t req, gid_t gid)
{
    if (fuse_req_ctx(req)->gid == gid)
        return true;
    gid_t list[64];
    int n = fuse_req_getgroups(req, (int)(sizeof(list) / sizeof(list[0])), list);
    if (n > (int)(sizeof(list) / sizeof(list[0]))) {
        gid_t *big = malloc((size_t)n * sizeof(*big));
        bool found = false;
        int m = big ? fuse_req_getgroups(req, n, big) : -1;
        for (int i = 0; i < m && i < n && !found; i++)
            found = big[i] == gid;
        free(big);
        return found;
    }
    for (int i = 0; i < n; i++)
        if (list[i] == gid)
            return true;
    return false;
}

bool nubfs_may_read(fuse_req_t req, const struct nubfs *fs, uid_t uid, gid_t gid, mode_t mode)
{
    uid_t who = fuse_req_ctx(req)->uid;
    /* root, and the user who started nubfs (it owns ctl/ and can chmod). */
    if (who == 0 || who == fs->uid)
        return true;
    if (who == uid)
        return (mode & S_IRUSR) != 0;
    if (in_group(req, gid))
        return (mode & S_IRGRP) != 0;
    return (mode & S_IROTH) != 0;
}

mode_t nubfs_mount_mode(mode_t file_mode, bool dir)
{
    mode_t r = file_mode & 0444;
    return dir ? (S_IFDIR | r | (r >> 2)) : (S_IFREG | r);
}
