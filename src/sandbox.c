/* The sandbox: boots the guest kernel in a KVM VM, runs mailbox calls, and
 * poisons itself on any guest misbehaviour until it is rebooted.
 *
 * The vCPU runs in the calling thread under a per-call watchdog
 * (watchdog.c). Two locks (see sandbox.h): call_mu serializes whole call
 * sequences and reboots; the rwlock is taken exclusively only while the
 * guest runs, its freed memory is scrubbed, or it is rebooted, so readers
 * keep going while a sequence copies bytes into a block it ALLOCed. Order:
 * call_mu before the rwlock. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sandbox.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "elf_load.h"
#include "errbuf.h"
#include "errors.h"
#include "guest_image.h"
#include "kvm_vm.h"
#include "watchdog.h"

#define DEFAULT_WATCHDOG_MS 5000u
#define MAX_SCRUB_ROUNDS 4096u /* NOP calls (x64 ranges) to drain one call's scrub list */
#define LOG_LINE_MAX 512u
#define REASON_MAX 512u

struct nub_sandbox {
    pthread_mutex_t call_mu;   /* one call sequence / reboot at a time */
    pthread_rwlock_t lock;     /* exclusive: guest runs, scrubs, reboots */
    bool excl;                 /* the call_mu holder also holds lock
                                  exclusively (nub_sandbox_lock); only read
                                  and written with call_mu held */
    struct nub_sandbox_opts opts;
    void *kernel;              /* our copy of a caller's ELF, or NULL for the
                                  embedded one; img points into either */
    struct nub_elf_image img;
    struct nub_vm vm;
    bool vm_up;
    uint64_t seq;
    uint64_t init_stats[NUB_MAILBOX_ARGS]; /* INIT's answer (= STATS), in READY */
    bool init_stats_valid;     /* init_stats came from this boot */
    uint64_t heap_start;       /* snapshot taken at boot; bounds scrub ranges */
    uint64_t log_read;         /* bytes of the guest log ring consumed */
    bool poisoned;             /* atomic */
    char reason[REASON_MAX];
    struct nub_boot_times times;
    struct nub_sandbox_counters ctr; /* atomic fields */
    uint64_t insns_before;     /* emulated instructions of earlier VMs */
    /* Read-only slots waiting to be removed (nub_sandbox_unmap): taken
     * out by whoever holds call_mu next, at its end (drain_unmaps). */
    pthread_mutex_t unmap_mu;
    struct pending_unmap *unmaps;
};

struct pending_unmap {
    struct pending_unmap *next;
    nub_gpa gpa;
    void (*done)(void *arg);
    void *arg;
};

static void drain_unmaps(struct nub_sandbox *sb);

/* ---- small helpers ------------------------------------------------------ */

