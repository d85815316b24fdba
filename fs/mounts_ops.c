/* mounts/: what each mount created, read from the guest's mount table
 * (mount_reader, under the sandbox read lock, never a guest call):
 *   mounts/<name>/info                      JSON (mounts_json.c)
 *   mounts/<name>/components/<c>/module     -> ../../../../caps/<hash>
 *   mounts/<name>/components/<c>/grants     JSON
 *   mounts/<name>/components/<c>/entry      JSON list of entry points
 *   mounts/<name>/regions/<region>          live region content, read-only
 *   mounts/<name>/queues, tasks             JSON
 * <name> is the ctl/ file name without ".rvf". Inodes carry the mount
 * serial (mounts.h), which a replace keeps, and for regions and
 * components the stable index of their name (mnt_names.c), so a replaced
 * package shows its new content through the same inodes while a removed
 * package's nodes answer ENOENT; the kernel is told to forget
 * mounts/<name> when it changes. */
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mview_begin(struct nubfs *fs, uint64_t mseq, struct mview *v)
{
    memset(v, 0, sizeof(*v));
    uint64_t handle = 0;
    /* The read lock first (lock order), then the handle: the handle read
     * is then the one in the guest we look at (a replace swaps it between
     * its two guest calls, a recovery before it opens the gate). */
    nubfs_settled_rdlock(fs);
    nubfs_ctl_lock(fs);
    struct nubfs_ctl_entry *e = nubfs_ctl_by_mseq(fs, mseq);
    if (e != NULL && nubfs_ctl_name_kind(e->name) == NUBFS_CTL_NAME_PKG) {
        handle = e->handle;
        v->mseq = mseq;
        snprintf(v->ctlname, sizeof(v->ctlname), "%s", e->name);
        nubfs_ctl_mount_name(e->name, v->name);
        v->mounted_at = e->mounted_at;
        v->package_len = e->pkg ? e->pkg->len : 0;
        v->mode = e->mode;
        v->uid = e->uid;
        v->gid = e->gid;
    }
    nubfs_ctl_unlock(fs);
    if (handle == 0)
        return -ENOENT;
    int rc = nub_mtab_open(&v->mr, nub_sandbox_mem(fs->sb),
                                   nub_sandbox_boot_info_gpa(fs->sb));
    if (rc == 0)
        rc = nub_mtab_find(&v->mr, handle, &v->m);
    return rc; /* -ENOENT while a rebooted guest is being refilled */
}

void mview_end(struct nubfs *fs)
{
    nub_sandbox_rdunlock(fs->sb);
}

/* A guest-supplied name that can be a file name. */
static bool usable(const char *n)
{
    return n[0] != '\0' && strchr(n, '/') == NULL && strcmp(n, ".") != 0 && strcmp(n, "..") != 0;
}

struct child {
    char name[NUB_MOUNT_NAME_LEN];
    fuse_ino_t ino;
};

struct fixed_child {
    const char *name;
    unsigned kind;
};

#define NFIXED(t) (sizeof(t) / sizeof((t)[0]))

/* The fixed children of a mount's or a component's directory (malloc'd,
 * *k of them); NULL without memory. */
static struct child *fixed_children(const struct fixed_child *t, size_t n, uint64_t seq,
                                    uint32_t idx, size_t *k)
{
    struct child *c = calloc(n, sizeof(*c));
    for (size_t i = 0; c != NULL && i < n; i++) {
        snprintf(c[i].name, sizeof(c[i].name), "%s", t[i].name);
        c[i].ino = mnt_ino(seq, t[i].kind, idx);
    }
    *k = c != NULL ? n : 0;
    return c;
}

/* Appends a child named by the guest, unless the name cannot be a file
 * name; its inode has the name's stable index (stable_index, below). */
static int stable_index(struct nubfs *fs, uint64_t seq, unsigned names, const char *name,
                        uint32_t *idx);
static void add_named(struct nubfs *fs, struct child *c, size_t *k, const char *name,
                      uint64_t seq, unsigned kind, unsigned names)
{
    uint32_t idx;
    if (!usable(name) || stable_index(fs, seq, names, name, &idx) != 0)
        return;
    snprintf(c[*k].name, sizeof(c[*k].name), "%s", name);
    c[(*k)++].ino = mnt_ino(seq, kind, idx);
}

