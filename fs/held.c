/* What a ctl/ entry holds for its mounted package (its bytes and its cap
 * hashes), taken out when the package leaves the guest and then let go:
 * the kernel forgets the caps that left the directory and the package's
 * mounts/ tree. Shared by mounting (mounter.c) and recovery (recover.c). */
#include "ctl.h"

#include <stdlib.h>
#include <string.h>

/* Tells the kernel to forget those of hashes[0, n) that left the
 * directory. */
static void forget_gone_caps(struct nubfs *fs, uint8_t (*hashes)[16], uint32_t n)
{
    if (hashes == NULL || n == 0)
        return;
    uint8_t(*gone)[16] = calloc(n, 16);
    if (gone == NULL)
        return;
    size_t k = 0;
    struct nub_reader r;
    int rc = nubfs_reader_begin(fs, &r);
    for (uint32_t i = 0; i < n; i++)
        if (rc != 0 || !nub_reader_contains(&r, hashes[i]))
            memcpy(gone[k++], hashes[i], 16);
    nubfs_reader_end(fs);
    nubfs_notify_caps(fs, (const uint8_t(*)[16])gone, k);
    free(gone);
}

struct nubfs_held nubfs_held_take(struct nubfs_ctl_entry *e)
{
    struct nubfs_held m = {.pkg = e->pkg, .caps = e->caps, .ncaps = e->ncaps,
                           .objs = e->objs, .nobjs = e->nobjs};
    e->pkg = NULL;
    e->caps = NULL;
    e->ncaps = 0;
    e->objs = NULL;
    e->nobjs = 0;
    e->handle = 0;
    return m;
}

void nubfs_held_drop(struct nubfs *fs, const char *ctlname, struct nubfs_held *m)
{
    forget_gone_caps(fs, m->caps, m->ncaps);
    char mname[NUBFS_PKG_NAME_MAX + 1];
    nubfs_ctl_mount_name(ctlname, mname);
    nubfs_notify_mount(fs, mname);
    free(m->caps);
    nub_intake_drop_objs(m->objs, m->nobjs);
    nubfs_buf_unref(m->pkg);
}

