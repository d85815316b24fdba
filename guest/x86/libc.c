/* The few C library routines the guest and the compiler need. String
 * moves and compares use rep movsb/stosb/cmpsb/scasb (general-purpose,
 * emulated cheaply: about one emulated instruction per 1,024 bytes),
 * never SIMD;
 * they are called on metadata only, never on payload bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    void *d = dst;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    if ((uintptr_t)dst - (uintptr_t)src >= n) /* no harmful overlap: forward */
        return memcpy(dst, src, n);
    void *d = (char *)dst + n - 1;
    const void *s = (const char *)src + n - 1;
    __asm__ volatile("std\n\trep movsb\n\tcld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    void *d = dst;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

/* repe cmpsb / repne scasb: the emulator counts a string instruction
 * about once per 1,024 iterations, where a byte loop costs ~6 emulated
 * instructions per byte (hash compares in the directory and the mount's
 * lookups are memcmp of 16 equal bytes). DF is clear (SysV ABI). */
int memcmp(const void *a, const void *b, size_t n)
{
    if (n == 0)
        return 0;
    const unsigned char *x = a, *y = b;
    __asm__ volatile("repe cmpsb" : "+S"(x), "+D"(y), "+c"(n) : : "memory", "cc");
    /* Stopped past the first differing byte, or past the last one. */
    if (x[-1] == y[-1])
        return 0;
    return x[-1] < y[-1] ? -1 : 1;
}

size_t strlen(const char *s)
{
    const char *p = s;
    size_t n = (size_t)-1;
    __asm__ volatile("repne scasb" : "+D"(p), "+c"(n) : "a"(0) : "memory", "cc");
    return (size_t)(p - s) - 1;
}
