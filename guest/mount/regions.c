/* Mount step 3: regions. Slab and append-only regions are fresh heap
 * memory, which is already zero (the host zeroes what the guest frees:
 * docs/ARCHITECTURE.md "Who does what"); an immutable region is its DATA
 * segment's bytes in place in the package. No byte of a region is touched
 * here. */
#include <string.h>

#include "mount_internal.h"
#include "nub/guest_addr.h"

/* Reader/writer set of a region as a bitmap over component indices. */
static void set_bits(const struct rvf_manifest *mf, uint32_t first, uint32_t n, uint8_t *bits)
{
    for (uint32_t j = 0; j < n && j < NUB_MOUNT_MAX_COMPONENTS; j++) {
        uint32_t comp = rvf_manifest_list_item(mf, first + j);
        if (comp < NUB_MOUNT_MAX_COMPONENTS)
            bits[comp / 8] |= (uint8_t)(1u << (comp % 8));
    }
}

static enum nub_status make_one(struct mctx *c, uint32_t i, struct nub_mount_region *out)
{
    struct rvf_region r;
    rvf_manifest_region(&c->mf, i, &r);
    mount_copy_name(out->name, r.name);
    out->policy = r.policy;
    out->owner = r.owner;
    set_bits(&c->mf, r.readers_first, r.nreaders, out->readers);
    set_bits(&c->mf, r.writers_first, r.nwriters, out->writers);
    uint64_t max = c->lim.max_region_size, size;
    switch (r.policy) {
    case RVF_REGION_IMMUTABLE: {
        const struct rvf_segment *s =
            mount_find_seg(c, r.init_hash, RVF_SEG_DATA);
        if (!s)
            return mount_fail(c, NUB_ST_BADMSG, "region %s: no DATA segment for its content", r.name);
        if (s->payload_len > max)
            return mount_fail(c, NUB_ST_QUOTA, "region %s: %llu bytes, limit %llu", r.name,
                              (unsigned long long)s->payload_len, (unsigned long long)max);
        __builtin_memcpy(out->init_hash, r.init_hash, sizeof out->init_hash);
        out->gpa = mount_payload_gpa(c, s);
        out->size = out->length = s->payload_len;
        return NUB_ST_OK;
    }
    case RVF_REGION_APPEND_ONLY:
        size = r.max_size;
        out->length = 0;
        break;
    case RVF_REGION_SLAB:
        if (r.slot_count && r.slot_size > UINT64_MAX / r.slot_count)
            return mount_fail(c, NUB_ST_QUOTA, "region %s: slot_size x slot_count overflows", r.name);
        size = r.slot_size * r.slot_count;
        out->slot_size = r.slot_size;
        out->slot_count = r.slot_count;
        out->length = size;
        break;
    default:
        return mount_fail(c, NUB_ST_BADMSG, "region %s: unknown policy %u", r.name, r.policy);
    }
    if (size == 0 || size > max)
        return mount_fail(c, size ? NUB_ST_QUOTA : NUB_ST_BADMSG, "region %s: size %llu, limit %llu",
                          r.name, (unsigned long long)size, (unsigned long long)max);
    /* Page aligned, so the host can hand regions to the kernel by offset. */
    if (nub_heap_alloc(c->m->heap, size, NUB_PAGE_SIZE, NUB_OWNER_MOUNT, &out->gpa) != NUB_ST_OK)
        return mount_fail(c, NUB_ST_NOMEM, "region %s: no memory for %llu bytes", r.name,
                          (unsigned long long)size);
    out->size = size;
    return NUB_ST_OK;
}

enum nub_status mount_regions_create(struct mctx *c)
{
    for (uint32_t i = 0; i < c->rec.nregions; i++) {
        /* make_one allocates last, so a failed record owns nothing. */
        enum nub_status st = make_one(c, i, &c->regions[i]);
        if (st != NUB_ST_OK)
            return st;
        c->regions_made = i + 1;
    }
    return NUB_ST_OK;
}

void mount_regions_destroy(struct nub_heap *h, struct nub_mount_region *r, uint32_t n)
{
    for (uint32_t i = n; i-- > 0;) {
        if (r[i].policy != NUB_REGION_IMMUTABLE && r[i].gpa)
            nub_heap_free(h, r[i].gpa, NUB_OWNER_MOUNT);
        r[i].gpa = 0;
        r[i].length = 0;
    }
}
