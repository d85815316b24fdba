/* libFuzzer target: the mount-table reader (src/mount_reader.c) over a
 * guest memory built from the input (layout in fuzz_gm.h; boot info at
 * FZ_BOOT_GPA). Opens the table, lists every live record, looks each one
 * up by handle, fetches every array whole and item by item (components
 * with their grant slices, regions with reads of their content, queues
 * with their ring headers, tasks, grants, caps), and checks that every
 * address range handed out is guest memory above the low area (copied
 * out, so ASan sees any stray read) and that what was validated holds. */
#include <errno.h>

#include "fuzz_gm.h"
#include "mount_reader.h"

static struct fz_mem M;
static struct nub_mount_component comps[NUB_MOUNT_MAX_COMPONENTS];
static struct nub_mount_region regs[NUB_MOUNT_MAX_REGIONS];
static struct nub_mount_queue queues[NUB_MOUNT_MAX_QUEUES];
static struct nub_mount_task tasks[NUB_MOUNT_MAX_TASKS];
static struct nub_mount_grant grants[NUB_MOUNT_MAX_GRANTS];
static struct nub_mount_cap caps[NUB_MOUNT_MAX_CAPS];
static uint8_t rbuf[FZ_IMAGE_MAX + 64];

static bool str_ok(const char *s)
{
    return memchr(s, '\0', NUB_MOUNT_NAME_LEN) != NULL;
}

/* A fetch of the whole array, then each item alone: same verdict per
 * item (all-or-nothing for the whole), same bytes when it succeeds. Also
 * the -EINVAL edges: one past the end and a count that overflows. */
#define FETCH_ALL(fn, r, m, count, arr)                                                          \
    ({                                                                                           \
        int e_ = fn(r, m, 0, count, arr);                                                        \
        FUZZ_CHECK(e_ == 0 || e_ == -EIO);                                                       \
        bool any_bad_ = false;                                                                   \
        for (uint32_t i_ = 0; i_ < (count); i_++) {                                              \
            __typeof__(arr[0]) one_;                                                             \
            int e1_ = fn(r, m, i_, 1, &one_);                                                    \
            FUZZ_CHECK(e1_ == 0 || e1_ == -EIO);                                                 \
            if (e1_ != 0)                                                                        \
                any_bad_ = true;                                                                 \
            else if (e_ == 0)                                                                    \
                FUZZ_CHECK(memcmp(&one_, &arr[i_], sizeof(one_)) == 0);                          \
        }                                                                                        \
        FUZZ_CHECK((e_ == 0) == !any_bad_);                                                      \
        FUZZ_CHECK(fn(r, m, count, 1, arr) == -EINVAL);                                          \
        FUZZ_CHECK(fn(r, m, 1, UINT32_MAX, arr) == -EINVAL);                                     \
        FUZZ_CHECK(fn(r, m, count, 0, arr) == 0);                                                \
        e_;                                                                                      \
    })

static void check_info(const struct nub_mtab_mount *m)
{
    FUZZ_CHECK(m->handle != 0);
    FUZZ_CHECK(str_ok(m->name) && str_ok(m->version));
    FUZZ_CHECK(m->ncomponents <= NUB_MOUNT_MAX_COMPONENTS && m->nregions <= NUB_MOUNT_MAX_REGIONS &&
               m->nqueues <= NUB_MOUNT_MAX_QUEUES && m->ntasks <= NUB_MOUNT_MAX_TASKS &&
               m->ngrants <= NUB_MOUNT_MAX_GRANTS && m->ncaps <= NUB_MOUNT_MAX_CAPS);
    FUZZ_CHECK(m->package_len > 0);
    fz_check_served(&M.gm, m->package_gpa, m->package_len);
    fz_check_served(&M.gm, m->components_gpa, m->ncomponents * sizeof(comps[0]));
    fz_check_served(&M.gm, m->regions_gpa, m->nregions * sizeof(regs[0]));
    fz_check_served(&M.gm, m->queues_gpa, m->nqueues * sizeof(queues[0]));
    fz_check_served(&M.gm, m->tasks_gpa, m->ntasks * sizeof(tasks[0]));
    fz_check_served(&M.gm, m->grants_gpa, m->ngrants * sizeof(grants[0]));
    fz_check_served(&M.gm, m->caps_gpa, m->ncaps * sizeof(caps[0]));
}

