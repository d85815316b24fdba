/* The cap store: the hash index, references, the limit and the own-file
 * budget, and find-or-create (see cap_store.h; files in cap_backing.c). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cap_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "cap_store_internal.h"
#include "hex.h"
#include "nub/abi.h"
#include "rvf.h"

#define PAGE 4096ull
/* fds kept free for everything else the daemon opens. */
#define FD_RESERVE 1024u
/* KVM slots kept for packs when large caps use up the rest. */
#define PACK_SLOT_RESERVE 512u

static uint64_t bucket_of(const struct nub_cap_store *s, const uint8_t hash[16])
{
    return XXH3_64bits_withSeed(hash, 16, s->seed) & (s->nbuckets - 1);
}

static struct nub_cap_obj *find_locked(const struct nub_cap_store *s, const uint8_t hash[16])
{
    for (struct nub_cap_obj *o = s->buckets[bucket_of(s, hash)]; o != NULL; o = o->next)
        if (memcmp(o->hash, hash, 16) == 0)
            return o;
    return NULL;
}

/* Doubles the table at load 1 (no memory: keep the longer chains). */
static void grow_locked(struct nub_cap_store *s)
{
    if (s->st.objects < s->nbuckets || s->nbuckets > (UINT64_MAX >> 2) / sizeof(void *))
        return;
    uint64_t n = s->nbuckets * 2;
    struct nub_cap_obj **b = calloc(n, sizeof(*b));
    if (b == NULL)
        return;
    for (uint64_t i = 0; i < s->nbuckets; i++) {
        for (struct nub_cap_obj *o = s->buckets[i], *next; o != NULL; o = next) {
            next = o->next;
            uint64_t k = XXH3_64bits_withSeed(o->hash, 16, s->seed) & (n - 1);
            o->next = b[k];
            b[k] = o;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
}

static void insert_locked(struct nub_cap_store *s, struct nub_cap_obj *o)
{
    uint64_t k = bucket_of(s, o->hash);
    o->next = s->buckets[k];
    s->buckets[k] = o;
    o->indexed = true;
    s->st.objects++;
    s->st.bytes += o->len;
    grow_locked(s);
}

static void remove_locked(struct nub_cap_store *s, struct nub_cap_obj *o)
{
    struct nub_cap_obj **pp = &s->buckets[bucket_of(s, o->hash)];
    while (*pp != NULL && *pp != o)
        pp = &(*pp)->next;
    if (*pp == o)
        *pp = o->next;
    o->indexed = false;
    s->st.objects--;
    s->st.bytes -= o->len;
}

static bool open_only(const struct nub_cap_obj *o)
{
    return o->opens > 0 && o->refs == o->opens;
}

/* Applies a change of refs/opens, keeping the open-only counters. */
static void adjust_locked(struct nub_cap_store *s, struct nub_cap_obj *o, int drefs, int dopens)
{
    bool was = open_only(o);
    o->refs = (uint32_t)((int64_t)o->refs + drefs);
    o->opens = (uint32_t)((int64_t)o->opens + dopens);
    bool is = open_only(o);
    if (was != is) {
        if (is) {
            s->st.open_only++;
            s->st.open_only_bytes += o->len;
        } else {
            s->st.open_only--;
            s->st.open_only_bytes -= o->len;
        }
    }
}

int nub_cap_store_new(const struct nub_cap_store_opts *o, struct nub_cap_store **out)
{
    *out = NULL;
    uint64_t file_min = o->file_min ? o->file_min : NUB_CAP_FILE_MIN_DEFAULT;
    if (file_min > NUB_CAP_PACK_MAX_CLASS)
        return -EINVAL;
    struct nub_cap_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->o = *o;
    s->o.file_min = file_min;
    s->dirfd = -1;
    if (o->in_dir && (s->dirfd = fcntl(o->dirfd, F_DUPFD_CLOEXEC, 3)) < 0) {
        int e = -errno;
        free(s);
        return e;
    }
    int r = nub_cap_window_init(&s->window, o->window_gpa, o->window_size);
    if (r < 0) {
        if (s->dirfd >= 0)
            close(s->dirfd);
        free(s);
        return r;
    }
    s->nbuckets = 1024;
    s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
    if (s->buckets == NULL || getrandom(&s->seed, sizeof(s->seed), 0) != sizeof(s->seed)) {
        r = s->buckets == NULL ? -ENOMEM : -EIO;
        nub_cap_window_destroy(&s->window);
        if (s->dirfd >= 0)
            close(s->dirfd);
        free(s->buckets);
        free(s);
        return r;
    }
    cap_classes_init(s);
    s->max_files = o->max_files;
    if (s->max_files == 0) {
        struct rlimit rl;
        uint64_t lim = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
        s->max_files = lim > 2 * FD_RESERVE ? (uint32_t)(lim - FD_RESERVE) : (uint32_t)(lim / 2);
    }
    s->st.limit = o->limit;
    s->st.file_min = file_min;
    s->st.window_free = s->window.free_bytes;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->create_mu, NULL);
    *out = s;
    return 0;
}

void nub_cap_store_free(struct nub_cap_store *s)
{
    if (s == NULL)
        return;
    for (uint64_t i = 0; i < s->nbuckets; i++) {
        for (struct nub_cap_obj *o = s->buckets[i], *next; o != NULL; o = next) {
            next = o->next;
            if (o->own_file)
                cap_file_close(o);
            free(o);
        }
    }
    for (struct cap_pack *p = s->all_packs, *next; p != NULL; p = next) {
        next = p->all_next;
        cap_pack_destroy(p);
    }
    free(s->buckets);
    nub_cap_window_destroy(&s->window);
    if (s->dirfd >= 0)
        close(s->dirfd); /* the files stay: they are what the next start finds */
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->create_mu);
    free(s);
}

