/* Freestanding <string.h> for the guest kernel: just the few routines the
 * guest (and the header-only xxhash) use; implemented in guest/x86/libc.c.
 * Exists so the guest never pulls in glibc headers. */
#ifndef NUB_FREESTANDING_STRING_H
#define NUB_FREESTANDING_STRING_H

#include <stddef.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif
