/* Unit tests of the mount-table reader (src/mount_reader.c) over a
 * hand-built mount table in a guest memory with a hole, then corrupted
 * field by field and at random. Written from abi.h alone (no guest code),
 * so these tests also pin the layout the guest must produce. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mount_reader.h"
#include "mount_table_fixture.h"
#include "nub/abi.h"

/* R0 [0, 8 MiB): boot info, table, slots, records, package, region, ring
 * hole [8, 12 MiB)
 * R1 [12, 16 MiB): the append-only region's memory */
#define MIB (1ull << 20)
#define R0_SIZE (8 * MIB)
#define R1_GPA (12 * MIB)
#define R1_SIZE (4 * MIB)
#define BOOT_GPA NUB_KERNEL_BASE
#define TABLE_GPA 0x300000ull
#define SLOTS_GPA 0x301000ull
#define RECS_GPA 0x400000ull
#define RECS_LEN 0x4000ull
#define PKG_GPA 0x500000ull
#define PKG_LEN 0x2000ull
#define RING_GPA 0x700000ull
#define AREG_GPA R1_GPA
#define AREG_SIZE 0x3000ull

struct fixture {
    uint8_t *r0, *r1;
    struct nub_guest_mem gm;
    struct nub_mtab_reader rd;
};

static void wr(struct fixture *f, uint64_t gpa, const void *p, size_t n)
{
    assert_int_equal(nub_gm_write(&f->gm, gpa, p, n), 0);
}

/* slot 0 free, slot 1 zombie (handle 1), slot 3 live "hello" (handle 2),
 * slot 5 live "tiny" (handle 3, no components at all). */
static const struct mtf_layout L = {.table_gpa = TABLE_GPA, .slots_gpa = SLOTS_GPA,
                                    .capacity = NUB_MOUNT_SLOTS, .zombie_slot = 1,
                                    .hello_slot = 3, .tiny_slot = 5, .recs_gpa = RECS_GPA,
                                    .recs_len = RECS_LEN, .pkg_gpa = PKG_GPA, .pkg_len = PKG_LEN,
                                    .ring_gpa = RING_GPA, .log_gpa = AREG_GPA,
                                    .log_size = AREG_SIZE, .log_length = 5};

static uint64_t slot_gpa(uint32_t i) { return mtf_slot_gpa(&L, i); }

