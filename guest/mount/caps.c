/* Mount step 4, second half: publish the package's segments (modules, data
 * blobs, manifest) as caps pointing in place into the package. An equal
 * cap already present just gains a reference (the host compared the bytes
 * before the call). Also the reference bookkeeping that unmount and
 * rollback share. */
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

enum nub_status mount_caps_publish(struct mctx *c)
{
    enum nub_status st = mount_dir_reserve(c);
    if (st != NUB_ST_OK)
        return st;
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->pkg.nsegs; i++) {
        const struct rvf_segment *s = &c->pkg.segs[i];
        if (s->type == RVF_SEG_CRYPTO)
            continue;
        if (n >= c->rec.ncaps)
            return mount_fail(c, NUB_ST_BADMSG, "caps: more segments than counted");
        struct nub_mount_cap *cap = &c->caps[n];
        memcpy(cap->hash, s->hash, sizeof cap->hash);
        cap->gpa = mount_payload_gpa(c, s);
        cap->len = s->payload_len;
        cap->kind = cap_kind(s->type);
        cap->segment = c->caps_mode ? (uint32_t)s->offset : i;
        uint32_t refs;
        int existed;
        st = nub_dir_put(c->m->dir, cap->hash, cap->gpa, cap->len, cap->kind, &refs, &existed);
        switch (st) {
        case NUB_ST_OK:
            break;
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
        cap->flags = existed ? 0 : NUB_MCAP_F_FIRST;
        c->caps_new += !existed;
        c->caps_made = ++n;
    }
    return NUB_ST_OK;
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
    mount_caps_release(c->m, c->caps, c->caps_made);
    c->caps_made = 0;
    mount_dir_undo(c);
}