/* The stable index of a name in the table of the package's ctl/ entry. */
static int stable_index(struct nubfs *fs, uint64_t seq, unsigned names, const char *name,
                        uint32_t *idx)
{
    nubfs_ctl_lock(fs);
    struct nubfs_ctl_entry *e = nubfs_ctl_by_mseq(fs, seq);
    int rc = e == NULL ? -ENOENT : nubfs_mnt_names_index(&e->names, names, name, idx);
    nubfs_ctl_unlock(fs);
    return rc;
}

/* Which table of names a node kind's index is in (-1: it has none). */
static int names_of_kind(unsigned kind)
{
    switch (kind) {
    case MK_REGION:
        return NUBFS_MNT_NAMES_REGIONS;
    case MK_COMP:
    case MK_MODULE:
    case MK_GRANTS:
    case MK_ENTRY:
        return NUBFS_MNT_NAMES_COMPONENTS;
    }
    return -1;
}

/* The position in the mounted package (the view) of the region or
 * component node ino names; 0 for other nodes. -ENOENT if this package
 * has no such name, -EIO for bad guest data. */
static int node_index(struct nubfs *fs, const struct mview *v, fuse_ino_t ino, uint32_t *idx)
{
    *idx = 0;
    int names = names_of_kind(mnt_kind(ino));
    if (names < 0)
        return 0;
    char name[NUB_MOUNT_NAME_LEN];
    nubfs_ctl_lock(fs);
    struct nubfs_ctl_entry *e = nubfs_ctl_by_mseq(fs, v->mseq);
    const char *n = e != NULL ? nubfs_mnt_names_at(e->names, (unsigned)names, mnt_idx(ino)) : NULL;
    if (n != NULL)
        snprintf(name, sizeof(name), "%s", n);
    nubfs_ctl_unlock(fs);
    if (n == NULL)
        return -ENOENT;
    uint32_t count = names == NUBFS_MNT_NAMES_REGIONS ? v->m.nregions : v->m.ncomponents;
    for (uint32_t i = 0; i < count; i++) {
        const char *got;
        struct nub_mount_region r;
        struct nub_mount_component c;
        if (names == NUBFS_MNT_NAMES_REGIONS) {
            if (nub_mtab_regions(&v->mr, &v->m, i, 1, &r) != 0)
                return -EIO;
            got = r.name;
        } else {
            if (nub_mtab_components(&v->mr, &v->m, i, 1, &c) != 0)
                return -EIO;
            got = c.name;
        }
        if (strncmp(got, name, NUB_MOUNT_NAME_LEN) == 0) {
            *idx = i;
            return 0;
        }
    }
    return -ENOENT;
}

/* The children of directory ino (malloc'd). 0, -ENOENT, -ENOTDIR, -EIO,
 * -ENOMEM. */
