/* The control directory's table of files and their byte buffers (see
 * ctl.h). Plain data structure work under one short-held mutex; nothing
 * here calls the guest or the kernel. */
#include "ctl.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

struct nubfs_buf *nubfs_buf_new(size_t cap)
{
    size_t pg = page_size();
    if (cap == 0)
        cap = 1;
    if (cap > SIZE_MAX - pg)
        return NULL;
    cap = (cap + pg - 1) & ~(pg - 1);
    struct nubfs_buf *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    /* Reserved, not committed: a 256 MiB limit costs nothing until
     * written, and unwritten holes read as zero. */
    void *p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED) {
        free(b);
        return NULL;
    }
    b->p = p;
    b->cap = cap;
    b->refs = 1;
    return b;
}

struct nubfs_buf *nubfs_buf_ref(struct nubfs_buf *b)
{
    if (b != NULL)
        __atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
    return b;
}

void nubfs_buf_unref(struct nubfs_buf *b)
{
    if (b == NULL || __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    if (b->fill_free != NULL)
        b->fill_free(b->fill_ctx);
    munmap(b->p, b->cap);
    free(b);
}

/* Fills are rare (the first read of a replayed package): one lock for all. */
static pthread_mutex_t fill_mu = PTHREAD_MUTEX_INITIALIZER;

int nubfs_buf_ready(struct nubfs_buf *b)
{
    if (b == NULL || b->fill == NULL || __atomic_load_n(&b->filled, __ATOMIC_ACQUIRE))
        return 0;
    pthread_mutex_lock(&fill_mu);
    int r = 0;
    if (!__atomic_load_n(&b->filled, __ATOMIC_ACQUIRE)) {
        r = b->fill(b->fill_ctx, b);
        if (r == 0)
            __atomic_store_n(&b->filled, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&fill_mu);
    return r;
}

void nubfs_buf_resize(struct nubfs_buf *b, size_t n)
{
    if (n < b->len) {
        /* Zero the cut-off part: a partial page by hand, whole pages by
         * giving them back (they read as zero again). */
        size_t pg = page_size();
        size_t edge = (n + pg - 1) & ~(pg - 1);
        if (edge > b->len)
            edge = b->len;
        memset(b->p + n, 0, edge - n);
        if (b->len > edge)
            madvise(b->p + edge, ((b->len - edge) + pg - 1) & ~(pg - 1), MADV_DONTNEED);
    }
    b->len = n;
}

enum nubfs_ctl_name nubfs_ctl_name_kind(const char *name)
{
    size_t n = strnlen(name, NAME_MAX + 1);
    if (n == 0 || n > NAME_MAX || strchr(name, '/') != NULL)
        return NUBFS_CTL_NAME_BAD;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return NUBFS_CTL_NAME_BAD;
    if (name[0] == '.')
        return NUBFS_CTL_NAME_DOT;
    if (n <= 4 || strcmp(name + n - 4, ".rvf") != 0 || n - 4 > NUBFS_PKG_NAME_MAX)
        return NUBFS_CTL_NAME_BAD;
    /* The stem names mounts/<name>/: no control bytes in a directory name. */
    for (size_t i = 0; i < n - 4; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return NUBFS_CTL_NAME_BAD;
    return NUBFS_CTL_NAME_PKG;
}

void nubfs_ctl_mount_name(const char *ctlname, char *out)
{
    size_t n = strnlen(ctlname, NAME_MAX);
    if (n >= 4 && strcmp(ctlname + n - 4, ".rvf") == 0)
        n -= 4;
    if (n > NUBFS_PKG_NAME_MAX)
        n = NUBFS_PKG_NAME_MAX;
    memcpy(out, ctlname, n);
    out[n] = '\0';
}

int nubfs_ctl_table_init(struct nubfs *fs)
{
    struct nubfs_ctl_table *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    pthread_mutex_init(&t->mu, NULL);
    t->next_id = 1;
    t->next_mseq = 1;
    t->next_order = 1;
    fs->ctl = t;
    return 0;
}

static void entry_free(struct nubfs_ctl_entry *e)
{
    nubfs_buf_unref(e->pkg);
    nubfs_buf_unref(e->stage);
    free(e->caps);
    free(e->objs); /* at exit: the objects go with the store */
    free(e->frame);
    nubfs_mnt_names_free(e->names);
    free(e);
}

void nubfs_ctl_table_destroy(struct nubfs *fs)
{
    struct nubfs_ctl_table *t = fs->ctl;
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        entry_free(t->v[i]);
    free(t->v);
    pthread_mutex_destroy(&t->mu);
    free(t);
    fs->ctl = NULL;
}

void nubfs_ctl_lock(struct nubfs *fs)
{
    pthread_mutex_lock(&fs->ctl->mu);
}

void nubfs_ctl_unlock(struct nubfs *fs)
{
    pthread_mutex_unlock(&fs->ctl->mu);
}

struct nubfs_ctl_entry *nubfs_ctl_by_name(struct nubfs *fs, const char *name)
{
    struct nubfs_ctl_table *t = fs->ctl;
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i]->linked && strcmp(t->v[i]->name, name) == 0)
            return t->v[i];
    return NULL;
}

struct nubfs_ctl_entry *nubfs_ctl_by_id(struct nubfs *fs, uint64_t id)
{
    struct nubfs_ctl_table *t = fs->ctl;
    size_t lo = 0, hi = t->n; /* sorted by id */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->v[mid]->id == id)
            return t->v[mid];
        if (t->v[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

struct nubfs_ctl_entry *nubfs_ctl_by_mseq(struct nubfs *fs, uint64_t mseq)
{
    struct nubfs_ctl_table *t = fs->ctl;
    for (size_t i = 0; i < t->n; i++) {
        struct nubfs_ctl_entry *e = t->v[i];
        if (e->linked && e->handle != 0 && e->mseq == mseq)
            return e;
    }
    return NULL;
}

struct nubfs_ctl_entry *nubfs_ctl_new(struct nubfs *fs, const char *name, mode_t mode, uid_t uid,
                                      gid_t gid, int *err)
{
    struct nubfs_ctl_table *t = fs->ctl;
    size_t live = 0;
    for (size_t i = 0; i < t->n; i++)
        live += t->v[i]->linked;
    if (live >= NUBFS_CTL_MAX_ENTRIES) {
        *err = -ENOSPC;
        return NULL;
    }
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 16;
        void *nv = realloc(t->v, nc * sizeof(*t->v));
        if (nv == NULL) {
            *err = -ENOMEM;
            return NULL;
        }
        t->v = nv;
        t->cap = nc;
    }
    struct nubfs_ctl_entry *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        *err = -ENOMEM;
        return NULL;
    }
    e->id = t->next_id++;
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->linked = true;
    e->mode = mode & 07777;
    e->uid = uid;
    e->gid = gid;
    clock_gettime(CLOCK_REALTIME, &e->mtime);
    e->atime = e->ctime = e->mtime;
    t->v[t->n++] = e;
    return e;
}

static void drop(struct nubfs *fs, struct nubfs_ctl_entry *e)
{
    struct nubfs_ctl_table *t = fs->ctl;
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i] == e) {
            memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(*t->v));
            t->n--;
            break;
        }
    }
    entry_free(e);
}

void nubfs_ctl_remove(struct nubfs *fs, struct nubfs_ctl_entry *e)
{
    e->linked = false;
    if (e->opens == 0)
        drop(fs, e);
}

void nubfs_ctl_close(struct nubfs *fs, struct nubfs_ctl_entry *e)
{
    if (e->opens > 0)
        e->opens--;
    if (e->opens == 0 && !e->linked)
        drop(fs, e);
}

struct nubfs_ctl_entry *nubfs_ctl_at(struct nubfs *fs, size_t i)
{
    return i < fs->ctl->n ? fs->ctl->v[i] : NULL;
}

size_t nubfs_ctl_count(struct nubfs *fs, size_t *mounted, size_t *staged)
{
    struct nubfs_ctl_table *t = fs->ctl;
    size_t n = 0, m = 0, s = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (!t->v[i]->linked)
            continue;
        n++;
        if (t->v[i]->handle != 0)
            m++;
        else
            s++;
    }
    if (mounted)
        *mounted = m;
    if (staged)
        *staged = s;
    return n;
}

struct nubfs_buf *nubfs_ctl_content(struct nubfs_ctl_entry *e)
{
    return e->stage != NULL ? e->stage : e->pkg;
}
