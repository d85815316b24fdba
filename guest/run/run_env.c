/* The interpreter's allocator in the guest: each object is a heap block
 * owned by the kernel. The heap hands out zeroed memory (the host zeroes
 * what was freed before it is reused), which is what zalloc promises. */
#include "run_env.h"

#include "nub/guest_addr.h"

static void *heap_zalloc(void *ctx, size_t size)
{
    uint64_t gpa = 0;
    if (nub_heap_alloc(ctx, size, 0, NUB_OWNER_KERNEL, &gpa) != NUB_ST_OK)
        return NULL;
    return nub_mem_ptr(gpa);
}

static void heap_free(void *ctx, void *p, size_t size)
{
    (void)size;
    if (p != NULL)
        nub_heap_free(ctx, nub_mem_gpa(p), NUB_OWNER_KERNEL);
}

void nub_run_env_init(struct nub_wasm_env *env, struct nub_heap *h)
{
    *env = (struct nub_wasm_env){.zalloc = heap_zalloc, .free = heap_free, .ctx = h};
}