static int children(struct nubfs *fs, fuse_ino_t ino, struct child **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (ino == NUBFS_INO_MOUNTS) {
        nubfs_ctl_lock(fs);
        size_t cap = fs->ctl->n ? fs->ctl->n : 1, k = 0;
        struct child *c = calloc(cap, sizeof(*c));
        struct nubfs_ctl_entry *e;
        for (size_t i = 0; c != NULL && (e = nubfs_ctl_at(fs, i)) != NULL; i++) {
            if (!e->linked || e->handle == 0 || nubfs_ctl_name_kind(e->name) != NUBFS_CTL_NAME_PKG)
                continue;
            nubfs_ctl_mount_name(e->name, c[k].name);
            c[k++].ino = mnt_ino(e->mseq, MK_MDIR, 0);
        }
        nubfs_ctl_unlock(fs);
        if (c == NULL)
            return -ENOMEM;
        *out = c;
        *n = k;
        return 0;
    }
    uint64_t seq = mnt_seq(ino);
    unsigned kind = mnt_kind(ino);
    uint32_t idx = mnt_idx(ino);
    static const struct fixed_child top[] = {{"info", MK_INFO},
                                             {"components", MK_COMPS},
                                             {"regions", MK_REGIONS},
                                             {"queues", MK_QUEUES},
                                             {"tasks", MK_TASKS}};
    static const struct fixed_child comp[] = {
        {"module", MK_MODULE}, {"grants", MK_GRANTS}, {"entry", MK_ENTRY}};
    if (kind != MK_MDIR && kind != MK_COMPS && kind != MK_REGIONS && kind != MK_COMP)
        return -ENOTDIR;
    struct mview v;
    int rc = mview_begin(fs, seq, &v);
    struct child *c = NULL;
    size_t k = 0;
    if (rc == 0 && kind == MK_MDIR) {
        c = fixed_children(top, NFIXED(top), seq, 0, &k);
    } else if (rc == 0 && kind == MK_COMP) {
        uint32_t pos;
        rc = node_index(fs, &v, ino, &pos); /* the component is in this package */
        if (rc == 0)
            c = fixed_children(comp, NFIXED(comp), seq, idx, &k);
    } else if (rc == 0 && kind == MK_COMPS) {
        uint32_t cnt = v.m.ncomponents;
        struct nub_mount_component *a = calloc(cnt ? cnt : 1, sizeof(*a));
        c = calloc(cnt ? cnt : 1, sizeof(*c));
        if (a == NULL)
            rc = -ENOMEM;
        else if (c && cnt && nub_mtab_components(&v.mr, &v.m, 0, cnt, a) != 0)
            rc = -EIO;
        for (uint32_t i = 0; rc == 0 && c && i < cnt; i++)
            add_named(fs, c, &k, a[i].name, seq, MK_COMP, NUBFS_MNT_NAMES_COMPONENTS);
        free(a);
    } else if (rc == 0 && kind == MK_REGIONS) {
        uint32_t cnt = v.m.nregions;
        struct nub_mount_region *a = calloc(cnt ? cnt : 1, sizeof(*a));
        c = calloc(cnt ? cnt : 1, sizeof(*c));
        if (a == NULL)
            rc = -ENOMEM;
        else if (c && cnt && nub_mtab_regions(&v.mr, &v.m, 0, cnt, a) != 0)
            rc = -EIO;
        for (uint32_t i = 0; rc == 0 && c && i < cnt; i++)
            add_named(fs, c, &k, a[i].name, seq, MK_REGION, NUBFS_MNT_NAMES_REGIONS);
        free(a);
    }
    mview_end(fs);
    if (rc == 0 && c == NULL)
        rc = -ENOMEM;
    if (rc != 0) {
        free(c);
        return rc;
    }
    *out = c;
    *n = k;
    return 0;
}

/* Renders a JSON node (view held by the caller). */
static char *render(const struct mview *v, unsigned kind, uint32_t idx, size_t *len, int *err)
{
    switch (kind) {
    case MK_INFO:
        return mnt_json_info(v, len, err);
    case MK_QUEUES:
        return mnt_json_queues(v, len, err);
    case MK_TASKS:
        return mnt_json_tasks(v, len, err);
    case MK_GRANTS:
        return mnt_json_grants(v, idx, len, err);
    case MK_ENTRY:
        return mnt_json_entry(v, idx, len, err);
    }
    *err = -EINVAL;
    return NULL;
}

/* The symlink target of a component's module. */
static int module_target(const struct mview *v, uint32_t idx, char out[64])
{
    struct nub_mount_component c;
    if (idx >= v->m.ncomponents)
        return -ENOENT;
    if (nub_mtab_components(&v->mr, &v->m, idx, 1, &c) != 0)
        return -EIO;
    char hex[33];
    nub_hash_to_hex(c.wasm_hash, hex);
    snprintf(out, 64, "../../../../caps/%s", hex);
    return 0;
}

/* May the requester look into what ino belongs to (mounts/<name>/ and
 * below)? Its ctl/ file's mode decides. 0, -EACCES or -ENOENT. */
static int may_read(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino)
{
    if (ino == NUBFS_INO_MOUNTS)
        return 0;
    nubfs_ctl_lock(fs);
    struct nubfs_ctl_entry *e = nubfs_ctl_by_mseq(fs, mnt_seq(ino));
    int rc = e == NULL ? -ENOENT
                       : nubfs_may_read(req, fs, e->uid, e->gid, e->mode) ? 0 : -EACCES;
    nubfs_ctl_unlock(fs);
    return rc;
}

