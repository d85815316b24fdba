/* The shared mount-table fixture (see mount_table_fixture.h). */
#include "mount_table_fixture.h"

#include <string.h>

#define WR(gpa, p, n)                              \
    do {                                           \
        if (nub_gm_write(gm, (gpa), (p), (n)) != 0) \
            return -1;                             \
    } while (0)

int mtf_build(struct nub_guest_mem *gm, const struct mtf_layout *l)
{
    const uint64_t recs = l->recs_gpa, pkg = l->pkg_gpa;
    struct nub_mount_table t = {.magic = NUB_MOUNT_MAGIC,
                                .capacity = l->capacity,
                                .count = 2,
                                .slots_gpa = l->slots_gpa,
                                .generation = 7,
                                .next_handle = 4,
                                .zombies = 1};
    WR(l->table_gpa, &t, sizeof(t));

    struct nub_mount_rec z = {.handle = 1, .state = NUB_MOUNT_S_ZOMBIE};
    strcpy(z.name, "gone");
    WR(mtf_slot_gpa(l, l->zombie_slot), &z, sizeof(z));

    struct nub_mount_rec r = {.handle = 2, .state = NUB_MOUNT_S_LIVE, .generation = 6};
    strcpy(r.name, "hello");
    strcpy(r.version, "1.0");
    memset(r.signer, 0xab, sizeof(r.signer));
    r.package_gpa = pkg;
    r.package_len = l->pkg_len;
    r.ncomponents = 2;
    r.nregions = 2;
    r.nqueues = 1;
    r.ntasks = 3;
    r.ngrants = 3;
    r.ncaps = 3;
    r.records_gpa = recs;
    r.records_len = l->recs_len;
    r.components_gpa = recs + MTF_OFF_COMP;
    r.regions_gpa = recs + MTF_OFF_REG;
    r.queues_gpa = recs + MTF_OFF_Q;
    r.tasks_gpa = recs + MTF_OFF_TASK;
    r.grants_gpa = recs + MTF_OFF_GRANT;
    r.caps_gpa = recs + MTF_OFF_CAP;
    WR(mtf_slot_gpa(l, l->hello_slot), &r, sizeof(r));

    struct nub_mount_rec tiny = {.handle = 3, .state = NUB_MOUNT_S_LIVE, .package_gpa = pkg,
                                 .package_len = 64, .ncaps = 1, .records_gpa = recs,
                                 .records_len = l->recs_len, .caps_gpa = recs + MTF_OFF_CAP};
    strcpy(tiny.name, "tiny");
    WR(mtf_slot_gpa(l, l->tiny_slot), &tiny, sizeof(tiny));

    struct nub_mount_component c[2] = {0};
    strcpy(c[0].name, "producer");
    c[0].wasm_gpa = pkg + 0x100;
    c[0].wasm_len = 0x40;
    c[0].priority = 10;
    c[0].nentries = 2;
    c[0].first_task = 0;
    c[0].ngrants = 2;
    c[0].grants_gpa = recs + MTF_OFF_GRANT;
    strcpy(c[1].name, "consumer");
    c[1].wasm_gpa = pkg + 0x200;
    c[1].wasm_len = 0x40;
    c[1].nentries = 1;
    c[1].first_task = 2;
    c[1].ngrants = 1;
    c[1].grants_gpa = recs + MTF_OFF_GRANT + 2 * sizeof(struct nub_mount_grant);
    WR(recs + MTF_OFF_COMP, c, sizeof(c));

    struct nub_mount_region g[2] = {0};
    strcpy(g[0].name, "banner");
    g[0].policy = NUB_REGION_IMMUTABLE;
    g[0].gpa = pkg + 0x300;
    g[0].size = g[0].length = 11;
    g[0].readers[0] = 3;
    strcpy(g[1].name, "log");
    g[1].policy = NUB_REGION_APPEND_ONLY;
    g[1].owner = 1;
    g[1].gpa = l->log_gpa;
    g[1].size = l->log_size;
    g[1].length = l->log_length;
    g[1].readers[0] = 2;
    g[1].writers[0] = 2;
    WR(recs + MTF_OFF_REG, g, sizeof(g));
    WR(pkg + 0x300, "hello world", 11);
    for (uint64_t i = 0; i < l->log_length; i++) {
        uint8_t b = (uint8_t)('a' + i % 26);
        WR(l->log_gpa + i, &b, 1);
    }

    struct nub_mount_queue q = {.src = 0, .dst = 1, .capacity = 4, .max_msg = 20,
                                .ring_gpa = l->ring_gpa, .ring_len = 64 + 4 * 32};
    strcpy(q.src_port, "out");
    strcpy(q.dst_port, "in");
    WR(recs + MTF_OFF_Q, &q, sizeof(q));
    struct nub_ring ring = {.magic = NUB_RING_MAGIC, .capacity = 4, .max_msg = 20,
                            .slot_size = 32, .head = 5, .tail = 7};
    WR(l->ring_gpa, &ring, sizeof(ring));

    struct nub_mount_task tk[3] = {0};
    strcpy(tk[0].entry, "run");
    strcpy(tk[1].entry, "tick");
    strcpy(tk[2].entry, "main");
    tk[0].priority = tk[1].priority = 10;
    tk[2].component = 1;
    tk[0].state = NUB_TASK_READY;
    tk[1].state = NUB_TASK_RUNNING;
    tk[2].state = NUB_TASK_STOPPED;
    WR(recs + MTF_OFF_TASK, tk, sizeof(tk));

    struct nub_mount_grant gr[3] = {{0, NUB_OBJ_REGION, 0, NUB_RIGHT_READ},
                                    {0, NUB_OBJ_QUEUE, 0, NUB_RIGHT_WRITE},
                                    {1, NUB_OBJ_QUEUE, 0, NUB_RIGHT_READ}};
    WR(recs + MTF_OFF_GRANT, gr, sizeof(gr));

    struct nub_mount_cap cp[3] = {0};
    for (int i = 0; i < 3; i++) {
        memset(cp[i].hash, i + 1, 16);
        cp[i].gpa = pkg + 0x100 * (uint64_t)(i + 1);
        cp[i].len = 0x40;
        cp[i].kind = i == 0 ? NUB_CAP_MANIFEST : NUB_CAP_WASM;
        cp[i].flags = NUB_MCAP_F_FIRST;
        cp[i].segment = (uint32_t)i;
    }
    WR(recs + MTF_OFF_CAP, cp, sizeof(cp));
    return 0;
}
