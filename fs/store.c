/* The daemon's cap store (docs/cap-store.md): created next to the
 * sandbox, which maps its files read-only into the guest's cap window;
 * every cap the daemon publishes (package segments, preloaded files, a
 * forged test cap) has its bytes here, and caps/ reads are answered from
 * the store object an open file handle holds, not from guest memory: an
 * open file keeps reading after its cap left the directory, as an
 * unlinked file does. */
#include "nubfs.h"
#include "state.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"

/* -o store_max, or half the host's RAM (as tmpfs), within the window. */
static uint64_t store_limit(const struct nubfs *fs)
{
    if (fs->opts.store_max != 0)
        return fs->opts.store_max;
    long pages = sysconf(_SC_PHYS_PAGES), pg = sysconf(_SC_PAGESIZE);
    uint64_t half = pages > 0 && pg > 0 ? (uint64_t)pages * (uint64_t)pg / 2 : 0;
    return half == 0 || half > NUB_CAP_WINDOW_SIZE ? NUB_CAP_WINDOW_SIZE : half;
}

int nubfs_store_create(struct nubfs *fs)
{
    struct nub_cap_store_opts o = {
        .file_min = fs->opts.cap_file_min,
        .limit = store_limit(fs),
        .window_gpa = NUB_CAP_WINDOW_BASE,
        .window_size = NUB_CAP_WINDOW_SIZE,
        .mapper = nub_sandbox_cap_mapper(fs->sb),
        .release_hook = nubfs_pt_release_obj,
        .release_ctx = fs,
        .file_wanted = nubfs_kept_wants,
        .wanted_ctx = fs,
    };
    /* Persistent: the caps' files live in the state directory's caps/. */
    o.dirfd = nubfs_state_caps_fd(fs);
    o.in_dir = o.dirfd >= 0;
    int rc = nub_cap_store_new(&o, &fs->store);
    if (rc != 0)
        nubfs_warn("cannot create the cap store: %s", strerror(-rc));
    return rc;
}

void nubfs_store_free(struct nubfs *fs)
{
    nub_cap_store_free(fs->store); /* the guest is gone: nothing is unmapped */
    fs->store = NULL;
}

int nubfs_obj_readable(struct nubfs *fs, struct nub_cap_obj *o, const char *via)
{
    char hex[33];
    bool first;
    if (nub_cap_obj_intact(o, &first) != 0) {
        nub_hash_to_hex(o->hash, hex);
        nubfs_warn("cap %s (%s): its file in %s/caps is damaged (it is not %llu bytes)%s: EIO", hex,
                   via, nubfs_state_dir(fs) ? nubfs_state_dir(fs) : "the state directory",
                   (unsigned long long)o->len, first ? ", found now" : "");
        return -EIO;
    }
    if (fs->opts.verify)
        nubfs_turn_yield(); /* the hash may take a while: turn.c */
    if (fs->opts.verify && nub_cap_obj_verify(o) != 0) {
        /* -o verify: its file no longer holds what its name says (a disk
         * fault, or a change behind our back): no byte of it is served. */
        nub_hash_to_hex(o->hash, hex);
        __atomic_add_fetch(&fs->verify_failures, 1, __ATOMIC_RELAXED);
        nubfs_warn("verify: cap %s: its %s no longer hashes to its name (%s): EIO", hex,
                   fs->state != NULL ? "file in the state directory" : "backing file", via);
        return -EIO;
    }
    return 0;
}

void nubfs_reply_obj(fuse_req_t req, const struct nub_cap_obj *obj, uint64_t off, size_t size)
{
    uint64_t n = off >= obj->len ? 0 : obj->len - off;
    if (n > size)
        n = size;
    if (n == 0) {
        fuse_reply_buf(req, NULL, 0);
        return;
    }
    /* An fd buffer on the object's memfd (or its pack): the kernel
     * splices it. The caller's reference keeps the file open. */
    struct fuse_bufvec bv = FUSE_BUFVEC_INIT(n);
    bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
    bv.buf[0].fd = obj->fd;
    bv.buf[0].pos = obj->offset + (off_t)off;
    fuse_reply_data(req, &bv, 0);
}

static json_t *num(uint64_t v)
{
    return json_integer((json_int_t)(v & INT64_MAX));
}

void *nubfs_store_json(struct nubfs *fs)
{
    json_t *o = json_object();
    if (fs->store == NULL || o == NULL)
        return o;
    struct nub_cap_store_stats s;
    nub_cap_store_stats(fs->store, &s);
    json_object_set_new(o, "objects", num(s.objects));
    json_object_set_new(o, "bytes", num(s.bytes));
    json_object_set_new(o, "allocated_bytes", num(s.used));
    json_object_set_new(o, "limit", num(s.limit));
    json_object_set_new(o, "file_min", num(s.file_min));
    json_object_set_new(o, "own_files", num(s.files));
    json_object_set_new(o, "packs", num(s.packs));
    json_object_set_new(o, "packed_caps", num(s.packed));
    json_object_set_new(o, "kvm_slots", num(s.slots));
    json_object_set_new(o, "open_only_caps", num(s.open_only));
    json_object_set_new(o, "open_only_bytes", num(s.open_only_bytes));
    json_object_set_new(o, "created", num(s.created));
    json_object_set_new(o, "shared", num(s.shared));
    json_object_set_new(o, "exists_refused", num(s.exists_refused));
    json_object_set_new(o, "nospc_refused", num(s.nospc_refused));
    json_object_set_new(o, "damaged_caps", num(s.damaged));
    json_object_set_new(o, "reused_files", num(s.reused));
    bool pt = nubfs_pt_on();
    json_object_set_new(o, "read_path", json_string(pt ? "passthrough" : "splice"));
    json_object_set_new(o, "read_path_reason", json_string(nubfs_pt_reason()));
    json_object_set_new(o, "passthrough_opens", num(nubfs_pt_opens()));
    uint64_t rpt, rserved, rspliced;
    nubfs_region_pt_counts(&rpt, &rserved, &rspliced);
    json_object_set_new(o, "region_passthrough_opens", num(rpt));
    json_object_set_new(o, "region_served_opens", num(rserved));
    json_object_set_new(o, "region_spliced_opens", num(rspliced));
    return o;
}
