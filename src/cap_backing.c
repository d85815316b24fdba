/* The cap store's files (docs/cap-store.md): a sealed memfd per large cap
 * (in a persistent store its file in the state directory, cap_disk.c),
 * and packs (one memfd per size class cut into equal slots) for small
 * ones. The rest of the store sees only fd, offset and a read-only
 * mapping. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cap_store_internal.h"

#define PAGE 4096ull
#define GRANULE 64u

static uint64_t round_page(uint64_t v)
{
    return (v + PAGE - 1) & ~(PAGE - 1);
}

/* Classes: 64-byte steps up to 256 B, then four per power of two (so a
 * slot wastes at most a quarter of itself) up to NUB_CAP_PACK_MAX_CLASS.
 * Every size is a multiple of 64, and from 4 KiB up a multiple of 4 KiB,
 * so the slots of a pack are page aligned and can be punched whole. */
void cap_classes_init(struct nub_cap_store *s)
{
    uint32_t n = 0;
    for (uint32_t sz = GRANULE; sz <= 256; sz += GRANULE)
        s->classes[n++].size = sz;
    for (uint32_t p = 256; p < NUB_CAP_PACK_MAX_CLASS; p *= 2)
        for (uint32_t q = 1; q <= 4; q++)
            s->classes[n++].size = p + q * (p / 4);
    s->nclasses = n;
}

