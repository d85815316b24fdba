/* Unit tests of the cap store (src/cap_store.c, cap_backing.c,
 * cap_window.c) with a recording mapper instead of KVM: backing choice,
 * sealing, find-or-create and byte comparison, references and open-only
 * accounting, the limit and space reuse, pack slot reuse and hole
 * punching, the own-file budget fallback, the window, deferred unmaps,
 * fd sources, and many objects. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cap_store.h"
#include "cap_window.h"
#include "hex.h"
#include "nub/abi.h"
#include "rvf.h"

#define WBASE (64ull << 30)
#define WSIZE (1ull << 30)

/* ---- a mapper that records what the guest would see ---------------------- */

#define MAXMAP 4096
struct fake_mapper {
    struct {
        nub_gpa gpa;
        uint64_t size;
        const void *host;
        int fd;
    } live[MAXMAP];
    int nlive;
    int maps, unmaps;
    bool defer;   /* queue unmaps until flush() */
    struct {
        void (*done)(void *);
        void *arg;
    } queued[MAXMAP];
    int nqueued;
    uint32_t slots_free;
    int fail_map;
};

static int fm_map(void *ctx, nub_gpa gpa, uint64_t size, const void *host, int fd, off_t off)
{
    struct fake_mapper *m = ctx;
    assert_int_equal(off, 0);
    assert_int_equal(gpa % 4096, 0);
    assert_int_equal(size % 4096, 0);
    if (m->fail_map)
        return -m->fail_map;
    for (int i = 0; i < m->nlive; i++) /* never overlapping */
        assert_true(gpa + size <= m->live[i].gpa || m->live[i].gpa + m->live[i].size <= gpa);
    assert_true(m->nlive < MAXMAP);
    m->live[m->nlive].gpa = gpa;
    m->live[m->nlive].size = size;
    m->live[m->nlive].host = host;
    m->live[m->nlive].fd = fd;
    m->nlive++;
    m->maps++;
    return 0;
}

static int fm_unmap(void *ctx, nub_gpa gpa, void (*done)(void *), void *arg)
{
    struct fake_mapper *m = ctx;
    int i = 0;
    while (i < m->nlive && m->live[i].gpa != gpa)
        i++;
    assert_true(i < m->nlive); /* only what was mapped is unmapped */
    m->live[i] = m->live[--m->nlive];
    m->unmaps++;
    if (m->defer) {
        m->queued[m->nqueued].done = done;
        m->queued[m->nqueued].arg = arg;
        m->nqueued++;
    } else if (done != NULL) {
        done(arg);
    }
    return 0;
}

static uint32_t fm_slots_free(void *ctx)
{
    return ((struct fake_mapper *)ctx)->slots_free;
}

static void flush(struct fake_mapper *m)
{
    for (int i = 0; i < m->nqueued; i++)
        m->queued[i].done(m->queued[i].arg);
    m->nqueued = 0;
}

static struct fake_mapper *fm;
static int hook_calls;
static void hook(void *ctx, struct nub_cap_obj *o)
{
    (void)ctx;
    (void)o;
    hook_calls++;
}

static struct nub_cap_store *store_with(uint64_t limit, uint64_t file_min, uint32_t max_files)
{
    fm = calloc(1, sizeof(*fm));
    fm->slots_free = 30000;
    struct nub_cap_store_opts o = {
        .file_min = file_min,
        .limit = limit,
        .window_gpa = WBASE,
        .window_size = WSIZE,
        .max_files = max_files,
        .mapper = {.ctx = fm, .map = fm_map, .unmap = fm_unmap, .slots_free = fm_slots_free},
        .release_hook = hook,
    };
    struct nub_cap_store *s = NULL;
    assert_int_equal(nub_cap_store_new(&o, &s), 0);
    return s;
}

static void store_done(struct nub_cap_store *s)
{
    nub_cap_store_free(s);
    free(fm);
    fm = NULL;
}

static uint8_t *pattern(size_t n, uint32_t seed)
{
    uint8_t *p = malloc(n ? n : 1);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)(x >> 16);
    }
    return p;
}

