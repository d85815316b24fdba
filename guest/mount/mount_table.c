/* The mount table in guest memory (abi.h): creation, slot lookup,
 * publishing the header, zombie sweeping and the consistency check. */
#include <string.h>

#include "mount_internal.h"
#include "nub/guest_addr.h"
#include "nub/guest_log.h"

_Static_assert(sizeof(struct nub_mount_table) <= NUB_MOUNT_TABLE_HEAD, "header fits its room");

enum nub_status nub_mounts_create(struct nub_mounts *m, struct nub_heap *heap, struct nub_dir *dir,
                                  const struct rvf_limits *limits)
{
    uint64_t table;
    if (nub_heap_alloc(heap, NUB_MOUNT_TABLE_BYTES, 0, NUB_OWNER_KERNEL, &table) != NUB_ST_OK)
        return NUB_ST_NOMEM;
    *m = (struct nub_mounts){0}; /* create_at takes it zero */
    return nub_mounts_create_at(m, heap, dir, limits, table);
}

enum nub_status nub_mounts_create_at(struct nub_mounts *m, struct nub_heap *heap,
                                     struct nub_dir *dir, const struct rvf_limits *limits,
                                     uint64_t table_gpa)
{
    /* *m is zero (guest_mount.h). */
    m->heap = heap;
    m->dir = dir;
    m->capacity = NUB_MOUNT_SLOTS;
    m->next_handle = 1;
    m->win_gpa = NUB_CAP_WINDOW_BASE;
    m->win_size = NUB_CAP_WINDOW_SIZE;
    m->table_gpa = table_gpa;
    m->slots_gpa = table_gpa + NUB_MOUNT_TABLE_HEAD;
    if (limits) {
        m->limits = *limits;
        nub_mount_limits_clamp(&m->limits);
        m->limits_set = true;
    }
    mount_table_publish(m);
    return NUB_ST_OK;
}

const struct rvf_limits *mount_table_limits(struct nub_mounts *m)
{
    if (!m->limits_set) {
        rvf_limits_default(&m->limits);
        /* Without limits of its own the table leaves max_package to the
         * host (and to each MOUNT's limits). */
        m->limits.max_package = NUB_MAX_MEM;
        nub_mount_limits_clamp(&m->limits);
        m->limits_set = true;
    }
    return &m->limits;
}

/* The header the host reads, as the guest's view says it must be. */
static struct nub_mount_table header_of(const struct nub_mounts *m)
{
    return (struct nub_mount_table){.magic = NUB_MOUNT_MAGIC,
                                    .capacity = m->capacity,
                                    .count = m->live,
                                    .slots_gpa = m->slots_gpa,
                                    .generation = m->generation,
                                    .next_handle = m->next_handle,
                                    .zombies = m->zombies};
}

void mount_table_publish(const struct nub_mounts *m)
{
    *(struct nub_mount_table *)nub_mem_ptr(m->table_gpa) = header_of(m);
}

struct nub_mount_rec *mount_slot(const struct nub_mounts *m, uint32_t i)
{
    if (i >= m->capacity)
        nub_panic("mount table: slot %u out of %u", i, m->capacity);
    return (struct nub_mount_rec *)nub_mem_ptr(m->slots_gpa) + i;
}

int64_t mount_table_free_slot(const struct nub_mounts *m)
{
    for (uint32_t i = 0; i < m->capacity; i++)
        if (mount_slot(m, i)->state == NUB_MOUNT_S_FREE)
            return i;
    return -1;
}

int64_t mount_table_find(const struct nub_mounts *m, uint64_t handle)
{
    if (handle == 0)
        return -1;
    for (uint32_t i = 0; i < m->capacity; i++) {
        const struct nub_mount_rec *r = mount_slot(m, i);
        if (r->state == NUB_MOUNT_S_LIVE && r->handle == handle)
            return i;
    }
    return -1;
}

uint32_t nub_mounts_sweep(struct nub_mounts *m)
{
    uint32_t freed = 0;
    for (uint32_t i = 0; i < m->capacity && m->zombies; i++) {
        struct nub_mount_rec *slot = mount_slot(m, i);
        if (slot->state != NUB_MOUNT_S_ZOMBIE)
            continue;
        struct nub_mount_rec r = *slot; /* copy out: the host can write the table */
        r.name[NUB_MOUNT_NAME_LEN - 1] = '\0';
        uint32_t n = r.ncaps > NUB_MOUNT_MAX_CAPS ? NUB_MOUNT_MAX_CAPS : r.ncaps;
        if (mount_caps_pinned(m->dir, nub_mem_ptr(r.caps_gpa), n, r.package_gpa, r.package_len))
            continue;
        nub_heap_free(m->heap, r.package_gpa, NUB_OWNER_MOUNT);
        nub_heap_free(m->heap, r.records_gpa, NUB_OWNER_MOUNT);
        memset(slot, 0, sizeof *slot);
        m->zombies--;
        freed++;
        nub_logf("mount: freed the package of unmounted %s (handle %llu)", r.name,
                 (unsigned long long)r.handle);
    }
    if (freed)
        mount_table_publish(m);
    return freed;
}

