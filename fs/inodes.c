/* The inode scheme for caps. A cap's inode is the first 8 bytes of its
 * hash (big-endian) with the top bit set, so it never meets the small
 * fixed inodes and the same cap gets the same inode across lookups,
 * remounts and reboots. Two hashes can share those 8 bytes (a 2^-64
 * accident, or a crafted pair: XXH3 is not collision resistant), so the
 * kernel-held inodes live in a map inode -> hash: a hash whose inode is
 * taken by another hash gets the next free inode (probing a few steps).
 * An entry lives while the kernel holds a lookup reference (lookup and
 * readdirplus add, forget drops), so the map is as large as the kernel's
 * inode cache, no larger.
 *
 * The map is one chained hash table with two chains per node (by inode,
 * by hash), grown by doubling so that every operation is O(1) whatever
 * the size of the directory. Buckets are picked by XXH3 with a seed drawn
 * at start, so crafted hashes cannot pile into one chain. Lock-light for
 * the hot paths: getattr, open, read, readdir's peek, a lookup of a cap
 * the kernel already holds and a forget that leaves a reference take the
 * read side of one rwlock (the counts are atomics); only a new inode, the
 * last forget and a growth take the write side. A FORGET_MULTI batch
 * (nubfs_ino_forget_many) takes the write side once per FORGET_CHUNK
 * inodes instead of both sides once per inode, and a READDIRPLUS reply
 * takes it once for all the entries it names (nubfs_ino_ref_many). */
#include "nubfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <xxhash.h>

#define PROBE_MAX 64
#define MIN_BUCKETS 1024

struct ino_node {
    struct ino_node *next_ino, *next_hash;
    uint64_t ino;
    uint64_t nlookup; /* atomic */
    uint8_t hash[16];
};

static struct {
    pthread_rwlock_t mu;
    struct ino_node **by_ino, **by_hash; /* nbuckets each */
    size_t nbuckets;                     /* a power of two */
    size_t count;
    uint64_t seed;
} g_ino = {.mu = PTHREAD_RWLOCK_INITIALIZER};

static uint64_t candidate(const uint8_t hash[16], unsigned step)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | hash[i];
    return (v + step) | NUBFS_INO_CAP_BIT;
}

static size_t slot_ino(uint64_t ino)
{
    return (size_t)XXH3_64bits_withSeed(&ino, sizeof(ino), g_ino.seed) & (g_ino.nbuckets - 1);
}

static size_t slot_hash(const uint8_t hash[16])
{
    return (size_t)XXH3_64bits_withSeed(hash, 16, g_ino.seed) & (g_ino.nbuckets - 1);
}

/* Lookups: the caller holds the lock (either side). */
static struct ino_node *find(uint64_t ino)
{
    if (g_ino.nbuckets == 0)
        return NULL;
    for (struct ino_node *n = g_ino.by_ino[slot_ino(ino)]; n != NULL; n = n->next_ino)
        if (n->ino == ino)
            return n;
    return NULL;
}

static struct ino_node *find_hash(const uint8_t hash[16])
{
    if (g_ino.nbuckets == 0)
        return NULL;
    for (struct ino_node *n = g_ino.by_hash[slot_hash(hash)]; n != NULL; n = n->next_hash)
        if (memcmp(n->hash, hash, 16) == 0)
            return n;
    return NULL;
}

/* Existing inode of hash (*hit set), or the first free inode on its probe
 * path (0 if PROBE_MAX inodes in a row are taken). */
static uint64_t resolve(const uint8_t hash[16], struct ino_node **hit)
{
    *hit = find_hash(hash);
    if (*hit != NULL)
        return (*hit)->ino;
    for (unsigned s = 0; s < PROBE_MAX; s++) {
        uint64_t ino = candidate(hash, s);
        if (find(ino) == NULL)
            return ino;
    }
    return 0;
}

/* Rehashes every node into tables of n buckets (write lock held). On
 * allocation failure the old tables stay: chains just grow longer. */
static void resize(size_t n)
{
    struct ino_node **bi = calloc(n, sizeof(*bi)), **bh = calloc(n, sizeof(*bh));
    if (bi == NULL || bh == NULL) {
        free(bi);
        free(bh);
        return;
    }
    struct ino_node **old = g_ino.by_ino;
    size_t oldn = g_ino.nbuckets;
    free(g_ino.by_hash);
    g_ino.by_ino = bi;
    g_ino.by_hash = bh;
    g_ino.nbuckets = n;
    for (size_t i = 0; i < oldn; i++) {
        struct ino_node *next;
        for (struct ino_node *x = old[i]; x != NULL; x = next) {
            next = x->next_ino;
            size_t a = slot_ino(x->ino), b = slot_hash(x->hash);
            x->next_ino = bi[a];
            bi[a] = x;
            x->next_hash = bh[b];
            bh[b] = x;
        }
    }
    free(old);
}