static struct nub_cap_obj *put_new(struct nub_cap_store *s, const void *data, size_t n)
{
    uint8_t h[16];
    rvf_hash128(data, n, h);
    struct nub_cap_obj *o = NULL;
    bool created = false;
    assert_int_equal(nub_cap_store_put(s, h, data, n, 2, &o, &created), 0);
    assert_true(created);
    assert_memory_equal(o->hash, h, 16);
    return o;
}

static struct nub_cap_store_stats stats(struct nub_cap_store *s)
{
    struct nub_cap_store_stats st;
    nub_cap_store_stats(s, &st);
    return st;
}

/* ---- tests ----------------------------------------------------------------- */

static void test_window(void **state)
{
    (void)state;
    struct nub_cap_window w;
    assert_int_equal(nub_cap_window_init(&w, 4096, 0), -EINVAL);
    assert_int_equal(nub_cap_window_init(&w, 4097, 4096), -EINVAL);
    assert_int_equal(nub_cap_window_init(&w, 1 << 20, 16 * 4096), 0);
    uint64_t a, b, c, d;
    assert_int_equal(nub_cap_window_alloc(&w, 1, &a), 0);        /* one page */
    assert_int_equal(nub_cap_window_alloc(&w, 8192, &b), 0);
    assert_int_equal(nub_cap_window_alloc(&w, 4096, &c), 0);
    assert_int_equal(a, 1 << 20);
    assert_int_equal(b, a + 4096);
    assert_int_equal(c, b + 8192);
    assert_int_equal(nub_cap_window_alloc(&w, 12 * 4096, &d), 0); /* the rest */
    assert_int_equal(w.free_bytes, 0);
    assert_int_equal(nub_cap_window_alloc(&w, 1, &d), -ENOSPC);
    assert_int_equal(nub_cap_window_free(&w, b, 8192), 0);
    assert_int_equal(nub_cap_window_free(&w, b, 8192), -EINVAL); /* twice */
    assert_int_equal(nub_cap_window_free(&w, b + 4096, 4096), -EINVAL);
    assert_int_equal(nub_cap_window_free(&w, 0, 4096), -EINVAL);  /* outside */
    assert_int_equal(nub_cap_window_alloc(&w, 12288, &d), -ENOSPC); /* a 2-page hole */
    assert_int_equal(nub_cap_window_free(&w, a, 4096), 0);         /* joins the hole */
    assert_int_equal(nub_cap_window_free(&w, c, 4096), 0);
    assert_int_equal(w.nfree, 1);
    assert_int_equal(nub_cap_window_alloc(&w, 16384, &d), 0);
    assert_int_equal(d, a);
    nub_cap_window_destroy(&w);
}

/* A large cap: a file of its own, exactly its bytes, sealed, mapped
 * read-only; a small one: a pack slot; an empty one: nothing. */
static void test_backing_kinds(void **state)
{
    (void)state;
    struct nub_cap_store *s = store_with(0, 0, 0);
    size_t big = 300000, small = 1000;
    uint8_t *b = pattern(big, 1), *sm = pattern(small, 2);
    struct nub_cap_obj *ob = put_new(s, b, big);
    assert_true(ob->own_file);
    assert_int_equal(ob->offset, 0);
    assert_int_equal(lseek(ob->fd, 0, SEEK_END), (off_t)big);
    int seals = fcntl(ob->fd, F_GET_SEALS);
    assert_int_equal(seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
                     F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
    assert_int_equal(pwrite(ob->fd, "x", 1, 0), -1); /* not even the daemon changes it */
    assert_int_equal(errno, EPERM);
    assert_true(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ob->fd, 0) == MAP_FAILED);
    uint8_t *back = malloc(big);
    assert_int_equal(pread(ob->fd, back, big, 0), (ssize_t)big);
    assert_memory_equal(back, b, big);
    assert_memory_equal(ob->bytes, b, big);
    assert_true(ob->gpa >= WBASE && ob->gpa + big <= WBASE + WSIZE);
    assert_int_equal(fm->maps, 1);
    assert_int_equal(fm->live[0].size, (big + 4095) & ~4095ull);
    assert_ptr_equal(fm->live[0].host, ob->bytes);

    struct nub_cap_obj *os = put_new(s, sm, small);
    assert_false(os->own_file);
    assert_int_equal(fm->maps, 2); /* its pack */
    assert_int_equal(pread(os->fd, back, small, os->offset), (ssize_t)small);
    assert_memory_equal(back, sm, small);
    assert_int_equal(os->gpa, fm->live[1].gpa + (uint64_t)os->offset);

    struct nub_cap_obj *oe = put_new(s, "", 0);
    assert_int_equal(oe->len, 0);
    assert_null(oe->bytes);
    assert_int_equal(fm->maps, 2);

    struct nub_cap_store_stats st = stats(s);
    assert_int_equal(st.objects, 3);
    assert_int_equal(st.bytes, big + small);
    assert_int_equal(st.files, 1);
    assert_int_equal(st.packs, 1);
    assert_int_equal(st.packed, 1);
    assert_int_equal(st.slots, 2);
    assert_int_equal(st.used, ((big + 4095) & ~4095ull) + 1024);
    nub_cap_obj_unref(ob);
    nub_cap_obj_unref(os);
    nub_cap_obj_unref(oe);
    st = stats(s);
    assert_int_equal(st.objects, 0);
    assert_int_equal(st.used, 0);
    assert_int_equal(fm->nlive, 0); /* the file and the emptied pack are gone */
    assert_int_equal(hook_calls >= 3, 1);
    free(b);
    free(sm);
    free(back);
    store_done(s);
}

