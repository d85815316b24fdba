/* Guest addresses as the guest's plain-C logic sees them.
 *
 * The directory, allocator and (later) mount code keep every address as a
 * uint64_t guest physical address, exactly as the host reads it. In the
 * kernel guest physical == virtual, so nub_mem_ptr() is a cast; in the host
 * build of the same code (cmocka tests, fuzzers, nubfs-pack) it offsets into
 * a buffer the caller installs with nub_mem_set_base(). */
#ifndef NUB_GUEST_ADDR_H
#define NUB_GUEST_ADDR_H

#include <stdint.h>

#ifdef NUB_GUEST_KERNEL
static inline void *nub_mem_ptr(uint64_t gpa) { return (void *)(uintptr_t)gpa; }
static inline uint64_t nub_mem_gpa(const void *p) { return (uint64_t)(uintptr_t)p; }
#else
/* Host build: byte 0 of guest memory lives at nub_mem_host_base. */
extern uint8_t *nub_mem_host_base;
static inline void nub_mem_set_base(void *base) { nub_mem_host_base = (uint8_t *)base; }
static inline void *nub_mem_ptr(uint64_t gpa) { return nub_mem_host_base + gpa; }
static inline uint64_t nub_mem_gpa(const void *p)
{
    return (uint64_t)((const uint8_t *)p - nub_mem_host_base);
}
#endif

static inline uint64_t nub_align_up(uint64_t v, uint64_t align) /* align: power of two */
{
    return (v + align - 1) & ~(align - 1);
}

#endif /* NUB_GUEST_ADDR_H */
