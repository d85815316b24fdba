/* Freestanding <stdlib.h> for the guest kernel. xxhash.h declares wrappers
 * around malloc/free for its streaming API; the guest never calls them (the
 * wrappers are unused statics), so there is deliberately no definition. */
#ifndef NUB_FREESTANDING_STDLIB_H
#define NUB_FREESTANDING_STDLIB_H

#include <stddef.h>

void *malloc(size_t n);
void free(void *p);

#endif
