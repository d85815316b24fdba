/* Mount step 2: the package block, this mount's limits (the host's, passed
 * with the call), the container and the manifest (structure only: the host
 * checked every payload against its hash), a table slot, and the one
 * records block that holds all of the mount's record arrays. */
#include <string.h>

#include "mount_internal.h"
#include "nub/guest_addr.h"

enum nub_status mount_rvf_status(enum rvf_status st)
{
    return st == RVF_E_LIMIT || st == RVF_E_TOO_BIG ? NUB_ST_QUOTA : NUB_ST_BADMSG;
}

static void clamp32(uint32_t *v, uint32_t max)
{
    if (*v > max)
        *v = max;
}

void nub_mount_limits_clamp(struct rvf_limits *l)
{
    clamp32(&l->max_components, NUB_MOUNT_MAX_COMPONENTS);
    clamp32(&l->max_regions, NUB_MOUNT_MAX_REGIONS);
    clamp32(&l->max_queues, NUB_MOUNT_MAX_QUEUES);
    clamp32(&l->max_tasks, NUB_MOUNT_MAX_TASKS);
    clamp32(&l->max_grants, NUB_MOUNT_MAX_GRANTS);
    clamp32(&l->max_segments, NUB_MOUNT_MAX_CAPS);
    l->require_signature = false;
}

/* This mount's limits: the table's defaults, overridden by each nonzero
 * field of the host's struct nub_mount_limits (abi.h), then clamped. The
 * struct lies in the package block after the package; it is copied out
 * once before any field is looked at. */
static enum nub_status settle_limits(struct mctx *c, uint64_t block)
{
    const struct nub_mount_req *q = c->req;
    c->lim = *mount_table_limits(c->m);
    if (q->limits_gpa == 0)
        return NUB_ST_OK;
    /* pkg_len <= block and the block lies in guest RAM: no sums wrap. */
    uint64_t lo = q->pkg_gpa + q->pkg_len, end = q->pkg_gpa + block;
    if (q->limits_gpa % 8 || q->limits_gpa < lo || q->limits_gpa > end ||
        end - q->limits_gpa < sizeof(struct nub_mount_limits))
        return mount_fail(c, NUB_ST_INVAL,
                          "MOUNT: limits at 0x%llx are not in the package block after the package",
                          (unsigned long long)q->limits_gpa);
    struct nub_mount_limits in;
    memcpy(&in, nub_mem_ptr(q->limits_gpa), sizeof in);
    if (in.reserved[0] || in.reserved[1])
        return mount_fail(c, NUB_ST_INVAL, "MOUNT: reserved limit fields are not zero");
    struct rvf_limits *l = &c->lim;
#define TAKE(f)        \
    do {               \
        if (in.f != 0) \
            l->f = in.f; \
    } while (0)
    TAKE(max_package);
    TAKE(max_region_size);
    TAKE(max_queue_bytes);
    TAKE(max_segments);
    TAKE(max_components);
    TAKE(max_regions);
    TAKE(max_queues);
    TAKE(max_tasks);
    TAKE(max_grants);
    TAKE(max_queue_capacity);
    TAKE(max_message);
    TAKE(max_wasm_sections);
    TAKE(max_wasm_exports);
#undef TAKE
    nub_mount_limits_clamp(l);
    return NUB_ST_OK;
}

/* Records block layout: six arrays, each 64-byte aligned. Sizes are small
 * (counts bounded by the limits), but add up with overflow checks anyway. */
static int layout(struct mctx *c, uint64_t off[6], uint64_t *total)
{
    const struct nub_mount_rec *r = &c->rec;
    const uint64_t n[6] = {r->ncomponents, r->nregions, r->nqueues, r->ntasks, r->ngrants, r->ncaps};
    const uint64_t sz[6] = {sizeof(struct nub_mount_component), sizeof(struct nub_mount_region),
                            sizeof(struct nub_mount_queue), sizeof(struct nub_mount_task),
                            sizeof(struct nub_mount_grant), sizeof(struct nub_mount_cap)};
    uint64_t at = 0;
    for (int i = 0; i < 6; i++) {
        if (n[i] > UINT32_MAX)
            return -1;
        off[i] = at;
        uint64_t bytes = nub_align_up(n[i] * sz[i], 64); /* < 2^40: no wrap */
        if (at + bytes < at)
            return -1;
        at += bytes;
    }
    *total = at;
    return 0;
}

/* ABI 1: the package itself in the block; container, then manifest. */
static enum nub_status parse_package(struct mctx *c)
{
    struct nub_mounts *m = c->m;
    const struct nub_mount_req *q = c->req;
    /* A segment takes at least 64 bytes, so len/64 bounds the count. */
    uint64_t nseg = q->pkg_len / RVF_SEG_HEADER_SIZE;
    if (nseg > c->lim.max_segments)
        nseg = (uint64_t)c->lim.max_segments + 1; /* one more: the parser says LIMIT */
    if (nub_heap_alloc(m->heap, nseg * sizeof(struct rvf_segment), 0, NUB_OWNER_MOUNT,
                       &c->scratch_gpa) != NUB_ST_OK)
        return mount_fail(c, NUB_ST_NOMEM, "MOUNT: no memory to parse %llu segments",
                          (unsigned long long)nseg);
    struct rvf_segment *segs = nub_mem_ptr(c->scratch_gpa);
    struct rvf_result res;
    enum rvf_status rs = rvf_parse(c->bytes, q->pkg_len, segs, (uint32_t)nseg, &c->lim, &c->pkg,
                                   &res);
    if (rs != RVF_OK)
        return mount_fail(c, mount_rvf_status(rs), "package: %s", res.msg);
    const struct rvf_segment *ms = &c->pkg.segs[c->pkg.manifest];
    rs = rvf_manifest_parse(rvf_payload(&c->pkg, ms), ms->payload_len, c->pkg.segs,
                            c->pkg.nsegs, &c->lim, &c->mf, &res);
    if (rs != RVF_OK)
        return mount_fail(c, mount_rvf_status(rs), "manifest: %s", res.msg);
    return NUB_ST_OK;
}