static void build(struct fixture *f)
{
    struct nub_boot_info bi = {.magic = NUB_BOOT_MAGIC,
                               .abi_version = NUB_ABI_VERSION,
                               .mem_size = 16 * MIB,
                               .directory_gpa = 0,
                               .mount_table_gpa = TABLE_GPA};
    wr(f, BOOT_GPA, &bi, sizeof(bi));
    assert_int_equal(mtf_build(&f->gm, &L), 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->r0 = calloc(1, R0_SIZE);
    f->r1 = calloc(1, R1_SIZE);
    nub_gm_init(&f->gm);
    assert_int_equal(nub_gm_add_region(&f->gm, 0, R0_SIZE, f->r0, -1, 0), 0);
    assert_int_equal(nub_gm_add_region(&f->gm, R1_GPA, R1_SIZE, f->r1, -1, 0), 0);
    build(f);
    assert_int_equal(nub_mtab_open(&f->rd, &f->gm, BOOT_GPA), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    free(f->r0);
    free(f->r1);
    free(f);
    return 0;
}

static void put_u64(struct fixture *f, uint64_t gpa, uint64_t v)
{
    wr(f, gpa, &v, 8);
}

static void put_u32(struct fixture *f, uint64_t gpa, uint32_t v)
{
    wr(f, gpa, &v, 4);
}

static struct nub_mtab_mount hello(struct fixture *f)
{
    struct nub_mtab_mount m;
    assert_int_equal(nub_mtab_find(&f->rd, 2, &m), 0);
    return m;
}

/* ---- the intact table ---------------------------------------------------- */

static void test_iterate_and_find(void **state)
{
    struct fixture *f = *state;
    struct nub_mount_table h;
    assert_int_equal(nub_mtab_header(&f->rd, &h), 0);
    assert_int_equal(h.count, 2);
    uint64_t cur = 0, bad = 0;
    struct nub_mtab_mount m;
    assert_int_equal(nub_mtab_next(&f->rd, &cur, &m, &bad), 1);
    assert_string_equal(m.name, "hello");
    assert_string_equal(m.version, "1.0");
    assert_int_equal(m.slot, 3);
    assert_int_equal(m.handle, 2);
    assert_int_equal(m.signer[0], 0xab);
    assert_int_equal(nub_mtab_next(&f->rd, &cur, &m, &bad), 1);
    assert_string_equal(m.name, "tiny");
    assert_int_equal(nub_mtab_next(&f->rd, &cur, &m, &bad), 0);
    assert_int_equal(bad, 0);
    assert_int_equal(nub_mtab_next(&f->rd, &cur, &m, &bad), 0); /* stays at end */

    assert_int_equal(nub_mtab_find(&f->rd, 3, &m), 0);
    assert_string_equal(m.name, "tiny");
    assert_int_equal(nub_mtab_find(&f->rd, 1, &m), -ENOENT); /* zombie */
    assert_int_equal(nub_mtab_find(&f->rd, 0, &m), -ENOENT);
    assert_int_equal(nub_mtab_find(&f->rd, 99, &m), -ENOENT);
}

static void test_arrays(void **state)
{
    struct fixture *f = *state;
    struct nub_mtab_mount m = hello(f);
    struct nub_mount_component c[2];
    assert_int_equal(nub_mtab_components(&f->rd, &m, 0, 2, c), 0);
    assert_string_equal(c[1].name, "consumer");
    uint32_t first, n;
    assert_int_equal(nub_mtab_component_grants(&m, &c[1], &first, &n), 0);
    assert_int_equal(first, 2);
    assert_int_equal(n, 1);
    struct nub_mount_grant g[3];
    assert_int_equal(nub_mtab_grants(&f->rd, &m, first, n, g), 0);
    assert_int_equal(g[0].rights, NUB_RIGHT_READ);
    assert_int_equal(nub_mtab_grants(&f->rd, &m, 0, 3, g), 0);

    struct nub_mount_region r[2];
    assert_int_equal(nub_mtab_regions(&f->rd, &m, 0, 2, r), 0);
    assert_string_equal(r[1].name, "log");
    struct nub_mount_queue q;
    assert_int_equal(nub_mtab_queues(&f->rd, &m, 0, 1, &q), 0);
    assert_string_equal(q.dst_port, "in");
    struct nub_ring ring;
    assert_int_equal(nub_mtab_ring(&f->rd, &q, &ring), 0);
    assert_int_equal(ring.tail - ring.head, 2);
    struct nub_mount_task t[3];
    assert_int_equal(nub_mtab_tasks(&f->rd, &m, 0, 3, t), 0);
    assert_string_equal(t[2].entry, "main");
    struct nub_mount_cap cp[3];
    assert_int_equal(nub_mtab_caps(&f->rd, &m, 0, 3, cp), 0);
    assert_int_equal(cp[2].segment, 2);

    /* Ranges outside the counts, including ones that would wrap. */
    assert_int_equal(nub_mtab_tasks(&f->rd, &m, 2, 2, t), -EINVAL);
    assert_int_equal(nub_mtab_tasks(&f->rd, &m, 4, 0, t), -EINVAL);
    assert_int_equal(nub_mtab_tasks(&f->rd, &m, UINT32_MAX, 2, t), -EINVAL);
    assert_int_equal(nub_mtab_tasks(&f->rd, &m, 3, 0, t), 0);
}

static void test_region_read(void **state)
{
    struct fixture *f = *state;
    struct nub_mtab_mount m = hello(f);
    char buf[32];
    assert_int_equal(nub_mtab_region_read(&f->rd, &m, 0, 0, buf, sizeof(buf)), 11);
    assert_memory_equal(buf, "hello world", 11);
    assert_int_equal(nub_mtab_region_read(&f->rd, &m, 0, 6, buf, 3), 3);
    assert_memory_equal(buf, "wor", 3);
    assert_int_equal(nub_mtab_region_read(&f->rd, &m, 0, 11, buf, 3), 0);
    assert_int_equal(nub_mtab_region_read(&f->rd, &m, 0, UINT64_MAX, buf, 3), 0);
    assert_int_equal(nub_mtab_region_read(&f->rd, &m, 1, 0, buf, sizeof(buf)), 5);
    /* An append-only region grows: the length is re-read each time. */
    uint64_t len_at = RECS_GPA + MTF_OFF_REG + sizeof(struct nub_mount_region) +
                      offsetof(struct nub_mount_region, length);
    put_u64(f, len_at, AREG_SIZE);
    assert_int_equal(nub_mtab_region_read(&f->rd, &m, 1, AREG_SIZE - 4, buf, 32), 4);
    put_u64(f, len_at, AREG_SIZE + 1); /* past its size */
    assert_int_equal(nub_mtab_region_read(&f->rd, &m, 1, 0, buf, 1), -EIO);
    assert_int_equal(nub_mtab_region_read(&f->rd, &m, 2, 0, buf, 1), -EINVAL);
}

/* ---- open / header ------------------------------------------------------- */

static void test_open_errors(void **state)
{
    struct fixture *f = *state;
    struct nub_mtab_reader rd;
    uint64_t tbl = BOOT_GPA + offsetof(struct nub_boot_info, mount_table_gpa);
    const uint64_t bad_tables[] = {0x10, 0x1000, R0_SIZE - 8, 8 * MIB + 0x1000, UINT64_MAX - 8};
    for (size_t i = 0; i < sizeof(bad_tables) / sizeof(bad_tables[0]); i++) {
        put_u64(f, tbl, bad_tables[i]);
        assert_int_equal(nub_mtab_open(&rd, &f->gm, BOOT_GPA), -EIO);
    }
    put_u64(f, tbl, 0);
    assert_int_equal(nub_mtab_open(&rd, &f->gm, BOOT_GPA), -ENOENT);
    put_u64(f, tbl, TABLE_GPA);
    assert_int_equal(nub_mtab_open(&rd, &f->gm, BOOT_GPA), 0);
    assert_int_equal(nub_mtab_open(&rd, &f->gm, 8 * MIB), -EIO); /* in the hole */
    put_u64(f, BOOT_GPA, 0);
    assert_int_equal(nub_mtab_open(&rd, &f->gm, BOOT_GPA), -EIO);
}

static void test_header_corrupt(void **state)
{
    struct fixture *f = *state;
    struct {
        size_t off;
        uint64_t v;
    } cases[] = {
        {offsetof(struct nub_mount_table, magic), 1},
        {offsetof(struct nub_mount_table, capacity), 0},
        {offsetof(struct nub_mount_table, capacity), NUB_MOUNT_SLOTS + 1},
        {offsetof(struct nub_mount_table, capacity), UINT64_MAX},
        {offsetof(struct nub_mount_table, count), NUB_MOUNT_SLOTS + 1},
        {offsetof(struct nub_mount_table, slots_gpa), 0},
        {offsetof(struct nub_mount_table, slots_gpa), 0x1000},              /* low memory */
        {offsetof(struct nub_mount_table, slots_gpa), R0_SIZE - 0x1000},    /* runs into hole */
        {offsetof(struct nub_mount_table, slots_gpa), UINT64_MAX - 0x100},  /* wraps */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct nub_mount_table saved;
        assert_int_equal(nub_gm_read(&f->gm, TABLE_GPA, &saved, sizeof(saved)), 0);
        put_u64(f, TABLE_GPA + cases[i].off, cases[i].v);
        struct nub_mount_table h;
        struct nub_mtab_mount m;
        uint64_t cur = 0;
        assert_int_equal(nub_mtab_header(&f->rd, &h), -EIO);
        assert_int_equal(nub_mtab_next(&f->rd, &cur, &m, NULL), -EIO);
        assert_int_equal(nub_mtab_find(&f->rd, 2, &m), -EIO);
        wr(f, TABLE_GPA, &saved, sizeof(saved));
    }
    struct nub_mount_table h;
    assert_int_equal(nub_mtab_header(&f->rd, &h), 0);
}

/* ---- records ------------------------------------------------------------- */

/* Corrupting hello's record at off (width 4 or 8) hides it: find says
 * -EIO and next skips it, counted as bad. */
static void expect_bad_record(struct fixture *f, size_t off, uint64_t v, int width)
{
    struct nub_mount_rec saved;
    assert_int_equal(nub_gm_read(&f->gm, slot_gpa(3), &saved, sizeof(saved)), 0);
    if (width == 8)
        put_u64(f, slot_gpa(3) + off, v);
    else
        put_u32(f, slot_gpa(3) + off, (uint32_t)v);
    struct nub_mtab_mount m;
    assert_int_equal(nub_mtab_find(&f->rd, 2, &m), -EIO);
    uint64_t cur = 0, bad = 0;
    assert_int_equal(nub_mtab_next(&f->rd, &cur, &m, &bad), 1);
    assert_string_equal(m.name, "tiny");
    assert_int_equal(bad, 1);
    wr(f, slot_gpa(3), &saved, sizeof(saved));
    (void)hello(f);
}

#define RO(field) offsetof(struct nub_mount_rec, field)

static void test_record_corrupt(void **state)
{
    struct fixture *f = *state;
    /* Unterminated strings. */
    char full[NUB_MOUNT_NAME_LEN];
    memset(full, 'x', sizeof(full));
    for (int which = 0; which < 2; which++) {
        size_t off = which ? RO(version) : RO(name);
        struct nub_mount_rec saved;
        assert_int_equal(nub_gm_read(&f->gm, slot_gpa(3), &saved, sizeof(saved)), 0);
        wr(f, slot_gpa(3) + off, full, sizeof(full));
        struct nub_mtab_mount m;
        assert_int_equal(nub_mtab_find(&f->rd, 2, &m), -EIO);
        wr(f, slot_gpa(3), &saved, sizeof(saved));
    }
    /* A state that is neither live nor known: not shown at all. */
    put_u32(f, slot_gpa(3) + RO(state), 9);
    struct nub_mtab_mount m;
    assert_int_equal(nub_mtab_find(&f->rd, 2, &m), -ENOENT);
    put_u32(f, slot_gpa(3) + RO(state), NUB_MOUNT_S_LIVE);

    expect_bad_record(f, RO(ncomponents), NUB_MOUNT_MAX_COMPONENTS + 1, 4);
    expect_bad_record(f, RO(nregions), NUB_MOUNT_MAX_REGIONS + 1, 4);
    expect_bad_record(f, RO(nqueues), NUB_MOUNT_MAX_QUEUES + 1, 4);
    expect_bad_record(f, RO(ntasks), NUB_MOUNT_MAX_TASKS + 1, 4);
    expect_bad_record(f, RO(ngrants), NUB_MOUNT_MAX_GRANTS + 1, 4);
    expect_bad_record(f, RO(ncaps), UINT32_MAX, 4);
    /* A count that fits the MAX but not the records block. */
    expect_bad_record(f, RO(ngrants), 4000, 4);
    expect_bad_record(f, RO(package_len), 0, 8);
    expect_bad_record(f, RO(package_len), UINT64_MAX, 8);
    expect_bad_record(f, RO(package_gpa), 0x1000, 8);          /* low memory */
    expect_bad_record(f, RO(package_gpa), R0_SIZE - 0x100, 8); /* into the hole */
    expect_bad_record(f, RO(records_gpa), UINT64_MAX - 0x10, 8);
    expect_bad_record(f, RO(records_len), UINT64_MAX, 8);
    expect_bad_record(f, RO(records_len), 0x100, 8); /* arrays stick out */
    expect_bad_record(f, RO(components_gpa), RECS_GPA - 0x40, 8);
    expect_bad_record(f, RO(caps_gpa), RECS_GPA + RECS_LEN - 0x40, 8);
    expect_bad_record(f, RO(tasks_gpa), UINT64_MAX - 0x40, 8);
    expect_bad_record(f, RO(regions_gpa), 0, 8);
    /* A live record without a handle: nothing finds it, and the walk
     * counts it as bad. */
    put_u64(f, slot_gpa(3) + RO(handle), 0);
    assert_int_equal(nub_mtab_find(&f->rd, 2, &m), -ENOENT);
    uint64_t cur = 0, bad = 0;
    assert_int_equal(nub_mtab_next(&f->rd, &cur, &m, &bad), 1);
    assert_string_equal(m.name, "tiny");
    assert_int_equal(bad, 1);
}

/* ---- array items ---------------------------------------------------------- */

typedef int (*arr_fn)(struct fixture *f, const struct nub_mtab_mount *m);

static int rd_comp(struct fixture *f, const struct nub_mtab_mount *m)
{
    struct nub_mount_component c[2];
    return nub_mtab_components(&f->rd, m, 0, 2, c);
}
static int rd_reg(struct fixture *f, const struct nub_mtab_mount *m)
{
    struct nub_mount_region r[2];
    return nub_mtab_regions(&f->rd, m, 0, 2, r);
}
static int rd_q(struct fixture *f, const struct nub_mtab_mount *m)
{
    struct nub_mount_queue q;
    int e = nub_mtab_queues(&f->rd, m, 0, 1, &q);
    struct nub_ring ring;
    return e ? e : nub_mtab_ring(&f->rd, &q, &ring);
}
static int rd_task(struct fixture *f, const struct nub_mtab_mount *m)
{
    struct nub_mount_task t[3];
    return nub_mtab_tasks(&f->rd, m, 0, 3, t);
}
static int rd_grant(struct fixture *f, const struct nub_mtab_mount *m)
{
    struct nub_mount_grant g[3];
    return nub_mtab_grants(&f->rd, m, 0, 3, g);
}
static int rd_cap(struct fixture *f, const struct nub_mtab_mount *m)
{
    struct nub_mount_cap c[3];
    return nub_mtab_caps(&f->rd, m, 0, 3, c);
}

static void expect_bad_item(struct fixture *f, arr_fn fn, uint64_t gpa, uint64_t v, int width)
{
    struct nub_mtab_mount m = hello(f);
    uint8_t saved[8];
    assert_int_equal(nub_gm_read(&f->gm, gpa, saved, 8), 0);
    assert_int_equal(fn(f, &m), 0);
    if (width == 8)
        put_u64(f, gpa, v);
    else
        put_u32(f, gpa, (uint32_t)v);
    assert_int_equal(fn(f, &m), -EIO);
    wr(f, gpa, saved, 8);
    assert_int_equal(fn(f, &m), 0);
}

/* A name field filled to the end with no NUL. */
static void expect_bad_name(struct fixture *f, arr_fn fn, uint64_t gpa)
{
    struct nub_mtab_mount m = hello(f);
    uint8_t saved[NUB_MOUNT_NAME_LEN], full[NUB_MOUNT_NAME_LEN];
    memset(full, 'x', sizeof(full));
    assert_int_equal(nub_gm_read(&f->gm, gpa, saved, sizeof(saved)), 0);
    wr(f, gpa, full, sizeof(full));
    assert_int_equal(fn(f, &m), -EIO);
    wr(f, gpa, saved, sizeof(saved));
    assert_int_equal(fn(f, &m), 0);
}

#define COMP(i, fld) (RECS_GPA + MTF_OFF_COMP + (i) * sizeof(struct nub_mount_component) + \
                      offsetof(struct nub_mount_component, fld))
#define REG(i, fld) (RECS_GPA + MTF_OFF_REG + (i) * sizeof(struct nub_mount_region) + \
                     offsetof(struct nub_mount_region, fld))