/* Equal hash and bytes: one object, shared; equal hash, other bytes:
 * EEXIST, never merged; a forged hash must be new. */
static void test_find_or_create(void **state)
{
    (void)state;
    struct nub_cap_store *s = store_with(0, 0, 0);
    uint8_t *a = pattern(5000, 3), *b = pattern(5000, 4);
    struct nub_cap_obj *o1 = put_new(s, a, 5000), *o2 = NULL, *o3 = NULL;
    bool created = true;
    assert_int_equal(nub_cap_store_put(s, o1->hash, a, 5000, 1, &o2, &created), 0);
    assert_false(created);
    assert_ptr_equal(o1, o2);
    assert_int_equal(nub_cap_store_put(s, o1->hash, b, 5000, 1, &o3, &created), -EEXIST);
    assert_null(o3);
    assert_int_equal(nub_cap_store_put(s, o1->hash, a, 4999, 1, &o3, &created), -EEXIST);
    assert_int_equal(nub_cap_store_put_forged(s, o1->hash, "junk", 4, 0, &o3), -EEXIST);
    uint8_t fake[16] = {1, 2, 3};
    assert_int_equal(nub_cap_store_put_forged(s, fake, "junk", 4, 0, &o3), 0);
    assert_memory_equal(o3->bytes, "junk", 4);
    assert_ptr_equal(nub_cap_store_get(s, fake), o3);
    nub_cap_obj_unref(o3);
    assert_int_equal(stats(s).exists_refused, 3);
    assert_int_equal(stats(s).shared, 1);
    uint8_t h1[16];
    memcpy(h1, o1->hash, 16);
    assert_ptr_equal(nub_cap_store_get(s, h1), o1);
    nub_cap_obj_unref(o1);
    nub_cap_obj_unref(o1);
    nub_cap_obj_unref(o1); /* the last: gone */
    assert_null(nub_cap_store_get(s, h1));
    nub_cap_obj_unref(o3);
    assert_null(nub_cap_store_get(s, fake));
    assert_int_equal(stats(s).objects, 0);
    free(a);
    free(b);
    store_done(s);
}

/* The bytes outlive the index entry as long as an open handle holds them,
 * and stats say what only open files hold. */