static void check_grant(const struct nub_mtab_mount *m, const struct nub_mount_grant *g)
{
    FUZZ_CHECK(g->component < m->ncomponents);
    FUZZ_CHECK((g->rights & ~0x1fu) == 0);
    switch (g->kind) {
    case NUB_OBJ_REGION: FUZZ_CHECK(g->object < m->nregions); break;
    case NUB_OBJ_QUEUE: FUZZ_CHECK(g->object < m->nqueues); break;
    case NUB_OBJ_COMPONENT: FUZZ_CHECK(g->object < m->ncomponents); break;
    default: FUZZ_CHECK(!"grant of an unknown kind accepted");
    }
}

static void walk_components(const struct nub_mtab_reader *r, const struct nub_mtab_mount *m)
{
    if (FETCH_ALL(nub_mtab_components, r, m, m->ncomponents, comps) != 0)
        return;
    for (uint32_t i = 0; i < m->ncomponents; i++) {
        const struct nub_mount_component *c = &comps[i];
        FUZZ_CHECK(str_ok(c->name) && c->priority <= 255);
        FUZZ_CHECK(c->first_task <= m->ntasks && c->nentries <= m->ntasks - c->first_task);
        fz_check_served(&M.gm, c->wasm_gpa, c->wasm_len);
        uint32_t first, n;
        FUZZ_CHECK(nub_mtab_component_grants(m, c, &first, &n) == 0);
        FUZZ_CHECK(n == c->ngrants && first <= m->ngrants && n <= m->ngrants - first);
        int e = nub_mtab_grants(r, m, first, n, grants);
        FUZZ_CHECK(e == 0 || e == -EIO);
        for (uint32_t j = 0; e == 0 && j < n; j++)
            check_grant(m, &grants[j]);
    }
}

static void walk_regions(const struct nub_mtab_reader *r, const struct nub_mtab_mount *m,
                         uint64_t fuzz_off)
{
    if (FETCH_ALL(nub_mtab_regions, r, m, m->nregions, regs) != 0)
        return;
    for (uint32_t i = 0; i < m->nregions; i++) {
        const struct nub_mount_region *g = &regs[i];
        FUZZ_CHECK(str_ok(g->name) && g->policy <= NUB_REGION_SLAB && g->owner < m->ncomponents);
        FUZZ_CHECK(g->length <= g->size);
        fz_check_served(&M.gm, g->gpa, g->size);
        /* Reads at the start, the last byte, the end, past it, and at an
         * offset from the input; each one bounded by the content. */
        const uint64_t offs[] = {0, g->length ? g->length - 1 : 0, g->length, g->length + 1,
                                 UINT64_MAX, fuzz_off};
        for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
            int64_t n = nub_mtab_region_read(r, m, i, offs[k], rbuf, sizeof(rbuf));
            FUZZ_CHECK(n >= 0);
            uint64_t want = offs[k] >= g->length ? 0 : g->length - offs[k];
            if (want > sizeof(rbuf))
                want = sizeof(rbuf);
            FUZZ_CHECK((uint64_t)n == want);
        }
        FUZZ_CHECK(nub_mtab_region_read(r, m, i, 0, rbuf, 1) == (g->length ? 1 : 0));
    }
    FUZZ_CHECK(nub_mtab_region_read(r, m, m->nregions, 0, rbuf, 1) == -EINVAL);
}

