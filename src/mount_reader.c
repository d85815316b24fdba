/* The mount-table reader (see mount_reader.h). Same rules as reader.c:
 * everything is copied out with nub_gm_read before it is looked at, and
 * no table, record array or payload may start below NUB_KERNEL_BASE (the
 * null page and host-built page tables live there; the guest heap is
 * always above the kernel image). */
#include "mount_reader.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define REC_SIZE ((uint64_t)sizeof(struct nub_mount_rec))

/* [gpa, gpa+len) is guest memory at or above NUB_KERNEL_BASE (any gpa
 * when len is 0: nothing is ever read from it). */
static bool high_range_ok(const struct nub_guest_mem *gm, nub_gpa gpa, uint64_t len)
{
    return nub_gm_check_range_above(gm, NUB_KERNEL_BASE, gpa, len);
}

/* A char[NUB_MOUNT_NAME_LEN] field must hold its NUL. */
static bool str_ok(const char *s)
{
    return memchr(s, '\0', NUB_MOUNT_NAME_LEN) != NULL;
}

static int read_header(const struct nub_guest_mem *gm, nub_gpa gpa, struct nub_mount_table *h)
{
    if (gpa < NUB_KERNEL_BASE || nub_gm_read(gm, gpa, h, sizeof(*h)) != 0)
        return -EIO;
    if (h->magic != NUB_MOUNT_MAGIC)
        return -EIO;
    if (h->capacity == 0 || h->capacity > NUB_MOUNT_SLOTS || h->count > h->capacity)
        return -EIO;
    /* capacity <= 256, so capacity * 320 cannot overflow. */
    if (!high_range_ok(gm, h->slots_gpa, h->capacity * REC_SIZE))
        return -EIO;
    return 0;
}

int nub_mtab_open(struct nub_mtab_reader *r, const struct nub_guest_mem *gm,
                          nub_gpa boot_info_gpa)
{
    memset(r, 0, sizeof(*r));
    r->gm = gm;
    r->boot_info_gpa = boot_info_gpa;
    struct nub_boot_info bi;
    if (nub_gm_read(gm, boot_info_gpa, &bi, sizeof(bi)) != 0)
        return -EIO;
    if (bi.magic != NUB_BOOT_MAGIC || bi.abi_version != NUB_ABI_VERSION)
        return -EIO;
    if (bi.mount_table_gpa == 0)
        return -ENOENT;
    struct nub_mount_table h;
    if (read_header(gm, bi.mount_table_gpa, &h) != 0)
        return -EIO;
    r->table_gpa = bi.mount_table_gpa;
    return 0;
}

int nub_mtab_header(const struct nub_mtab_reader *r, struct nub_mount_table *out)
{
    return read_header(r->gm, r->table_gpa, out);
}

/* count items of size bytes at arr lie inside the block [blk, blk+blen). */
static bool array_in_block(nub_gpa blk, uint64_t blen, nub_gpa arr, uint64_t count,
                           uint64_t size)
{
    uint64_t bytes = count * size; /* count <= 4096, size <= 192: no overflow */
    if (bytes == 0)
        return true;
    if (arr < blk || arr - blk > blen)
        return false;
    return bytes <= blen - (arr - blk);
}

