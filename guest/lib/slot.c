/* The directory slot hash: XXH3_64bits_withSeed over the 16-byte cap hash,
 * compiled from the system's header-only xxhash (scalar code only: the
 * guest may not touch SIMD registers, and 16 bytes gain nothing from it). */
#define XXH_INLINE_ALL
#define XXH_VECTOR XXH_SCALAR
#include <xxhash.h>

#include "nub/guest_dir.h"

uint64_t nub_dir_home_slot(const uint8_t hash[16], uint64_t seed, uint64_t capacity)
{
    return XXH3_64bits_withSeed(hash, 16, seed) & (capacity - 1);
}
