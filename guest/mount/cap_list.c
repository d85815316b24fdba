/* ABI 2 (abi.h "Cap lists"): the caps of a package as descriptors of
 * read-only window ranges instead of a copy of the package. Checks every
 * descriptor (window range, kind, order), turns the list into the segment
 * array the other mount steps use (payload_offset = the cap's gpa, so
 * rvf_payload over a base of guest address 0 is the cap's bytes), copies
 * the manifest out of the window into scratch RAM and parses it there.
 * Hash lookups are binary searches over the part of the sorted list with
 * the hash's first byte: a mount's work per cap stays flat however many
 * segments the package has. */
#include <string.h>

#include "mount_internal.h"
#include "nub/guest_addr.h"

int nub_cap_range_ok(const struct nub_mounts *m, uint64_t gpa, uint64_t len)
{
    if (gpa < m->win_gpa || gpa - m->win_gpa > m->win_size)
        return 0;
    return len <= m->win_size - (gpa - m->win_gpa);
}

static uint8_t seg_type(uint16_t kind)
{
    switch (kind) {
    case NUB_CAP_WASM:
        return RVF_SEG_WASM;
    case NUB_CAP_MANIFEST:
        return RVF_SEG_MANIFEST;
    case NUB_CAP_DATA:
        return RVF_SEG_DATA;
    default:
        return 0;
    }
}

/* 8 bytes of a hash as a big-endian number: hashes compare (memcmp
 * order) as their two halves do. Inline loads, so a step of a search or
 * of the order check costs a few emulated instructions, not a call. */
static uint64_t be64_at(const uint8_t *h)
{
    uint64_t v;
    __builtin_memcpy(&v, h, 8);
    return __builtin_bswap64(v);
}

/* <0, 0, >0 as hash a is below, equal to, above hash b. */
static int hash_cmp(const uint8_t *a, const uint8_t *b)
{
    uint64_t x = be64_at(a), y = be64_at(b);
    if (x == y) {
        x = be64_at(a + 8);
        y = be64_at(b + 8);
    }
    return x < y ? -1 : x > y;
}

enum nub_status mount_caps_parse(struct mctx *c, uint64_t block)
{
    struct nub_mounts *m = c->m;
    const struct nub_mount_req *q = c->req;
    struct nub_mount_caps_hdr h;
    if (q->pkg_len < sizeof h)
        return mount_fail(c, NUB_ST_INVAL, "MOUNT: cap list of %llu bytes has no header",
                          (unsigned long long)q->pkg_len);
    memcpy(&h, nub_mem_ptr(q->pkg_gpa), sizeof h);
    if (h.reserved[0] || h.reserved[1] || h.reserved[2])
        return mount_fail(c, NUB_ST_INVAL, "MOUNT: reserved cap list fields are not zero");
    if (h.ncaps == 0 || h.manifest >= h.ncaps)
        return mount_fail(c, NUB_ST_INVAL, "MOUNT: cap list of %u caps, manifest at %u", h.ncaps,
                          h.manifest);
    if (h.ncaps > c->lim.max_segments)
        return mount_fail(c, NUB_ST_QUOTA, "package: %u segments, limit %u", h.ncaps,
                          c->lim.max_segments);
    /* ncaps <= 1024 here: the product cannot wrap. */
    uint64_t need = sizeof h + (uint64_t)h.ncaps * sizeof(struct nub_cap_desc);
    if (q->pkg_len != need || need > block)
        return mount_fail(c, NUB_ST_INVAL, "MOUNT: cap list is %llu bytes, %u caps need %llu",
                          (unsigned long long)q->pkg_len, h.ncaps, (unsigned long long)need);
    const struct nub_cap_desc *in =
        (const struct nub_cap_desc *)nub_mem_ptr(q->pkg_gpa + sizeof h);
    struct nub_cap_desc mdesc;
    memcpy(&mdesc, &in[h.manifest], sizeof mdesc);
    if (mdesc.kind != NUB_CAP_MANIFEST || mdesc.len > UINT32_MAX ||
        !nub_cap_range_ok(m, mdesc.gpa, mdesc.len))
        return mount_fail(c, NUB_ST_INVAL, "MOUNT: cap %u is not a manifest in the cap window",
                          h.manifest);

