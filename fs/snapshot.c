/* Snapshots: the generated text files (log, stats, the JSON files of
 * mounts/). The content is rendered once at open and served from that
 * copy, so a reader sees one consistent version even across several read
 * calls; direct_io because the size is not known to stat (log and stats
 * say 0, like /proc files).
 *
 * The file handle is a snapshot id, not a pointer: the kernel may send
 * release while another worker is still answering a read of the same
 * handle (a read whose caller was interrupted), so a read looks the id up
 * and holds a reference for as long as its reply is being written, and
 * release only drops the table's reference. */
#include "nubfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct snapshot {
    struct snapshot *next;
    uint64_t id;
    unsigned refs;
    char *data;
    size_t len;
};

static struct {
    pthread_mutex_t mu;
    struct snapshot *head;
    uint64_t next_id;
} g_snap = {.mu = PTHREAD_MUTEX_INITIALIZER, .next_id = 1};

static void put(struct snapshot *s)
{
    if (--s->refs == 0) {
        free(s->data);
        free(s);
    }
}

void nubfs_snapshot_open(fuse_req_t req, char *data, size_t len, struct fuse_file_info *fi)
{
    struct snapshot *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        free(data);
        fuse_reply_err(req, ENOMEM);
        return;
    }
    s->data = data;
    s->len = len;
    s->refs = 1; /* the table's */
    pthread_mutex_lock(&g_snap.mu);
    s->id = g_snap.next_id++;
    s->next = g_snap.head;
    g_snap.head = s;
    pthread_mutex_unlock(&g_snap.mu);
    fi->fh = s->id;
    fi->direct_io = 1;
    fi->noflush = 1; /* a flush has nothing to do: spare the round trip */
    if (fuse_reply_open(req, fi) != 0)
        nubfs_snapshot_release(fi);
}

char *nubfs_text_file(char *s, size_t *len)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *out = realloc(s, n + 2);
    if (out == NULL) {
        free(s);
        return NULL;
    }
    out[n] = '\n';
    out[n + 1] = '\0';
    *len = n + 1;
    return out;
}

void nubfs_snapshot_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi)
{
    pthread_mutex_lock(&g_snap.mu);
    struct snapshot *s = g_snap.head;
    while (s != NULL && s->id != fi->fh)
        s = s->next;
    if (s != NULL)
        s->refs++;
    pthread_mutex_unlock(&g_snap.mu);
    if (s == NULL) {
        fuse_reply_err(req, EBADF);
        return;
    }
    size_t o = (uint64_t)off >= s->len ? s->len : (size_t)off;
    size_t n = s->len - o < size ? s->len - o : size;
    fuse_reply_buf(req, s->data + o, n);
    pthread_mutex_lock(&g_snap.mu);
    put(s);
    pthread_mutex_unlock(&g_snap.mu);
}

void nubfs_snapshot_release(struct fuse_file_info *fi)
{
    pthread_mutex_lock(&g_snap.mu);
    for (struct snapshot **p = &g_snap.head; *p != NULL; p = &(*p)->next) {
        if ((*p)->id == fi->fh) {
            struct snapshot *s = *p;
            *p = s->next;
            put(s);
            break;
        }
    }
    pthread_mutex_unlock(&g_snap.mu);
}