static void test_open_only(void **state)
{
    (void)state;
    struct nub_cap_store *s = store_with(0, 0, 0);
    size_t n = 200000;
    uint8_t *a = pattern(n, 5);
    struct nub_cap_obj *o = put_new(s, a, n);
    struct nub_cap_obj *h = nub_cap_store_open(s, o->hash);
    assert_ptr_equal(h, o);
    assert_int_equal(stats(s).open_only, 0);
    nub_cap_obj_unref(o); /* the mount lets go: only the open file holds it */
    struct nub_cap_store_stats st = stats(s);
    assert_int_equal(st.open_only, 1);
    assert_int_equal(st.open_only_bytes, n);
    assert_memory_equal(h->bytes, a, n);
    uint8_t tmp[64];
    assert_int_equal(pread(h->fd, tmp, 64, 1000), 64);
    assert_memory_equal(tmp, a + 1000, 64);
    /* Another holder makes it not open-only again. */
    struct nub_cap_obj *again = NULL;
    bool created;
    assert_int_equal(nub_cap_store_put(s, o->hash, a, n, 2, &again, &created), 0);
    assert_false(created);
    assert_int_equal(stats(s).open_only, 0);
    nub_cap_obj_unref(again);
    assert_int_equal(stats(s).open_only, 1);
    int maps = fm->nlive;
    nub_cap_obj_close(h);
    st = stats(s);
    assert_int_equal(st.open_only, 0);
    assert_int_equal(st.open_only_bytes, 0);
    assert_int_equal(st.objects, 0);
    assert_int_equal(fm->nlive, maps - 1);
    free(a);
    store_done(s);
}

/* The limit: ENOSPC beyond it, and what the last reference frees is
 * reusable at once, even while the unmap is still queued. */
static void test_limit_and_reuse(void **state)
{
    (void)state;
    uint64_t limit = 3ull << 20;
    struct nub_cap_store *s = store_with(limit, 0, 0);
    fm->defer = true;
    uint8_t *a = pattern(1 << 20, 6), *b = pattern(1 << 20, 7), *c = pattern(1 << 20, 8),
            *d = pattern(1 << 20, 9);
    struct nub_cap_obj *oa = put_new(s, a, 1 << 20), *ob = put_new(s, b, 1 << 20),
                       *oc = put_new(s, c, 1 << 20), *od = NULL;
    uint8_t hd[16];
    rvf_hash128(d, 1 << 20, hd);
    bool created;
    assert_int_equal(nub_cap_store_put(s, hd, d, 1 << 20, 2, &od, &created), -ENOSPC);
    assert_int_equal(stats(s).nospc_refused, 1);
    assert_int_equal(stats(s).used, limit);
    nub_cap_obj_unref(ob);
    assert_int_equal(fm->nqueued, 1); /* the slot goes later ... */
    assert_int_equal(stats(s).used, 2ull << 20); /* ... the space is free now */
    assert_int_equal(nub_cap_store_put(s, hd, d, 1 << 20, 2, &od, &created), 0);
    flush(fm);
    nub_cap_obj_unref(oa);
    nub_cap_obj_unref(oc);
    nub_cap_obj_unref(od);
    flush(fm);
    assert_int_equal(stats(s).used, 0);
    assert_int_equal(stats(s).window_free, WSIZE);
    free(a);
    free(b);
    free(c);
    free(d);
    store_done(s);
}

/* A freed pack slot is handed out again, its whole pages punched (they
 * read back as zero) and a reused slot's tail zeroed; an emptied pack is
 * closed and unmapped. */
