/* Test support for the host build of the guest logic: a zeroed, lazily
 * committed buffer standing in for guest RAM (gpa 0 = byte 0), and the
 * host's half of the scrub protocol. */
#ifndef NUB_GUEST_TEST_MEM_H
#define NUB_GUEST_TEST_MEM_H

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "nub/abi.h"
#include "nub/guest_addr.h"
#include "nub/guest_core.h"

static inline uint8_t *guest_test_mem_open(uint64_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    nub_mem_set_base(p);
    return p;
}

static inline void guest_test_mem_close(uint8_t *base, uint64_t size)
{
    munmap(base, size);
    nub_mem_set_base(NULL);
}

/* The host's side of a boot for tests that drive the guest through its
 * mailbox: maps `size` bytes of RAM and boots the core over it with the
 * test ops on. The base, or NULL if the mapping fails. */
static inline uint8_t *guest_test_boot(uint64_t size, uint64_t seed, uint64_t image_end,
                                       struct nub_boot_info *bi, struct nub_mailbox *mb,
                                       struct nub_log_ring *ring, struct nub_core *core)
{
    uint8_t *base = guest_test_mem_open(size);
    if (!base)
        return NULL;
    bi->magic = NUB_BOOT_MAGIC;
    bi->abi_version = NUB_ABI_VERSION;
    bi->mem_size = size;
    bi->hasher_seed = seed;
    bi->flags = NUB_BOOT_F_TEST_OPS;
    nub_core_boot(core, bi, mb, ring, image_end);
    return base;
}

/* What the host does after DONE: zero every reported range. Returns the
 * number of ranges, or -1 if one lies outside [lo, hi). */
static inline int guest_test_scrub(const struct nub_mailbox *mb, uint64_t lo, uint64_t hi)
{
    if (mb->scrub_count > NUB_SCRUB_MAX)
        return -1;
    for (uint32_t i = 0; i < mb->scrub_count; i++) {
        uint64_t gpa = mb->scrub[i].gpa, len = mb->scrub[i].len;
        if (gpa < lo || len > hi - lo || gpa - lo > hi - lo - len)
            return -1;
        memset(nub_mem_ptr(gpa), 0, len);
    }
    return (int)mb->scrub_count;
}

/* True if [gpa, gpa+len) is all zero. */
static inline int guest_test_is_zero(uint64_t gpa, uint64_t len)
{
    const uint8_t *p = nub_mem_ptr(gpa);
    for (uint64_t i = 0; i < len; i++)
        if (p[i])
            return 0;
    return 1;
}

#endif /* NUB_GUEST_TEST_MEM_H */
