/* nubwasm on the host: an allocator over malloc (host library only). */
#ifndef NUB_WASM_HOST_H
#define NUB_WASM_HOST_H

#include "wasm.h"

extern const struct nub_wasm_env nub_wasm_host_env;

#endif /* NUB_WASM_HOST_H */