static void test_pack_slots(void **state)
{
    (void)state;
    struct nub_cap_store *s = store_with(0, 0, 0);
    size_t n = 10000; /* class 10240: slots are page aligned, 2 whole pages */
    uint8_t *x = pattern(n, 10), *y = pattern(n, 11), *z = pattern(500, 12);
    struct nub_cap_obj *ox = put_new(s, x, n), *oy = put_new(s, y, n);
    assert_ptr_equal(ox->pack, oy->pack);
    off_t xoff = ox->offset;
    int pfd = ox->fd;
    nub_cap_obj_unref(ox);
    uint8_t page[4096];
    assert_int_equal(pread(pfd, page, 4096, xoff), 4096);
    for (int i = 0; i < 4096; i++)
        assert_int_equal(page[i], 0);
    uint8_t *w = pattern(n - 100, 13);
    struct nub_cap_obj *ow = put_new(s, w, n - 100);
    assert_int_equal(ow->offset, xoff); /* the same slot */
    assert_memory_equal(ow->bytes, w, n - 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(ow->bytes[n - 100 + i], 0);
    /* A different class: another pack. */
    struct nub_cap_obj *oz = put_new(s, z, 500);
    assert_ptr_not_equal(oz->pack, oy->pack);
    assert_int_equal(stats(s).packs, 2);
    nub_cap_obj_unref(oz);
    assert_int_equal(stats(s).packs, 1);
    nub_cap_obj_unref(ow);
    nub_cap_obj_unref(oy);
    assert_int_equal(stats(s).packs, 0);
    assert_int_equal(fm->nlive, 0);
    free(x);
    free(y);
    free(z);
    free(w);
    store_done(s);
}

/* Own files are bounded (fds, KVM slots): past the budget a large cap is
 * packed when a class holds it, else ENOSPC. */
static void test_file_budget(void **state)
{
    (void)state;
    struct nub_cap_store *s = store_with(0, 0, 2);
    uint8_t *a = pattern(100000, 20), *b = pattern(100000, 21), *c = pattern(100000, 22),
            *d = pattern(3u << 20, 23);
    struct nub_cap_obj *oa = put_new(s, a, 100000), *ob = put_new(s, b, 100000);
    assert_true(oa->own_file && ob->own_file);
    struct nub_cap_obj *oc = put_new(s, c, 100000);
    assert_false(oc->own_file); /* packed instead */
    assert_memory_equal(oc->bytes, c, 100000);
    uint8_t hd[16];
    rvf_hash128(d, 3u << 20, hd);
    struct nub_cap_obj *od = NULL;
    bool created;
    assert_int_equal(nub_cap_store_put(s, hd, d, 3u << 20, 2, &od, &created), -ENOSPC);
    nub_cap_obj_unref(oa);
    assert_int_equal(nub_cap_store_put(s, hd, d, 3u << 20, 2, &od, &created), 0);
    assert_true(od->own_file);
    /* Few KVM slots left: the rest are kept for packs. */
    fm->slots_free = 10;
    uint8_t *e = pattern(200000, 24);
    struct nub_cap_obj *oe = put_new(s, e, 200000);
    assert_false(oe->own_file);
    nub_cap_obj_unref(ob);
    nub_cap_obj_unref(oc);
    nub_cap_obj_unref(od);
    nub_cap_obj_unref(oe);
    assert_int_equal(stats(s).objects, 0);
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
    store_done(s);
}

/* A mapper failure or a full window leaves nothing behind. */
static void test_failures_leave_nothing(void **state)
{
    (void)state;
    struct nub_cap_store *s = store_with(0, 0, 0);
    uint8_t *a = pattern(100000, 30);
    uint8_t h[16];
    rvf_hash128(a, 100000, h);
    struct nub_cap_obj *o = NULL;
    bool created;
    fm->fail_map = ENOSPC;
    assert_int_equal(nub_cap_store_put(s, h, a, 100000, 2, &o, &created), -ENOSPC);
    assert_int_equal(nub_cap_store_put(s, h, a, 100, 2, &o, &created), -ENOSPC); /* its pack */
    fm->fail_map = 0;
    struct nub_cap_store_stats st = stats(s);
    assert_int_equal(st.objects, 0);
    assert_int_equal(st.used, 0);
    assert_int_equal(st.files, 0);
    assert_int_equal(st.packs, 0);
    assert_int_equal(st.window_free, WSIZE);
    /* A window of 1 GiB holds no 2 GiB cap, however the limit reads. */
    assert_int_equal(nub_cap_store_put(s, h, a, 2ull << 30, 2, &o, &created), -ENOSPC);
    assert_int_equal(nub_cap_store_put(s, h, a, 100000, 2, &o, &created), 0);
    nub_cap_obj_unref(o);
    free(a);
    store_done(s);
}

/* From a file descriptor: the store hashes its own copy; the same bytes
 * again share the object. */
static void test_put_fd(void **state)
{
    (void)state;
    struct nub_cap_store *s = store_with(0, 0, 0);
    size_t sizes[] = {0, 700, 100000};
    for (size_t k = 0; k < 3; k++) {
        uint8_t *a = pattern(sizes[k], 40 + (uint32_t)k);
        char path[] = "/tmp/nub-cap-store-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        unlink(path);
        assert_int_equal(write(fd, a, sizes[k]), (ssize_t)sizes[k]);
        uint8_t h[16], want[16];
        rvf_hash128(a, sizes[k], want);
        struct nub_cap_obj *o = NULL, *o2 = NULL;
        bool created;
        assert_int_equal(nub_cap_store_put_fd(s, fd, sizes[k], 0, h, &o, &created), 0);
        assert_true(created);
        assert_memory_equal(h, want, 16);
        assert_int_equal(nub_cap_store_put_fd(s, fd, sizes[k], 0, h, &o2, &created), 0);
        assert_false(created);
        assert_ptr_equal(o, o2);
        if (sizes[k])
            assert_memory_equal(o->bytes, a, sizes[k]);
        /* The file is shorter than announced: EAGAIN. */
        struct nub_cap_obj *o3 = NULL;
        assert_int_equal(nub_cap_store_put_fd(s, fd, sizes[k] + 10, 0, h, &o3, &created), -EAGAIN);
        nub_cap_obj_unref(o);
        nub_cap_obj_unref(o2);
        close(fd);
        free(a);
    }
    assert_int_equal(stats(s).objects, 0);
    assert_int_equal(stats(s).used, 0);
    store_done(s);
}

/* A hundred thousand small caps: a few packs, fast, all readable. */
static void test_many_small(void **state)
{
    (void)state;
    struct nub_cap_store *s = store_with(0, 0, 0);
    enum { N = 100000 };
    struct nub_cap_obj **v = calloc(N, sizeof(*v));
    uint8_t buf[200];
    for (uint32_t i = 0; i < N; i++) {
        size_t n = 20 + i % 150;
        for (size_t j = 0; j < n; j++)
            buf[j] = (uint8_t)(i >> (j % 4 * 8)) ^ (uint8_t)j;
        uint8_t h[16];
        rvf_hash128(buf, n, h);
        bool created;
        assert_int_equal(nub_cap_store_put(s, h, buf, n, 0, &v[i], &created), 0);
    }
    struct nub_cap_store_stats st = stats(s);
    assert_int_equal(st.objects, N);
    assert_true(st.packs <= 8);
    print_message("    %u small caps: %llu packs, %llu bytes used\n", N,
                  (unsigned long long)st.packs, (unsigned long long)st.used);
    for (uint32_t i = 0; i < N; i += 997) {
        struct nub_cap_obj *o = nub_cap_store_get(s, v[i]->hash);
        assert_ptr_equal(o, v[i]);
        nub_cap_obj_unref(o);
    }
    for (uint32_t i = 0; i < N; i++)
        nub_cap_obj_unref(v[i]);
    assert_int_equal(stats(s).objects, 0);
    assert_int_equal(stats(s).packs, 0);
    free(v);
    store_done(s);
}

/* Threads putting, opening and dropping the same caps: one object per
 * hash, counts back to zero. */
struct race_arg {
    struct nub_cap_store *s;
    uint8_t (*data)[3000];
    int n;
};

static void *racer(void *p)
{
    struct race_arg *a = p;
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < a->n; i++) {
            uint8_t h[16];
            rvf_hash128(a->data[i], sizeof(a->data[i]), h);
            struct nub_cap_obj *o = NULL;
            bool created;
            if (nub_cap_store_put(a->s, h, a->data[i], sizeof(a->data[i]), 0, &o, &created) != 0)
                abort();
            struct nub_cap_obj *f = nub_cap_store_open(a->s, h);
            if (f != o || memcmp(f->bytes, a->data[i], sizeof(a->data[i])) != 0)
                abort();
            nub_cap_obj_unref(o);
            nub_cap_obj_close(f);
        }
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    struct nub_cap_store *s = store_with(0, 0, 0);
    enum { N = 64 };
    uint8_t(*data)[3000] = malloc(N * sizeof(*data));
    for (int i = 0; i < N; i++)
        for (int j = 0; j < 3000; j++)
            data[i][j] = (uint8_t)(i * 31 + j);
    struct race_arg a = {s, data, N};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, racer, &a);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(stats(s).objects, 0);
    assert_int_equal(stats(s).used, 0);
    assert_int_equal(stats(s).open_only, 0);
    free(data);
    store_done(s);
}