static int block_is(const struct nub_mounts *m, uint64_t gpa, uint64_t len,
                    enum nub_heap_owner want)
{
    enum nub_heap_owner o = 0;
    uint64_t size = nub_heap_block_size(m->heap, gpa, &o);
    return size != 0 && o == want && len <= size;
}

static int check_live(const struct nub_mounts *m, const struct nub_mount_rec *r)
{
    const struct nub_mount_region *rg = nub_mem_ptr(r->regions_gpa);
    for (uint32_t i = 0; i < r->nregions; i++) {
        if (rg[i].policy == NUB_REGION_IMMUTABLE) {
            if (rg[i].gpa < r->package_gpa || rg[i].gpa - r->package_gpa > r->package_len ||
                rg[i].size > r->package_len - (rg[i].gpa - r->package_gpa))
                return -20;
        } else if (!block_is(m, rg[i].gpa, rg[i].size, NUB_OWNER_MOUNT)) {
            return -21;
        }
    }
    const struct nub_mount_queue *q = nub_mem_ptr(r->queues_gpa);
    for (uint32_t i = 0; i < r->nqueues; i++) {
        if (!block_is(m, q[i].ring_gpa, q[i].ring_len, NUB_OWNER_MOUNT))
            return -22;
        const struct nub_ring *ring = nub_mem_ptr(q[i].ring_gpa);
        if (ring->magic != NUB_RING_MAGIC || ring->capacity != q[i].capacity)
            return -23;
    }
    const struct nub_mount_cap *caps = nub_mem_ptr(r->caps_gpa);
    for (uint32_t i = 0; i < r->ncaps; i++) {
        const struct nub_dir_entry *e = nub_dir_lookup(m->dir, caps[i].hash);
        if (!e || e->len != caps[i].len)
            return -24;
    }
    const struct nub_mount_task *t = nub_mem_ptr(r->tasks_gpa);
    for (uint32_t i = 0; i < r->ntasks; i++)
        if (t[i].state != NUB_TASK_READY || t[i].component >= r->ncomponents)
            return -25;
    return 0;
}

int nub_mounts_check(const struct nub_mounts *m)
{
    const struct nub_mount_table want = header_of(m); /* all uint64_t: no padding */
    if (memcmp(nub_mem_ptr(m->table_gpa), &want, sizeof want) != 0)
        return -1;
    uint32_t live = 0, zombies = 0;
    for (uint32_t i = 0; i < m->capacity; i++) {
        const struct nub_mount_rec *r = mount_slot(m, i);
        if (r->state == NUB_MOUNT_S_FREE) {
            if (r->handle != 0)
                return -2;
            continue;
        }
        if (r->handle == 0 || r->handle >= m->next_handle)
            return -3;
        for (uint32_t j = 0; j < i; j++)
            if (mount_slot(m, j)->state != NUB_MOUNT_S_FREE && mount_slot(m, j)->handle == r->handle)
                return -4;
        if (!block_is(m, r->package_gpa, r->package_len, NUB_OWNER_MOUNT) ||
            !block_is(m, r->records_gpa, r->records_len, NUB_OWNER_MOUNT))
            return -5;
        if (r->ncomponents > NUB_MOUNT_MAX_COMPONENTS || r->nregions > NUB_MOUNT_MAX_REGIONS ||
            r->nqueues > NUB_MOUNT_MAX_QUEUES || r->ntasks > NUB_MOUNT_MAX_TASKS ||
            r->ngrants > NUB_MOUNT_MAX_GRANTS || r->ncaps > NUB_MOUNT_MAX_CAPS)
            return -6;
        if (r->state == NUB_MOUNT_S_LIVE) {
            live++;
            int rc = check_live(m, r);
            if (rc)
                return rc;
        } else if (r->state == NUB_MOUNT_S_ZOMBIE) {
            zombies++;
        } else {
            return -7;
        }
    }
    if (live != m->live || zombies != m->zombies)
        return -8;
    return 0;
}
