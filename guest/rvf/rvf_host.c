/* Host-only RVF helpers: payload hashing with libxxhash (byte-proportional
 * work, so never in the guest) and the payload check against the content
 * hashes. (The errno a status maps to is nub_errno_rvf, src/errors.h.) */
#include <xxhash.h>

#include "hex.h" /* src/: the host side's one hex codec */
#include "rvf_internal.h"

void rvf_hash128(const void *buf, size_t len, uint8_t out[RVF_HASH_LEN])
{
    XXH128_canonical_t canon;
    XXH128_canonicalFromHash(&canon, XXH3_128bits(buf, len));
    memcpy(out, canon.digest, RVF_HASH_LEN);
}

enum rvf_status rvf_check_hashes(const struct rvf_package *pkg,
                                 struct rvf_result *res)
{
    if (!pkg || (pkg->nsegs && !pkg->segs))
        return rvf_fail(res, RVF_E_INVAL, -1, 0, "rvf_check_hashes: bad argument");
    for (uint32_t i = 0; i < pkg->nsegs; i++) {
        const struct rvf_segment *s = &pkg->segs[i];
        /* Trust nothing about the segment table: re-check the span. */
        if (s->payload_offset > pkg->size ||
            s->payload_len > pkg->size - s->payload_offset)
            return rvf_fail(res, RVF_E_INVAL, (int32_t)i, s->offset,
                            "rvf_check_hashes: segment outside the package");
        uint8_t h[RVF_HASH_LEN];
        rvf_hash128(pkg->base + s->payload_offset, (size_t)s->payload_len, h);
        if (memcmp(h, s->hash, RVF_HASH_LEN) != 0) {
            char want[33], got[33];
            nub_hash_to_hex(s->hash, want);
            nub_hash_to_hex(h, got);
            rvf_fail(res, RVF_E_HASH, (int32_t)i, s->offset + RVF_SH_CONTENT_HASH,
                     "segment ");
            rvf_msg_dec(res, i);
            rvf_msg_str(res, " @");
            rvf_msg_hex(res, s->offset);
            rvf_msg_str(res, ": content_hash ");
            rvf_msg_str(res, want);
            rvf_msg_str(res, " but the payload hashes to ");
            rvf_msg_str(res, got);
            return RVF_E_HASH;
        }
    }
    rvf_ok(res);
    return RVF_OK;
}
