/* Unit tests of the guest's call dispatch through the mailbox (host build
 * of the guest logic): what the host sees for each op. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "guest_test_mem.h"
#include "nub/dir_slot.h"
#include "nub/guest_core.h"
#include "nub/guest_host.h"

#define MEM (32ull << 20)
#define IMAGE_END 0x219123ull /* unaligned on purpose */

struct fx {
    uint8_t *base;
    struct nub_boot_info bi;
    struct nub_mailbox mb;
    struct nub_log_ring ring;
    struct nub_core core;
    uint64_t seq;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f || !(f->base = guest_test_boot(MEM, 42, IMAGE_END, &f->bi, &f->mb, &f->ring,
                                          &f->core)))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    guest_test_mem_close(f->base, MEM);
    free(f);
    return 0;
}

/* One host call: fill the mailbox, run the guest, zero the scrub list. */
static uint32_t call(struct fx *f, uint32_t op, uint64_t a0, uint64_t a1, uint64_t a2,
                     const uint8_t *hash)
{
    memset(f->mb.args, 0, sizeof f->mb.args);
    f->mb.op = op;
    f->mb.seq = ++f->seq;
    f->mb.args[0] = a0;
    f->mb.args[1] = a1;
    f->mb.args[2] = a2;
    if (hash)
        memcpy(f->mb.hash, hash, 16);
    f->mb.status = NUB_ST_PENDING;
    nub_core_call(&f->core);
    assert_int_equal(f->mb.seq_done, f->seq);
    assert_true(guest_test_scrub(&f->mb, f->bi.heap_start, MEM) >= 0);
    return f->mb.status;
}

static void init(struct fx *f) { assert_int_equal(call(f, NUB_OP_INIT, 0, 0, 0, NULL), NUB_ST_OK); }

/* ALLOC + host copy, as the host publishes a blob. */
static uint64_t alloc_fill(struct fx *f, uint64_t len, uint8_t byte)
{
    assert_int_equal(call(f, NUB_OP_ALLOC, len, 0, 0, NULL), NUB_ST_OK);
    uint64_t gpa = f->mb.ret[0];
    assert_true(guest_test_is_zero(gpa, len));
    memset(nub_mem_ptr(gpa), byte, len);
    return gpa;
}

static int scrubbed(const struct fx *f, uint64_t gpa)
{
    for (uint32_t i = 0; i < f->mb.scrub_count; i++)
        if (f->mb.scrub[i].gpa <= gpa && gpa - f->mb.scrub[i].gpa < f->mb.scrub[i].len)
            return 1;
    return 0;
}

static uint64_t stat(struct fx *f, enum nub_stat_index i)
{
    assert_int_equal(call(f, NUB_OP_STATS, 0, 0, 0, NULL), NUB_ST_OK);
    return f->mb.ret[i];
}

static void test_boot_reports_ready(void **state)
{
    struct fx *f = *state;
    assert_int_equal(f->mb.op, NUB_OP_READY);
    assert_int_equal(f->mb.status, NUB_ST_OK);
    assert_int_equal(f->bi.heap_start, 0x21a000);
    assert_int_equal(f->bi.directory_gpa, 0);
    /* The READY message names the guest; booting logs nothing (a line
     * costs ~1,000 emulated instructions and an exit at every start). */
    assert_true(strncmp(f->mb.msg, "nubfs guest v", 13) == 0);
    assert_int_equal(f->ring.head, 0);
}

static void test_before_init(void **state)
{
    struct fx *f = *state;
    assert_int_equal(call(f, NUB_OP_ALLOC, 64, 0, 0, NULL), NUB_ST_STATE);
    assert_true(strlen(f->mb.msg) > 0);
    assert_int_equal(call(f, NUB_OP_NOP, 0, 0, 0, NULL), NUB_ST_OK);
    assert_string_equal(f->mb.msg, "");
    assert_int_equal(call(f, NUB_OP_STATS, 0, 0, 0, NULL), NUB_ST_OK);
    assert_int_equal(f->mb.ret[NUB_STAT_HEAP_TOTAL], 0);
    assert_int_equal(call(f, 0x77, 0, 0, 0, NULL), NUB_ST_INVAL);
    assert_string_equal(f->mb.msg, "unknown op 0x77");
    assert_int_equal(call(f, NUB_OP_READY, 0, 0, 0, NULL), NUB_ST_INVAL);
}

