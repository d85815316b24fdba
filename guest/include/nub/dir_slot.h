/* The home slot of a cap hash in the directory (abi.h "Directory"): the
 * one function the guest (which inserts) and the host reader (which
 * probes) must compute identically, so it is defined once, here, inline.
 * XXH3_64bits_withSeed over the 16-byte hash, from the header-only
 * xxhash: in the guest (no libc, no SIMD) and on the host alike, and for
 * 16 bytes XXH3 takes its scalar short-input path on every target. */
#ifndef NUB_DIR_SLOT_H
#define NUB_DIR_SLOT_H

#include <stdint.h>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#ifndef XXH_VECTOR
#define XXH_VECTOR XXH_SCALAR /* the guest may not touch SIMD registers */
#endif
/* Unaligned loads as plain loads (gcc's aligned(1) types), not memcpy:
 * the guest is built -ffreestanding, where every 8-byte memcpy is a call
 * (six per hash, ~60 emulated instructions). Same bytes, same hash. */
#ifndef XXH_FORCE_MEMORY_ACCESS
#define XXH_FORCE_MEMORY_ACCESS 1
#endif
#include <xxhash.h>

/* XXH3_64bits_withSeed(hash, 16, seed): a table of any capacity takes
 * its low bits, so one value serves the old and the new table. */
static inline uint64_t nub_dir_hash(const uint8_t hash[16], uint64_t seed)
{
    return XXH3_64bits_withSeed(hash, 16, seed);
}

/* nub_dir_hash(hash, seed) & (capacity - 1); capacity is a power of two. */
static inline uint64_t nub_dir_slot(const uint8_t hash[16], uint64_t seed, uint64_t capacity)
{
    return nub_dir_hash(hash, seed) & (capacity - 1);
}

#endif /* NUB_DIR_SLOT_H */
