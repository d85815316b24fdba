/* Kept frames (docs/state.md "Kept packages"): a package of the state
 * directory that the daemon's options refuse today (its signer is no
 * longer in trust=, unsigned packages are no longer allowed, it is over
 * max_package or a max_* limit, or the store or the guest has no room
 * for it) is neither mounted nor deleted: its frame and its caps' files
 * stay, it is logged with the reason and listed in `stats` ("kept"), and
 * it is tried again at every SIGHUP (after trust= is read again) and
 * every start. A newer package of the same ctl/ name supersedes it (its
 * frame goes). The store asks nubfs_kept_wants before it removes a cap
 * file, so the caps of a kept frame outlive every package that shared
 * them. The list has its own leaf mutex. */
#include "state.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "frame.h"

struct kept_frame {
    uint64_t order;
    char file[NAME_MAX + 1];
    char ctlname[NAME_MAX + 1];
    char why[256];
    uint32_t ncaps;
    uint8_t (*caps)[16];
};

struct nubfs_kept {
    pthread_mutex_t mu;
    struct kept_frame *v;
    size_t n, cap;
};

int nubfs_kept_init(struct nubfs *fs)
{
    if (fs->kept != NULL)
        return 0;
    struct nubfs_kept *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return -ENOMEM;
    pthread_mutex_init(&k->mu, NULL);
    __atomic_store_n(&fs->kept, k, __ATOMIC_RELEASE);
    return 0;
}

void nubfs_kept_free(struct nubfs *fs)
{
    struct nubfs_kept *k = fs->kept;
    if (k == NULL)
        return;
    for (size_t i = 0; i < k->n; i++)
        free(k->v[i].caps);
    free(k->v);
    pthread_mutex_destroy(&k->mu);
    free(k);
    fs->kept = NULL;
}

bool nubfs_kept_errno(int err)
{
    switch (err) {
    case -EKEYREJECTED: /* its signer is not trusted (any more) */
    case -ENOKEY:       /* unsigned, and allow_unsigned is off now */
    case -EFBIG:        /* over max_package */
    case -EDQUOT:       /* over a max_* count limit */
    case -ENOSPC:       /* no room in the store or the guest */
        return true;
    default:
        return false;
    }
}

static struct kept_frame *find_locked(struct nubfs_kept *k, uint64_t order)
{
    for (size_t i = 0; i < k->n; i++)
        if (k->v[i].order == order)
            return &k->v[i];
    return NULL;
}

int nubfs_kept_put(struct nubfs *fs, uint64_t order, const char *file, const char *ctlname,
                   const struct nubfs_frame *f, const char *why)
{
    struct nubfs_kept *k = fs->kept;
    if (k == NULL)
        return -ENOMEM;
    uint32_t n = 0;
    uint8_t(*caps)[16] = calloc(f->npieces ? f->npieces : 1, 16);
    if (caps == NULL)
        return -ENOMEM;
    for (uint32_t i = 0; i < f->npieces; i++)
        if (f->pieces[i].cap && f->pieces[i].len > 0)
            memcpy(caps[n++], f->pieces[i].hash, 16);
    pthread_mutex_lock(&k->mu);
    struct kept_frame *e = find_locked(k, order);
    if (e == NULL) {
        if (k->n == k->cap) {
            size_t nc = k->cap ? k->cap * 2 : 8;
            struct kept_frame *v = realloc(k->v, nc * sizeof(*v));
            if (v == NULL) {
                pthread_mutex_unlock(&k->mu);
                free(caps);
                return -ENOMEM;
            }
            k->v = v;
            k->cap = nc;
        }
        e = &k->v[k->n++];
        memset(e, 0, sizeof(*e));
    }
    free(e->caps);
    e->order = order;
    snprintf(e->file, sizeof(e->file), "%s", file);
    snprintf(e->ctlname, sizeof(e->ctlname), "%s", ctlname);
    nubfs_log_sanitize(why, e->why, sizeof(e->why));
    e->caps = caps;
    e->ncaps = n;
    pthread_mutex_unlock(&k->mu);
    return 0;
}

static void drop_locked(struct nubfs_kept *k, size_t i)
{
    free(k->v[i].caps);
    k->v[i] = k->v[--k->n];
}

void nubfs_kept_drop(struct nubfs *fs, uint64_t order)
{
    struct nubfs_kept *k = fs->kept;
    if (k == NULL)
        return;
    pthread_mutex_lock(&k->mu);
    for (size_t i = 0; i < k->n; i++)
        if (k->v[i].order == order) {
            drop_locked(k, i);
            break;
        }
    pthread_mutex_unlock(&k->mu);
}

