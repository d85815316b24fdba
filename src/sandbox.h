/* The sandbox engine: one KVM VM with one vCPU running the nubfs guest
 * kernel: boot, one mailbox call at a time, poisoning on any misbehaviour,
 * scrubbing what the guest freed, reboot, and the locks. Sequences of
 * calls (PUT, MOUNT, ...) are the client's: guest_calls.h.
 *
 * Locking: two locks. The call mutex lets one call sequence (or reboot)
 * at a time drive the guest. The read/write lock is held exclusively only
 * while the guest actually runs, its freed memory is scrubbed, or it is
 * rebooted; readers of guest memory (the FUSE read path) hold it shared
 * via nub_sandbox_rdlock, so they never see the guest running or memory
 * being zeroed. Host copies into a freshly ALLOCed block happen with
 * readers let in: nothing published points there yet. */
#ifndef NUB_SANDBOX_H
#define NUB_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cap_store.h"
#include "guest_mem.h"
#include "nub/abi.h"

struct nub_sandbox;

/* Receives each complete log line from the guest (no trailing newline,
 * prefixed "guest: ", non-printable bytes replaced by '?') and each sandbox
 * event (prefixed "sandbox: ": boot, poisoning, reboot). May be called with
 * the sandbox lock held: it must not call back into the sandbox. */
typedef void (*nub_log_fn)(void *ctx, const char *line);

struct nub_sandbox_opts {
    const void *kernel;     /* guest ELF image bytes (embedded or from a file);
                               NULL = the embedded default. Copied. */
    size_t kernel_size;
    uint64_t mem_size;      /* guest RAM bytes; 0 = NUB_DEFAULT_MEM */
    uint32_t watchdog_ms;   /* per call; 0 = default (5000) */
    bool test_ops;          /* set NUB_BOOT_F_TEST_OPS */
    nub_log_fn log;         /* may be NULL */
    void *log_ctx;
};

/* Times measured while booting, for `stats` and the benchmarks. */
struct nub_boot_times {
    uint64_t vm_create_ns;  /* KVM VM + memory + vCPU setup */
    uint64_t ready_ns;      /* from create start to guest READY */
    uint64_t init_ns;       /* INIT call */
    char guest[64];         /* the guest's READY message ("nubfs guest vX"), sanitised */
};

/* Boots a fresh guest up to READY and INIT. On failure returns -errno and
 * writes a one-line reason (with the fix, when there is one) to err. */
int nub_sandbox_create(const struct nub_sandbox_opts *opts, struct nub_sandbox **out, char *err,
                       size_t errlen);
void nub_sandbox_destroy(struct nub_sandbox *sb);

/* One call. In: op, args, hash. Out: status, ret, msg.
 * Returns 0 when the guest answered (status may still be an error: see
 * nub_errno_guest in errors.h), -EIO if the guest misbehaved (the sandbox is
 * poisoned; the reason is logged and kept), -ESHUTDOWN if already poisoned. */
struct nub_call {
    uint32_t op;
    uint64_t args[NUB_MAILBOX_ARGS];
    uint8_t hash[16];
    uint32_t status;
    uint64_t ret[NUB_MAILBOX_ARGS];
    char msg[NUB_MAILBOX_MSG];
};
int nub_sandbox_call(struct nub_sandbox *sb, struct nub_call *call);

/* Several calls under ONE hold of both locks: no other call, no reboot
 * and no reader in between. Between nub_sandbox_lock and
 * nub_sandbox_unlock use only the *_locked calls (nub_sandbox_call and
 * the guest_calls.h functions that take the locks would deadlock). */
void nub_sandbox_lock(struct nub_sandbox *sb);
void nub_sandbox_unlock(struct nub_sandbox *sb);

/* A call sequence: holds off every other call and reboot, but not
 * readers; each *_locked call inside takes the exclusive lock itself for
 * just the guest run and its scrub. In between, the holder may read guest
 * memory (nothing else changes it) and write into blocks it ALLOCed and
 * has not yet handed to the guest (nothing published points there, so no
 * reader looks); it must not change anything a reader can reach. Used by
 * the mount path (ALLOC, copy, MOUNT, FREE on failure) so that a long
 * copy does not stall caps/ reads. The guest cannot be poisoned or
 * rebooted between the calls of a sequence, only during one of them. Same
 * rules as nub_sandbox_lock otherwise (use only *_locked calls). */
void nub_sandbox_seq_begin(struct nub_sandbox *sb);
void nub_sandbox_seq_end(struct nub_sandbox *sb);

