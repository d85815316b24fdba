/* The few C library routines the guest and the compiler need. String
 * moves and compares use rep movs/stos/cmpsb/scasb (general-purpose,
 * never SIMD). kvm-pvm counts a string instruction about once per 1,024
 * iterations, but each iteration still costs emulation time, so moves
 * and stores go 8 bytes an iteration (movsq/stosq, then the tail byte by
 * byte): INIT 3.1 -> 1.9 ms. They are called on metadata only, never on
 * payload bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    void *d = dst;
    size_t q = n >> 3, r = n & 7;
    __asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(q) : : "memory");
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(r) : : "memory");
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
    size_t q = n >> 3, r = n & 7;
    uint64_t v = (uint8_t)c * 0x0101010101010101ull;
    __asm__ volatile("rep stosq" : "+D"(d), "+c"(q) : "a"(v) : "memory");
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(r) : "a"(v) : "memory");
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