void nubfs_inodes_init(void)
{
    pthread_rwlock_wrlock(&g_ino.mu);
    if (getrandom(&g_ino.seed, sizeof(g_ino.seed), 0) != sizeof(g_ino.seed))
        g_ino.seed = (uint64_t)(uintptr_t)&g_ino ^ (uint64_t)time(NULL);
    g_ino.count = 0;
    resize(MIN_BUCKETS);
    pthread_rwlock_unlock(&g_ino.mu);
}

void nubfs_inodes_reserve(size_t entries)
{
    pthread_rwlock_wrlock(&g_ino.mu);
    size_t n = g_ino.nbuckets ? g_ino.nbuckets : MIN_BUCKETS;
    while (n < entries && n < ((size_t)1 << 40))
        n *= 2;
    if (n != g_ino.nbuckets)
        resize(n);
    pthread_rwlock_unlock(&g_ino.mu);
}

void nubfs_inodes_destroy(void)
{
    pthread_rwlock_wrlock(&g_ino.mu);
    for (size_t i = 0; i < g_ino.nbuckets; i++) {
        struct ino_node *next;
        for (struct ino_node *x = g_ino.by_ino[i]; x != NULL; x = next) {
            next = x->next_ino;
            free(x);
        }
    }
    free(g_ino.by_ino);
    free(g_ino.by_hash);
    g_ino.by_ino = g_ino.by_hash = NULL;
    g_ino.nbuckets = 0;
    g_ino.count = 0;
    pthread_rwlock_unlock(&g_ino.mu);
}

/* One more kernel reference on hash's inode, a new node (from *spare, or
 * malloc'd) if it has none (write lock held). 0, -EIO (PROBE_MAX hashes
 * share a prefix: refused, never aliased) or -ENOMEM. */
static int ref_locked(const uint8_t hash[16], uint64_t *ino, struct ino_node **spare)
{
    struct ino_node *n;
    uint64_t at = resolve(hash, &n);
    if (n != NULL) {
        __atomic_fetch_add(&n->nlookup, 1, __ATOMIC_RELAXED);
        *ino = at;
        return 0;
    }
    if (at == 0)
        return -EIO;
    if (spare != NULL && *spare != NULL) {
        n = *spare;
        *spare = NULL;
    } else if ((n = malloc(sizeof(*n))) == NULL) {
        return -ENOMEM;
    }
    if (g_ino.count >= g_ino.nbuckets)
        resize(g_ino.nbuckets ? g_ino.nbuckets * 2 : MIN_BUCKETS);
    n->ino = at;
    memcpy(n->hash, hash, 16);
    n->nlookup = 1;
    size_t a = slot_ino(at), b = slot_hash(hash);
    n->next_ino = g_ino.by_ino[a];
    g_ino.by_ino[a] = n;
    n->next_hash = g_ino.by_hash[b];
    g_ino.by_hash[b] = n;
    g_ino.count++;
    *ino = at;
    return 0;
}

int nubfs_ino_ref(const uint8_t hash[16], uint64_t *ino)
{
    /* Fast path: the kernel already holds this cap; a reference more. */
    pthread_rwlock_rdlock(&g_ino.mu);
    struct ino_node *n = find_hash(hash);
    if (n != NULL) {
        __atomic_fetch_add(&n->nlookup, 1, __ATOMIC_RELAXED);
        *ino = n->ino;
    }
    pthread_rwlock_unlock(&g_ino.mu);
    if (n != NULL)
        return 0;
    /* Again under the write lock: another thread may have added it. */
    pthread_rwlock_wrlock(&g_ino.mu);
    int rc = ref_locked(hash, ino, NULL);
    pthread_rwlock_unlock(&g_ino.mu);
    return rc;
}

size_t nubfs_ino_ref_many(const uint8_t (*hashes)[16], size_t n, uint64_t *inos)
{
    /* The nodes are allocated before the lock, one per hash (a listing
     * names mostly caps the kernel does not hold yet); unused ones are
     * freed after it. */
    struct ino_node *spare[NUBFS_INO_REF_MANY_MAX];
    if (n > NUBFS_INO_REF_MANY_MAX)
        n = NUBFS_INO_REF_MANY_MAX;
    for (size_t i = 0; i < n; i++)
        spare[i] = malloc(sizeof(struct ino_node)); /* NULL: ref_locked tries again */
    size_t got = 0;
    pthread_rwlock_wrlock(&g_ino.mu);
    for (size_t i = 0; i < n; i++) {
        if (ref_locked(hashes[i], &inos[i], &spare[i]) == 0)
            got++;
        else
            inos[i] = 0;
    }
    pthread_rwlock_unlock(&g_ino.mu);
    for (size_t i = 0; i < n; i++)
        free(spare[i]);
    return got;
}

uint64_t nubfs_ino_peek(const uint8_t hash[16])
{
    pthread_rwlock_rdlock(&g_ino.mu);
    struct ino_node *n;
    uint64_t at = resolve(hash, &n);
    pthread_rwlock_unlock(&g_ino.mu);
    return at != 0 ? at : candidate(hash, 0);
}

