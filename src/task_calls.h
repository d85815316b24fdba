/* Guest calls that run WebAssembly (abi.h NUB_OP_TEST_WASM, NUB_OP_RUN):
 * the client side of guest/run/. Kept apart from guest_calls.c, whose
 * calls move blobs and packages. */
#ifndef NUB_TASK_CALLS_H
#define NUB_TASK_CALLS_H

#include <stddef.h>
#include <stdint.h>

#include "nub/abi.h"
#include "sandbox.h"

struct nub_call_wasm_result {
    uint32_t status;      /* enum nub_wasm_status */
    uint32_t trap;        /* enum nub_wasm_trap */
    uint64_t fuel_used;
    uint32_t nresults;
    uint64_t results[4];
    uint64_t insns;       /* emulated guest instructions of the call (0 if unknown) */
    char msg[NUB_MAILBOX_MSG]; /* the guest's reason for a refusal */
};

/* NUB_OP_TEST_WASM (needs test_ops): ALLOC, copy module and request, run
 * the export in the guest, FREE. 0 and *out; the guest's refusal as
 * nub_errno_guest (-EBADMSG: module refused, out->msg says why); -EIO /
 * -ESHUTDOWN if the guest misbehaved. Takes the locks itself. */
int nub_call_test_wasm(struct nub_sandbox *sb, const void *module, size_t len,
                       const struct nub_test_wasm_req *req, struct nub_call_wasm_result *out);

/* NUB_OP_RUN's answer (abi.h "Tasks"). */
struct nub_call_run_result {
    uint64_t runnable;  /* tasks ready or running after the slice */
    uint64_t fuel_used; /* in this slice */
    uint64_t blocked;   /* tasks waiting on a queue */
    uint64_t trapped;   /* tasks that trapped in this slice */
    uint64_t done;      /* tasks whose entry point returned in this slice */
    uint64_t ns;        /* wall time of the call, lock waits excluded */
    uint64_t insns;     /* emulated guest instructions of the call (0 if unknown) */
};

/* NUB_OP_RUN: one slice of at most `fuel` (> 0), at most `quantum` per
 * task turn (0 = the slice's), a task trapped once it used `task_max`
 * without waiting on a queue (0 = no limit); flags: abi.h NUB_RUN_F_* (the
 * test crash needs a guest booted with test ops). Holds the sandbox lock (exclusive: readers
 * wait) for that one call only. 0 and *out; -EINVAL (fuel 0, or the guest
 * refused); -EIO / -ESHUTDOWN if the guest misbehaved (poisoned: the
 * caller recovers). */
int nub_call_run(struct nub_sandbox *sb, uint64_t fuel, uint64_t quantum, uint64_t task_max,
                 uint64_t flags, struct nub_call_run_result *out);

#endif /* NUB_TASK_CALLS_H */
