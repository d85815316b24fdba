/* The inode scheme for caps. A cap's inode is the first 8 bytes of its
 * hash (big-endian) with the top bit set, so it never meets the small
 * fixed inodes and the same cap gets the same inode across lookups,
 * remounts and reboots. Two hashes can share those 8 bytes (a 2^-64
 * accident, or a crafted pair: XXH3 is not collision resistant), so the
 * kernel-held inodes live in a map inode -> hash: a hash whose inode is
 * taken by another hash gets the next free inode (probing a few steps).
 * Two trees (by inode, by hash) share the nodes; an entry lives while the
 * kernel holds a lookup reference (lookup/readdirplus add, forget drops),
 * so the map is as large as the kernel's inode cache, no larger. */
#include "nubfs.h"

#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_MAX 64

struct ino_node {
    uint64_t ino;
    uint8_t hash[16];
    uint64_t nlookup;
};

static struct {
    pthread_mutex_t mu;
    void *root;    /* tsearch tree keyed by ino */
    void *by_hash; /* the same nodes keyed by hash */
    size_t count;
} g_ino = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int cmp_ino(const void *a, const void *b)
{
    uint64_t x = ((const struct ino_node *)a)->ino, y = ((const struct ino_node *)b)->ino;
    return x < y ? -1 : x > y;
}

static int cmp_hash(const void *a, const void *b)
{
    return memcmp(((const struct ino_node *)a)->hash, ((const struct ino_node *)b)->hash, 16);
}

static void no_free(void *p)
{
    (void)p;
}

static uint64_t candidate(const uint8_t hash[16], unsigned step)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | hash[i];
    return (v + step) | NUBFS_INO_CAP_BIT;
}

static struct ino_node *find(uint64_t ino)
{
    struct ino_node key = {.ino = ino};
    void *p = tfind(&key, &g_ino.root, cmp_ino);
    return p ? *(struct ino_node **)p : NULL;
}

void nubfs_inodes_init(void)
{
    g_ino.root = NULL;
    g_ino.by_hash = NULL;
    g_ino.count = 0;
}

void nubfs_inodes_destroy(void)
{
    pthread_mutex_lock(&g_ino.mu);
    tdestroy(g_ino.by_hash, no_free);
    tdestroy(g_ino.root, free);
    g_ino.root = NULL;
    g_ino.by_hash = NULL;
    g_ino.count = 0;
    pthread_mutex_unlock(&g_ino.mu);
}

static struct ino_node *find_hash(const uint8_t hash[16])
{
    struct ino_node key;
    memcpy(key.hash, hash, 16);
    void *p = tfind(&key, &g_ino.by_hash, cmp_hash);
    return p ? *(struct ino_node **)p : NULL;
}

/* Existing inode of hash (*hit set), or the first free inode on its probe
 * path (0 if PROBE_MAX inodes in a row are taken). Caller holds the lock. */
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

int nubfs_ino_ref(const uint8_t hash[16], uint64_t *ino)
{
    pthread_mutex_lock(&g_ino.mu);
    struct ino_node *n;
    uint64_t at = resolve(hash, &n);
    int rc = 0;
    if (n != NULL) {
        n->nlookup++;
    } else if (at == 0) {
        rc = -EIO; /* PROBE_MAX hashes share a prefix: refuse, never alias */
    } else {
        n = malloc(sizeof(*n));
        if (n == NULL) {
            rc = -ENOMEM;
        } else {
            n->ino = at;
            memcpy(n->hash, hash, 16);
            n->nlookup = 1;
            if (tsearch(n, &g_ino.root, cmp_ino) == NULL) {
                free(n);
                rc = -ENOMEM;
            } else if (tsearch(n, &g_ino.by_hash, cmp_hash) == NULL) {
                tdelete(n, &g_ino.root, cmp_ino);
                free(n);
                rc = -ENOMEM;
            } else {
                g_ino.count++;
            }
        }
    }
    if (rc == 0)
        *ino = at;
    pthread_mutex_unlock(&g_ino.mu);
    return rc;
}

uint64_t nubfs_ino_peek(const uint8_t hash[16])
{
    pthread_mutex_lock(&g_ino.mu);
    struct ino_node *n;
    uint64_t at = resolve(hash, &n);
    pthread_mutex_unlock(&g_ino.mu);
    return at != 0 ? at : candidate(hash, 0);
}

int nubfs_ino_hash(uint64_t ino, uint8_t hash[16])
{
    pthread_mutex_lock(&g_ino.mu);
    struct ino_node *n = find(ino);
    if (n != NULL)
        memcpy(hash, n->hash, 16);
    pthread_mutex_unlock(&g_ino.mu);
    return n ? 0 : -ENOENT;
}

void nubfs_ino_forget(uint64_t ino, uint64_t nlookup)
{
    if (!(ino & NUBFS_INO_CAP_BIT))
        return; /* fixed inodes are never dropped */
    pthread_mutex_lock(&g_ino.mu);
    struct ino_node *n = find(ino);
    if (n != NULL) {
        n->nlookup = nlookup >= n->nlookup ? 0 : n->nlookup - nlookup;
        if (n->nlookup == 0) {
            tdelete(n, &g_ino.by_hash, cmp_hash);
            tdelete(n, &g_ino.root, cmp_ino);
            free(n);
            g_ino.count--;
        }
    }
    pthread_mutex_unlock(&g_ino.mu);
}

struct collect {
    uint8_t (*hashes)[16];
    size_t n, cap;
};

static void collect_one(const void *nodep, VISIT which, void *ctx)
{
    struct collect *c = ctx;
    if ((which == postorder || which == leaf) && c->n < c->cap)
        memcpy(c->hashes[c->n++], (*(struct ino_node *const *)nodep)->hash, 16);
}

int nubfs_inodes_hashes(uint8_t (**out)[16], size_t *count)
{
    pthread_mutex_lock(&g_ino.mu);
    struct collect c = {.cap = g_ino.count};
    c.hashes = malloc((c.cap ? c.cap : 1) * sizeof(*c.hashes));
    if (c.hashes != NULL)
        twalk_r(g_ino.root, collect_one, &c);
    pthread_mutex_unlock(&g_ino.mu);
    if (c.hashes == NULL)
        return -ENOMEM;
    *out = c.hashes;
    *count = c.n;
    return 0;
}

size_t nubfs_inodes_count(void)
{
    pthread_mutex_lock(&g_ino.mu);
    size_t n = g_ino.count;
    pthread_mutex_unlock(&g_ino.mu);
    return n;
}