/* ---- teardown --------------------------------------------------------------- */

/* The guest no longer sees the object's own file: its range and fd go. */
static void file_unmapped(void *arg)
{
    struct nub_cap_obj *o = arg;
    struct nub_cap_store *s = o->store;
    cap_file_close(o);
    pthread_mutex_lock(&s->mu);
    nub_cap_window_free(&s->window, o->gpa, o->alloc);
    s->st.window_free = s->window.free_bytes;
    pthread_mutex_unlock(&s->mu);
    free(o);
}

/* An object nobody holds (already out of the index and the accounting):
 * its slot or file goes. An own file whose unmap cannot even be queued is
 * kept (mapped), never freed under the guest or a host reader. */
static void teardown(struct nub_cap_store *s, struct nub_cap_obj *o, bool mapped)
{
    if (s->o.release_hook != NULL)
        s->o.release_hook(s->o.release_ctx, o);
    if (s->dirfd >= 0) {
        /* Its file goes, unless a newer object of the same hash (made
         * since it left the index) has taken the name. */
        pthread_mutex_lock(&s->create_mu);
        pthread_mutex_lock(&s->mu);
        bool taken = find_locked(s, o->hash) != NULL;
        pthread_mutex_unlock(&s->mu);
        if (!taken && o->tmp_seq == 0 && s->o.file_wanted != NULL)
            taken = s->o.file_wanted(s->o.wanted_ctx, o->hash);
        if (!taken || o->tmp_seq != 0)
            cap_disk_unlink(o);
        pthread_mutex_unlock(&s->create_mu);
    }
    if (o->pack != NULL) {
        cap_pack_give_slot(s, o);
        free(o);
    } else if (o->own_file && mapped && s->o.mapper.unmap != NULL) {
        (void)s->o.mapper.unmap(s->o.mapper.ctx, o->gpa, file_unmapped, o);
    } else if (o->own_file) {
        file_unmapped(o);
    } else {
        free(o);
    }
}

/* Gives back what reserve_locked counted for o. */
static void unreserve_locked(struct nub_cap_store *s, const struct nub_cap_obj *o)
{
    s->st.used -= o->alloc;
    if (o->own_file) {
        s->st.files--;
        s->st.slots--;
    } else if (o->len > 0) {
        s->st.packed--;
    }
}