int nubfs_ino_hash(uint64_t ino, uint8_t hash[16])
{
    if (!(ino & NUBFS_INO_CAP_BIT))
        return -ENOENT;
    pthread_rwlock_rdlock(&g_ino.mu);
    struct ino_node *n = find(ino);
    if (n != NULL)
        memcpy(hash, n->hash, 16);
    pthread_rwlock_unlock(&g_ino.mu);
    return n ? 0 : -ENOENT;
}

/* Unlinks node n, found at *at in its inode chain (write lock held):
 * one walk of its hash chain, none of its inode chain. */
static void unlink_at(struct ino_node **at, struct ino_node *n)
{
    *at = n->next_ino;
    struct ino_node **p = &g_ino.by_hash[slot_hash(n->hash)];
    while (*p != n)
        p = &(*p)->next_hash;
    *p = n->next_hash;
    g_ino.count--;
}

/* The link in the inode chain that points at ino's node, or NULL (write
 * lock held). */
static struct ino_node **find_link(uint64_t ino)
{
    if (g_ino.nbuckets == 0)
        return NULL;
    for (struct ino_node **p = &g_ino.by_ino[slot_ino(ino)]; *p != NULL; p = &(*p)->next_ino)
        if ((*p)->ino == ino)
            return p;
    return NULL;
}

/* Drops nlookup references of ino (write lock held); the node, if that was
 * its last, is unlinked and returned for the caller to free. */
static struct ino_node *drop_locked(uint64_t ino, uint64_t nlookup)
{
    if (!(ino & NUBFS_INO_CAP_BIT) || nlookup == 0)
        return NULL; /* fixed inodes are never dropped */
    struct ino_node **at = find_link(ino);
    if (at == NULL)
        return NULL;
    struct ino_node *n = *at;
    uint64_t cur = __atomic_load_n(&n->nlookup, __ATOMIC_RELAXED);
    if (nlookup < cur) {
        __atomic_store_n(&n->nlookup, cur - nlookup, __ATOMIC_RELAXED);
        return NULL;
    }
    unlink_at(at, n);
    return n;
}

void nubfs_ino_forget(uint64_t ino, uint64_t nlookup)
{
    if (!(ino & NUBFS_INO_CAP_BIT) || nlookup == 0)
        return; /* fixed inodes are never dropped */
    pthread_rwlock_rdlock(&g_ino.mu);
    struct ino_node *n = find(ino);
    bool last = false;
    if (n != NULL) {
        uint64_t cur = __atomic_load_n(&n->nlookup, __ATOMIC_RELAXED), next;
        do
            next = nlookup >= cur ? 0 : cur - nlookup;
        while (!__atomic_compare_exchange_n(&n->nlookup, &cur, next, true, __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED));
        last = next == 0;
    }
    pthread_rwlock_unlock(&g_ino.mu);
    if (!last)
        return;
    /* The node may have been looked up again (or dropped by another
     * forget) meanwhile: find it afresh and drop it only if still unused. */
    pthread_rwlock_wrlock(&g_ino.mu);
    struct ino_node **at = find_link(ino);
    n = at != NULL ? *at : NULL;
    if (n != NULL && __atomic_load_n(&n->nlookup, __ATOMIC_RELAXED) == 0)
        unlink_at(at, n);
    else
        n = NULL;
    pthread_rwlock_unlock(&g_ino.mu);
    free(n);
}

/* At most this many forgets under one hold of the write lock, so that a
 * batch of a million (drop_caches, memory pressure) lets lookups and
 * getattrs in between. */
#define FORGET_CHUNK 256

void nubfs_ino_forget_many(const struct fuse_forget_data *f, size_t count)
{
    struct ino_node *gone[FORGET_CHUNK];
    for (size_t i = 0; i < count;) {
        size_t ngone = 0, end = count - i > FORGET_CHUNK ? i + FORGET_CHUNK : count;
        pthread_rwlock_wrlock(&g_ino.mu);
        for (; i < end; i++) {
            struct ino_node *n = drop_locked(f[i].ino, f[i].nlookup);
            if (n != NULL)
                gone[ngone++] = n;
        }
        pthread_rwlock_unlock(&g_ino.mu);
        for (size_t k = 0; k < ngone; k++)
            free(gone[k]);
    }
}

int nubfs_inodes_hashes(uint8_t (**out)[16], size_t *count)
{
    pthread_rwlock_rdlock(&g_ino.mu);
    size_t cap = g_ino.count, k = 0;
    uint8_t(*h)[16] = malloc((cap ? cap : 1) * sizeof(*h));
    for (size_t i = 0; h != NULL && i < g_ino.nbuckets; i++)
        for (struct ino_node *x = g_ino.by_ino[i]; x != NULL && k < cap; x = x->next_ino)
            memcpy(h[k++], x->hash, 16);
    pthread_rwlock_unlock(&g_ino.mu);
    if (h == NULL)
        return -ENOMEM;
    *out = h;
    *count = k;
    return 0;
}

size_t nubfs_inodes_count(void)
{
    pthread_rwlock_rdlock(&g_ino.mu);
    size_t n = g_ino.count;
    pthread_rwlock_unlock(&g_ino.mu);
    return n;
}