    /* Scratch: the segment array, the WASM segments alone (for module
     * validation), then the manifest's copy. */
    uint64_t segs_bytes = (uint64_t)h.ncaps * sizeof(struct rvf_segment);
    uint64_t mf_off = 2 * nub_align_up(segs_bytes, 64);
    if (nub_heap_alloc(m->heap, mf_off + (mdesc.len ? mdesc.len : 1), 0, NUB_OWNER_MOUNT,
                       &c->scratch_gpa) != NUB_ST_OK)
        return mount_fail(c, NUB_ST_NOMEM, "MOUNT: no memory for %u caps and a %llu-byte manifest",
                          h.ncaps, (unsigned long long)mdesc.len);
    struct rvf_segment *segs = nub_mem_ptr(c->scratch_gpa);
    c->wasm_segs = nub_mem_ptr(c->scratch_gpa + mf_off / 2);
    c->nwasm = 0;
    for (uint32_t i = 0; i < h.ncaps; i++) {
        struct nub_cap_desc d;
        __builtin_memcpy(&d, &in[i], sizeof d); /* the block is host-writable: copy, then check */
        uint8_t type = seg_type(d.kind);
        if (type == 0 || d.reserved0 || d.reserved)
            return mount_fail(c, NUB_ST_INVAL, "MOUNT: cap %u: kind %u or reserved fields bad", i,
                              d.kind);
        if (!nub_cap_range_ok(m, d.gpa, d.len))
            return mount_fail(c, NUB_ST_INVAL,
                              "MOUNT: cap %u: [0x%llx, +%llu) is not in the cap window", i,
                              (unsigned long long)d.gpa, (unsigned long long)d.len);
        if (type == RVF_SEG_MANIFEST && i != h.manifest)
            return mount_fail(c, NUB_ST_BADMSG, "package: more than one manifest");
        /* (hash, segment) strictly above the previous cap's, which
         * segs[i - 1] holds (already copied and checked). */
        if (i > 0) {
            int r = hash_cmp(segs[i - 1].hash, d.hash);
            if (r > 0 || (r == 0 && segs[i - 1].offset >= d.segment))
                return mount_fail(c, NUB_ST_INVAL, "MOUNT: cap list not sorted at %u", i);
        }
        struct rvf_segment *sg = &segs[i];
        sg->offset = d.segment;
        sg->payload_offset = d.gpa;
        sg->payload_len = d.len;
        sg->timestamp_ns = 0;
        sg->type = type;
        __builtin_memcpy(sg->hash, d.hash, 16);
        if (type == RVF_SEG_WASM)
            c->wasm_segs[c->nwasm++] = *sg;
    }

    /* Where each first hash byte begins (the list is sorted): a lookup
     * searches one bucket, a few entries, not the whole list. */
    uint32_t b = 0;
    for (uint32_t i = 0; i < h.ncaps; i++)
        for (uint32_t top = segs[i].hash[0]; b <= top; b++)
            c->first_of[b] = (uint16_t)i;
    for (; b <= 256; b++)
        c->first_of[b] = (uint16_t)h.ncaps;

    uint8_t *mf = nub_mem_ptr(c->scratch_gpa + mf_off);
    memcpy(mf, nub_mem_ptr(mdesc.gpa), mdesc.len);
    c->pkg = (struct rvf_package){.base = nub_mem_ptr(0), .size = m->win_gpa + m->win_size,
                                  .segs = segs, .nsegs = h.ncaps, .manifest = h.manifest};
    /* No segment list: the references are checked by binary search where
     * they are resolved (regions, components). */
    struct rvf_result res;
    enum rvf_status rs = rvf_manifest_parse(mf, mdesc.len, NULL, 0, &c->lim, &c->mf, &res);
    if (rs != RVF_OK)
        return mount_fail(c, mount_rvf_status(rs), "manifest: %s", res.msg);
    return NUB_ST_OK;
}

const struct rvf_segment *mount_find_seg(const struct mctx *c, const uint8_t *hash, uint8_t type)
{
    const struct rvf_segment *s = c->pkg.segs;
    if (!c->caps_mode)
        return rvf_find_segment(s, c->pkg.nsegs, hash, type);
    /* Only the entries that share hash's first byte can be it. A bucket
     * holds ~ncaps / 256 entries: a small one is walked; a large one (a
     * package can choose its hashes' first bytes) is binary-searched down
     * to a few entries below the first one not below hash. */
    uint32_t lo = c->first_of[hash[0]], hi = c->first_of[hash[0] + 1], end = hi;
    while (hi - lo > 4) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (hash_cmp(s[mid].hash, hash) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint64_t head, tail;
    __builtin_memcpy(&head, hash, 8);
    __builtin_memcpy(&tail, hash + 8, 8);
    /* Then in order: entries below hash, the equal ones, stop above. */
    for (; lo < end; lo++) {
        uint64_t x, y;
        __builtin_memcpy(&x, s[lo].hash, 8);
        __builtin_memcpy(&y, s[lo].hash + 8, 8);
        if (x == head && y == tail) {
            if (type == 0 || s[lo].type == type)
                return &s[lo];
        } else if (hash_cmp(s[lo].hash, hash) > 0) {
            break;
        }
    }
    return NULL;
}