enum nub_status mount_parse(struct mctx *c)
{
    struct nub_mounts *m = c->m;
    const struct nub_mount_req *q = c->req;
    enum nub_heap_owner owner = 0;
    uint64_t block = nub_heap_block_size(m->heap, q->pkg_gpa, &owner);
    if (block == 0 || owner != NUB_OWNER_HOST)
        return mount_fail(c, NUB_ST_INVAL, "MOUNT: 0x%llx is not a block from ALLOC",
                          (unsigned long long)q->pkg_gpa);
    if (q->pkg_len == 0 || q->pkg_len > block)
        return mount_fail(c, NUB_ST_INVAL, "MOUNT: length %llu does not fit the block (%llu)",
                          (unsigned long long)q->pkg_len, (unsigned long long)block);
    c->bytes = nub_mem_ptr(q->pkg_gpa);
    enum nub_status lst = settle_limits(c, block);
    if (lst != NUB_ST_OK)
        return lst;

    enum nub_status pst = c->caps_mode ? mount_caps_parse(c, block) : parse_package(c);
    if (pst != NUB_ST_OK)
        return pst;
    const struct rvf_segment *ms = &c->pkg.segs[c->pkg.manifest];
    /* The parser enforces these; the record formats depend on them. */
    const struct rvf_manifest *mf = &c->mf;
    if (mf->ncomponents > NUB_MOUNT_MAX_COMPONENTS || mf->nregions > NUB_MOUNT_MAX_REGIONS ||
        mf->nqueues > NUB_MOUNT_MAX_QUEUES || mf->ntasks > NUB_MOUNT_MAX_TASKS ||
        mf->ngrants > NUB_MOUNT_MAX_GRANTS || c->pkg.nsegs > NUB_MOUNT_MAX_CAPS)
        return mount_fail(c, NUB_ST_QUOTA, "manifest: more objects than a mount can hold");

    int64_t slot = mount_table_free_slot(m);
    if (slot < 0)
        return mount_fail(c, NUB_ST_QUOTA, "MOUNT: mount table full (%u mounts)", m->capacity);
    c->slot = (uint32_t)slot;

    struct nub_mount_rec *r = &c->rec;
    mount_copy_name(r->name, mf->name);
    mount_copy_name(r->version, mf->pkg_version);
    memcpy(r->signer, q->signer, sizeof r->signer);
    memcpy(r->manifest_hash, ms->hash, sizeof r->manifest_hash);
    r->package_gpa = q->pkg_gpa;
    r->package_len = q->pkg_len;
    r->ncomponents = mf->ncomponents;
    r->nregions = mf->nregions;
    r->nqueues = mf->nqueues;
    r->ntasks = mf->ntasks;
    r->ngrants = mf->ngrants;
    for (uint32_t i = 0; i < c->pkg.nsegs; i++)
        r->ncaps += c->pkg.segs[i].type != RVF_SEG_CRYPTO;

    uint64_t off[6], total;
    if (layout(c, off, &total))
        return mount_fail(c, NUB_ST_OVERFLOW, "MOUNT: record sizes overflow");
    if (nub_heap_alloc(m->heap, total, 0, NUB_OWNER_MOUNT, &r->records_gpa) != NUB_ST_OK)
        return mount_fail(c, NUB_ST_NOMEM, "MOUNT: no memory for the mount records (%llu bytes)",
                          (unsigned long long)total);
    c->records_made = 1;
    r->records_len = total;
    r->components_gpa = r->records_gpa + off[0];
    r->regions_gpa = r->records_gpa + off[1];
    r->queues_gpa = r->records_gpa + off[2];
    r->tasks_gpa = r->records_gpa + off[3];
    r->grants_gpa = r->records_gpa + off[4];
    r->caps_gpa = r->records_gpa + off[5];
    c->comps = nub_mem_ptr(r->components_gpa);
    c->regions = nub_mem_ptr(r->regions_gpa);
    c->queues = nub_mem_ptr(r->queues_gpa);
    c->tasks = nub_mem_ptr(r->tasks_gpa);
    c->grants = nub_mem_ptr(r->grants_gpa);
    c->caps = nub_mem_ptr(r->caps_gpa);
    return NUB_ST_OK;
}

void mount_parse_undo(struct mctx *c)
{
    if (c->records_made)
        nub_heap_free(c->m->heap, c->rec.records_gpa, NUB_OWNER_MOUNT);
    c->records_made = 0;
}
