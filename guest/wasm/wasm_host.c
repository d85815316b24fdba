/* nubwasm on the host: the allocator the host tools and tests use. */
#include <stdlib.h>

#include "wasm_host.h"

static void *host_zalloc(void *ctx, size_t size)
{
    (void)ctx;
    return calloc(1, size);
}

static void host_free(void *ctx, void *p, size_t size)
{
    (void)ctx;
    (void)size;
    free(p);
}

const struct nub_wasm_env nub_wasm_host_env = {host_zalloc, host_free, NULL};