static bool mounts_is_dir(fuse_ino_t ino)
{
    if (ino == NUBFS_INO_MOUNTS)
        return true;
    if (!(ino & NUBFS_INO_MNT_BIT) || (ino & NUBFS_INO_CAP_BIT))
        return false;
    unsigned k = mnt_kind(ino);
    return k == MK_MDIR || k == MK_COMPS || k == MK_REGIONS || k == MK_COMP;
}

static int node_attr(struct nubfs *fs, fuse_ino_t ino, struct stat *st)
{
    unsigned kind = mnt_kind(ino);
    uint32_t idx = 0;
    struct mview v;
    int rc = mview_begin(fs, mnt_seq(ino), &v);
    uint64_t size = 0;
    char target[64];
    if (rc == 0)
        rc = node_index(fs, &v, ino, &idx);
    if (rc == 0) {
        switch (kind) {
        case MK_MDIR:
        case MK_COMPS:
        case MK_REGIONS:
            break;
        case MK_COMP:
            rc = idx < v.m.ncomponents ? 0 : -ENOENT;
            break;
        case MK_MODULE:
            rc = module_target(&v, idx, target);
            size = rc == 0 ? strlen(target) : 0;
            break;
        case MK_REGION: {
            struct nub_mount_region r;
            rc = idx >= v.m.nregions ? -ENOENT
                                     : nub_mtab_regions(&v.mr, &v.m, idx, 1, &r) ? -EIO : 0;
            size = rc == 0 ? r.length : 0;
            break;
        }
        case MK_INFO:
        case MK_QUEUES:
        case MK_TASKS:
        case MK_GRANTS:
        case MK_ENTRY: {
            if ((kind == MK_GRANTS || kind == MK_ENTRY) && idx >= v.m.ncomponents) {
                rc = -ENOENT;
                break;
            }
            char *s = render(&v, kind, idx, &size, &rc);
            free(s);
            break;
        }
        default:
            rc = -ENOENT;
        }
    }
    mview_end(fs);
    if (rc != 0)
        return rc;
    if (mounts_is_dir(ino)) {
        nubfs_dir_attr(fs, ino, st);
    } else {
        nubfs_file_attr(fs, ino, size, st);
    }
    /* Owner and read bits of ctl/<name>.rvf (nubfs_mount_mode). */
    st->st_mode = kind == MK_MODULE ? S_IFLNK | 0777 : nubfs_mount_mode(v.mode, mounts_is_dir(ino));
    st->st_uid = v.uid;
    st->st_gid = v.gid;
    st->st_mtim = st->st_ctim = v.mounted_at;
    return 0;
}

static void fill_entry(struct nubfs *fs, fuse_ino_t ino, const struct stat *st,
                       struct fuse_entry_param *e)
{
    (void)fs;
    memset(e, 0, sizeof(*e));
    e->ino = ino;
    e->attr = *st;
    e->entry_timeout = NUBFS_MNT_TIMEOUT;
    /* Files change size (append-only regions, task states): no attr cache. */
    e->attr_timeout = S_ISDIR(st->st_mode) ? NUBFS_MNT_TIMEOUT : 0;
}

static void mounts_lookup(fuse_req_t req, struct nubfs *fs, fuse_ino_t parent, const char *name)
{
    struct child *c;
    size_t n;
    int rc = may_read(req, fs, parent);
    if (rc == 0)
        rc = children(fs, parent, &c, &n);
    if (rc != 0) {
        fuse_reply_err(req, -rc);
        return;
    }
    fuse_ino_t ino = 0;
    for (size_t i = 0; i < n && ino == 0; i++)
        if (strcmp(c[i].name, name) == 0)
            ino = c[i].ino;
    free(c);
    struct stat st;
    if (ino == 0 || (rc = node_attr(fs, ino, &st)) != 0) {
        fuse_reply_err(req, ino == 0 ? ENOENT : -rc); /* not cached */
        return;
    }
    struct fuse_entry_param e;
    fill_entry(fs, ino, &st, &e);
    fuse_reply_entry(req, &e);
}