static void test_init(void **state)
{
    struct fx *f = *state;
    uint64_t head = f->ring.head;
    init(f);
    assert_int_equal(f->ring.head, head); /* INIT logs nothing: its cost is at every start */
    assert_int_not_equal(f->bi.directory_gpa, 0);
    assert_int_not_equal(f->bi.mount_table_gpa, 0);
    const struct nub_dir_header *hd = nub_mem_ptr(f->bi.directory_gpa);
    assert_int_equal(hd->magic, NUB_DIR_MAGIC);
    assert_int_equal(hd->capacity, NUB_DIR_MIN_CAPACITY);
    const struct nub_mount_table *mt = nub_mem_ptr(f->bi.mount_table_gpa);
    assert_int_equal(mt->magic, NUB_MOUNT_MAGIC);
    assert_int_equal(mt->count, 0);
    assert_int_equal(call(f, NUB_OP_INIT, 0, 0, 0, NULL), NUB_ST_STATE);
    assert_true(stat(f, NUB_STAT_HEAP_TOTAL) > MEM - (4ull << 20));
}

static void test_init_bad_mem_size(void **state)
{
    struct fx *f = *state;
    f->bi.mem_size = 0x100000; /* below the heap start */
    assert_int_equal(call(f, NUB_OP_INIT, 0, 0, 0, NULL), NUB_ST_INVAL);
    assert_int_equal(f->bi.directory_gpa, 0);
    f->bi.mem_size = MEM;
    init(f);
}

/* NUB_BOOT_F_INIT: the boot run does INIT, and READY carries its answer
 * (a start runs the guest once); a failure is READY's status and message. */
static void test_init_in_boot(void **state)
{
    struct fx *f = *state;
    f->bi.flags |= NUB_BOOT_F_INIT;
    f->bi.mem_size = 0x100000; /* below the heap start */
    nub_core_boot(&f->core, &f->bi, &f->mb, &f->ring, IMAGE_END);
    assert_int_equal(f->mb.op, NUB_OP_READY);
    assert_int_equal(f->mb.status, NUB_ST_INVAL);
    assert_non_null(strstr(f->mb.msg, "INIT: mem_size"));
    assert_int_equal(f->bi.directory_gpa, 0);

    f->bi.mem_size = MEM;
    memset(f->mb.ret, 0, sizeof f->mb.ret);
    f->core = (struct nub_core){0}; /* as the loader leaves .bss */
    nub_core_boot(&f->core, &f->bi, &f->mb, &f->ring, IMAGE_END);
    assert_int_equal(f->mb.op, NUB_OP_READY);
    assert_int_equal(f->mb.status, NUB_ST_OK);
    assert_true(strncmp(f->mb.msg, "nubfs guest v", 13) == 0);
    assert_int_equal(f->ring.head, 0); /* still nothing logged */
    assert_int_not_equal(f->bi.directory_gpa, 0);
    assert_int_not_equal(f->bi.mount_table_gpa, 0);
    /* READY's ret[] is INIT's answer, as STATS gives it. */
    uint64_t total = f->mb.ret[NUB_STAT_HEAP_TOTAL], used = f->mb.ret[NUB_STAT_HEAP_USED];
    assert_true(total > 0);
    assert_int_equal(f->mb.ret[NUB_STAT_CAPS], 0);
    assert_int_equal(stat(f, NUB_STAT_HEAP_TOTAL), total);
    assert_int_equal(stat(f, NUB_STAT_HEAP_USED), used);
    /* Initialised once: an INIT call now is refused, and calls work. */
    assert_int_equal(call(f, NUB_OP_INIT, 0, 0, 0, NULL), NUB_ST_STATE);
    alloc_fill(f, 100, 0x11);
}

static void test_alloc_free(void **state)
{
    struct fx *f = *state;
    init(f);
    uint64_t used = stat(f, NUB_STAT_HEAP_USED);
    uint64_t g = alloc_fill(f, 10000, 0xee);
    assert_int_equal(stat(f, NUB_STAT_HEAP_USED), used + 10048);
    assert_int_equal(call(f, NUB_OP_ALLOC, 4096, 4096, 0, NULL), NUB_ST_OK);
    assert_int_equal(f->mb.ret[0] % 4096, 0);
    assert_int_equal(call(f, NUB_OP_ALLOC, 64, 12, 0, NULL), NUB_ST_INVAL);
    assert_int_equal(call(f, NUB_OP_ALLOC, MEM, 0, 0, NULL), NUB_ST_NOMEM);
    assert_int_equal(call(f, NUB_OP_FREE, g, 0, 0, NULL), NUB_ST_OK);
    assert_true(scrubbed(f, g) && scrubbed(f, g + 9999));
    assert_true(guest_test_is_zero(g, 10000));
    assert_int_equal(call(f, NUB_OP_FREE, g, 0, 0, NULL), NUB_ST_INVAL);
    assert_int_equal(call(f, NUB_OP_FREE, f->bi.directory_gpa, 0, 0, NULL), NUB_ST_INVAL);
    /* The directory table is the guest's: the host cannot free it. */
    const struct nub_dir_header *hd = nub_mem_ptr(f->bi.directory_gpa);
    assert_int_equal(call(f, NUB_OP_FREE, hd->entries_gpa, 0, 0, NULL), NUB_ST_INVAL);
}

