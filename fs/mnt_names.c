/* Stable indexes for the names under mounts/<name>/ (regions and
 * components), one table per ctl/ entry, kept across replaces and
 * re-mounts: the inode of mounts/pipeline/regions/banner carries the
 * index of "banner" in this table, not its position in one package, so
 * a replaced package shows its new content through the same inodes and
 * a reader never meets an inode that went away (docs/cap-store.md
 * "Replace and recovery without a gap"). Names only ever get added, at
 * most NUBFS_MNT_NAMES_MAX per kind (the inode has 16 bits for them).
 * Callers hold the ctl/ table's lock. */
#include "mounts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct names_kind {
    char **v;
    uint32_t n, cap;
};

struct nubfs_mnt_names {
    struct names_kind k[NUBFS_MNT_NAMES_KINDS];
};

int nubfs_mnt_names_index(struct nubfs_mnt_names **tp, unsigned kind, const char *name,
                          uint32_t *idx)
{
    if (kind >= NUBFS_MNT_NAMES_KINDS)
        return -EINVAL;
    if (*tp == NULL && (*tp = calloc(1, sizeof(**tp))) == NULL)
        return -ENOMEM;
    struct names_kind *k = &(*tp)->k[kind];
    for (uint32_t i = 0; i < k->n; i++) {
        if (strcmp(k->v[i], name) == 0) {
            *idx = i;
            return 0;
        }
    }
    if (k->n >= NUBFS_MNT_NAMES_MAX)
        return -ENOSPC;
    if (k->n == k->cap) {
        uint32_t cap = k->cap ? k->cap * 2 : 16;
        char **v = realloc(k->v, (size_t)cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        k->v = v;
        k->cap = cap;
    }
    char *copy = strdup(name);
    if (copy == NULL)
        return -ENOMEM;
    k->v[k->n] = copy;
    *idx = k->n++;
    return 0;
}

const char *nubfs_mnt_names_at(const struct nubfs_mnt_names *t, unsigned kind, uint32_t idx)
{
    if (t == NULL || kind >= NUBFS_MNT_NAMES_KINDS || idx >= t->k[kind].n)
        return NULL;
    return t->k[kind].v[idx];
}

void nubfs_mnt_names_free(struct nubfs_mnt_names *t)
{
    if (t == NULL)
        return;
    for (unsigned j = 0; j < NUBFS_MNT_NAMES_KINDS; j++) {
        for (uint32_t i = 0; i < t->k[j].n; i++)
            free(t->k[j].v[i]);
        free(t->k[j].v);
    }
    free(t);
}