/* Offsets: i + 1 after entry i of ".", "..", children. */
static void mounts_readdir(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, size_t size,
                          off_t off, bool plus)
{
    struct child *c;
    size_t n;
    int rc = may_read(req, fs, ino);
    if (rc == 0)
        rc = children(fs, ino, &c, &n);
    if (rc != 0) {
        fuse_reply_err(req, -rc);
        return;
    }
    char *buf = malloc(size);
    if (buf == NULL) {
        free(c);
        fuse_reply_err(req, ENOMEM);
        return;
    }
    size_t used = 0;
    for (size_t i = off < 0 ? 0 : (size_t)off; i < n + 2; i++) {
        struct fuse_entry_param e = {0};
        const char *name;
        if (i < 2) {
            name = i == 0 ? "." : "..";
            nubfs_dir_attr(fs, ino, &e.attr);
        } else {
            struct stat st;
            name = c[i - 2].name;
            if (node_attr(fs, c[i - 2].ino, &st) != 0)
                continue; /* went away meanwhile */
            fill_entry(fs, c[i - 2].ino, &st, &e);
        }
        if (!nubfs_dirbuf_add(req, buf, size, &used, plus, name, &e, (off_t)i + 1))
            break;
    }
    fuse_reply_buf(req, buf, used);
    free(buf);
    free(c);
}

