/* -o preload=DIR: publish every regular file of DIR as a cap before
 * mounting (serving a directory content-addressed; also how the tests put
 * blobs in). The list is kept so a rebooted guest gets them back
 * (recover.c publishes them again). */
#include "nubfs.h"

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
    size_t i = 0;
    for (; rc == 0 && i < n; i++) {
        struct nubfs_preload_item *it = &fs->preload[fs->npreload];
        rc = nubfs_put_file(fs, paths[i], it->hash, &it->len, &it->obj);
        if (rc == -EIO || rc == -ESHUTDOWN) {
            /* The guest died under this PUT: recover and try it once more. */
            rc = nubfs_recover(fs);
            if (rc == 0)
                rc = nubfs_put_file(fs, paths[i], it->hash, &it->len, &it->obj);
        }
        if (rc != 0) {
            nubfs_warn("preload %s: %s%s", paths[i], strerror(-rc),
                      rc == -ENOSPC ? " (guest memory or cap store full: raise -o guest_mem= "
                                      "or store_max=)"
                                    : "");
            break;
        }
        it->path = paths[i];
        paths[i] = NULL;
        fs->npreload++;
        fs->preload_bytes += it->len;
        if (nubfs_knobs_preloaded(fs, fs->npreload))
            nubfs_recover(fs); /* poison -> reboot -> republish, for real */
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
