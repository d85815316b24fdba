/* Call dispatch for the guest (see nub/guest_core.h). Each op is a few
 * hundred to a few thousand instructions: it touches metadata only. */
#include <string.h>

#include "nub/guest_addr.h"
#include "nub/guest_arch.h"
#include "nub/guest_core.h"
#include "nub/guest_log.h"
#include "run_env.h"

/* Sets the failure reason in the mailbox and returns st. */
__attribute__((format(printf, 3, 4))) static enum nub_status fail(struct nub_core *c,
                                                                   enum nub_status st,
                                                                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nub_vfmt(c->mb->msg, sizeof c->mb->msg, fmt, ap);
    va_end(ap);
    return st;
}

static void op_stats(struct nub_core *c)
{
    uint64_t *r = c->mb->ret;
    r[NUB_STAT_CAPS] = c->dir.count;
    r[NUB_STAT_CAP_BYTES] = c->dir.total_bytes;
    r[NUB_STAT_HEAP_USED] = c->initialized ? nub_heap_used(&c->heap) : 0;
    r[NUB_STAT_HEAP_TOTAL] = c->initialized ? nub_heap_total(&c->heap) : 0;
    r[NUB_STAT_GENERATION] = c->dir.generation;
    r[NUB_STAT_CALLS] = c->calls;
    r[NUB_STAT_MOUNTS] = c->initialized ? c->mounts.live : 0;
}

static enum nub_status op_init(struct nub_core *c)
{
    struct nub_boot_info *bi = c->bi;
    if (c->initialized)
        return fail(c, NUB_ST_STATE, "INIT: already initialised");
    uint64_t mem = bi->mem_size;
    if (mem > NUB_MAX_MEM || mem <= c->heap_start)
        return fail(c, NUB_ST_INVAL, "INIT: mem_size 0x%llx unusable (heap starts at 0x%llx)",
                    (unsigned long long)mem, (unsigned long long)c->heap_start);
    /* The directory header, its first table and the mount table: set
     * aside with the heap, not allocated (an allocation is ~330 emulated
     * instructions of every start). */
    uint64_t fixed;
    enum nub_status st = nub_heap_init_reserve(&c->heap, c->heap_start, mem,
                                               NUB_DIR_FIXED_BYTES + NUB_MOUNT_TABLE_BYTES, &fixed);
    if (st != NUB_ST_OK)
        return fail(c, st, "INIT: heap [0x%llx, 0x%llx) too small", (unsigned long long)c->heap_start,
                    (unsigned long long)mem);
    nub_dir_create_at(&c->dir, &c->heap, bi->hasher_seed, fixed);
    nub_mounts_create_at(&c->mounts, &c->heap, &c->dir, NULL, fixed + NUB_DIR_FIXED_BYTES);
    c->mount_table_gpa = c->mounts.table_gpa;
    nub_run_init(&c->run, &c->heap, &c->mounts);
    bi->directory_gpa = c->dir.header_gpa;
    bi->mount_table_gpa = c->mount_table_gpa;
    c->initialized = 1;
    op_stats(c); /* the addresses are in the boot info */
    return NUB_ST_OK;
}

void nub_core_boot(struct nub_core *c, struct nub_boot_info *bi, struct nub_mailbox *mb,
                   struct nub_log_ring *ring, uint64_t heap_start)
{
    /* *c is zero (guest_core.h): no 5 KB store here, which was ~650
     * emulated string-store iterations of every start. */
    c->bi = bi;
    c->mb = mb;
    c->heap_start = nub_align_up(heap_start, NUB_PAGE_SIZE);
    bi->heap_start = c->heap_start;
    nub_log_attach(ring, mb);
    /* No log line (formatting one costs ~1,000 emulated instructions and
     * an exit, at every start): the READY message names the version and
     * the host logs it with its boot times. */
    mb->op = NUB_OP_READY;
    mb->status = NUB_ST_OK;
    mb->seq_done = 0;
    _Static_assert(sizeof(NUB_READY_MSG) <= sizeof(mb->msg), "READY message fits the mailbox");
    memcpy(mb->msg, NUB_READY_MSG, sizeof(NUB_READY_MSG));
    /* INIT in the boot run, its answer in READY's (a failure's status and
     * message instead of OK and the banner): a start then runs the guest
     * once, not twice, and skips a call's mailbox copies and bookkeeping
     * (~85 of the 605 emulated instructions a start took, ~1.5 us each on
     * kvm-pvm). */
    if (bi->flags & NUB_BOOT_F_INIT) {
        mb->status = op_init(c);
        bi->generation = c->dir.generation;
    }
}

