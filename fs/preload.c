/* -o preload=DIR: publish every regular file of DIR as a cap before
 * mounting (serving a directory content-addressed; also how the tests put
 * blobs in), in PUT_CAPS batches (put_file.c). The list is kept so a
 * rebooted guest gets them back (recover.c publishes them again). */
#include "nubfs.h"

#include "guest_calls.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted list of the regular files (symlinks followed) in dir. */
static int list_dir(const char *dir, char ***out, size_t *count)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -errno;
    char **v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' &&
            (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
            continue;
        char *path;
        if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
            rc = -ENOMEM;
            break;
        }
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nv = realloc(v, cap * sizeof(*v));
            if (nv == NULL) {
                free(path);
                rc = -ENOMEM;
                break;
            }
            v = nv;
        }
        v[n++] = path;
    }
    closedir(d);
    if (rc != 0) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return rc;
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_str);
    *out = v;
    *count = n;
    return 0;
}

/* Publishes the stored items preload[npreload, npreload + n) with
 * PUT_CAPS and counts them in; if the guest dies under it, recovers (which
 * republishes the items already counted) and tries once more. */
static int publish_pending(struct nubfs *fs, size_t n)
{
    struct nub_cap_obj **objs = malloc((n ? n : 1) * sizeof(*objs));
    if (objs == NULL)
        return -ENOMEM;
    for (size_t k = 0; k < n; k++)
        objs[k] = fs->preload[fs->npreload + k].obj;
    char msg[NUB_MAILBOX_MSG];
    size_t done;
    int rc = nubfs_publish_objs(fs, objs, n, &done, msg);
    if (rc == -EIO || rc == -ESHUTDOWN) {
        /* The guest died under this batch: recover and try it once more
         * (a batch is all or nothing; earlier ones are counted in and
         * come back with the recovery). */
        fs->npreload += done;
        n -= done;
        rc = nubfs_recover(fs);
        if (rc == 0)
            rc = nubfs_publish_objs(fs, objs + done, n, &done, msg);
    }
    free(objs);
    for (size_t k = 0; k < done; k++)
        fs->preload_bytes += fs->preload[fs->npreload + k].len;
    fs->npreload += done;
    if (rc != 0)
        nubfs_warn("preload %s: %s%s%s%s", fs->preload[fs->npreload].path, strerror(-rc),
                   msg[0] ? " (" : "", msg, msg[0] ? ")" : "");
    return rc;
}

int nubfs_preload(struct nubfs *fs, const char *dir)
{
    char **paths = NULL;
    size_t n = 0;
    int rc = list_dir(dir, &paths, &n);
    if (rc != 0) {
        nubfs_warn("preload %s: %s", dir, strerror(-rc));
        return rc;
    }
    fs->preload = calloc(n ? n : 1, sizeof(*fs->preload));
    if (fs->preload == NULL)
        rc = -ENOMEM;
    /* Files go into the store one by one (host work) and into the guest
     * in batches: preload[npreload, npreload + pending) are stored, not
     * yet published. */
    size_t pending = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct nubfs_preload_item *it = &fs->preload[fs->npreload + pending];
        rc = nubfs_store_file(fs, paths[i], it->hash, &it->len, &it->obj);
        if (rc != 0) {
            nubfs_warn("preload %s: %s%s", paths[i], strerror(-rc),
                       rc == -ENOSPC ? " (cap store full: raise -o store_max=)" : "");
            break;
        }
        it->path = paths[i];
        paths[i] = NULL;
        pending++;
        size_t count = fs->npreload + pending;
        /* A batch ends where test_crash_after wants its crash, too. */
        bool crash_here = fs->opts.test_ops && fs->opts.test_crash_after == count;
        if (pending < NUB_PUT_CAPS_BATCH && i + 1 < n && !crash_here)
            continue;
        rc = publish_pending(fs, pending);
        pending = 0;
        if (rc == -ENOSPC)
            nubfs_warn("preload: guest memory full: raise -o guest_mem=");
        if (rc == 0 && nubfs_knobs_preloaded(fs, fs->npreload))
            nubfs_recover(fs); /* poison -> reboot -> republish, for real */
    }
    /* Stored but not published (after a refusal): let them go. */
    for (size_t k = fs->npreload; fs->preload != NULL && k < n; k++) {
        if (fs->preload[k].obj != NULL)
            nub_cap_obj_unref(fs->preload[k].obj);
        free(fs->preload[k].path);
        fs->preload[k] = (struct nubfs_preload_item){0};
    }
    for (size_t k = 0; k < n; k++)
        free(paths[k]);
    free(paths);
    if (rc == 0)
        nubfs_log("preloaded %zu files (%llu bytes) from %s", fs->npreload,
                  (unsigned long long)fs->preload_bytes, dir);
    return rc;
}

void nubfs_preload_free(struct nubfs *fs)
{
    for (size_t i = 0; i < fs->npreload; i++)
        free(fs->preload[i].path); /* the objects go with the store */
    free(fs->preload);
    fs->preload = NULL;
    fs->npreload = 0;
}