static void walk_queues(const struct nub_mtab_reader *r, const struct nub_mtab_mount *m)
{
    if (FETCH_ALL(nub_mtab_queues, r, m, m->nqueues, queues) != 0)
        return;
    for (uint32_t i = 0; i < m->nqueues; i++) {
        const struct nub_mount_queue *q = &queues[i];
        FUZZ_CHECK(str_ok(q->src_port) && str_ok(q->dst_port));
        FUZZ_CHECK(q->src < m->ncomponents && q->dst < m->ncomponents);
        FUZZ_CHECK(q->capacity && !(q->capacity & (q->capacity - 1)));
        fz_check_served(&M.gm, q->ring_gpa, q->ring_len);
        struct nub_ring ring;
        int e = nub_mtab_ring(r, q, &ring);
        FUZZ_CHECK(e == 0 || e == -EIO);
        if (e != 0)
            continue;
        FUZZ_CHECK(ring.magic == NUB_RING_MAGIC && ring.capacity == q->capacity &&
                   ring.max_msg == q->max_msg);
        FUZZ_CHECK(ring.head <= ring.tail && ring.tail - ring.head <= ring.capacity);
        /* The slots the header describes lie inside the ring. */
        FUZZ_CHECK(ring.slot_size >= NUB_RING_SLOT_HEADER + (uint64_t)ring.max_msg);
        FUZZ_CHECK(sizeof(ring) + (uint64_t)ring.capacity * ring.slot_size <= q->ring_len);
        fz_check_served(&M.gm, q->ring_gpa + sizeof(ring), ring.capacity * ring.slot_size);
    }
}

static void walk_rest(const struct nub_mtab_reader *r, const struct nub_mtab_mount *m)
{
    if (FETCH_ALL(nub_mtab_tasks, r, m, m->ntasks, tasks) == 0)
        for (uint32_t i = 0; i < m->ntasks; i++)
            FUZZ_CHECK(str_ok(tasks[i].entry) && tasks[i].component < m->ncomponents &&
                       tasks[i].state >= NUB_TASK_READY && tasks[i].state <= NUB_TASK_TRAPPED &&
                       tasks[i].priority <= 255);
    if (FETCH_ALL(nub_mtab_grants, r, m, m->ngrants, grants) == 0)
        for (uint32_t i = 0; i < m->ngrants; i++)
            check_grant(m, &grants[i]);
    if (FETCH_ALL(nub_mtab_caps, r, m, m->ncaps, caps) == 0)
        for (uint32_t i = 0; i < m->ncaps; i++) {
            FUZZ_CHECK(caps[i].kind <= NUB_CAP_MANIFEST);
            fz_check_served(&M.gm, caps[i].gpa, caps[i].len);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_mem_load(&M, data, size);
    struct nub_mtab_reader r;
    int e = nub_mtab_open(&r, &M.gm, FZ_BOOT_GPA);
    FUZZ_CHECK(e == 0 || e == -ENOENT || e == -EIO);
    if (e != 0)
        return 0;
    struct nub_mount_table h;
    FUZZ_CHECK(nub_mtab_header(&r, &h) == 0);
    FUZZ_CHECK(h.capacity >= 1 && h.capacity <= NUB_MOUNT_SLOTS && h.count <= h.capacity);
    fz_check_served(&M.gm, h.slots_gpa, h.capacity * sizeof(struct nub_mount_rec));

    uint64_t fuzz_off = 0;
    if (size >= 8)
        memcpy(&fuzz_off, data + size - 8, sizeof(fuzz_off));

    uint64_t cursor = 0, bad = 0, live = 0;
    struct nub_mtab_mount m;
    int k;
    while ((k = nub_mtab_next(&r, &cursor, &m, &bad)) == 1) {
        FUZZ_CHECK(cursor == (uint64_t)m.slot + 1 && cursor <= h.capacity);
        FUZZ_CHECK(++live <= h.capacity);
        check_info(&m);
        /* By handle: an earlier live record may carry the same handle. */
        struct nub_mtab_mount f;
        int fe = nub_mtab_find(&r, m.handle, &f);
        FUZZ_CHECK(fe == 0 || fe == -EIO);
        if (fe == 0) {
            FUZZ_CHECK(f.handle == m.handle && f.slot <= m.slot);
            if (f.slot == m.slot)
                FUZZ_CHECK(memcmp(&f, &m, sizeof(f)) == 0);
        }
        walk_components(&r, &m);
        walk_regions(&r, &m, fuzz_off);
        walk_queues(&r, &m);
        walk_rest(&r, &m);
    }
    FUZZ_CHECK(k == 0 && cursor == h.capacity);
    FUZZ_CHECK(live + bad <= h.capacity);
    FUZZ_CHECK(nub_mtab_find(&r, 0, &m) == -ENOENT);
    return 0;
}