/* Validates a record copied out of slot `slot`; fills *out. */
static int rec_to_info(const struct nub_mtab_reader *r, const struct nub_mount_rec *rec,
                       uint32_t slot, struct nub_mtab_mount *out)
{
    if (rec->state != NUB_MOUNT_S_LIVE || rec->handle == 0)
        return -EIO;
    if (!str_ok(rec->name) || !str_ok(rec->version))
        return -EIO;
    if (rec->ncomponents > NUB_MOUNT_MAX_COMPONENTS || rec->nregions > NUB_MOUNT_MAX_REGIONS ||
        rec->nqueues > NUB_MOUNT_MAX_QUEUES || rec->ntasks > NUB_MOUNT_MAX_TASKS ||
        rec->ngrants > NUB_MOUNT_MAX_GRANTS || rec->ncaps > NUB_MOUNT_MAX_CAPS)
        return -EIO;
    if (rec->package_len == 0 || !high_range_ok(r->gm, rec->package_gpa, rec->package_len))
        return -EIO;
    if (!high_range_ok(r->gm, rec->records_gpa, rec->records_len))
        return -EIO;
    const struct {
        nub_gpa gpa;
        uint64_t n, size;
    } arrays[6] = {
        {rec->components_gpa, rec->ncomponents, sizeof(struct nub_mount_component)},
        {rec->regions_gpa, rec->nregions, sizeof(struct nub_mount_region)},
        {rec->queues_gpa, rec->nqueues, sizeof(struct nub_mount_queue)},
        {rec->tasks_gpa, rec->ntasks, sizeof(struct nub_mount_task)},
        {rec->grants_gpa, rec->ngrants, sizeof(struct nub_mount_grant)},
        {rec->caps_gpa, rec->ncaps, sizeof(struct nub_mount_cap)},
    };
    for (int i = 0; i < 6; i++)
        if (!array_in_block(rec->records_gpa, rec->records_len, arrays[i].gpa, arrays[i].n,
                            arrays[i].size))
            return -EIO;
    memset(out, 0, sizeof(*out));
    out->slot = slot;
    out->handle = rec->handle;
    memcpy(out->name, rec->name, sizeof(out->name));
    memcpy(out->version, rec->version, sizeof(out->version));
    memcpy(out->signer, rec->signer, sizeof(out->signer));
    memcpy(out->manifest_hash, rec->manifest_hash, sizeof(out->manifest_hash));
    out->package_gpa = rec->package_gpa;
    out->package_len = rec->package_len;
    out->generation = rec->generation;
    out->ncomponents = rec->ncomponents;
    out->nregions = rec->nregions;
    out->nqueues = rec->nqueues;
    out->ntasks = rec->ntasks;
    out->ngrants = rec->ngrants;
    out->ncaps = rec->ncaps;
    out->components_gpa = rec->components_gpa;
    out->regions_gpa = rec->regions_gpa;
    out->queues_gpa = rec->queues_gpa;
    out->tasks_gpa = rec->tasks_gpa;
    out->grants_gpa = rec->grants_gpa;
    out->caps_gpa = rec->caps_gpa;
    return 0;
}

/* The first live slot at or after *idx: 1 with *idx at it and *rec its
 * copy, 0 when there is none (*idx == capacity), -EIO if a slot cannot be
 * read (its range was checked by read_header; never trust that). */
static int next_live(const struct nub_mtab_reader *r, const struct nub_mount_table *h,
                     uint64_t *idx, struct nub_mount_rec *rec)
{
    for (; *idx < h->capacity; (*idx)++) {
        if (nub_gm_read(r->gm, h->slots_gpa + *idx * REC_SIZE, rec, sizeof(*rec)) != 0)
            return -EIO;
        if (rec->state == NUB_MOUNT_S_LIVE)
            return 1; /* free or zombie slots are not shown */
    }
    return 0;
}

int nub_mtab_next(const struct nub_mtab_reader *r, uint64_t *cursor,
                          struct nub_mtab_mount *out, uint64_t *bad)
{
    struct nub_mount_table h;
    if (nub_mtab_header(r, &h) != 0)
        return -EIO;
    struct nub_mount_rec rec;
    int k;
    for (uint64_t idx = *cursor; (k = next_live(r, &h, &idx, &rec)) == 1; idx++) {
        if (rec_to_info(r, &rec, (uint32_t)idx, out) == 0) {
            *cursor = idx + 1;
            return 1;
        }
        if (bad != NULL)
            (*bad)++;
    }
    if (k < 0)
        return -EIO;
    *cursor = h.capacity;
    return 0;
}

int nub_mtab_find(const struct nub_mtab_reader *r, uint64_t handle,
                          struct nub_mtab_mount *out)
{
    if (handle == 0)
        return -ENOENT;
    struct nub_mount_table h;
    if (nub_mtab_header(r, &h) != 0)
        return -EIO;
    struct nub_mount_rec rec;
    int k;
    for (uint64_t idx = 0; (k = next_live(r, &h, &idx, &rec)) == 1; idx++)
        if (rec.handle == handle)
            return rec_to_info(r, &rec, (uint32_t)idx, out);
    return k < 0 ? -EIO : -ENOENT;
}

