/* The cap store's files in a directory (a persistent store, DESIGN §10;
 * docs/state.md): every cap but an empty one is the file <32 hex digits>
 * in the state directory's caps/, holding exactly its bytes. A new file
 * is written as .new-N, fsynced, and only then renamed to its hash, so a
 * crash leaves either nothing or a whole file under its name (and maybe
 * a .new-N the next start sweeps). Own-file caps are backed by their file
 * (mapped read-only); packed ones keep their slot in a memfd pack and the
 * file is their durable copy, read back into a slot at the next start. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cap_store_internal.h"
#include "hex.h"

static void tmp_name(const struct nub_cap_obj *o, char out[32])
{
    snprintf(out, 32, ".new-%llu", (unsigned long long)o->tmp_seq);
}

static int write_all(int fd, const uint8_t *p, uint64_t len)
{
    for (uint64_t done = 0; done < len;) {
        size_t want = len - done > (1u << 30) ? (1u << 30) : (size_t)(len - done);
        ssize_t n = pwrite(fd, p + done, want, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        done += (uint64_t)n;
    }
    return 0;
}

int cap_disk_new(struct nub_cap_obj *o)
{
    struct nub_cap_store *s = o->store;
    o->tmp_seq = __atomic_add_fetch(&s->tmp_next, 1, __ATOMIC_RELAXED);
    char name[32];
    tmp_name(o, name);
    int fd = openat(s->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        o->tmp_seq = 0;
        return -errno;
    }
    /* Space first: a full file system refuses here, before any copy. */
    int r = 0;
    if (o->len > 0 && (r = posix_fallocate(fd, 0, (off_t)o->len)) != 0 && r != EOPNOTSUPP &&
        r != EINVAL) {
        close(fd);
        unlinkat(s->dirfd, name, 0);
        o->tmp_seq = 0;
        return -r;
    }
    return fd;
}

int cap_disk_seal(struct nub_cap_obj *o, int fd)
{
    char name[32];
    tmp_name(o, name);
    int r = fsync(fd) == 0 ? 0 : -errno;
    /* From now on the daemon holds it read-only, as a sealed memfd. */
    int ro = r == 0 ? openat(o->store->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
    if (r == 0 && ro < 0)
        r = -errno;
    close(fd);
    return r < 0 ? r : ro;
}

int cap_disk_copy(struct nub_cap_obj *o)
{
    int fd = cap_disk_new(o);
    if (fd < 0)
        return fd;
    int r = write_all(fd, o->bytes, o->len);
    if (r == 0 && fsync(fd) != 0)
        r = -errno;
    close(fd);
    if (r < 0)
        cap_disk_unlink(o);
    return r;
}

int cap_disk_name(struct nub_cap_obj *o)
{
    struct nub_cap_store *s = o->store;
    if (s->dirfd < 0 || o->tmp_seq == 0)
        return 0;
    char from[32], to[33];
    tmp_name(o, from);
    nub_hash_to_hex(o->hash, to);
    if (renameat(s->dirfd, from, s->dirfd, to) != 0)
        return -errno;
    o->tmp_seq = 0;
    pthread_mutex_lock(&s->mu);
    s->names_dirty = true;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void cap_disk_unlink(struct nub_cap_obj *o)
{
    struct nub_cap_store *s = o->store;
    if (s->dirfd < 0 || o->len == 0)
        return;
    char name[33];
    if (o->tmp_seq != 0)
        tmp_name(o, name);
    else
        nub_hash_to_hex(o->hash, name);
    (void)unlinkat(s->dirfd, name, 0); /* a leftover is swept at the next start */
    o->tmp_seq = 0;
}

int cap_disk_open(struct nub_cap_store *s, const uint8_t hash[16], uint64_t len)
{
    char name[33];
    nub_hash_to_hex(hash, name);
    int fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ELOOP ? -EUCLEAN : -errno;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
        (uint64_t)st.st_size != len) {
        close(fd);
        return -EUCLEAN;
    }
    return fd;
}