uint32_t cap_class_of(const struct nub_cap_store *s, uint64_t len)
{
    uint32_t lo = 0, hi = s->nclasses - 1;
    while (lo < hi) { /* the first class that holds len */
        uint32_t mid = (lo + hi) / 2;
        if (s->classes[mid].size >= len)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static int new_memfd(const char *name, uint64_t size)
{
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -errno;
    if (ftruncate(fd, (off_t)size) != 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

/* An own file for o: a memfd, or .new-N in the store's directory. */
static int new_own(struct nub_cap_obj *o)
{
    return o->store->dirfd >= 0 ? cap_disk_new(o) : new_memfd("nubfs-cap", o->len);
}

static int map_ro(struct nub_cap_obj *o)
{
    o->map_len = round_page(o->len);
    void *m = mmap(NULL, o->map_len, PROT_READ, MAP_SHARED, o->fd, 0);
    if (m == MAP_FAILED)
        return -errno;
    o->bytes = m;
    o->offset = 0;
    return 0;
}

/* Seals the file's bytes for good and maps them read-only (a file in the
 * directory cannot be sealed: it is fsynced and held read-only). */
static int seal_and_map(struct nub_cap_obj *o)
{
    if (o->store->dirfd >= 0) {
        int fd = cap_disk_seal(o, o->fd);
        o->fd = fd;
        return fd < 0 ? fd : map_ro(o);
    }
    if (fcntl(o->fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
        return -errno;
    return map_ro(o);
}

int cap_file_zeros(struct nub_cap_obj *o)
{
    int fd = new_memfd("nubfs-damaged-cap", o->len);
    if (fd < 0)
        return fd;
    o->fd = fd;
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        int e = -errno;
        cap_file_close(o);
        return e;
    }
    int r = map_ro(o);
    if (r < 0)
        cap_file_close(o);
    return r;
}

int cap_file_adopt(struct nub_cap_obj *o, int fd)
{
    o->fd = fd;
    int r = map_ro(o);
    if (r < 0)
        cap_file_close(o);
    return r;
}

int cap_file_make(struct nub_cap_obj *o, const void *data)
{
    int fd = new_own(o);
    if (fd < 0)
        return fd;
    o->fd = fd;
    const uint8_t *p = data;
    for (uint64_t done = 0; done < o->len;) {
        ssize_t n = pwrite(fd, p + done, o->len - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? -errno : -EIO;
            cap_file_close(o);
            return e;
        }
        done += (uint64_t)n;
    }
    int r = seal_and_map(o);
    if (r < 0)
        cap_file_close(o);
    return r;
}

int cap_file_make_fd(struct nub_cap_obj *o, int src)
{
    int fd = new_own(o);
    if (fd < 0)
        return fd;
    o->fd = fd;
    off_t in = 0, out = 0;
    bool copy_range = true;
    char *buf = NULL;
    int r = 0;
    while ((uint64_t)out < o->len) {
        size_t want = o->len - (uint64_t)out > (1u << 20) ? (1u << 20) : o->len - (uint64_t)out;
        ssize_t n = -1;
        if (copy_range) {
            n = copy_file_range(src, &in, fd, &out, want, 0);
            if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                          errno == EOPNOTSUPP)) {
                copy_range = false;
                continue;
            }
        } else {
            if (buf == NULL && (buf = malloc(1u << 20)) == NULL) {
                r = -ENOMEM;
                break;
            }
            n = pread(src, buf, want, in);
            if (n > 0) {
                ssize_t w = pwrite(fd, buf, (size_t)n, out);
                if (w != n) {
                    r = w < 0 ? -errno : -EIO;
                    break;
                }
                in += n;
                out += n;
            }
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            break;
        }
        if (n == 0) { /* the file shrank under us */
            r = -EAGAIN;
            break;
        }
    }
    free(buf);
    if (r == 0)
        r = seal_and_map(o);
    if (r < 0)
        cap_file_close(o);
    return r;
}

void cap_file_close(struct nub_cap_obj *o)
{
    if (o->bytes != NULL)
        munmap((void *)o->bytes, o->map_len);
    o->bytes = NULL;
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
}

/* ---- packs ---------------------------------------------------------------- */

static void list_add(struct cap_class *c, struct cap_pack *p)
{
    p->prev = NULL;
    p->next = c->avail;
    if (c->avail != NULL)
        c->avail->prev = p;
    c->avail = p;
    p->listed = true;
}

static void list_remove(struct cap_class *c, struct cap_pack *p)
{
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        c->avail = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
    p->listed = false;
}

int cap_pack_take_slot(struct nub_cap_store *s, uint32_t cls, struct nub_cap_obj *o)
{
    struct cap_class *c = &s->classes[cls];
    struct cap_pack *p = c->avail;
    if (p == NULL)
        return -EAGAIN;
    uint32_t slot = p->nfree > 0 ? p->freev[--p->nfree] : p->bump++;
    p->live++;
    if (p->nfree == 0 && p->bump == p->nslots)
        list_remove(c, p);
    o->pack = p;
    o->slot = slot;
    o->fd = p->fd;
    o->offset = (off_t)slot * c->size;
    o->bytes = p->map + o->offset;
    o->gpa = p->gpa + (uint64_t)o->offset;
    return 0;
}

void cap_pack_destroy(struct cap_pack *p)
{
    if (p->map != NULL)
        munmap(p->map, NUB_CAP_PACK_SIZE);
    if (p->fd >= 0)
        close(p->fd);
    free(p->freev);
    free(p);
}

int cap_pack_new(struct nub_cap_store *s, uint32_t cls)
{
    struct cap_pack *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return -ENOMEM;
    p->cls = cls;
    p->fd = -1;
    uint32_t size = s->classes[cls].size;
    p->nslots = NUB_CAP_PACK_SIZE / size;
    int r = new_memfd("nubfs-pack", NUB_CAP_PACK_SIZE);
    if (r < 0)
        goto fail;
    p->fd = r;
    /* Fixed size for good; no write seal: later slots are written, and
     * freed ones punched, through the store's own mapping (the guest's
     * slot is read-only). */
    if (fcntl(p->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        r = -errno;
        goto fail;
    }
    void *m = mmap(NULL, NUB_CAP_PACK_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, 0);
    if (m == MAP_FAILED) {
        r = -errno;
        goto fail;
    }
    p->map = m;
    pthread_mutex_lock(&s->mu);
    r = nub_cap_window_alloc(&s->window, NUB_CAP_PACK_SIZE, &p->gpa);
    pthread_mutex_unlock(&s->mu);
    if (r < 0)
        goto fail;
    if (s->o.mapper.map != NULL &&
        (r = s->o.mapper.map(s->o.mapper.ctx, p->gpa, NUB_CAP_PACK_SIZE, p->map, p->fd, 0)) < 0) {
        pthread_mutex_lock(&s->mu);
        nub_cap_window_free(&s->window, p->gpa, NUB_CAP_PACK_SIZE);
        pthread_mutex_unlock(&s->mu);
        goto fail;
    }
    pthread_mutex_lock(&s->mu);
    list_add(&s->classes[cls], p);
    p->all_next = s->all_packs;
    if (s->all_packs != NULL)
        s->all_packs->all_prev = p;
    s->all_packs = p;
    s->st.packs++;
    s->st.slots++;
    pthread_mutex_unlock(&s->mu);
    return 0;
fail:
    cap_pack_destroy(p);
    return r;
}

struct pack_gone {
    struct nub_cap_store *s;
    struct cap_pack *p;
};

/* The guest no longer sees the pack: its range and file go. */
static void pack_unmapped(void *arg)
{
    struct pack_gone *g = arg;
    pthread_mutex_lock(&g->s->mu);
    nub_cap_window_free(&g->s->window, g->p->gpa, NUB_CAP_PACK_SIZE);
    pthread_mutex_unlock(&g->s->mu);
    cap_pack_destroy(g->p);
    free(g);
}

void cap_pack_give_slot(struct nub_cap_store *s, struct nub_cap_obj *o)
{
    struct cap_pack *p = o->pack;
    uint32_t size = s->classes[p->cls].size;
    /* Punch the pages the slot covers whole, before the slot can be handed
     * out again: the memory goes back to the kernel now. */
    uint64_t lo = round_page((uint64_t)o->offset), hi = ((uint64_t)o->offset + size) & ~(PAGE - 1);
    if (lo < hi)
        (void)fallocate(p->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)lo,
                        (off_t)(hi - lo));
    pthread_mutex_lock(&s->mu);
    int grown = 0;
    if (p->nfree == p->free_cap) {
        uint32_t cap = p->free_cap ? p->free_cap * 2 : 64;
        uint32_t *v = realloc(p->freev, cap * sizeof(*v));
        if (v != NULL) {
            p->freev = v;
            p->free_cap = cap;
        } else {
            grown = -1; /* no memory: the slot is lost until the pack empties */
        }
    }
    if (grown == 0)
        p->freev[p->nfree++] = o->slot;
    p->live--;
    bool empty = p->live == 0;
    struct cap_class *c = &s->classes[p->cls];
    if (empty) {
        if (p->listed)
            list_remove(c, p);
        if (p->all_prev != NULL)
            p->all_prev->all_next = p->all_next;
        else
            s->all_packs = p->all_next;
        if (p->all_next != NULL)
            p->all_next->all_prev = p->all_prev;
        s->st.packs--;
        s->st.slots--;
    } else if (!p->listed && grown == 0) {
        list_add(c, p);
    }
    pthread_mutex_unlock(&s->mu);
    if (!empty)
        return;
    struct pack_gone *g = malloc(sizeof(*g));
    if (g == NULL) {
        /* Cannot track the unmap: keep the pack's memory rather than
         * risk freeing it under the guest. */
        return;
    }
    *g = (struct pack_gone){s, p};
    if (s->o.mapper.unmap == NULL || s->o.mapper.unmap(s->o.mapper.ctx, p->gpa, pack_unmapped, g) != 0)
        pack_unmapped(g);
}