static enum nub_status op_put(struct nub_core *c, const uint64_t *args, const uint8_t hash[16])
{
    uint64_t gpa = args[0], len = args[1];
    if (args[2] > NUB_CAP_MANIFEST)
        return fail(c, NUB_ST_INVAL, "PUT: unknown kind %llu", (unsigned long long)args[2]);
    enum nub_heap_owner owner = 0;
    uint64_t size = nub_heap_block_size(&c->heap, gpa, &owner);
    if (size == 0 || owner != NUB_OWNER_HOST)
        return fail(c, NUB_ST_INVAL, "PUT: 0x%llx is not a block from ALLOC",
                    (unsigned long long)gpa);
    if (len > size)
        return fail(c, NUB_ST_INVAL, "PUT: length %llu exceeds the block (%llu)",
                    (unsigned long long)len, (unsigned long long)size);
    uint32_t refs = 0;
    int existed = 0;
    enum nub_status st = nub_dir_put(&c->dir, hash, gpa, len, (uint16_t)args[2], &refs, &existed);
    switch (st) {
    case NUB_ST_OK:
        break;
    case NUB_ST_EXISTS:
        return fail(c, st, "PUT: a cap with this hash and a different length exists");
    case NUB_ST_NOMEM:
        return fail(c, st, "PUT: no memory to grow the directory");
    case NUB_ST_QUOTA:
        return fail(c, st, "PUT: directory full (at its maximum size, or no slot within "
                           "its probe bound until a growth finishes)");
    case NUB_ST_STATE:
        return fail(c, st, "PUT: directory busy migrating to a larger table; try again");
    default:
        return fail(c, st, "PUT: count or size overflow");
    }
    /* The entry now owns the block; a duplicate's copy is not needed. */
    if (existed)
        nub_heap_free(&c->heap, gpa, NUB_OWNER_HOST);
    else
        nub_heap_set_owner(&c->heap, gpa, NUB_OWNER_HOST, NUB_OWNER_CAP);
    c->mb->ret[0] = refs;
    c->mb->ret[1] = (uint64_t)existed;
    return NUB_ST_OK;
}

static enum nub_status op_release(struct nub_core *c, const uint8_t hash[16])
{
    uint32_t left = 0;
    struct nub_dir_entry gone;
    if (nub_dir_release(&c->dir, hash, &left, &gone) != NUB_ST_OK)
        return fail(c, NUB_ST_NOENT, "RELEASE: no such cap");
    /* Only data that PUT handed to the directory is freed here; caps kept
     * in place inside a package are freed with the package. */
    if (left == 0) {
        nub_heap_free(&c->heap, gone.data_gpa, NUB_OWNER_CAP);
        nub_mounts_sweep(&c->mounts); /* it may have pinned an unmounted package */
    }
    c->mb->ret[0] = left;
    return NUB_ST_OK;
}

static enum nub_status op_test(struct nub_core *c, uint32_t op, const uint64_t *args)
{
    if (!(c->bi->flags & NUB_BOOT_F_TEST_OPS))
        return fail(c, NUB_ST_INVAL, "test op 0x%x refused: test ops are disabled", op);
    if (op == NUB_OP_TEST_PANIC)
        nub_panic("test panic requested by the host");
    if (op == NUB_OP_TEST_CORRUPT) {
        uint64_t gpa = args[0], mem = c->bi->mem_size;
        if (gpa < NUB_PAGE_SIZE || mem < 8 || gpa > mem - 8)
            return fail(c, NUB_ST_INVAL, "TEST_CORRUPT: 0x%llx is outside guest RAM",
                        (unsigned long long)gpa);
        memcpy(nub_mem_ptr(gpa), &args[1], 8);
        return NUB_ST_OK;
    }
    if (op == NUB_OP_TEST_WASM) {
        if (!c->initialized)
            return fail(c, NUB_ST_STATE, "TEST_WASM before INIT");
        return nub_run_test_wasm(&c->heap, args, c->mb->ret, c->mb->msg, sizeof c->mb->msg);
    }
    return nub_arch_test_op(op, args[0], c->bi, c->mb->msg, sizeof c->mb->msg);
}