/* Copies items [first, first+n) of an array of `count` items at gpa. */
static int copy_items(const struct nub_mtab_reader *r, nub_gpa gpa, uint32_t count,
                      uint32_t first, uint32_t n, size_t size, void *out)
{
    if (first > count || n > count - first)
        return -EINVAL;
    if (n == 0)
        return 0;
    /* first + n <= 4096 and size <= 192: no overflow. */
    if (nub_gm_read(r->gm, gpa + (uint64_t)first * size, out, (size_t)n * size) != 0)
        return -EIO;
    return 0;
}

static bool is_pow2(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

/* Object count of a grant's kind, or 0 for an unknown kind. */
static uint32_t kind_count(const struct nub_mtab_mount *m, uint32_t kind)
{
    switch (kind) {
    case NUB_OBJ_REGION: return m->nregions;
    case NUB_OBJ_QUEUE: return m->nqueues;
    case NUB_OBJ_COMPONENT: return m->ncomponents;
    }
    return 0;
}

int nub_mtab_component_grants(const struct nub_mtab_mount *m,
                                      const struct nub_mount_component *c, uint32_t *first,
                                      uint32_t *n)
{
    *first = 0;
    *n = 0;
    if (c->ngrants == 0)
        return 0;
    const uint64_t gsz = sizeof(struct nub_mount_grant);
    if (c->grants_gpa < m->grants_gpa || (c->grants_gpa - m->grants_gpa) % gsz != 0)
        return -EIO;
    uint64_t idx = (c->grants_gpa - m->grants_gpa) / gsz;
    if (idx > m->ngrants || c->ngrants > m->ngrants - idx)
        return -EIO;
    *first = (uint32_t)idx;
    *n = c->ngrants;
    return 0;
}

static int check_component(const struct nub_mtab_reader *r, const struct nub_mtab_mount *m,
                           const struct nub_mount_component *c)
{
    uint32_t f, n;
    if (!str_ok(c->name) || c->priority > 255 || !high_range_ok(r->gm, c->wasm_gpa, c->wasm_len))
        return -EIO;
    if (c->first_task > m->ntasks || c->nentries > m->ntasks - c->first_task)
        return -EIO;
    return nub_mtab_component_grants(m, c, &f, &n);
}

int nub_mtab_components(const struct nub_mtab_reader *r, const struct nub_mtab_mount *m,
                                uint32_t first, uint32_t n, struct nub_mount_component *out)
{
    int e = copy_items(r, m->components_gpa, m->ncomponents, first, n, sizeof(*out), out);
    for (uint32_t i = 0; e == 0 && i < n; i++)
        e = check_component(r, m, &out[i]);
    return e;
}

static int check_region(const struct nub_mtab_reader *r, const struct nub_mtab_mount *m,
                        const struct nub_mount_region *g)
{
    if (!str_ok(g->name) || g->policy > NUB_REGION_SLAB || g->owner >= m->ncomponents)
        return -EIO;
    if (g->length > g->size || !high_range_ok(r->gm, g->gpa, g->size))
        return -EIO;
    if (g->policy == NUB_REGION_IMMUTABLE && g->length != g->size)
        return -EIO;
    return 0;
}

int nub_mtab_regions(const struct nub_mtab_reader *r, const struct nub_mtab_mount *m,
                             uint32_t first, uint32_t n, struct nub_mount_region *out)
{
    int e = copy_items(r, m->regions_gpa, m->nregions, first, n, sizeof(*out), out);
    for (uint32_t i = 0; e == 0 && i < n; i++)
        e = check_region(r, m, &out[i]);
    return e;
}

static int check_queue(const struct nub_mtab_reader *r, const struct nub_mtab_mount *m,
                       const struct nub_mount_queue *q)
{
    if (!str_ok(q->src_port) || !str_ok(q->dst_port))
        return -EIO;
    if (q->src >= m->ncomponents || q->dst >= m->ncomponents || !is_pow2(q->capacity))
        return -EIO;
    if (q->ring_len < sizeof(struct nub_ring) || !high_range_ok(r->gm, q->ring_gpa, q->ring_len))
        return -EIO;
    return 0;
}

int nub_mtab_queues(const struct nub_mtab_reader *r, const struct nub_mtab_mount *m,
                            uint32_t first, uint32_t n, struct nub_mount_queue *out)
{
    int e = copy_items(r, m->queues_gpa, m->nqueues, first, n, sizeof(*out), out);
    for (uint32_t i = 0; e == 0 && i < n; i++)
        e = check_queue(r, m, &out[i]);
    return e;
}

int nub_mtab_tasks(const struct nub_mtab_reader *r, const struct nub_mtab_mount *m,
                           uint32_t first, uint32_t n, struct nub_mount_task *out)
{
    int e = copy_items(r, m->tasks_gpa, m->ntasks, first, n, sizeof(*out), out);
    for (uint32_t i = 0; e == 0 && i < n; i++) {
        const struct nub_mount_task *t = &out[i];
        if (!str_ok(t->entry) || t->component >= m->ncomponents || t->priority > 255 ||
            t->state < NUB_TASK_READY || t->state > NUB_TASK_TRAPPED)
            e = -EIO;
    }
    return e;
}

int nub_mtab_grants(const struct nub_mtab_reader *r, const struct nub_mtab_mount *m,
                            uint32_t first, uint32_t n, struct nub_mount_grant *out)
{
    int e = copy_items(r, m->grants_gpa, m->ngrants, first, n, sizeof(*out), out);
    for (uint32_t i = 0; e == 0 && i < n; i++) {
        const struct nub_mount_grant *g = &out[i];
        if (g->component >= m->ncomponents || g->object >= kind_count(m, g->kind) ||
            (g->rights & ~0x1fu) != 0)
            e = -EIO;
    }
    return e;
}

int nub_mtab_caps(const struct nub_mtab_reader *r, const struct nub_mtab_mount *m,
                          uint32_t first, uint32_t n, struct nub_mount_cap *out)
{
    int e = copy_items(r, m->caps_gpa, m->ncaps, first, n, sizeof(*out), out);
    for (uint32_t i = 0; e == 0 && i < n; i++)
        if (out[i].kind > NUB_CAP_MANIFEST || !high_range_ok(r->gm, out[i].gpa, out[i].len))
            e = -EIO;
    return e;
}

int64_t nub_mtab_region_read(const struct nub_mtab_reader *r,
                                     const struct nub_mtab_mount *m, uint32_t i, uint64_t off,
                                     void *dst, size_t len)
{
    struct nub_mount_region g;
    int e = nub_mtab_regions(r, m, i, 1, &g);
    if (e != 0)
        return e;
    if (off >= g.length)
        return 0;
    uint64_t n = g.length - off < len ? g.length - off : len;
    /* gpa + size is in range (checked), off < length <= size: no wrap. */
    if (nub_gm_read(r->gm, g.gpa + off, dst, (size_t)n) != 0)
        return -EIO;
    return (int64_t)n;
}

int nub_mtab_ring(const struct nub_mtab_reader *r, const struct nub_mount_queue *q,
                          struct nub_ring *out)
{
    if (q->ring_len < sizeof(*out) || !high_range_ok(r->gm, q->ring_gpa, q->ring_len) ||
        nub_gm_read(r->gm, q->ring_gpa, out, sizeof(*out)) != 0)
        return -EIO;
    if (out->magic != NUB_RING_MAGIC || out->capacity != q->capacity ||
        out->max_msg != q->max_msg || !is_pow2(out->capacity))
        return -EIO;
    uint64_t slot = ((uint64_t)NUB_RING_SLOT_HEADER + out->max_msg + 7) & ~7ull;
    if (out->slot_size != slot)
        return -EIO;
    /* capacity < 2^32, slot < 2^33: the product fits in 64 bits. */
    if ((uint64_t)out->capacity * slot > q->ring_len - sizeof(*out))
        return -EIO;
    if (out->head > out->tail || out->tail - out->head > out->capacity)
        return -EIO;
    return 0;
}