#define QF(fld) (RECS_GPA + MTF_OFF_Q + offsetof(struct nub_mount_queue, fld))
#define RING(fld) (RING_GPA + offsetof(struct nub_ring, fld))
#define TASK(i, fld) (RECS_GPA + MTF_OFF_TASK + (i) * sizeof(struct nub_mount_task) + \
                      offsetof(struct nub_mount_task, fld))
#define GR(i, fld) (RECS_GPA + MTF_OFF_GRANT + (i) * sizeof(struct nub_mount_grant) + \
                    offsetof(struct nub_mount_grant, fld))
#define CAP(i, fld) (RECS_GPA + MTF_OFF_CAP + (i) * sizeof(struct nub_mount_cap) + \
                     offsetof(struct nub_mount_cap, fld))

static void test_item_corrupt(void **state)
{
    struct fixture *f = *state;
    /* components */
    expect_bad_name(f, rd_comp, COMP(1, name));
    expect_bad_item(f, rd_comp, COMP(0, priority), 256, 4);
    expect_bad_item(f, rd_comp, COMP(0, wasm_gpa), 0x100, 8);
    expect_bad_item(f, rd_comp, COMP(0, wasm_len), UINT64_MAX, 8);
    expect_bad_item(f, rd_comp, COMP(0, first_task), 2, 4);
    expect_bad_item(f, rd_comp, COMP(1, nentries), UINT32_MAX, 4);
    expect_bad_item(f, rd_comp, COMP(0, ngrants), 4, 4);
    expect_bad_item(f, rd_comp, COMP(1, grants_gpa), RECS_GPA + MTF_OFF_GRANT + 8, 8);
    expect_bad_item(f, rd_comp, COMP(1, grants_gpa), RECS_GPA + MTF_OFF_GRANT - 16, 8);
    /* regions */
    expect_bad_name(f, rd_reg, REG(1, name));
    expect_bad_item(f, rd_reg, REG(0, policy), 3, 4);
    expect_bad_item(f, rd_reg, REG(0, owner), 2, 4);
    expect_bad_item(f, rd_reg, REG(0, length), 12, 8); /* immutable: length == size */
    expect_bad_item(f, rd_reg, REG(1, length), AREG_SIZE + 1, 8);
    expect_bad_item(f, rd_reg, REG(1, gpa), R0_SIZE - 0x1000, 8); /* across the hole */
    expect_bad_item(f, rd_reg, REG(1, size), UINT64_MAX, 8);
    expect_bad_item(f, rd_reg, REG(1, gpa), 0x1000, 8);
    /* queues and their rings */
    expect_bad_item(f, rd_q, QF(src), 2, 4);
    expect_bad_item(f, rd_q, QF(dst), UINT32_MAX, 4);
    expect_bad_item(f, rd_q, QF(capacity), 3, 4);
    expect_bad_item(f, rd_q, QF(capacity), 0, 4);
    expect_bad_item(f, rd_q, QF(ring_len), 8, 8);
    expect_bad_item(f, rd_q, QF(ring_gpa), UINT64_MAX - 8, 8);
    expect_bad_name(f, rd_q, QF(src_port));
    expect_bad_name(f, rd_q, QF(dst_port));
    expect_bad_item(f, rd_q, RING(magic), 0, 8);
    expect_bad_item(f, rd_q, RING(capacity), 8, 4);
    expect_bad_item(f, rd_q, RING(max_msg), 21, 4);
    expect_bad_item(f, rd_q, RING(slot_size), 24, 8);
    expect_bad_item(f, rd_q, RING(head), 8, 8);      /* head > tail */
    expect_bad_item(f, rd_q, RING(tail), 10, 8);     /* more than capacity */
    expect_bad_item(f, rd_q, QF(ring_len), 64 + 3 * 32, 8); /* slots stick out */
    /* tasks */
    expect_bad_item(f, rd_task, TASK(1, state), 0, 4);
    expect_bad_item(f, rd_task, TASK(1, state), NUB_TASK_TRAPPED + 1, 4);
    expect_bad_item(f, rd_task, TASK(2, component), 2, 4);
    expect_bad_item(f, rd_task, TASK(0, priority), 1000, 4);
    expect_bad_name(f, rd_task, TASK(0, entry));
    /* grants */
    expect_bad_item(f, rd_grant, GR(0, component), 2, 4);
    expect_bad_item(f, rd_grant, GR(0, kind), 3, 4);
    expect_bad_item(f, rd_grant, GR(0, object), 2, 4); /* only 2 regions */
    expect_bad_item(f, rd_grant, GR(1, object), 1, 4); /* only 1 queue */
    expect_bad_item(f, rd_grant, GR(2, rights), 0x20, 4);
    /* caps */
    expect_bad_item(f, rd_cap, CAP(0, kind), 4, 4);
    expect_bad_item(f, rd_cap, CAP(2, gpa), R0_SIZE - 0x20, 8);
    expect_bad_item(f, rd_cap, CAP(2, len), UINT64_MAX, 8);
}