/* ---- a persistent store (cap_disk.c) ------------------------------------- */

static int count_files(int dfd)
{
    int n = 0;
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY);
    DIR *d = fdopendir(fd);
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static bool file_is(int dfd, const uint8_t hash[16], const uint8_t *data, size_t n)
{
    char hex[33];
    nub_hash_to_hex(hash, hex);
    int fd = openat(dfd, hex, O_RDONLY);
    if (fd < 0)
        return false;
    uint8_t *b = malloc(n + 1);
    ssize_t got = pread(fd, b, n + 1, 0);
    close(fd);
    bool same = got == (ssize_t)n && memcmp(b, data, n) == 0;
    free(b);
    return same;
}

static void sweep_count(void *ctx, const char *name)
{
    (void)name;
    ++*(int *)ctx;
}

static void test_in_dir(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/nub-capdir-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    int dfd = open(tmpl, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    fm = calloc(1, sizeof(*fm));
    fm->slots_free = 30000;
    struct nub_cap_store_opts o = {
        .window_gpa = WBASE, .window_size = WSIZE, .in_dir = true, .dirfd = dfd,
        .mapper = {.ctx = fm, .map = fm_map, .unmap = fm_unmap, .slots_free = fm_slots_free},
    };
    struct nub_cap_store *s = NULL;
    assert_int_equal(nub_cap_store_new(&o, &s), 0);
    /* An own-file cap and a packed one: each a file <hex> of its bytes. */
    uint8_t *big = pattern(200000, 1), *small = pattern(1000, 2);
    struct nub_cap_obj *ob = put_new(s, big, 200000), *os = put_new(s, small, 1000);
    assert_true(ob->own_file);
    assert_false(os->own_file);
    assert_true(file_is(dfd, ob->hash, big, 200000));
    assert_true(file_is(dfd, os->hash, small, 1000));
    assert_int_equal(count_files(dfd), 2);
    assert_int_equal(nub_cap_store_sync(s), 0);
    assert_int_equal(nub_cap_obj_verify(ob), 0);
    uint8_t hb[16], hs[16];
    memcpy(hb, ob->hash, 16);
    memcpy(hs, os->hash, 16);
    /* A new store on the same directory adopts them, no hashing. */
    store_done(s);
    fm = calloc(1, sizeof(*fm));
    fm->slots_free = 30000;
    o.mapper.ctx = fm;
    assert_int_equal(nub_cap_store_new(&o, &s), 0);
    struct nub_cap_obj *ab, *as, *x;
    assert_int_equal(nub_cap_store_adopt(s, hb, 200000, 2, &ab), 0);
    assert_int_equal(nub_cap_store_adopt(s, hs, 1000, 2, &as), 0);
    assert_memory_equal(ab->bytes, big, 200000);
    assert_memory_equal(as->bytes, small, 1000);
    assert_int_equal(nub_cap_store_adopt(s, hb, 200001, 2, &x), -EEXIST);
    uint8_t none[16] = {9};
    assert_int_equal(nub_cap_store_adopt(s, none, 10, 2, &x), -ENOENT);
    /* A wrong size on disk is refused. */
    uint8_t *other = pattern(5000, 3), ho[16];
    rvf_hash128(other, 5000, ho);
    char hex[33];
    nub_hash_to_hex(ho, hex);
    int fd = openat(dfd, hex, O_WRONLY | O_CREAT, 0600);
    assert_int_equal(write(fd, other, 4000), 4000);
    close(fd);
    assert_int_equal(nub_cap_store_adopt(s, ho, 5000, NUB_CAP_WASM, &x), -EUCLEAN);
    /* ... for a module; a data cap is adopted damaged: zeros for the
     * guest, -EIO for every reader, counted. */
    assert_int_equal(nub_cap_store_adopt(s, ho, 5000, NUB_CAP_DATA, &x), 0);
    bool first = true;
    assert_int_equal(nub_cap_obj_intact(x, &first), -EIO);
    assert_false(first);
    assert_int_equal(x->bytes[0] | x->bytes[4999], 0);
    assert_int_equal(nub_cap_obj_verify(x), -EUCLEAN);
    struct nub_cap_store_stats st;
    nub_cap_store_stats(s, &st);
    assert_int_equal(st.damaged, 1);
    nub_cap_obj_unref(x); /* its (wrong) file goes with it */
    flush(fm);
    assert_int_equal(count_files(dfd), 2);
    /* A preload whose file is already there, same length and bytes: taken
     * as it is (the same inode), not written again. */
    fd = openat(dfd, hex, O_WRONLY | O_CREAT, 0600);
    assert_int_equal(write(fd, other, 5000), 5000);
    close(fd);
    struct stat before, after;
    assert_int_equal(fstatat(dfd, hex, &before, 0), 0);
    char src[] = "/tmp/nub-capsrc-XXXXXX";
    int sfd = mkstemp(src);
    assert_true(sfd >= 0);
    assert_int_equal(write(sfd, other, 5000), 5000);
    uint8_t hp[16];
    bool created = true;
    assert_int_equal(nub_cap_store_put_fd(s, sfd, 5000, NUB_CAP_BLOB, hp, &x, &created), 0);
    assert_false(created);
    assert_memory_equal(hp, ho, 16);
    assert_memory_equal(x->bytes, other, 5000);
    assert_int_equal(fstatat(dfd, hex, &after, 0), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    nub_cap_store_stats(s, &st);
    assert_int_equal(st.reused, 1);
    nub_cap_obj_unref(x);
    flush(fm);
    close(sfd);
    unlink(src);
    /* The sweep removes what no object holds (a .new-N). */
    fd = openat(dfd, ".new-5", O_WRONLY | O_CREAT, 0600);
    close(fd);
    int swept = 0;
    assert_int_equal(nub_cap_store_sweep(s, sweep_count, &swept), 1);
    assert_int_equal(swept, 1);
    assert_int_equal(count_files(dfd), 2);
    /* verify catches bytes changed behind the store's back (own file). */
    fd = openat(dfd, (nub_hash_to_hex(hb, hex), hex), O_WRONLY);
    assert_int_equal(pwrite(fd, "x", 1, 12345), 1);
    close(fd);
    assert_int_equal(nub_cap_obj_verify(ab), -EUCLEAN);
    assert_int_equal(nub_cap_obj_verify(as), 0);
    /* A file truncated under the store: found by the next check, once. */
    assert_int_equal(nub_cap_obj_intact(ab, NULL), 0);
    char path[128];
    nub_hash_to_hex(hb, hex);
    snprintf(path, sizeof(path), "%s/%s", tmpl, hex);
    assert_int_equal(truncate(path, 1000), 0);
    assert_int_equal(nub_cap_obj_intact(ab, &first), -EIO);
    assert_true(first);
    assert_int_equal(nub_cap_obj_intact(ab, &first), -EIO);
    assert_false(first);
    assert_int_equal(nub_cap_store_intact(s, hb), -EIO);
    assert_int_equal(nub_cap_store_intact(s, hs), 0);
    /* The last reference takes the file with it. */
    nub_cap_obj_unref(ab);
    nub_cap_obj_unref(as);
    flush(fm);
    assert_int_equal(count_files(dfd), 0);
    store_done(s);
    close(dfd);
    rmdir(tmpl);
    free(big);
    free(small);
    free(other);
}

static void test_options(void **state)
{
    (void)state;
    struct nub_cap_store_opts o = {.file_min = NUB_CAP_PACK_MAX_CLASS + 1,
                                   .window_gpa = WBASE,
                                   .window_size = WSIZE};
    struct nub_cap_store *s = NULL;
    assert_int_equal(nub_cap_store_new(&o, &s), -EINVAL);
    o.file_min = 4096;
    o.window_size = 0;
    assert_int_equal(nub_cap_store_new(&o, &s), -EINVAL);
    /* file_min = 4 KiB: a 4096-byte cap gets its own file. */
    s = store_with(0, 4096, 0);
    uint8_t *a = pattern(4096, 50), *b = pattern(4095, 51);
    struct nub_cap_obj *oa = put_new(s, a, 4096), *ob = put_new(s, b, 4095);
    assert_true(oa->own_file);
    assert_false(ob->own_file);
    nub_cap_obj_unref(oa);
    nub_cap_obj_unref(ob);
    free(a);
    free(b);
    store_done(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_backing_kinds),
        cmocka_unit_test(test_find_or_create),
        cmocka_unit_test(test_open_only),
        cmocka_unit_test(test_limit_and_reuse),
        cmocka_unit_test(test_pack_slots),
        cmocka_unit_test(test_file_budget),
        cmocka_unit_test(test_failures_leave_nothing),
        cmocka_unit_test(test_put_fd),
        cmocka_unit_test(test_many_small),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_in_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
