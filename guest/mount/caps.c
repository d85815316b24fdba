/* Mount step 4, second half: publish the package's segments (modules, data
 * blobs, manifest) as caps pointing in place into the package. An equal
 * cap already present just gains a reference (the host compared the bytes
 * before the call). Two passes: every cap is looked up once, the present
 * ones gain their reference, then the directory reserves room for exactly
 * the absent ones (so a package of shared caps never grows the table) and
 * they are inserted without a second lookup. Also the reference
 * bookkeeping that unmount and rollback share. */
#include <string.h>

#include "mount_internal.h"
#include "nub/guest_addr.h"

static uint16_t cap_kind(uint8_t seg_type)
{
    switch (seg_type) {
    case RVF_SEG_WASM:
        return NUB_CAP_WASM;
    case RVF_SEG_MANIFEST:
        return NUB_CAP_MANIFEST;
    default:
        return NUB_CAP_DATA;
    }
}

static enum nub_status put_failed(struct mctx *c, enum nub_status st, uint32_t i)
{
    switch (st) {
    case NUB_ST_EXISTS:
        return mount_fail(c, st, "segment %u: a cap with its hash and another length exists", i);
    case NUB_ST_NOMEM:
        return mount_fail(c, st, "segment %u: no memory to grow the directory", i);
    case NUB_ST_QUOTA:
        return mount_fail(c, st,
                          "segment %u: directory full (maximum size, or no slot within "
                          "its probe bound until a growth finishes)",
                          i);
    case NUB_ST_STATE:
        return mount_fail(c, st, "segment %u: more new caps than the directory reserved", i);
    default:
        return mount_fail(c, st, "segment %u: cap count or size overflow", i);
    }
}

/* Pass 1: every cap's record; a cap already in the directory gains its
 * reference here, an absent one is marked NUB_MCAP_F_FIRST with its
 * directory hash parked in `reserved` for pass 2. *absent counts them. */
static enum nub_status refer(struct mctx *c, uint32_t *absent)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->pkg.nsegs; i++) {
        const struct rvf_segment *s = &c->pkg.segs[i];
        if (s->type == RVF_SEG_CRYPTO)
            continue;
        if (n >= c->rec.ncaps)
            return mount_fail(c, NUB_ST_BADMSG, "caps: more segments than counted");
        struct nub_mount_cap *cap = &c->caps[n];
        __builtin_memcpy(cap->hash, s->hash, sizeof cap->hash);
        cap->gpa = mount_payload_gpa(c, s);
        cap->len = s->payload_len;
        cap->kind = cap_kind(s->type);
        cap->segment = c->caps_mode ? (uint32_t)s->offset : i;
        uint32_t refs;
        uint64_t h64 = 0;
        enum nub_status st = nub_dir_ref(c->m->dir, cap->hash, cap->len, &refs, &h64);
        if (st == NUB_ST_NOENT) {
            cap->flags = NUB_MCAP_F_FIRST;
            cap->reserved = h64;
            ++*absent;
        } else if (st != NUB_ST_OK) {
            return put_failed(c, st, i);
        }
        c->caps_refd = ++n;
    }
    return NUB_ST_OK;
}

/* Pass 2: the absent caps, in order. In caps mode the list is sorted, so
 * a hash twice in the package is twice in a row: the second takes a
 * reference on the first. ABI 1 segments are in any order: each is looked
 * up again. */
static enum nub_status insert_absent(struct mctx *c)
{
    struct nub_dir *d = c->m->dir;
    const struct nub_mount_cap *prev = NULL;
    for (uint32_t i = 0; i < c->caps_refd; i++) {
        struct nub_mount_cap *cap = &c->caps[i];
        if (!(cap->flags & NUB_MCAP_F_FIRST)) {
            c->caps_made = i + 1;
            continue;
        }
        uint64_t h64 = cap->reserved;
        cap->reserved = 0;
        enum nub_status st;
        int existed = 0;
        if (c->caps_mode && !(prev && memcmp(prev->hash, cap->hash, 16) == 0)) {
            st = nub_dir_insert(d, cap->hash, h64, cap->gpa, cap->len, cap->kind);
        } else {
            uint32_t refs;
            st = nub_dir_put(d, cap->hash, cap->gpa, cap->len, cap->kind, &refs, &existed);
        }
        if (st != NUB_ST_OK)
            return put_failed(c, st, cap->segment);
        if (existed)
            cap->flags = 0;
        else
            c->caps_new++;
        prev = cap;
        c->caps_made = i + 1;
    }
    return NUB_ST_OK;
}

enum nub_status mount_caps_publish(struct mctx *c)
{
    enum nub_status st = mount_dir_reserve(c, 0);
    uint32_t absent = 0;
    if (st == NUB_ST_OK)
        st = refer(c, &absent);
    if (st == NUB_ST_OK)
        st = mount_dir_reserve(c, absent);
    if (st == NUB_ST_OK)
        st = insert_absent(c);
    return st;
}

uint32_t mount_caps_release(struct nub_mounts *m, const struct nub_mount_cap *caps, uint32_t n)
{
    uint32_t removed = 0;
    /* Last first: undoing puts in reverse order restores the table layout
     * exactly (backward-shift deletion). */
    for (uint32_t i = n; i-- > 0;) {
        uint32_t left;
        struct nub_dir_entry gone;
        /* NOENT only if the host RELEASEd a reference it did not own;
         * nothing more to drop then. */
        if (nub_dir_release(m->dir, caps[i].hash, &left, &gone) != NUB_ST_OK || left)
            continue;
        removed++;
        /* Data that PUT handed over is a block of its own (owner CAP);
         * data in a package is freed with the package (else this fails). */
        nub_heap_free(m->heap, gone.data_gpa, NUB_OWNER_CAP);
    }
    return removed;
}

uint32_t mount_caps_pinned(const struct nub_dir *d, const struct nub_mount_cap *caps, uint32_t n,
                           uint64_t pkg_gpa, uint64_t pkg_len)
{
    uint32_t pinned = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!(caps[i].flags & NUB_MCAP_F_FIRST))
            continue;
        const struct nub_dir_entry *e = nub_dir_lookup(d, caps[i].hash);
        /* Inclusive end: an empty payload may sit right at the end. */
        if (e && e->data_gpa >= pkg_gpa && e->data_gpa - pkg_gpa <= pkg_len)
            pinned++;
    }
    return pinned;
}

void mount_caps_undo(struct mctx *c)
{
    /* Last first, and only what holds a reference: a present cap from pass
     * 1 on, an absent one once pass 2 inserted it; so the inserts are
     * undone in reverse order (the layout comes back exactly). */
    for (uint32_t i = c->caps_refd; i-- > 0;) {
        const struct nub_mount_cap *cap = &c->caps[i];
        if ((cap->flags & NUB_MCAP_F_FIRST) && i >= c->caps_made)
            continue;
        mount_caps_release(c->m, cap, 1);
    }
    c->caps_refd = c->caps_made = 0;
    mount_dir_undo(c);
}
