/* The set of trusted public keys: loaded from one .pub file or from every
 * "*.pub" file of a directory (sorted, so messages are reproducible). */
#include "sign.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"

#define TRUST_MAX_KEYS 4096u /* bounds a hostile or mistaken directory */

void nub_trust_init(struct nub_trust *t)
{
    t->keys = NULL;
    t->count = 0;
    t->cap = 0;
}

void nub_trust_free(struct nub_trust *t)
{
    free(t->keys);
    nub_trust_init(t);
}

const struct nub_pubkey *nub_trust_find(const struct nub_trust *t,
                                        const uint8_t pk[NUB_SIGN_PUBLIC_BYTES])
{
    if (!t)
        return NULL;
    for (size_t i = 0; i < t->count; i++)
        if (memcmp(t->keys[i].pk, pk, NUB_SIGN_PUBLIC_BYTES) == 0)
            return &t->keys[i];
    return NULL;
}

int nub_trust_add(struct nub_trust *t, const struct nub_pubkey *k)
{
    if (nub_trust_find(t, k->pk))
        return 0;
    if (t->count >= TRUST_MAX_KEYS)
        return -E2BIG;
    if (t->count == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 8;
        struct nub_pubkey *n = realloc(t->keys, ncap * sizeof *n);
        if (!n)
            return -ENOMEM;
        t->keys = n;
        t->cap = ncap;
    }
    t->keys[t->count++] = *k;
    return 0;
}

static int add_key(void *ctx, const struct nub_pubkey *k)
{
    return nub_trust_add(ctx, k);
}

int nub_trust_add_file(struct nub_trust *t, const char *path, char *err, size_t errlen)
{
    /* Collect first: a file malformed on any line adds nothing. */
    struct nub_trust file;
    nub_trust_init(&file);
    int r = nub_pubkeys_load(path, add_key, &file, err, errlen);
    for (size_t i = 0; r == 0 && i < file.count; i++)
        if ((r = nub_trust_add(t, &file.keys[i])) < 0)
            nub_set_err(err, errlen, "%s: %s", path, strerror(-r));
    nub_trust_free(&file);
    return r;
}

static bool is_pub_name(const char *name)
{
    size_t n = strlen(name);
    /* ".pub" alone and hidden files (editor backups, rsync temps) are not keys */
    return n > 4 && name[0] != '.' && strcmp(name + n - 4, ".pub") == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int nub_trust_load_dir(struct nub_trust *t, const char *dir, nub_trust_report_fn report,
                       void *ctx, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        /* The directory itself: the caller's one message, not a key file. */
        int e = errno;
        nub_set_err(err, errlen, "%s: %s", dir, strerror(e));
        return -e;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int ret = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (!is_pub_name(de->d_name))
            continue;
        if (n >= TRUST_MAX_KEYS) {
            ret = -E2BIG;
            break;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (!nn) {
                ret = -ENOMEM;
                break;
            }
            names = nn;
            cap = ncap;
        }
        if (!(names[n] = strdup(de->d_name))) {
            ret = -ENOMEM;
            break;
        }
        n++;
    }
    if (ret == 0 && errno != 0)
        ret = -errno;
    closedir(d);
    if (ret < 0) {
        nub_set_err(err, errlen, "%s: %s", dir, strerror(-ret));
        goto out;
    }
    if (n > 0)
        qsort(names, n, sizeof *names, cmp_str);

    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        char why[NUB_SIGN_ERR_MAX];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= sizeof path) {
            snprintf(why, sizeof why, "%s/%s: path too long", dir, names[i]);
        } else {
            int r = nub_trust_add_file(t, path, why, sizeof why);
            if (r == 0)
                continue;
        }
        /* why already names the file; the report gets the bare reason too. */
        if (report)
            report(ctx, path, why);
        if (ret == 0) {
            ret = -EINVAL;
            nub_set_err(err, errlen, "%s", why);
        }
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return ret;
}