bool nubfs_kept_has(struct nubfs *fs, uint64_t order)
{
    struct nubfs_kept *k = fs->kept;
    if (k == NULL)
        return false;
    pthread_mutex_lock(&k->mu);
    bool has = find_locked(k, order) != NULL;
    pthread_mutex_unlock(&k->mu);
    return has;
}

bool nubfs_kept_wants(void *ctx, const uint8_t hash[16])
{
    struct nubfs *fs = ctx;
    struct nubfs_kept *k = __atomic_load_n(&fs->kept, __ATOMIC_ACQUIRE);
    if (k == NULL)
        return false;
    bool want = false;
    pthread_mutex_lock(&k->mu);
    for (size_t i = 0; i < k->n && !want; i++)
        for (uint32_t j = 0; j < k->v[i].ncaps && !want; j++)
            want = memcmp(k->v[i].caps[j], hash, 16) == 0;
    pthread_mutex_unlock(&k->mu);
    return want;
}

static void dropped(void *ctx, const char *name)
{
    (void)ctx;
    nubfs_log("state: removed caps/%s (only a superseded kept package named it)", name);
}

void nubfs_kept_superseded(struct nubfs *fs, const char *ctlname, uint64_t order)
{
    struct nubfs_kept *k = fs->kept;
    int dfd = nubfs_state_pkgs_fd(fs);
    if (k == NULL || dfd < 0)
        return;
    bool gone = false;
    uint8_t(*caps)[16] = NULL; /* the dropped frames' caps */
    size_t ncaps = 0;
    pthread_mutex_lock(&k->mu);
    for (size_t i = 0; i < k->n;) {
        struct kept_frame *e = &k->v[i];
        if (e->order >= order || strcmp(e->ctlname, ctlname) != 0) {
            i++;
            continue;
        }
        nubfs_log("state: kept package %s (pkgs/%s) superseded by a newer %s: its frame removed",
                  e->ctlname, e->file, ctlname);
        unlinkat(dfd, e->file, 0);
        uint8_t(*v)[16] = e->ncaps ? realloc(caps, (ncaps + e->ncaps) * 16) : NULL;
        if (v != NULL) { /* none, or no memory: they go at the next start's sweep */
            memcpy(v[ncaps], e->caps, (size_t)e->ncaps * 16);
            caps = v;
            ncaps += e->ncaps;
        }
        drop_locked(k, i);
        gone = true;
    }
    pthread_mutex_unlock(&k->mu);
    if (gone && fsync(dfd) != 0)
        nubfs_warn("state: fsync of pkgs/: %s", strerror(errno));
    /* Its caps' files that nothing else holds or wants go now (after the
     * frame: a crash in between leaves them to the next start's sweep). */
    if (ncaps > 0 && fs->store != NULL)
        nub_cap_store_drop_files(fs->store, (const uint8_t(*)[16])caps, ncaps, dropped, fs);
    free(caps);
}

size_t nubfs_kept_list(struct nubfs *fs, struct nubfs_kept_item **out)
{
    *out = NULL;
    struct nubfs_kept *k = fs->kept;
    if (k == NULL)
        return 0;
    pthread_mutex_lock(&k->mu);
    size_t n = k->n;
    struct nubfs_kept_item *v = n ? calloc(n, sizeof(*v)) : NULL;
    if (v == NULL)
        n = 0;
    for (size_t i = 0; i < n; i++) {
        v[i].order = k->v[i].order;
        snprintf(v[i].file, sizeof(v[i].file), "%s", k->v[i].file);
        snprintf(v[i].ctlname, sizeof(v[i].ctlname), "%s", k->v[i].ctlname);
    }
    pthread_mutex_unlock(&k->mu);
    *out = v;
    return n;
}

void *nubfs_kept_json(struct nubfs *fs)
{
    json_t *a = json_array();
    struct nubfs_kept *k = fs->kept;
    if (k == NULL || a == NULL)
        return a;
    pthread_mutex_lock(&k->mu);
    for (size_t i = 0; i < k->n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(k->v[i].ctlname));
        json_object_set_new(o, "frame", json_string(k->v[i].file));
        json_object_set_new(o, "reason", json_string(k->v[i].why));
        json_array_append_new(a, o);
    }
    pthread_mutex_unlock(&k->mu);
    return a;
}