static void bump(uint64_t *c)
{
    __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

/* Replaces anything but printable ASCII in s[0..n), so guest text cannot
 * inject terminal escapes or fake log lines. */
static void sanitize_n(char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            s[i] = '?';
}

/* The same for a NUL-terminated string in a buffer of n bytes. */
static void sanitize(char *s, size_t n)
{
    sanitize_n(s, strnlen(s, n));
}

static void emit(struct nub_sandbox *sb, const char *fmt, ...)
{
    if (sb->opts.log == NULL)
        return;
    char line[LOG_LINE_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    sb->opts.log(sb->opts.log_ctx, line);
}

static const char *op_name(uint32_t op)
{
    switch (op) {
    case NUB_OP_READY: return "READY";
    case NUB_OP_INIT: return "INIT";
    case NUB_OP_ALLOC: return "ALLOC";
    case NUB_OP_FREE: return "FREE";
    case NUB_OP_PUT: return "PUT";
    case NUB_OP_RELEASE: return "RELEASE";
    case NUB_OP_STATS: return "STATS";
    case NUB_OP_MOUNT: return "MOUNT";
    case NUB_OP_UNMOUNT: return "UNMOUNT";
    case NUB_OP_NOP: return "NOP";
    case NUB_OP_TEST_TRIPLE_FAULT: return "TEST_TRIPLE_FAULT";
    case NUB_OP_TEST_MMIO: return "TEST_MMIO";
    case NUB_OP_TEST_SSE: return "TEST_SSE";
    case NUB_OP_TEST_HANG: return "TEST_HANG";
    case NUB_OP_TEST_PANIC: return "TEST_PANIC";
    case NUB_OP_TEST_CORRUPT: return "TEST_CORRUPT";
    case NUB_OP_TEST_WRITE_CAP: return "TEST_WRITE_CAP";
    }
    return "?";
}

/* ---- poisoning ---------------------------------------------------------- */

static void drain_log(struct nub_sandbox *sb);

/* Marks the sandbox poisoned with a reason that names the exit, the op and
 * where the guest was. Always returns -EIO. */
static int poison(struct nub_sandbox *sb, uint32_t op, const char *fmt, ...)
{
    char what[REASON_MAX - 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    struct kvm_regs regs;
    char where[48] = "";
    if (sb->vm.vcpu_fd >= 0 && nub_vm_get_regs(&sb->vm, &regs) == 0)
        snprintf(where, sizeof(where), " at rip 0x%llx", (unsigned long long)regs.rip);
    snprintf(sb->reason, sizeof(sb->reason), "%s during op 0x%x (%s)%s", what, op, op_name(op),
             where);
    sanitize(sb->reason, sizeof(sb->reason));
    __atomic_store_n(&sb->poisoned, true, __ATOMIC_RELEASE);
    bump(&sb->ctr.poisoned);
    drain_log(sb); /* the guest may have said why before dying */
    emit(sb, "sandbox: guest poisoned: %s", sb->reason);
    return -EIO;
}

/* ---- the guest log ring ------------------------------------------------- */

static void emit_guest_line(struct nub_sandbox *sb, const char *p, size_t n)
{
    char line[LOG_LINE_MAX + 1];
    if (n > LOG_LINE_MAX)
        n = LOG_LINE_MAX;
    memcpy(line, p, n);
    line[n] = '\0';
    sanitize_n(line, n);
    emit(sb, "guest: %s", line);
}

/* Forwards the complete lines the guest added to its log ring. Reads at
 * most one ring's worth; a partial last line waits for its newline. */
static void drain_log(struct nub_sandbox *sb)
{
    const struct nub_guest_mem *gm = &sb->vm.gm;
    uint64_t ring;
    if (nub_gm_read(gm, sb->img.boot_info_gpa + offsetof(struct nub_boot_info, log_ring_gpa),
                    &ring, sizeof(ring)) != 0 ||
        ring == 0 || !nub_gm_check_range(gm, ring, sizeof(struct nub_log_ring)))
        return;
    uint64_t head;
    if (nub_gm_read(gm, ring, &head, sizeof(head)) != 0)
        return;
    if (head < sb->log_read) /* the guest went backwards: resync */
        sb->log_read = head;
    uint64_t avail = head - sb->log_read;
    if (avail > NUB_LOG_RING_SIZE) {
        emit(sb, "guest: (%llu log bytes lost)",
             (unsigned long long)(avail - NUB_LOG_RING_SIZE));
        sb->log_read = head - NUB_LOG_RING_SIZE;
        avail = NUB_LOG_RING_SIZE;
    }
    _Static_assert(NUB_LOG_RING_SIZE <= 64 * 1024, "log ring copied on the stack");
    char buf[NUB_LOG_RING_SIZE];
    uint64_t data = ring + offsetof(struct nub_log_ring, data);
    uint64_t at = sb->log_read % NUB_LOG_RING_SIZE;
    uint64_t first = avail < NUB_LOG_RING_SIZE - at ? avail : NUB_LOG_RING_SIZE - at;
    if (nub_gm_read(gm, data + at, buf, first) != 0 ||
        nub_gm_read(gm, data, buf + first, avail - first) != 0)
        return;
    size_t start = 0;
    for (size_t i = 0; i < avail; i++) {
        if (buf[i] == '\n') {
            emit_guest_line(sb, buf + start, i - start);
            start = i + 1;
        }
    }
    if (start == 0 && avail == NUB_LOG_RING_SIZE) { /* a line longer than the ring */
        emit_guest_line(sb, buf, avail);
        start = avail;
    }
    sb->log_read += start;
}

/* ---- running the vCPU --------------------------------------------------- */

static const char *internal_suberror(uint32_t s)
{
    switch (s) {
    case KVM_INTERNAL_ERROR_EMULATION: return "instruction emulation failed";
    case KVM_INTERNAL_ERROR_SIMUL_EX: return "exception while delivering an exception";
    case KVM_INTERNAL_ERROR_DELIVERY_EV: return "event delivery failed";
    case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: return "unexpected exit reason";
    }
    return "unknown suberror";
}

/* Turns a vCPU exit that is not one of our ports into a poison reason. */
static int poison_exit(struct nub_sandbox *sb, uint32_t op)
{
    const struct kvm_run *run = sb->vm.run;
    const char *name = nub_kvm_exit_name(run->exit_reason);
    switch (run->exit_reason) {
    case KVM_EXIT_SHUTDOWN:
        return poison(sb, op, "%s (triple fault)", name);
    case KVM_EXIT_MMIO: {
        /* In the cap window a write means a read-only cap slot (caps are
         * immutable by hardware); anything else is unbacked. */
        uint64_t a = run->mmio.phys_addr;
        bool cap = a >= NUB_CAP_WINDOW_BASE && a - NUB_CAP_WINDOW_BASE < NUB_CAP_WINDOW_SIZE;
        return poison(sb, op, "%s (%s of %u bytes at %s 0x%llx)", name,
                      run->mmio.is_write ? "write" : "read", run->mmio.len,
                      cap ? "cap window address (caps are read-only)" : "unbacked address",
                      (unsigned long long)a);
    }
    case KVM_EXIT_INTERNAL_ERROR:
        return poison(sb, op, "%s (suberror %u: %s)", name, run->internal.suberror,
                      internal_suberror(run->internal.suberror));
    case KVM_EXIT_FAIL_ENTRY:
        return poison(sb, op, "%s (hardware entry failure 0x%llx)", name,
                      (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
    case KVM_EXIT_HLT:
        return poison(sb, op, "%s (the guest halted)", name);
    case KVM_EXIT_IO:
        return poison(sb, op, "%s (unexpected %s port 0x%x)", name,
                      run->io.direction == KVM_EXIT_IO_OUT ? "out to" : "in from",
                      run->io.port);
    default:
        return poison(sb, op, "%s (exit reason %u)", name, run->exit_reason);
    }
}

/* Runs the vCPU until the guest reports DONE (0) or misbehaves (-EIO,
 * poisoned). */
static int run_until_done(struct nub_sandbox *sb, uint32_t op)
{
    struct nub_watchdog wd;
    int r = nub_watchdog_arm(&wd, sb->vm.run, sb->opts.watchdog_ms);
    if (r < 0) {
        nub_watchdog_disarm(&wd);
        return poison(sb, op, "cannot arm the watchdog: %s", strerror(-r));
    }
    for (;;) {
        if (nub_watchdog_fired()) {
            r = poison(sb, op, "watchdog: no answer within %u ms", sb->opts.watchdog_ms);
            break;
        }
        r = nub_vm_run(&sb->vm);
        bump(&sb->ctr.exits);
        if (r == -EINTR || r == -EAGAIN)
            continue; /* the loop head checks the watchdog */
        if (r < 0) {
            r = poison(sb, op, "KVM_RUN failed: %s", strerror(-r));
            break;
        }
        const struct kvm_run *run = sb->vm.run;
        if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT) {
            if (run->io.port == NUB_PORT_DONE) {
                r = 0;
                break;
            }
            if (run->io.port == NUB_PORT_LOG) {
                drain_log(sb);
                continue;
            }
            if (run->io.port == NUB_PORT_ABORT) {
                char msg[NUB_MAILBOX_MSG];
                if (nub_gm_read(&sb->vm.gm, sb->img.mailbox_gpa +
                                                offsetof(struct nub_mailbox, msg),
                                msg, sizeof(msg)) != 0)
                    msg[0] = '\0';
                msg[sizeof(msg) - 1] = '\0';
                sanitize(msg, sizeof(msg));
                r = poison(sb, op, "guest panic (ABORT port): %s", msg);
                break;
            }
        }
        r = poison_exit(sb, op);
        break;
    }
    nub_watchdog_disarm(&wd);
    /* Refreshed here, under the lock, so nub_sandbox_counters never
     * touches the vCPU (which a reboot may be replacing). */
    uint64_t insns;
    if (nub_vm_emulated_insns(&sb->vm, &insns) == 0)
        __atomic_store_n(&sb->ctr.emulated_insns, sb->insns_before + insns, __ATOMIC_RELAXED);
    return r;
}

/* ---- calls -------------------------------------------------------------- */

/* [gpa, gpa+len) lies inside the heap [heap_start, mem_size); nothing
 * does before the guest reported its heap. */
static bool in_heap(const struct nub_sandbox *sb, uint64_t gpa, uint64_t len)
{
    uint64_t hi = sb->vm.mem_size;
    return sb->heap_start != 0 && gpa >= sb->heap_start && gpa <= hi && len <= hi - gpa;
}

/* Zeroes the ranges the guest freed; each must lie inside the heap. */
static int scrub(struct nub_sandbox *sb, uint32_t op, const struct nub_mailbox *mb)
{
    if (mb->scrub_count > NUB_SCRUB_MAX)
        return poison(sb, op, "scrub list of %u ranges (max %u)", mb->scrub_count,
                      NUB_SCRUB_MAX);
    for (uint32_t i = 0; i < mb->scrub_count; i++) {
        uint64_t gpa = mb->scrub[i].gpa, len = mb->scrub[i].len;
        if (len == 0)
            continue;
        if (!in_heap(sb, gpa, len))
            return poison(sb, op, "scrub range [0x%llx, +0x%llx) outside the heap",
                          (unsigned long long)gpa, (unsigned long long)len);
        if (nub_gm_zero(&sb->vm.gm, gpa, len) != 0)
            return poison(sb, op, "scrub range [0x%llx, +0x%llx) not guest memory",
                          (unsigned long long)gpa, (unsigned long long)len);
    }
    return 0;
}

/* One guest call, no scrub draining. The mailbox is copied out once. */
static int call_once(struct nub_sandbox *sb, const struct nub_call *in, struct nub_mailbox *mb)
{
    memset(mb, 0, sizeof(*mb));
    mb->op = in->op;
    mb->status = NUB_ST_PENDING;
    mb->seq = ++sb->seq;
    memcpy(mb->args, in->args, sizeof(mb->args));
    memcpy(mb->hash, in->hash, sizeof(mb->hash));
    if (nub_gm_write(&sb->vm.gm, sb->img.mailbox_gpa, mb, sizeof(*mb)) != 0)
        return poison(sb, in->op, "mailbox outside guest memory");
    bump(&sb->ctr.calls);
    uint64_t seq = mb->seq;
    int r = run_until_done(sb, in->op);
    if (r < 0)
        return r;
    if (nub_gm_read(&sb->vm.gm, sb->img.mailbox_gpa, mb, sizeof(*mb)) != 0)
        return poison(sb, in->op, "mailbox outside guest memory");
    if (mb->seq_done != seq)
        return poison(sb, in->op, "DONE for call %llu, expected %llu",
                      (unsigned long long)mb->seq_done, (unsigned long long)seq);
    mb->msg[sizeof(mb->msg) - 1] = '\0';
    sanitize(mb->msg, sizeof(mb->msg));
    return scrub(sb, in->op, mb);
}

/* A call plus the NOPs that drain its scrub list. Lock held. */
static int call_locked(struct nub_sandbox *sb, struct nub_call *call)
{
    if (__atomic_load_n(&sb->poisoned, __ATOMIC_ACQUIRE))
        return -ESHUTDOWN;
    struct nub_mailbox mb;
    int r = call_once(sb, call, &mb);
    if (r < 0)
        return r;
    call->status = mb.status;
    memcpy(call->ret, mb.ret, sizeof(call->ret));
    memcpy(call->msg, mb.msg, sizeof(call->msg));
    for (uint32_t round = 0; mb.scrub_more != 0; round++) {
        if (round == MAX_SCRUB_ROUNDS)
            return poison(sb, call->op, "scrub list not drained after %u NOP calls",
                          MAX_SCRUB_ROUNDS);
        struct nub_call nop = {.op = NUB_OP_NOP};
        r = call_once(sb, &nop, &mb);
        if (r < 0)
            return r;
    }
    return 0;
}

void nub_sandbox_lock(struct nub_sandbox *sb)
{
    pthread_mutex_lock(&sb->call_mu);
    pthread_rwlock_wrlock(&sb->lock);
    sb->excl = true;
}

void nub_sandbox_unlock(struct nub_sandbox *sb)
{
    sb->excl = false;
    pthread_rwlock_unlock(&sb->lock);
    pthread_mutex_unlock(&sb->call_mu);
    drain_unmaps(sb);
}

void nub_sandbox_seq_begin(struct nub_sandbox *sb)
{
    pthread_mutex_lock(&sb->call_mu);
}

void nub_sandbox_seq_end(struct nub_sandbox *sb)
{
    pthread_mutex_unlock(&sb->call_mu);
    drain_unmaps(sb);
}

/* call_mu held: takes the rwlock exclusively unless the holder already
 * has it (nub_sandbox_lock). Returns whether it was taken here. */
static bool excl_enter(struct nub_sandbox *sb)
{
    if (sb->excl)
        return false;
    pthread_rwlock_wrlock(&sb->lock);
    return true;
}

static void excl_leave(struct nub_sandbox *sb, bool taken)
{
    if (taken)
        pthread_rwlock_unlock(&sb->lock);
}

int nub_sandbox_call_locked(struct nub_sandbox *sb, struct nub_call *call)
{
    bool taken = excl_enter(sb);
    int r = call_locked(sb, call);
    excl_leave(sb, taken);
    return r;
}

/* ALLOC; the rwlock is held exclusively (it poisons on a bad answer). */
static int alloc_excl(struct nub_sandbox *sb, uint64_t len, uint64_t align, nub_gpa *gpa,
                      char *msg)
{
    struct nub_call c = {.op = NUB_OP_ALLOC, .args = {len, align}};
    int r = call_locked(sb, &c);
    if (r < 0)
        return r;
    if (msg != NULL)
        memcpy(msg, c.msg, NUB_MAILBOX_MSG);
    if (c.status != NUB_ST_OK)
        return nub_errno_guest(c.status);
    nub_gpa at = c.ret[0];
    if (!in_heap(sb, at, len))
        return poison(sb, NUB_OP_ALLOC, "ALLOC returned [0x%llx, +0x%llx) outside the heap",
                      (unsigned long long)at, (unsigned long long)len);
    *gpa = at;
    return 0;
}

int nub_sandbox_alloc_locked(struct nub_sandbox *sb, uint64_t len, uint64_t align, nub_gpa *gpa,
                             char *msg)
{
    bool taken = excl_enter(sb);
    int r = alloc_excl(sb, len, align, gpa, msg);
    excl_leave(sb, taken);
    return r;
}

int nub_sandbox_call(struct nub_sandbox *sb, struct nub_call *call)
{
    nub_sandbox_lock(sb);
    int r = call_locked(sb, call);
    nub_sandbox_unlock(sb);
    return r;
}

/* ---- boot --------------------------------------------------------------- */

/* Copies the boot info out and checks what the guest filled in. */
static int read_boot_info(struct nub_sandbox *sb, struct nub_boot_info *bi, char *err,
                          size_t errlen)
{
    if (nub_gm_read(&sb->vm.gm, sb->img.boot_info_gpa, bi, sizeof(*bi)) != 0) {
        nub_set_err(err, errlen, "nubfs: guest boot info outside guest memory");
        return -EIO;
    }
    if (bi->magic != NUB_BOOT_MAGIC || bi->abi_version != NUB_ABI_VERSION) {
        nub_set_err(err, errlen, "nubfs: guest overwrote its boot info magic/ABI version");
        return -EIO;
    }
    return 0;
}

/* The heap bounds scrub ranges for the sandbox's life: page aligned,
 * above the kernel image, inside RAM. */
static int take_heap_start(struct nub_sandbox *sb, uint64_t heap, char *err, size_t errlen)
{
    if (heap % NUB_PAGE_SIZE != 0 || heap < sb->img.image_end || heap >= sb->vm.mem_size) {
        nub_set_err(err, errlen, "nubfs: guest reported a bad heap start 0x%llx",
                    (unsigned long long)heap);
        return -EIO;
    }
    sb->heap_start = heap;
    return 0;
}

/* (Re)creates the VM, loads the kernel and runs it through READY and INIT
 * (one run: NUB_BOOT_F_INIT).
 * Used for the first boot and for a reboot after poisoning, so every
 * per-guest field is reset here. */
static int boot(struct nub_sandbox *sb, char *err, size_t errlen)
{
    uint64_t t0 = nub_now_ns();
    uint64_t insns;
    if (sb->vm_up && nub_vm_emulated_insns(&sb->vm, &insns) == 0)
        sb->insns_before += insns;
    int r = sb->vm_up ? nub_vm_reset(&sb->vm, err, errlen)
                      : nub_vm_create(&sb->vm, sb->opts.mem_size, err, errlen);
    if (r < 0)
        return r;
    sb->vm_up = true;
    sb->seq = 0;
    sb->init_stats_valid = false;
    sb->heap_start = 0;
    sb->log_read = 0;
    sb->reason[0] = '\0';
    __atomic_store_n(&sb->poisoned, false, __ATOMIC_RELEASE);

    const struct nub_guest_mem *gm = &sb->vm.gm;
    r = nub_elf_load(&sb->img, gm);
    if (r < 0) {
        nub_set_err(err, errlen, "nubfs: loading the guest kernel: %s", strerror(-r));
        return r;
    }
    uint64_t seed;
    if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
        r = -errno;
        nub_set_err(err, errlen, "nubfs: getrandom: %s", strerror(errno));
        return r;
    }
    uint32_t flags = NUB_BOOT_F_INIT | (sb->opts.test_ops ? NUB_BOOT_F_TEST_OPS : 0);
    uint64_t bi = sb->img.boot_info_gpa;
    struct nub_mailbox mb = {.op = NUB_OP_READY, .status = NUB_ST_PENDING};
    if (nub_gm_write(gm, bi + offsetof(struct nub_boot_info, flags), &flags, sizeof(flags)) ||
        nub_gm_write(gm, bi + offsetof(struct nub_boot_info, mem_size), &sb->vm.mem_size,
                     sizeof(uint64_t)) ||
        nub_gm_write(gm, bi + offsetof(struct nub_boot_info, hasher_seed), &seed,
                     sizeof(seed)) ||
        nub_gm_write(gm, sb->img.mailbox_gpa, &mb, sizeof(mb))) {
        nub_set_err(err, errlen, "nubfs: boot info outside guest memory");
        return -EIO;
    }
    r = nub_vm_setup_long_mode(&sb->vm, sb->img.entry, err, errlen);
    if (r < 0)
        return r;
    uint64_t t1 = nub_now_ns();
    sb->times.vm_create_ns = t1 - t0;

    /* One run: the boot and INIT (NUB_BOOT_F_INIT), whose answer READY
     * carries. */
    r = run_until_done(sb, NUB_OP_READY);
    if (r < 0) {
        nub_set_err(err, errlen, "nubfs: guest failed to boot: %s", sb->reason);
        return r;
    }
    if (nub_gm_read(gm, sb->img.mailbox_gpa, &mb, sizeof(mb)) != 0)
        return -EIO;
    mb.msg[sizeof(mb.msg) - 1] = '\0';
    sanitize(mb.msg, sizeof(mb.msg));
    if (mb.op != NUB_OP_READY || mb.status == NUB_ST_PENDING) {
        nub_set_err(err, errlen, "nubfs: guest did not report READY (op %u status %u): %s", mb.op,
                    mb.status, mb.msg);
        return -EIO;
    }
    if (mb.status != NUB_ST_OK) {
        nub_set_err(err, errlen, "nubfs: guest INIT refused (status %u): %s", mb.status, mb.msg);
        return nub_errno_guest(mb.status);
    }
    memcpy(sb->times.guest, mb.msg, sizeof(sb->times.guest) - 1); /* mb.msg is terminated */
    sb->times.guest[sizeof(sb->times.guest) - 1] = '\0';
    uint64_t t2 = nub_now_ns();
    sb->times.ready_ns = t2 - t0;

    struct nub_boot_info info;
    r = read_boot_info(sb, &info, err, errlen);
    if (r < 0)
        return r;
    if ((r = take_heap_start(sb, info.heap_start, err, errlen)) < 0)
        return r;
    if (info.directory_gpa == 0 ||
        !nub_gm_check_range(gm, info.directory_gpa, sizeof(struct nub_dir_header))) {
        nub_set_err(err, errlen, "nubfs: after INIT the guest directory address 0x%llx is invalid",
                    (unsigned long long)info.directory_gpa);
        return -EIO;
    }
    memcpy(sb->init_stats, mb.ret, sizeof(sb->init_stats));
    sb->init_stats_valid = true;
    sb->times.init_ns = nub_now_ns() - t2;
    return 0;
}

int nub_sandbox_stats_at_init(struct nub_sandbox *sb, uint64_t ret[NUB_MAILBOX_ARGS])
{
    pthread_mutex_lock(&sb->call_mu);
    /* No call since the boot (seq counts them from 0): still current. */
    bool fresh = sb->init_stats_valid && sb->seq == 0;
    if (fresh)
        memcpy(ret, sb->init_stats, sizeof(sb->init_stats));
    pthread_mutex_unlock(&sb->call_mu);
    return fresh ? 0 : -EAGAIN;
}

int nub_sandbox_create(const struct nub_sandbox_opts *opts, struct nub_sandbox **out, char *err,
                       size_t errlen)
{
    *out = NULL;
    struct nub_sandbox *sb = calloc(1, sizeof(*sb));
    if (sb == NULL)
        return -ENOMEM;
    sb->opts = *opts;
    if (sb->opts.mem_size == 0)
        sb->opts.mem_size = NUB_DEFAULT_MEM;
    if (sb->opts.watchdog_ms == 0)
        sb->opts.watchdog_ms = DEFAULT_WATCHDOG_MS;
    sb->vm.kvm_fd = sb->vm.vm_fd = sb->vm.vcpu_fd = sb->vm.mem_fd = sb->vm.stats_fd = -1;
    pthread_mutex_init(&sb->call_mu, NULL);
    pthread_mutex_init(&sb->unmap_mu, NULL);
    pthread_rwlock_init(&sb->lock, NULL);

    const void *k = opts->kernel;
    size_t ksize = opts->kernel_size;
    bool embedded = k == NULL;
    if (embedded)
        nub_guest_image(&k, &ksize);
    int r;
    if (ksize == 0) {
        nub_set_err(err, errlen,
                    "nubfs: no guest kernel (this build embeds none: use -o kernel=PATH)");
        r = -ENOEXEC;
        goto fail;
    }
    /* A caller's buffer may go away, and we need the image again on every
     * reboot: our own aligned copy of it. The embedded image lives as long
     * as the program and is aligned, so it is used in place (copying it
     * cost ~450 page faults at every start). */
    if (!embedded) {
        sb->kernel = malloc(ksize);
        if (sb->kernel == NULL) {
            r = -ENOMEM;
            goto fail;
        }
        memcpy(sb->kernel, k, ksize);
        k = sb->kernel;
    }
    sb->opts.kernel = k;
    r = nub_elf_parse(k, ksize, sb->opts.mem_size, &sb->img, err, errlen);
    if (r < 0)
        goto fail;
    r = boot(sb, err, errlen);
    if (r < 0)
        goto fail;
    emit(sb, "sandbox: guest up: %llu MiB, READY in %llu us, INIT in %llu us",
         (unsigned long long)(sb->vm.mem_size >> 20),
         (unsigned long long)(sb->times.ready_ns / 1000),
         (unsigned long long)(sb->times.init_ns / 1000));
    *out = sb;
    return 0;
fail:
    nub_sandbox_destroy(sb);
    return r;
}

void nub_sandbox_destroy(struct nub_sandbox *sb)
{
    if (sb == NULL)
        return;
    /* Pending unmaps go with the VM; their owners still get done(). */
    for (struct pending_unmap *u = sb->unmaps, *next; u != NULL; u = next) {
        next = u->next;
        nub_vm_unmap(&sb->vm, u->gpa);
        if (u->done != NULL)
            u->done(u->arg);
        free(u);
    }
    nub_vm_destroy(&sb->vm);
    pthread_mutex_destroy(&sb->unmap_mu);
    free(sb->kernel);
    pthread_rwlock_destroy(&sb->lock);
    pthread_mutex_destroy(&sb->call_mu);
    free(sb);
}

int nub_sandbox_reboot(struct nub_sandbox *sb, char *err, size_t errlen)
{
    /* Both locks: no sequence is between its calls (its blocks are about
     * to vanish) and no reader sees memory being re-zeroed. */
    nub_sandbox_lock(sb);
    bump(&sb->ctr.reboots);
    char why[REASON_MAX];
    snprintf(why, sizeof(why), "%s", sb->reason[0] ? sb->reason : "requested");
    emit(sb, "sandbox: rebooting the guest (%s)", why);
    int r = boot(sb, err, errlen);
    if (r < 0) {
        /* Stay poisoned; keep the boot failure as the reason. */
        if (!__atomic_load_n(&sb->poisoned, __ATOMIC_ACQUIRE)) {
            snprintf(sb->reason, sizeof(sb->reason), "reboot failed: %s", err ? err : "");
            __atomic_store_n(&sb->poisoned, true, __ATOMIC_RELEASE);
            bump(&sb->ctr.poisoned);
        }
        emit(sb, "sandbox: reboot failed: %s", sb->reason);
    } else {
        emit(sb, "sandbox: guest rebooted: READY in %llu us, INIT in %llu us",
             (unsigned long long)(sb->times.ready_ns / 1000),
             (unsigned long long)(sb->times.init_ns / 1000));
    }
    nub_sandbox_unlock(sb);
    return r;
}

/* ---- writing into a fresh block --------------------------------------- */

int nub_sandbox_write_locked(struct nub_sandbox *sb, nub_gpa gpa, const void *data, size_t len)
{
    /* The block is the holder's and unpublished: no reader looks at it. */
    if (nub_gm_write(&sb->vm.gm, gpa, data, len) == 0)
        return 0;
    bool taken = excl_enter(sb);
    int r = poison(sb, NUB_OP_ALLOC, "ALLOC returned memory the host cannot write");
    excl_leave(sb, taken);
    return r;
}

/* ---- accessors ---------------------------------------------------------- */

void nub_sandbox_rdlock(struct nub_sandbox *sb)
{
    pthread_rwlock_rdlock(&sb->lock);
}

bool nub_sandbox_tryrdlock(struct nub_sandbox *sb)
{
    return pthread_rwlock_tryrdlock(&sb->lock) == 0;
}

void nub_sandbox_rdunlock(struct nub_sandbox *sb)
{
    pthread_rwlock_unlock(&sb->lock);
}

const struct nub_guest_mem *nub_sandbox_mem(const struct nub_sandbox *sb)
{
    return &sb->vm.gm;
}

nub_gpa nub_sandbox_boot_info_gpa(const struct nub_sandbox *sb)
{
    return sb->img.boot_info_gpa;
}

const struct nub_boot_times *nub_sandbox_boot_times(const struct nub_sandbox *sb)
{
    return &sb->times;
}

void nub_sandbox_counters(const struct nub_sandbox *sb, struct nub_sandbox_counters *out)
{
    out->calls = __atomic_load_n(&sb->ctr.calls, __ATOMIC_RELAXED);
    out->exits = __atomic_load_n(&sb->ctr.exits, __ATOMIC_RELAXED);
    out->reboots = __atomic_load_n(&sb->ctr.reboots, __ATOMIC_RELAXED);
    out->poisoned = __atomic_load_n(&sb->ctr.poisoned, __ATOMIC_RELAXED);
    out->emulated_insns = __atomic_load_n(&sb->ctr.emulated_insns, __ATOMIC_RELAXED);
}

bool nub_sandbox_poisoned(const struct nub_sandbox *sb)
{
    return __atomic_load_n(&sb->poisoned, __ATOMIC_ACQUIRE);
}

const char *nub_sandbox_poison_reason(const struct nub_sandbox *sb)
{
    return sb->reason;
}

/* ---- read-only cap slots -------------------------------------------------- */

int nub_sandbox_map_ro(struct nub_sandbox *sb, nub_gpa gpa, uint64_t size, const void *host,
                       int fd, off_t fd_offset)
{
    bool taken = excl_enter(sb);
    int r = nub_vm_map_ro(&sb->vm, gpa, size, host, fd, fd_offset);
    excl_leave(sb, taken);
    return r;
}

uint32_t nub_sandbox_slots_free(struct nub_sandbox *sb)
{
    pthread_rwlock_rdlock(&sb->lock);
    uint32_t n = nub_vm_slots_free(&sb->vm);
    pthread_rwlock_unlock(&sb->lock);
    return n;
}

static int mapper_map(void *ctx, nub_gpa gpa, uint64_t size, const void *host, int fd, off_t off)
{
    return nub_sandbox_map_ro(ctx, gpa, size, host, fd, off);
}

static int mapper_unmap(void *ctx, nub_gpa gpa, void (*done)(void *arg), void *arg)
{
    return nub_sandbox_unmap(ctx, gpa, done, arg);
}

static uint32_t mapper_slots_free(void *ctx)
{
    return nub_sandbox_slots_free(ctx);
}

struct nub_cap_mapper nub_sandbox_cap_mapper(struct nub_sandbox *sb)
{
    return (struct nub_cap_mapper){.ctx = sb, .map = mapper_map, .unmap = mapper_unmap,
                                   .slots_free = mapper_slots_free};
}

/* Removes every queued slot, if no one else drives the guest right now;
 * otherwise the call_mu holder does it when it lets go (each release of
 * call_mu is followed by this check, so nothing queued waits longer than
 * the sequence running when it was queued). done() runs with no sandbox
 * lock held. */
static void drain_unmaps(struct nub_sandbox *sb)
{
    for (;;) {
        pthread_mutex_lock(&sb->unmap_mu);
        bool empty = sb->unmaps == NULL;
        pthread_mutex_unlock(&sb->unmap_mu);
        if (empty || pthread_mutex_trylock(&sb->call_mu) != 0)
            return;
        pthread_mutex_lock(&sb->unmap_mu);
        struct pending_unmap *list = sb->unmaps;
        sb->unmaps = NULL;
        pthread_mutex_unlock(&sb->unmap_mu);
        pthread_rwlock_wrlock(&sb->lock);
        for (struct pending_unmap *u = list; u != NULL; u = u->next) {
            int r = nub_vm_unmap(&sb->vm, u->gpa);
            if (r < 0 && r != -ENOENT)
                emit(sb, "sandbox: removing the read-only slot at 0x%llx: %s",
                     (unsigned long long)u->gpa, strerror(-r));
        }
        pthread_rwlock_unlock(&sb->lock);
        pthread_mutex_unlock(&sb->call_mu);
        for (struct pending_unmap *u = list, *next; u != NULL; u = next) {
            next = u->next;
            if (u->done != NULL)
                u->done(u->arg);
            free(u);
        }
        /* More may have been queued meanwhile: go round again. */
    }
}

int nub_sandbox_unmap(struct nub_sandbox *sb, nub_gpa gpa, void (*done)(void *arg), void *arg)
{
    struct pending_unmap *u = malloc(sizeof(*u));
    if (u == NULL)
        return -ENOMEM;
    *u = (struct pending_unmap){.gpa = gpa, .done = done, .arg = arg};
    pthread_mutex_lock(&sb->unmap_mu);
    u->next = sb->unmaps;
    sb->unmaps = u;
    pthread_mutex_unlock(&sb->unmap_mu);
    drain_unmaps(sb);
    return 0;
}