/* ---- random corruption ----------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Walks everything the tree would show; must never crash or read outside
 * guest memory (ASan/UBSan watch). */
static void walk_all(struct fixture *f)
{
    struct nub_mtab_reader rd;
    if (nub_mtab_open(&rd, &f->gm, BOOT_GPA) != 0)
        return;
    uint64_t cur = 0;
    struct nub_mtab_mount m;
    for (int guard = 0; guard < 300 && nub_mtab_next(&rd, &cur, &m, NULL) == 1; guard++) {
        static struct nub_mount_component c[NUB_MOUNT_MAX_COMPONENTS];
        static struct nub_mount_region r[NUB_MOUNT_MAX_REGIONS];
        static struct nub_mount_queue q[NUB_MOUNT_MAX_QUEUES];
        static struct nub_mount_task t[NUB_MOUNT_MAX_TASKS];
        static struct nub_mount_grant g[NUB_MOUNT_MAX_GRANTS];
        static struct nub_mount_cap cp[NUB_MOUNT_MAX_CAPS];
        if (nub_mtab_components(&rd, &m, 0, m.ncomponents, c) == 0)
            for (uint32_t i = 0; i < m.ncomponents; i++) {
                uint32_t first, n;
                if (nub_mtab_component_grants(&m, &c[i], &first, &n) == 0)
                    (void)nub_mtab_grants(&rd, &m, first, n, g);
            }
        (void)nub_mtab_regions(&rd, &m, 0, m.nregions, r);
        for (uint32_t i = 0; i < m.nregions; i++) {
            char buf[64];
            (void)nub_mtab_region_read(&rd, &m, i, rnd() % 16, buf, sizeof(buf));
        }
        if (nub_mtab_queues(&rd, &m, 0, m.nqueues, q) == 0)
            for (uint32_t i = 0; i < m.nqueues; i++) {
                struct nub_ring ring;
                (void)nub_mtab_ring(&rd, &q[i], &ring);
            }
        (void)nub_mtab_tasks(&rd, &m, 0, m.ntasks, t);
        (void)nub_mtab_grants(&rd, &m, 0, m.ngrants, g);
        (void)nub_mtab_caps(&rd, &m, 0, m.ncaps, cp);
        struct nub_mtab_mount m2;
        (void)nub_mtab_find(&rd, m.handle, &m2);
    }
}

