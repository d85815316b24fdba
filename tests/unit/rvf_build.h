/* In-memory RVF package builder for the rvf unit tests and the fuzz
 * seed generator: a tiny segment writer plus one sample package that
 * uses every manifest feature. Host-only test code (malloc, abort). */
#ifndef NUB_TEST_RVF_BUILD_H
#define NUB_TEST_RVF_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rvf.h"

struct tpkg {
    uint8_t *buf;
    size_t len, cap;
    uint32_t nseg;
};

void tpkg_init(struct tpkg *p);
void tpkg_free(struct tpkg *p);
/* Append a segment (header with the right id and hash, payload, padding). */
void tpkg_add(struct tpkg *p, uint8_t type, const void *payload, size_t len);
/* Append a CRYPTO segment with this key and signature bytes. */
void tpkg_add_crypto(struct tpkg *p, const uint8_t pk[RVF_PUBKEY_LEN],
                     const uint8_t sig[RVF_SIG_LEN]);

/* Sample WASM modules: a minimal valid module exporting one function
 * called name. Returns the length (<= 64). */
size_t sample_wasm(uint8_t out[64], const char *name);
/* Sample data blob (200 bytes, no RVFS magic inside). */
extern const uint8_t sample_data[200];

/* The sample manifest description, with hashes of the sample modules
 * and data filled in. Pointers stay valid for the process lifetime. */
const struct rvf_manifest_desc *sample_desc(void);
/* Encode a description (abort on failure); caller frees *out. */
size_t encode_desc(const struct rvf_manifest_desc *d, uint8_t **out);

/* Segment layout of the sample package: 0 manifest, 1 wasm "run",
 * 2 wasm "main", 3 data, and 4 crypto when sign is set (zero key and
 * signature: placement tests only). */
void sample_package(struct tpkg *p, bool sign);

#endif
