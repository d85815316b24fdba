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

#endif /* NUB_TASK_CALLS_H */
