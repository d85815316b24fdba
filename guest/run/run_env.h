/* The guest's side of the WebAssembly interpreter: its allocator over the
 * guest heap (guest/run/run_env.c) and the ops that run modules in the
 * guest (TEST_WASM in test_wasm.c). Plain C, in the kernel and in the host
 * library nubguest. */
#ifndef NUB_RUN_ENV_H
#define NUB_RUN_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "nub/abi.h"
#include "nub/guest_heap.h"
#include "wasm.h"

/* A nub_wasm_env whose memory is kernel-owned blocks of heap h. Blocks
 * come zeroed (the heap's scrub protocol), so zalloc needs no guest loop. */
void nub_run_env_init(struct nub_wasm_env *env, struct nub_heap *h);

/* NUB_OP_TEST_WASM (abi.h): decode, instantiate and run one export of the
 * module in the host-owned block args[0], everything freed again. */
enum nub_status nub_run_test_wasm(struct nub_heap *h, const uint64_t *args, uint64_t *ret,
                                  char *msg, size_t msg_cap);

#endif /* NUB_RUN_ENV_H */
