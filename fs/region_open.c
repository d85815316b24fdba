/* Open files of immutable regions under mounts/, by inode: what fstat
 * answers once the package the file was opened in is gone.
 *
 * Such a file holds its region's cap (mounts_ops.c region_open) and reads
 * on after an rm, like an unlinked file. But fstat sends a GETATTR that
 * names only the inode (Linux's fuse_getattr passes no file handle), and
 * a removed package's inodes answer ENOENT. So every open of an immutable
 * region is listed here with the attributes it had at open (its size is
 * its cap's length: the bytes it reads), and a region inode whose package
 * went answers with those of its newest open file. While the package is
 * mounted the inode answers for the version mounted now (one inode serves
 * every version of a replaced package: which file asks is not known). */
#include "mounts.h"

#include <errno.h>

#define OPEN_BUCKETS 256u

static struct {
    pthread_mutex_t mu;
    struct nubfs_region_open *bucket[OPEN_BUCKETS]; /* newest open first */
} opens = {.mu = PTHREAD_MUTEX_INITIALIZER};

static struct nubfs_region_open **bucket_of(fuse_ino_t ino)
{
    return &opens.bucket[(ino ^ (ino >> 17) ^ (ino >> 33)) % OPEN_BUCKETS];
}

void nubfs_region_open_add(struct nubfs_region_open *o, fuse_ino_t ino, const struct stat *st)
{
    o->ino = ino;
    o->st = *st;
    o->prev = NULL;
    pthread_mutex_lock(&opens.mu);
    struct nubfs_region_open **b = bucket_of(ino);
    o->next = *b;
    if (*b != NULL)
        (*b)->prev = o;
    *b = o;
    pthread_mutex_unlock(&opens.mu);
}

void nubfs_region_open_del(struct nubfs_region_open *o)
{
    pthread_mutex_lock(&opens.mu);
    if (o->prev != NULL)
        o->prev->next = o->next;
    else
        *bucket_of(o->ino) = o->next;
    if (o->next != NULL)
        o->next->prev = o->prev;
    pthread_mutex_unlock(&opens.mu);
    o->next = o->prev = NULL;
}

int nubfs_region_open_attr(fuse_ino_t ino, struct stat *st)
{
    int rc = -ENOENT;
    pthread_mutex_lock(&opens.mu);
    for (const struct nubfs_region_open *o = *bucket_of(ino); o != NULL; o = o->next) {
        if (o->ino == ino) {
            *st = o->st;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&opens.mu);
    return rc;
}
