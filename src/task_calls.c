/* Client of the guest calls that run WebAssembly (task_calls.h). */
#include "task_calls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "errors.h"
#include "guest_calls.h"

int nub_call_test_wasm(struct nub_sandbox *sb, const void *module, size_t len,
                       const struct nub_test_wasm_req *req, struct nub_call_wasm_result *out)
{
    memset(out, 0, sizeof *out);
    if (len > ((size_t)1 << 30))
        return -EFBIG;
    size_t req_off = (len + 7) & ~(size_t)7;
    struct nub_piece pieces[2] = {
        {.off = 0, .data = module, .len = len},
        {.off = req_off, .data = req, .len = sizeof *req},
    };
    struct nub_block_call b = {
        .size = req_off + sizeof *req,
        .pieces = pieces,
        .npieces = 2,
        .call = {.op = NUB_OP_TEST_WASM, .args = {0, len, req_off}},
        .gpa_args = 1u << 0,
    };
    struct nub_sandbox_counters c0, c1;
    nub_sandbox_lock(sb);
    nub_sandbox_counters(sb, &c0);
    int r = nub_call_block_locked(sb, &b);
    nub_sandbox_counters(sb, &c1);
    if (r == 0 && b.call.status == NUB_ST_OK) {
        /* The op leaves the block to the host: give it back. */
        struct nub_call f = {.op = NUB_OP_FREE, .args = {b.gpa}};
        r = nub_sandbox_call_locked(sb, &f);
        if (r == 0 && f.status != NUB_ST_OK)
            r = nub_errno_guest(f.status);
    } else if (r == 0) {
        r = nub_errno_guest(b.call.status);
    }
    nub_sandbox_unlock(sb);
    snprintf(out->msg, sizeof out->msg, "%s",
             b.stage == NUB_BLOCK_ALLOC ? b.alloc_msg : b.call.msg);
    if (r != 0)
        return r;
    out->status = (uint32_t)b.call.ret[0];
    out->trap = (uint32_t)b.call.ret[1];
    out->fuel_used = b.call.ret[2];
    out->nresults = b.call.ret[3] > 4 ? 4 : (uint32_t)b.call.ret[3];
    memcpy(out->results, &b.call.ret[4], sizeof out->results);
    out->insns = c1.emulated_insns - c0.emulated_insns;
    return 0;
}

int nub_call_run(struct nub_sandbox *sb, uint64_t fuel, uint64_t quantum, uint64_t task_max,
                 uint64_t flags, struct nub_call_run_result *out)
{
    memset(out, 0, sizeof *out);
    if (fuel == 0)
        return -EINVAL;
    struct nub_call c = {.op = NUB_OP_RUN, .args = {fuel, quantum, task_max, flags}};
    struct nub_sandbox_counters c0, c1;
    nub_sandbox_lock(sb);
    nub_sandbox_counters(sb, &c0);
    uint64_t t0 = nub_now_ns();
    int r = nub_sandbox_call_locked(sb, &c);
    out->ns = nub_now_ns() - t0;
    nub_sandbox_counters(sb, &c1);
    nub_sandbox_unlock(sb);
    out->insns = c1.emulated_insns - c0.emulated_insns;
    if (r != 0)
        return r;
    if (c.status != NUB_ST_OK)
        return nub_errno_guest(c.status);
    out->runnable = c.ret[0];
    out->fuel_used = c.ret[1];
    out->blocked = c.ret[2];
    out->trapped = c.ret[3];
    out->done = c.ret[4];
    return 0;
}