void nub_cap_obj_unref(struct nub_cap_obj *o)
{
    if (o == NULL)
        return;
    struct nub_cap_store *s = o->store;
    pthread_mutex_lock(&s->mu);
    adjust_locked(s, o, -1, 0);
    bool last = o->refs == 0;
    if (last) {
        if (o->indexed)
            remove_locked(s, o);
        unreserve_locked(s, o);
    }
    pthread_mutex_unlock(&s->mu);
    if (last)
        teardown(s, o, true);
}

static struct nub_cap_obj *add_ref(struct nub_cap_obj *o, int dopens)
{
    pthread_mutex_lock(&o->store->mu);
    adjust_locked(o->store, o, +1, dopens);
    pthread_mutex_unlock(&o->store->mu);
    return o;
}

struct nub_cap_obj *nub_cap_obj_ref(struct nub_cap_obj *o)
{
    return add_ref(o, 0);
}

struct nub_cap_obj *nub_cap_obj_open_ref(struct nub_cap_obj *o)
{
    return add_ref(o, +1);
}

void nub_cap_obj_close(struct nub_cap_obj *o)
{
    if (o == NULL)
        return;
    pthread_mutex_lock(&o->store->mu);
    adjust_locked(o->store, o, 0, -1);
    pthread_mutex_unlock(&o->store->mu);
    nub_cap_obj_unref(o);
}