static enum nub_status dispatch(struct nub_core *c, uint32_t op, const uint64_t *args,
                                const uint8_t hash[16])
{
    switch (op) {
    case NUB_OP_NOP:
        return NUB_ST_OK;
    case NUB_OP_STATS:
        op_stats(c);
        return NUB_ST_OK;
    case NUB_OP_INIT:
        return op_init(c);
    case NUB_OP_TEST_TRIPLE_FAULT:
    case NUB_OP_TEST_MMIO:
    case NUB_OP_TEST_SSE:
    case NUB_OP_TEST_HANG:
    case NUB_OP_TEST_PANIC:
    case NUB_OP_TEST_CORRUPT:
    case NUB_OP_TEST_WRITE_CAP:
    case NUB_OP_TEST_WASM:
        return op_test(c, op, args);
    case NUB_OP_ALLOC:
    case NUB_OP_FREE:
    case NUB_OP_PUT:
    case NUB_OP_PUT_CAPS:
    case NUB_OP_RELEASE:
    case NUB_OP_MOUNT:
    case NUB_OP_UNMOUNT:
    case NUB_OP_RUN:
        break;
    default:
        return fail(c, NUB_ST_INVAL, "unknown op 0x%x", op);
    }
    if (!c->initialized)
        return fail(c, NUB_ST_STATE, "op %u before INIT", op);
    enum nub_status st;
    switch (op) {
    case NUB_OP_ALLOC:
        st = nub_heap_alloc(&c->heap, args[0], args[1], NUB_OWNER_HOST, &c->mb->ret[0]);
        if (st == NUB_ST_INVAL)
            return fail(c, st, "ALLOC: alignment 0x%llx is not a power of two <= 1 GiB",
                        (unsigned long long)args[1]);
        if (st != NUB_ST_OK)
            return fail(c, st, "ALLOC: no room for %llu bytes", (unsigned long long)args[0]);
        return st;
    case NUB_OP_FREE:
        if (nub_heap_free(&c->heap, args[0], NUB_OWNER_HOST) != NUB_ST_OK)
            return fail(c, NUB_ST_INVAL, "FREE: 0x%llx is not a block from ALLOC",
                        (unsigned long long)args[0]);
        return NUB_ST_OK;
    case NUB_OP_PUT:
        return op_put(c, args, hash);
    case NUB_OP_PUT_CAPS:
        return nub_put_caps_call(&c->mounts, args, c->mb->ret, c->mb->msg, sizeof c->mb->msg);
    case NUB_OP_MOUNT: {
        /* Fault injection is a test op: the kernel honours it only when
         * the host enabled test ops; the host build always does. */
#ifdef NUB_GUEST_KERNEL
        int test_ops = (c->bi->flags & NUB_BOOT_F_TEST_OPS) != 0;
#else
        int test_ops = 1;
#endif
        return nub_mount_call(&c->mounts, test_ops, args, hash, c->mb->ret, c->mb->msg,
                              sizeof c->mb->msg);
    }
    case NUB_OP_UNMOUNT:
        return nub_unmount_call(&c->mounts, args, c->mb->ret, c->mb->msg, sizeof c->mb->msg);
    case NUB_OP_RUN: {
        uint64_t crash = args[3] & NUB_RUN_F_TEST_CRASH;
        if (crash && !(c->bi->flags & NUB_BOOT_F_TEST_OPS))
            return fail(c, NUB_ST_INVAL, "RUN: test crash refused: test ops are disabled");
        st = nub_run_call(&c->run, args, c->mb->ret, c->mb->msg, sizeof c->mb->msg);
        if (crash) /* in the slice, its tasks' state changed: the host recovers */
            nub_arch_test_op(NUB_OP_TEST_TRIPLE_FAULT, 0, c->bi, c->mb->msg, sizeof c->mb->msg);
        return st;
    }
    default:
        return op_release(c, hash);
    }
}

void nub_core_call(struct nub_core *c)
{
    struct nub_mailbox *mb = c->mb;
    /* Copy the request first: results are written into the same mailbox. */
    uint32_t op = mb->op;
    uint64_t seq = mb->seq, args[NUB_MAILBOX_ARGS];
    uint8_t hash[16];
    memcpy(args, mb->args, sizeof args);
    memcpy(hash, mb->hash, sizeof hash);
    c->calls++;
    if (c->initialized)
        nub_heap_call_begin(&c->heap); /* last call's scrubbed ranges */
    memset(mb->ret, 0, sizeof mb->ret);
    mb->msg[0] = '\0';
    mb->scrub_count = 0;
    mb->scrub_more = 0;
    enum nub_status st = dispatch(c, op, args, hash);
    /* A directory growth is migrated a bounded step per mutating call
     * (and per NOP, so an idle host can drain it); a failed call changes
     * nothing, a failed MOUNT included (its heap level must stay put). */
    if (c->initialized && (op == NUB_OP_NOP || (st == NUB_ST_OK && (op == NUB_OP_PUT || op == NUB_OP_PUT_CAPS ||
                                                                     op == NUB_OP_RELEASE ||
                                                                     op == NUB_OP_MOUNT ||
                                                                     op == NUB_OP_UNMOUNT))))
        nub_dir_tick(&c->dir);
    if (c->initialized)
        nub_heap_call_end(&c->heap, mb);
    c->bi->generation = c->dir.generation;
    mb->status = st;
    mb->seq_done = seq;
}