static void test_put_release_cycle(void **state)
{
    struct fx *f = *state;
    init(f);
    uint8_t h[16];
    memset(h, 0x3f, 16);
    uint64_t used0 = stat(f, NUB_STAT_HEAP_USED), gen0 = stat(f, NUB_STAT_GENERATION);

    uint64_t a = alloc_fill(f, 1000, 'a');
    assert_int_equal(call(f, NUB_OP_PUT, a, 1000, NUB_CAP_WASM, h), NUB_ST_OK);
    assert_int_equal(f->mb.ret[0], 1);
    assert_int_equal(f->mb.ret[1], 0);
    assert_int_equal(f->bi.generation, stat(f, NUB_STAT_GENERATION));
    assert_true(f->bi.generation > gen0);
    const struct nub_dir_header *hd = nub_mem_ptr(f->bi.directory_gpa);
    const struct nub_dir_entry *t = nub_mem_ptr(hd->entries_gpa);
    const struct nub_dir_entry *e = &t[nub_dir_slot(h, 42, hd->capacity)];
    assert_memory_equal(e->hash, h, 16);
    assert_int_equal(e->data_gpa, a);
    assert_int_equal(e->kind, NUB_CAP_WASM);
    /* The cap's bytes are no longer the host's to free. */
    assert_int_equal(call(f, NUB_OP_FREE, a, 0, 0, NULL), NUB_ST_INVAL);
    assert_int_equal(call(f, NUB_OP_PUT, a, 1000, 0, h), NUB_ST_INVAL);

    /* A second copy of the same blob: one more reference, copy freed. */
    uint64_t b = alloc_fill(f, 1000, 'a');
    assert_int_equal(call(f, NUB_OP_PUT, b, 1000, NUB_CAP_WASM, h), NUB_ST_OK);
    assert_int_equal(f->mb.ret[0], 2);
    assert_int_equal(f->mb.ret[1], 1);
    assert_true(scrubbed(f, b));
    assert_int_equal(stat(f, NUB_STAT_CAPS), 1);
    assert_int_equal(stat(f, NUB_STAT_CAP_BYTES), 1000);

    /* Same hash, other length: refused, and the block stays the host's. */
    uint64_t c = alloc_fill(f, 999, 'x');
    assert_int_equal(call(f, NUB_OP_PUT, c, 999, NUB_CAP_WASM, h), NUB_ST_EXISTS);
    assert_true(strlen(f->mb.msg) > 0);
    assert_int_equal(call(f, NUB_OP_FREE, c, 0, 0, NULL), NUB_ST_OK);

    assert_int_equal(call(f, NUB_OP_RELEASE, 0, 0, 0, h), NUB_ST_OK);
    assert_int_equal(f->mb.ret[0], 1);
    assert_int_equal(f->mb.scrub_count, 0);
    assert_int_equal(call(f, NUB_OP_RELEASE, 0, 0, 0, h), NUB_ST_OK);
    assert_int_equal(f->mb.ret[0], 0);
    assert_true(scrubbed(f, a));
    assert_int_equal(call(f, NUB_OP_RELEASE, 0, 0, 0, h), NUB_ST_NOENT);
    assert_int_equal(stat(f, NUB_STAT_CAPS), 0);
    assert_int_equal(stat(f, NUB_STAT_HEAP_USED), used0); /* back to its level */
}

static void test_put_rejects(void **state)
{
    struct fx *f = *state;
    init(f);
    uint8_t h[16] = {1};
    uint64_t a = alloc_fill(f, 100, 1);
    assert_int_equal(call(f, NUB_OP_PUT, a + 64, 10, 0, h), NUB_ST_INVAL); /* not a block */
    assert_int_equal(call(f, NUB_OP_PUT, a, 129, 0, h), NUB_ST_INVAL);     /* past its end */
    assert_int_equal(call(f, NUB_OP_PUT, a, 100, 99, h), NUB_ST_INVAL);    /* bad kind */
    assert_int_equal(call(f, NUB_OP_PUT, f->bi.directory_gpa, 8, 0, h), NUB_ST_INVAL);
    assert_int_equal(stat(f, NUB_STAT_CAPS), 0);
    /* len may use the rounding slack of the block. */
    assert_int_equal(call(f, NUB_OP_PUT, a, 128, 0, h), NUB_ST_OK);
}