int nub_cap_obj_set_backing_id(struct nub_cap_obj *o, int id)
{
    int expected = 0;
    if (__atomic_compare_exchange_n(&o->backing_id, &expected, id, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return id;
    return expected;
}

static struct nub_cap_obj *get(struct nub_cap_store *s, const uint8_t hash[16], bool as_open)
{
    pthread_mutex_lock(&s->mu);
    struct nub_cap_obj *o = find_locked(s, hash);
    if (o != NULL)
        adjust_locked(s, o, +1, as_open ? +1 : 0);
    pthread_mutex_unlock(&s->mu);
    return o;
}

struct nub_cap_obj *nub_cap_store_get(struct nub_cap_store *s, const uint8_t hash[16])
{
    return get(s, hash, false);
}

struct nub_cap_obj *nub_cap_store_open(struct nub_cap_store *s, const uint8_t hash[16])
{
    return get(s, hash, true);
}

/* ---- creating objects ------------------------------------------------------- */

/* Decides o's backing and counts it against the limit (lock held):
 * a file of its own for a large cap while the budget allows, else a
 * pack slot if a class holds it. -ENOSPC over the limit or the window. */
static int reserve_locked(struct nub_cap_store *s, struct nub_cap_obj *o, bool slots_left)
{
    if (o->len == 0) {
        o->gpa = s->o.window_gpa;
        return 0;
    }
    bool big = o->len >= s->o.file_min || o->len > NUB_CAP_PACK_MAX_CLASS;
    bool file_ok = s->st.files < s->max_files && slots_left;
    o->own_file = big && (file_ok || o->len > NUB_CAP_PACK_MAX_CLASS);
    if (o->own_file && !file_ok)
        return -ENOSPC; /* too big for a pack, and no file budget left */
    o->alloc = o->own_file ? (o->len + PAGE - 1) & ~(PAGE - 1)
                           : s->classes[cap_class_of(s, o->len)].size;
    if (o->alloc < o->len) /* a length near 2^64 */
        return -ENOSPC;
    if (s->o.limit != 0 && (o->alloc > s->o.limit || s->st.used > s->o.limit - o->alloc))
        return -ENOSPC;
    if (o->own_file) {
        int r = nub_cap_window_alloc(&s->window, o->alloc, &o->gpa);
        if (r < 0)
            return r;
        s->st.window_free = s->window.free_bytes;
        s->st.files++;
        s->st.slots++;
    } else {
        s->st.packed++;
    }
    s->st.used += o->alloc;
    return 0;
}

/* Undoes a fresh object that never reached the index (nor the guest):
 * its accounting, its file or slot, its window range. */
static void discard_new(struct nub_cap_store *s, struct nub_cap_obj *o)
{
    pthread_mutex_lock(&s->mu);
    unreserve_locked(s, o);
    pthread_mutex_unlock(&s->mu);
    cap_disk_unlink(o); /* its .new-N, or the name it got (create_mu held) */
    if (o->own_file) {
        file_unmapped(o); /* closes what was made, frees the range and o */
    } else {
        if (o->pack != NULL)
            cap_pack_give_slot(s, o);
        free(o);
    }
}

/* A slot of class cls for o, making a new pack when all are full (lock
 * NOT held). 0 or -errno. */
static int take_slot(struct nub_cap_store *s, uint32_t cls, struct nub_cap_obj *o)
{
    for (;;) {
        pthread_mutex_lock(&s->mu);
        int r = cap_pack_take_slot(s, cls, o);
        pthread_mutex_unlock(&s->mu);
        if (r != -EAGAIN || (r = cap_pack_new(s, cls)) < 0)
            return r;
    }
}

struct source {
    const void *data; /* or */
    int fd;
};

/* Fills o (already reserved) from src: its file, or its slot (lock NOT
 * held; a slot may need a new pack first). */
static int fill(struct nub_cap_store *s, struct nub_cap_obj *o, const struct source *src)
{
    if (o->len == 0)
        return 0;
    if (o->own_file)
        return src->data != NULL ? cap_file_make(o, src->data) : cap_file_make_fd(o, src->fd);
    uint32_t cls = cap_class_of(s, o->len);
    int r = take_slot(s, cls, o);
    if (r < 0)
        return r;
    uint8_t *dst = o->pack->map + o->offset;
    uint32_t size = s->classes[cls].size;
    if (src->data != NULL) {
        memcpy(dst, src->data, o->len);
    } else {
        for (uint64_t done = 0; done < o->len;) {
            ssize_t n = pread(src->fd, dst + done, o->len - done, (off_t)done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return n < 0 ? -errno : -EAGAIN; /* the file shrank */
            done += (uint64_t)n;
        }
    }
    /* A reused slot may hold an older cap's tail: the guest sees zeros. */
    memset(dst + o->len, 0, size - o->len);
    return s->dirfd >= 0 ? cap_disk_copy(o) : 0;
}

static bool same_bytes(const struct nub_cap_obj *x, const void *data, uint64_t len)
{
    return x->len == len && (len == 0 || memcmp(x->bytes, data, len) == 0);
}

/* Compares len bytes of fd a (from 0) with fd b or with mem: 1 equal,
 * 0 different (or shorter), -errno. */
static int same_fd(int a, int b, const uint8_t *mem, uint64_t len)
{
    enum { CHUNK = 1u << 20 };
    uint8_t *x = malloc(CHUNK), *y = b >= 0 ? malloc(CHUNK) : NULL;
    int r = x == NULL || (b >= 0 && y == NULL) ? -ENOMEM : 1;
    for (uint64_t done = 0; r == 1 && done < len;) {
        size_t want = len - done > CHUNK ? CHUNK : (size_t)(len - done);
        ssize_t n = pread(a, x, want, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? -errno : 0;
            break;
        }
        const uint8_t *other = mem != NULL ? mem + done : y;
        for (size_t got = 0; b >= 0 && r == 1 && got < (size_t)n;) {
            ssize_t m = pread(b, y + got, (size_t)n - got, (off_t)(done + got));
            if (m < 0 && errno == EINTR)
                continue;
            if (m <= 0)
                r = m < 0 ? -errno : 0;
            else
                got += (size_t)m;
        }
        if (r == 1 && memcmp(x, other, (size_t)n) != 0)
            r = 0;
        done += (uint64_t)n;
    }
    free(x);
    free(y);
    return r;
}

/* XXH3-128 (canonical, as rvf_hash128) of fd's first len bytes. */
static int hash_fd(int fd, uint64_t len, uint8_t out[16])
{
    enum { CHUNK = 1u << 20 };
    XXH3_state_t *st = XXH3_createState();
    uint8_t *buf = malloc(CHUNK);
    int r = st == NULL || buf == NULL ? -ENOMEM : 0;
    if (r == 0)
        XXH3_128bits_reset(st);
    for (uint64_t done = 0; r == 0 && done < len;) {
        size_t want = len - done > CHUNK ? CHUNK : (size_t)(len - done);
        ssize_t n = pread(fd, buf, want, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            r = n < 0 ? -errno : -EAGAIN; /* the file shrank */
        else {
            XXH3_128bits_update(st, buf, (size_t)n);
            done += (uint64_t)n;
        }
    }
    if (r == 0) {
        XXH128_canonical_t c;
        XXH128_canonicalFromHash(&c, XXH3_128bits_digest(st));
        memcpy(out, c.digest, 16);
    }
    free(buf);
    XXH3_freeState(st);
    return r;
}

/* A persistent store, a file's contents (preload at every start): if the
 * cap is already an object, or already its file in the directory with
 * the same length and the same bytes, that is taken as it is: nothing is
 * written again. 1: neither (create it), 0 taken (*out), -errno. */
static int put_fd_existing(struct nub_cap_store *s, int src, uint64_t len, uint16_t kind,
                           uint8_t *hash_out, struct nub_cap_obj **out)
{
    if (len == 0)
        return 1;
    uint8_t h[16];
    int r = hash_fd(src, len, h);
    if (r < 0)
        return r;
    struct nub_cap_obj *x = get(s, h, false);
    if (x == NULL) {
        int fd = cap_disk_open(s, h, len); /* a regular file of len bytes, or not */
        if (fd < 0)
            return 1;
        r = same_fd(src, fd, NULL, len);
        close(fd);
        if (r != 1)
            return r < 0 ? r : 1; /* other bytes under the name: rewritten */
        if ((r = nub_cap_store_adopt(s, h, len, kind, &x)) != 0)
            return r == -ENOENT || r == -EUCLEAN ? 1 : r;
        __atomic_fetch_add(&s->st.reused, 1, __ATOMIC_RELAXED);
    } else {
        r = nub_cap_obj_intact(x, NULL) != 0 ? -EIO
            : x->len != len                  ? 0
                                             : same_fd(src, -1, x->bytes, len);
        if (r != 1) {
            nub_cap_obj_unref(x);
            if (hash_out != NULL)
                memcpy(hash_out, h, 16);
            return r < 0 ? r : -EEXIST;
        }
        __atomic_fetch_add(&s->st.shared, 1, __ATOMIC_RELAXED);
    }
    if (hash_out != NULL)
        memcpy(hash_out, h, 16);
    *out = x;
    return 0;
}

/* The common path. src.data with hash given (trusted), or src.fd with the
 * hash computed from the stored copy. forged: the hash is not the data's
 * and must be new. */
static int put(struct nub_cap_store *s, const uint8_t *hash_in, const struct source *src,
               uint64_t len, uint16_t kind, bool forged, uint8_t *hash_out,
               struct nub_cap_obj **out, bool *created)
{
    *out = NULL;
    if (created != NULL)
        *created = false;
    struct nub_cap_obj *x;
    if (hash_in != NULL && (x = get(s, hash_in, false)) != NULL)
        goto found;
    /* One creator at a time: no two objects for one hash. */
    pthread_mutex_lock(&s->create_mu);
    if (hash_in != NULL && (x = get(s, hash_in, false)) != NULL) {
        pthread_mutex_unlock(&s->create_mu);
        goto found;
    }
    bool slots_left = s->o.mapper.slots_free == NULL ||
                      s->o.mapper.slots_free(s->o.mapper.ctx) > PACK_SLOT_RESERVE;
    struct nub_cap_obj *o = calloc(1, sizeof(*o));
    if (o == NULL) {
        pthread_mutex_unlock(&s->create_mu);
        return -ENOMEM;
    }
    o->store = s;
    o->fd = -1;
    o->len = len;
    o->kind = kind;
    o->refs = 1;
    if (hash_in != NULL)
        memcpy(o->hash, hash_in, 16);
    pthread_mutex_lock(&s->mu);
    int r = reserve_locked(s, o, slots_left);
    if (r < 0)
        s->st.nospc_refused++;
    pthread_mutex_unlock(&s->mu);
    if (r < 0) {
        pthread_mutex_unlock(&s->create_mu);
        free(o);
        return r;
    }
    r = fill(s, o, src);
    if (r < 0) {
        discard_new(s, o);
        pthread_mutex_unlock(&s->create_mu);
        return r;
    }
    if (hash_in == NULL) {
        rvf_hash128(o->bytes, o->len, o->hash);
        if ((x = get(s, o->hash, false)) != NULL) {
            bool same = nub_cap_obj_intact(x, NULL) == 0 && same_bytes(x, o->bytes, o->len);
            discard_new(s, o);
            pthread_mutex_unlock(&s->create_mu);
            if (hash_out != NULL)
                memcpy(hash_out, x->hash, 16);
            if (!same) {
                nub_cap_obj_unref(x);
                return -EEXIST;
            }
            __atomic_fetch_add(&s->st.shared, 1, __ATOMIC_RELAXED);
            *out = x;
            return 0;
        }
    }
    if ((r = cap_disk_name(o)) < 0 ||
        (o->own_file && s->o.mapper.map != NULL &&
         (r = s->o.mapper.map(s->o.mapper.ctx, o->gpa, o->map_len, o->bytes, o->fd, 0)) < 0)) {
        discard_new(s, o);
        pthread_mutex_unlock(&s->create_mu);
        return r == -ENOSPC ? -ENOSPC : r;
    }
    pthread_mutex_lock(&s->mu);
    insert_locked(s, o);
    s->st.created++;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_unlock(&s->create_mu);
    if (hash_out != NULL)
        memcpy(hash_out, o->hash, 16);
    if (created != NULL)
        *created = true;
    *out = o;
    return 0;

found:
    if (nub_cap_obj_intact(x, NULL) != 0) {
        /* Its file is damaged: its bytes cannot even be compared. */
        nub_cap_obj_unref(x);
        return -EIO;
    }
    if (forged || !same_bytes(x, src->data, len)) {
        nub_cap_obj_unref(x);
        __atomic_fetch_add(&s->st.exists_refused, 1, __ATOMIC_RELAXED);
        return -EEXIST;
    }
    __atomic_fetch_add(&s->st.shared, 1, __ATOMIC_RELAXED);
    *out = x;
    return 0;
}

int nub_cap_store_put(struct nub_cap_store *s, const uint8_t hash[16], const void *data,
                      uint64_t len, uint16_t kind, struct nub_cap_obj **out, bool *created)
{
    if (data == NULL && len != 0)
        return -EINVAL;
    struct source src = {.data = data != NULL ? data : "", .fd = -1};
    return put(s, hash, &src, len, kind, false, NULL, out, created);
}

int nub_cap_store_put_fd(struct nub_cap_store *s, int fd, uint64_t len, uint16_t kind,
                         uint8_t hash_out[16], struct nub_cap_obj **out, bool *created)
{
    if (s->dirfd >= 0) {
        if (created != NULL)
            *created = false;
        int r = put_fd_existing(s, fd, len, kind, hash_out, out);
        if (r <= 0)
            return r;
    }
    struct source src = {.data = NULL, .fd = fd};
    return put(s, NULL, &src, len, kind, false, hash_out, out, created);
}

int nub_cap_store_put_forged(struct nub_cap_store *s, const uint8_t hash[16], const void *data,
                             uint64_t len, uint16_t kind, struct nub_cap_obj **out)
{
    struct source src = {.data = data != NULL ? data : "", .fd = -1};
    return put(s, hash, &src, len, kind, true, NULL, out, NULL);
}

void nub_cap_store_stats(struct nub_cap_store *s, struct nub_cap_store_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    out->created = __atomic_load_n(&s->st.created, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&s->mu);
}

/* ---- a persistent store: restart, durability, checks -------------------------- */

int nub_cap_store_adopt(struct nub_cap_store *s, const uint8_t hash[16], uint64_t len,
                        uint16_t kind, struct nub_cap_obj **out)
{
    *out = NULL;
    struct nub_cap_obj *x = get(s, hash, false);
    if (x != NULL) {
        if (x->len != len) {
            nub_cap_obj_unref(x);
            return -EEXIST;
        }
        *out = x;
        return 0;
    }
    if (s->dirfd < 0)
        return -ENOENT;
    pthread_mutex_lock(&s->create_mu);
    if ((x = get(s, hash, false)) != NULL) {
        pthread_mutex_unlock(&s->create_mu);
        if (x->len != len) {
            nub_cap_obj_unref(x);
            return -EEXIST;
        }
        *out = x;
        return 0;
    }
    int fd = len > 0 ? cap_disk_open(s, hash, len) : -1;
    /* A data cap whose file has the wrong size: adopted damaged. */
    bool damaged = fd == -EUCLEAN && kind == NUB_CAP_DATA;
    if (fd < 0 && len > 0 && !damaged) {
        pthread_mutex_unlock(&s->create_mu);
        return fd;
    }
    bool slots_left = s->o.mapper.slots_free == NULL ||
                      s->o.mapper.slots_free(s->o.mapper.ctx) > PACK_SLOT_RESERVE;
    struct nub_cap_obj *o = calloc(1, sizeof(*o));
    int r = o == NULL ? -ENOMEM : 0;
    if (o != NULL) {
        o->store = s;
        o->fd = -1;
        o->len = len;
        o->kind = kind;
        o->refs = 1;
        memcpy(o->hash, hash, 16);
        pthread_mutex_lock(&s->mu);
        r = reserve_locked(s, o, slots_left);
        if (r < 0)
            s->st.nospc_refused++;
        pthread_mutex_unlock(&s->mu);
        if (r < 0) {
            free(o);
            o = NULL;
        }
    }
    if (r == 0 && damaged) {
        o->damaged = 1;
        if (o->own_file) {
            r = cap_file_zeros(o);
            if (r == 0 && s->o.mapper.map != NULL)
                r = s->o.mapper.map(s->o.mapper.ctx, o->gpa, o->map_len, o->bytes, o->fd, 0);
        } else {
            uint32_t cls = cap_class_of(s, len);
            r = take_slot(s, cls, o);
            if (r == 0)
                memset(o->pack->map + o->offset, 0, s->classes[cls].size);
        }
    } else if (r == 0 && len > 0 && o->own_file) {
        r = cap_file_adopt(o, fd); /* takes fd */
        fd = -1;
        if (r == 0 && s->o.mapper.map != NULL)
            r = s->o.mapper.map(s->o.mapper.ctx, o->gpa, o->map_len, o->bytes, o->fd, 0);
    } else if (r == 0 && len > 0) {
        /* Packed: its bytes back into a slot of a memfd pack. */
        uint32_t cls = cap_class_of(s, len);
        r = take_slot(s, cls, o);
        uint8_t *dst = r == 0 ? o->pack->map + o->offset : NULL;
        for (uint64_t done = 0; r == 0 && done < len;) {
            ssize_t n = pread(fd, dst + done, len - done, (off_t)done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                r = n < 0 ? -errno : -EUCLEAN; /* shrank under us */
            else
                done += (uint64_t)n;
        }
        if (r == 0)
            memset(dst + len, 0, s->classes[cls].size - len);
    }
    if (fd >= 0)
        close(fd);
    if (r < 0 && o != NULL) {
        /* Not ours to delete: the file stays for what the caller decides. */
        o->tmp_seq = 0;
        pthread_mutex_lock(&s->mu);
        unreserve_locked(s, o);
        pthread_mutex_unlock(&s->mu);
        if (o->own_file) {
            file_unmapped(o);
        } else {
            if (o->pack != NULL)
                cap_pack_give_slot(s, o);
            free(o);
        }
    }
    if (r == 0) {
        pthread_mutex_lock(&s->mu);
        insert_locked(s, o);
        if (damaged)
            s->st.damaged++;
        pthread_mutex_unlock(&s->mu);
        *out = o;
    }
    pthread_mutex_unlock(&s->create_mu);
    return r;
}

/* Lock held: the damage check of nub_cap_obj_intact. */
static int intact_locked(struct nub_cap_store *s, struct nub_cap_obj *o, bool *first)
{
    if (first != NULL)
        *first = false;
    if (__atomic_load_n(&o->damaged, __ATOMIC_ACQUIRE))
        return -EIO;
    if (s->dirfd < 0 || !o->own_file || o->len == 0)
        return 0; /* a sealed memfd or a pack slot cannot shrink */
    struct stat st;
    if (fstat(o->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
        (uint64_t)st.st_size >= o->len)
        return 0;
    if (__atomic_exchange_n(&o->damaged, 1, __ATOMIC_ACQ_REL) == 0) {
        s->st.damaged++;
        if (first != NULL)
            *first = true;
    }
    return -EIO;
}

int nub_cap_obj_intact(struct nub_cap_obj *o, bool *first)
{
    if (first != NULL)
        *first = false;
    if (__atomic_load_n(&o->damaged, __ATOMIC_ACQUIRE))
        return -EIO;
    pthread_mutex_lock(&o->store->mu);
    int r = intact_locked(o->store, o, first);
    pthread_mutex_unlock(&o->store->mu);
    return r;
}

int nub_cap_store_intact(struct nub_cap_store *s, const uint8_t hash[16])
{
    pthread_mutex_lock(&s->mu);
    struct nub_cap_obj *o = find_locked(s, hash);
    int r = o != NULL ? intact_locked(s, o, NULL) : 0;
    pthread_mutex_unlock(&s->mu);
    return r;
}

int nub_cap_store_sync(struct nub_cap_store *s)
{
    if (s->dirfd < 0)
        return 0;
    pthread_mutex_lock(&s->mu);
    bool dirty = s->names_dirty;
    s->names_dirty = false;
    pthread_mutex_unlock(&s->mu);
    if (!dirty || fsync(s->dirfd) == 0)
        return 0;
    int e = -errno;
    pthread_mutex_lock(&s->mu);
    s->names_dirty = true;
    pthread_mutex_unlock(&s->mu);
    return e;
}

unsigned nub_cap_store_sweep(struct nub_cap_store *s, void (*gone)(void *ctx, const char *name),
                             void *ctx)
{
    if (s->dirfd < 0)
        return 0;
    int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    unsigned n = 0;
    pthread_mutex_lock(&s->create_mu); /* no file is being made or named */
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        uint8_t h[16];
        bool keep = false;
        if (nub_hash_from_hex(de->d_name, h) == 0) {
            pthread_mutex_lock(&s->mu);
            const struct nub_cap_obj *o = find_locked(s, h);
            keep = o != NULL && o->len > 0 && o->tmp_seq == 0;
            pthread_mutex_unlock(&s->mu);
            if (!keep && s->o.file_wanted != NULL)
                keep = s->o.file_wanted(s->o.wanted_ctx, h);
        }
        if (keep)
            continue;
        int flags = de->d_type == DT_DIR ? AT_REMOVEDIR : 0;
        if (unlinkat(s->dirfd, de->d_name, flags) == 0) {
            n++;
            if (gone != NULL)
                gone(ctx, de->d_name);
        }
    }
    pthread_mutex_unlock(&s->create_mu);
    closedir(d);
    return n;
}

unsigned nub_cap_store_drop_files(struct nub_cap_store *s, const uint8_t (*hashes)[16], size_t n,
                                  void (*gone)(void *ctx, const char *name), void *ctx)
{
    if (s->dirfd < 0)
        return 0;
    unsigned k = 0;
    pthread_mutex_lock(&s->create_mu); /* no file is being made or named */
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&s->mu);
        bool held = find_locked(s, hashes[i]) != NULL;
        pthread_mutex_unlock(&s->mu);
        if (held || (s->o.file_wanted != NULL && s->o.file_wanted(s->o.wanted_ctx, hashes[i])))
            continue;
        char hex[33];
        nub_hash_to_hex(hashes[i], hex);
        if (unlinkat(s->dirfd, hex, 0) == 0) {
            k++;
            if (gone != NULL)
                gone(ctx, hex);
        }
    }
    pthread_mutex_unlock(&s->create_mu);
    return k;
}

int nub_cap_obj_verify(struct nub_cap_obj *o)
{
    if (nub_cap_obj_intact(o, NULL) != 0)
        return -EUCLEAN; /* hashing the mapping of a short file would fault */
    int v = __atomic_load_n(&o->verified, __ATOMIC_ACQUIRE);
    if (v == 0) {
        uint8_t h[16];
        rvf_hash128(o->len ? o->bytes : (const uint8_t *)"", o->len, h);
        v = memcmp(h, o->hash, 16) == 0 ? 1 : -1;
        __atomic_store_n(&o->verified, v, __ATOMIC_RELEASE);
    }
    return v > 0 ? 0 : -EUCLEAN;
}