static void mounts_readlink(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino)
{
    if (ino == NUBFS_INO_MOUNTS || mnt_kind(ino) != MK_MODULE) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    int prc = may_read(req, fs, ino);
    if (prc != 0) {
        fuse_reply_err(req, -prc);
        return;
    }
    struct mview v;
    char target[64];
    uint32_t idx;
    int rc = mview_begin(fs, mnt_seq(ino), &v);
    if (rc == 0)
        rc = node_index(fs, &v, ino, &idx);
    if (rc == 0)
        rc = module_target(&v, idx, target);
    mview_end(fs);
    if (rc != 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_readlink(req, target);
}

/* A region's file handle: the cap an immutable region's open took (NULL:
 * a live region, read from the package mounted at each read), whether
 * the open counts on the inode's passthrough backing (region_pt.c), and
 * (immutable, listed) its entry in region_open.c, whose attributes fstat
 * answers after the package went. */
struct region_fh {
    struct nub_cap_obj *obj;
    bool pt, listed;
    struct nubfs_region_open open;
};

static void region_fh_free(struct region_fh *h)
{
    if (h->listed)
        nubfs_region_open_del(&h->open);
    nub_cap_obj_close(h->obj);
    free(h);
}

/* Opening a region: it must be in the package mounted now. An immutable
 * one's bytes are a cap: the handle holds that cap (*obj), so one open
 * file reads one version however often the package is replaced meanwhile
 * (a read spanning a replace would otherwise mix the two). Live regions
 * (*obj NULL) are read from the package mounted at each read. */
static int region_open(struct nubfs *fs, fuse_ino_t ino, struct nub_cap_obj **obj)
{
    *obj = NULL;
    struct mview v;
    struct nub_mount_region r;
    uint32_t idx;
    int rc = mview_begin(fs, mnt_seq(ino), &v);
    if (rc == 0)
        rc = node_index(fs, &v, ino, &idx);
    if (rc == 0 && nub_mtab_regions(&v.mr, &v.m, idx, 1, &r) != 0)
        rc = -EIO;
    if (rc == 0 && r.policy == NUB_REGION_IMMUTABLE && fs->store != NULL) {
        /* Still under the read lock: the package holds the cap. */
        *obj = nub_cap_store_open(fs->store, r.init_hash);
        if (*obj != NULL && (*obj)->len != r.length) {
            nub_cap_obj_close(*obj); /* not the bytes the guest shows */
            *obj = NULL;
        }
    }
    mview_end(fs);
    /* The same bytes as caps/<hash>: damaged or (verify) not matching
     * their name, they are refused here too. */
    if (*obj != NULL && nubfs_obj_readable(fs, *obj, "a region under mounts/") != 0) {
        nub_cap_obj_close(*obj);
        *obj = NULL;
        rc = -EIO;
    }
    return rc;
}

static void mounts_open(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, struct fuse_file_info *fi)
{
    int prc = may_read(req, fs, ino);
    if (prc != 0) {
        fuse_reply_err(req, -prc);
        return;
    }
    unsigned kind = mnt_kind(ino);
    if (kind == MK_REGION) {
        struct region_fh *h = calloc(1, sizeof(*h));
        if (h == NULL) {
            fuse_reply_err(req, ENOMEM);
            return;
        }
        int rc = region_open(fs, ino, &h->obj);
        if (rc != 0) {
            free(h);
            fuse_reply_err(req, -rc);
            return;
        }
        struct stat st;
        if (h->obj != NULL && node_attr(fs, ino, &st) == 0) {
            st.st_size = (off_t)h->obj->len; /* the bytes this file reads */
            nubfs_region_open_add(&h->open, ino, &st);
            h->listed = true;
        }
        fi->fh = (uint64_t)(uintptr_t)h;
        fi->noflush = 1; /* read-only: a flush has nothing to do */
        /* Passthrough of the cap's own file where it can; else the
         * content is read by the daemon, live: no page cache. */
        if (nubfs_region_pt_open(req, ino, h->obj, fi, &h->pt) != 0)
            region_fh_free(h); /* interrupted: no release comes */
        return;
    }
    struct mview v;
    uint32_t idx;
    int rc = mview_begin(fs, mnt_seq(ino), &v);
    char *s = NULL;
    size_t len = 0;
    if (rc == 0)
        rc = node_index(fs, &v, ino, &idx);
    if (rc == 0)
        s = render(&v, kind, idx, &len, &rc);
    mview_end(fs);
    if (s == NULL) {
        fuse_reply_err(req, rc ? -rc : EIO);
        return;
    }
    nubfs_snapshot_open(req, s, len, fi);
}

/* Region content: an immutable region from the cap its open took; a live
 * one spliced from guest memory like a cap's, the region record re-read
 * (append-only regions grow) and its checked [gpa, gpa + size) holding
 * [0, length). */
static void mounts_read(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino, size_t size, off_t off,
                        struct fuse_file_info *fi)
{
    if (mnt_kind(ino) != MK_REGION) {
        if (fi->fh != 0) /* a JSON file: its snapshot */
            nubfs_snapshot_read(req, size, off, fi);
        else
            fuse_reply_err(req, EBADF);
        return;
    }
    const struct region_fh *h = (const struct region_fh *)(uintptr_t)fi->fh;
    if (h != NULL && h->obj != NULL) { /* an immutable region: the cap it was opened with */
        nubfs_reply_obj(req, h->obj, (uint64_t)off, size);
        return;
    }
    struct mview v;
    struct nub_mount_region g;
    uint32_t idx;
    int rc = mview_begin(fs, mnt_seq(ino), &v);
    if (rc == 0)
        rc = node_index(fs, &v, ino, &idx);
    if (rc == 0)
        rc = nub_mtab_regions(&v.mr, &v.m, idx, 1, &g);
    if (rc != 0) {
        mview_end(fs);
        fuse_reply_err(req, -rc);
        return;
    }
    nubfs_reply_guest(req, fs, g.gpa, g.length, (uint64_t)off, size);
    mview_end(fs);
}

static int mounts_getattr(struct nubfs *fs, fuse_ino_t ino, struct stat *st, double *timeout)
{
    int rc = node_attr(fs, ino, st);
    /* Its package went: an open file of it answers, as an unlinked file
     * does (region_open.c). */
    if (rc == -ENOENT && mnt_kind(ino) == MK_REGION && nubfs_region_open_attr(ino, st) == 0)
        rc = 0;
    *timeout = rc == 0 && S_ISDIR(st->st_mode) ? NUBFS_MNT_TIMEOUT : 0;
    return rc;
}

static void mounts_release(fuse_req_t req, struct nubfs *fs, fuse_ino_t ino,
                           struct fuse_file_info *fi)
{
    (void)fs;
    if (mnt_kind(ino) == MK_REGION) {
        struct region_fh *h = (struct region_fh *)(uintptr_t)fi->fh;
        if (h != NULL) {
            if (h->pt)
                nubfs_region_pt_release(ino);
            region_fh_free(h);
        }
    } else if (fi->fh != 0)
        nubfs_snapshot_release(fi);
    fuse_reply_err(req, 0);
}

const struct nubfs_subtree nubfs_mounts_tree = {
    .is_dir = mounts_is_dir, .lookup = mounts_lookup, .readdir = mounts_readdir,
    .getattr = mounts_getattr, .open = mounts_open, .read = mounts_read, .release = mounts_release,
    .readlink = mounts_readlink,
};