static void test_many_caps_and_stats(void **state)
{
    struct fx *f = *state;
    init(f);
    uint64_t used0 = stat(f, NUB_STAT_HEAP_USED);
    uint8_t h[16];
    for (int i = 0; i < 300; i++) {
        memset(h, 0, 16);
        memcpy(h, &i, sizeof i);
        uint64_t g = alloc_fill(f, 200 + (uint64_t)i, (uint8_t)i);
        assert_int_equal(call(f, NUB_OP_PUT, g, 200 + (uint64_t)i, NUB_CAP_DATA, h), NUB_ST_OK);
    }
    assert_int_equal(stat(f, NUB_STAT_CAPS), 300);
    const struct nub_dir_header *hd = nub_mem_ptr(f->bi.directory_gpa);
    assert_int_equal(hd->count, 300);
    assert_true(hd->capacity >= 512);
    for (int i = 0; i < 300; i++) {
        memset(h, 0, 16);
        memcpy(h, &i, sizeof i);
        assert_int_equal(call(f, NUB_OP_RELEASE, 0, 0, 0, h), NUB_ST_OK);
    }
    while (f->mb.scrub_more)
        call(f, NUB_OP_NOP, 0, 0, 0, NULL);
    assert_int_equal(stat(f, NUB_STAT_CAPS), 0);
    assert_int_equal(stat(f, NUB_STAT_CAP_BYTES), 0);
    /* The grown table stays; everything else returned to the heap. The
     * first table lived in INIT's reserve (never in heap_used). */
    assert_int_equal(stat(f, NUB_STAT_HEAP_USED),
                     used0 + hd->capacity * sizeof(struct nub_dir_entry));
    assert_true(stat(f, NUB_STAT_CALLS) > 900);
    assert_int_equal(stat(f, NUB_STAT_MOUNTS), 0);
}

/* MOUNT/UNMOUNT proper are tested in test_mount.c; here only the
 * dispatch: bad arguments are refused with a reason. */
static void test_mount_not_yet(void **state)
{
    struct fx *f = *state;
    assert_int_equal(call(f, NUB_OP_MOUNT, 0, 0, 0, NULL), NUB_ST_STATE); /* before INIT */
    init(f);
    assert_int_equal(call(f, NUB_OP_MOUNT, 0, 0, 0, NULL), NUB_ST_INVAL);
    assert_string_equal(f->mb.msg, "MOUNT: 0x0 is not a block from ALLOC");
    assert_int_equal(call(f, NUB_OP_UNMOUNT, 1, 0, 0, NULL), NUB_ST_NOENT);
}

static jmp_buf panic_jmp;
static void panic_hook(void) { longjmp(panic_jmp, 1); }

static void test_test_ops(void **state)
{
    struct fx *f = *state;
    init(f);
    uint64_t g = alloc_fill(f, 64, 0);
    assert_int_equal(call(f, NUB_OP_TEST_CORRUPT, g + 3, 0x1122334455667788ull, 0, NULL),
                     NUB_ST_OK);
    uint64_t v;
    memcpy(&v, (uint8_t *)nub_mem_ptr(g) + 3, 8);
    assert_int_equal(v, 0x1122334455667788ull);
    assert_int_equal(call(f, NUB_OP_TEST_CORRUPT, MEM - 7, 0, 0, NULL), NUB_ST_INVAL);
    assert_int_equal(call(f, NUB_OP_TEST_CORRUPT, 0, 0, 0, NULL), NUB_ST_INVAL);
    assert_int_equal(call(f, NUB_OP_TEST_CORRUPT, UINT64_MAX - 2, 0, 0, NULL), NUB_ST_INVAL);
    /* Machine-level misbehaviour cannot happen on the host build. */
    assert_int_equal(call(f, NUB_OP_TEST_TRIPLE_FAULT, 0, 0, 0, NULL), NUB_ST_INVAL);

    nub_host_abort_hook = panic_hook;
    if (setjmp(panic_jmp) == 0) {
        call(f, NUB_OP_TEST_PANIC, 0, 0, 0, NULL);
        fail_msg("TEST_PANIC returned");
    }
    nub_host_abort_hook = NULL;
    assert_string_equal(f->mb.msg, "test panic requested by the host");

    /* Without the boot flag every test op is refused. */
    f->bi.flags = 0;
    for (uint32_t op = NUB_OP_TEST_TRIPLE_FAULT; op <= NUB_OP_TEST_CORRUPT; op++) {
        assert_int_equal(call(f, op, g, 0, 0, NULL), NUB_ST_INVAL);
        assert_non_null(strstr(f->mb.msg, "disabled"));
    }
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_boot_reports_ready), T(test_before_init),      T(test_init),
        T(test_init_bad_mem_size),  T(test_init_in_boot),     T(test_alloc_free),       T(test_put_release_cycle),
        T(test_put_rejects),        T(test_many_caps_and_stats), T(test_mount_not_yet),
        T(test_test_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