/* nub_sandbox_call inside nub_sandbox_lock or nub_sandbox_seq_begin. */
int nub_sandbox_call_locked(struct nub_sandbox *sb, struct nub_call *call);
/* ALLOC inside either hold: *gpa gets a block of len bytes that lies in
 * the guest heap (an answer outside it poisons the sandbox: -EIO). Guest
 * refusals map through nub_errno_guest (errors.h; heap full: -ENOSPC); msg
 * (if not NULL, NUB_MAILBOX_MSG bytes) gets the guest's reason. */
int nub_sandbox_alloc_locked(struct nub_sandbox *sb, uint64_t len, uint64_t align, nub_gpa *gpa,
                             char *msg);


/* Inside either hold: copies data into [gpa, gpa + len) of a block the
 * holder ALLOCed and has not handed to the guest yet (readers may run).
 * A block the host cannot write poisons the sandbox: -EIO. */
int nub_sandbox_write_locked(struct nub_sandbox *sb, nub_gpa gpa, const void *data, size_t len);

/* Shared lock for readers of guest memory. */
void nub_sandbox_rdlock(struct nub_sandbox *sb);
/* The same if no writer holds it now: true if taken. */
bool nub_sandbox_tryrdlock(struct nub_sandbox *sb);
void nub_sandbox_rdunlock(struct nub_sandbox *sb);

const struct nub_guest_mem *nub_sandbox_mem(const struct nub_sandbox *sb);
nub_gpa nub_sandbox_boot_info_gpa(const struct nub_sandbox *sb);
const struct nub_boot_times *nub_sandbox_boot_times(const struct nub_sandbox *sb);

/* What a STATS call would answer, while no call has run since the last
 * (re)boot's INIT (which answers as STATS does): a start with nothing to
 * preload or replay needs no call of its own. 0, or -EAGAIN. */
int nub_sandbox_stats_at_init(struct nub_sandbox *sb, uint64_t ret[NUB_MAILBOX_ARGS]);

/* Counters for `stats`. */
struct nub_sandbox_counters {
    uint64_t calls;
    uint64_t exits;    /* VM exits, all kinds */
    uint64_t reboots;
    uint64_t poisoned; /* times poisoned */
    /* Guest instructions KVM emulated since create, over all reboots (see
     * nub_vm_emulated_insns: on kvm-pvm every guest instruction; on
     * hardware KVM only emulated ones). 0 if this KVM cannot tell. */
    uint64_t emulated_insns;
};
void nub_sandbox_counters(const struct nub_sandbox *sb, struct nub_sandbox_counters *out);

bool nub_sandbox_poisoned(const struct nub_sandbox *sb);
/* Why it was poisoned ("" if not), e.g. "KVM_EXIT_SHUTDOWN (triple fault)
 * during op 0x100". Valid until the next reboot. */
const char *nub_sandbox_poison_reason(const struct nub_sandbox *sb);

/* Read-only cap slots (docs/cap-store.md): host[0, size) shown to the
 * guest at gpa in the cap window, KVM_MEM_READONLY, and as a read-only
 * guest_mem region (fd/fd_offset for splicing, or -1). They survive
 * reboots. nub_sandbox_map_ro must be called inside a call sequence or
 * nub_sandbox_lock (it takes the exclusive lock for the change itself);
 * errors as nub_vm_map_ro. nub_sandbox_unmap may be called anywhere (no
 * sandbox lock held): the slot goes now, or when the call sequence running
 * at that moment ends; then done(arg) runs (no sandbox lock held), after
 * which the host mapping may be unmapped. -ENOMEM (nothing queued). */
int nub_sandbox_map_ro(struct nub_sandbox *sb, nub_gpa gpa, uint64_t size, const void *host,
                       int fd, off_t fd_offset);
int nub_sandbox_unmap(struct nub_sandbox *sb, nub_gpa gpa, void (*done)(void *arg), void *arg);
/* KVM memory slots nub_sandbox_map_ro may still add. */
uint32_t nub_sandbox_slots_free(struct nub_sandbox *sb);
/* The three above as the cap store's mapper (cap_store.h), ctx = sb. */
struct nub_cap_mapper nub_sandbox_cap_mapper(struct nub_sandbox *sb);

/* Calls run the vCPU under a watchdog that signals the calling thread
 * with SIGRTMIN+3 (watchdog.h): do not use that signal for anything else. */

/* Throws away the guest and boots a fresh one in the same memory slot
 * (re-zeroed). The caller re-publishes what it holds. */
int nub_sandbox_reboot(struct nub_sandbox *sb, char *err, size_t errlen);

#endif /* NUB_SANDBOX_H */