static void test_random_corruption(void **state)
{
    struct fixture *f = *state;
    /* Areas worth hitting: header, the hello and tiny slots, the records
     * block, the ring. Values: random, small, boundary. */
    const struct {
        uint64_t gpa, len;
    } areas[] = {{TABLE_GPA, 64},
                 {slot_gpa(3), sizeof(struct nub_mount_rec)},
                 {slot_gpa(5), sizeof(struct nub_mount_rec)},
                 {RECS_GPA, 0x1600},
                 {RING_GPA, 64},
                 {BOOT_GPA, sizeof(struct nub_boot_info)}};
    for (int round = 0; round < 3000; round++) {
        if (round % 40 == 0) { /* start over from a clean table now and then */
            memset(f->r0, 0, R0_SIZE);
            memset(f->r1, 0, R1_SIZE);
            build(f);
        }
        int k = (int)(rnd() % (sizeof(areas) / sizeof(areas[0])));
        uint64_t off = (rnd() % areas[k].len) & ~3ull;
        uint64_t vals[] = {rnd(), rnd() & 0xff, UINT64_MAX, 0, 1ull << 63, R0_SIZE - 8,
                           R1_GPA + R1_SIZE - 4};
        uint64_t v = vals[rnd() % (sizeof(vals) / sizeof(vals[0]))];
        uint64_t gpa = areas[k].gpa + off;
        if (areas[k].gpa + areas[k].len - gpa >= 8)
            put_u64(f, gpa, v);
        else
            put_u32(f, gpa, (uint32_t)v);
        walk_all(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_iterate_and_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arrays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_region_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_item_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_corruption, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
