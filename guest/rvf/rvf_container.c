/* RVF container: walks the 64-byte segment headers of a package, checks
 * every field and the segment order rules, and records each segment.
 * Structure only: payload hashes are checked by the host (rvf_host.c).
 * Work is proportional to the number of segments (plus < 64 padding
 * bytes each), never to payload size. */
#include "rvf_internal.h"

static bool known_type(uint8_t t)
{
    return t == RVF_SEG_MANIFEST || t == RVF_SEG_CRYPTO ||
           t == RVF_SEG_WASM || t == RVF_SEG_DATA;
}

/* "segment I @0xOFF: <text>" with res->offset = the bad field. */
static enum rvf_status seg_fail(struct rvf_result *res, enum rvf_status st,
                                uint32_t idx, uint64_t seg_off,
                                uint64_t field_off, const char *text)
{
    rvf_fail(res, st, (int32_t)idx, field_off, "segment ");
    rvf_msg_dec(res, idx);
    rvf_msg_str(res, " @");
    rvf_msg_hex(res, seg_off);
    rvf_msg_str(res, ": ");
    rvf_msg_str(res, text);
    return st;
}

/* Check one header at buf[off..off+64) (the caller made sure it is all
 * there) and compute the payload span. */
static enum rvf_status check_header(const uint8_t *buf, uint64_t len,
                                   uint64_t off, uint32_t idx,
                                   struct rvf_segment *s, uint64_t *next,
                                   struct rvf_result *res)
{
    const uint8_t *h = buf + off;

    if (rvf_ld32(h + RVF_SH_MAGIC) != RVF_SEG_MAGIC)
        return seg_fail(res, RVF_E_MAGIC, idx, off, off + RVF_SH_MAGIC,
                        "magic is not RVFS");
    if (h[RVF_SH_VERSION] != RVF_SEG_VERSION) {
        seg_fail(res, RVF_E_VERSION, idx, off, off + RVF_SH_VERSION,
                 "version ");
        rvf_msg_dec(res, h[RVF_SH_VERSION]);
        rvf_msg_str(res, ", only 1 is supported");
        return RVF_E_VERSION;
    }
    if (!known_type(h[RVF_SH_TYPE])) {
        seg_fail(res, RVF_E_SEGTYPE, idx, off, off + RVF_SH_TYPE,
                 "seg_type ");
        rvf_msg_hex(res, h[RVF_SH_TYPE]);
        rvf_msg_str(res, " is not MANIFEST, WASM, DATA or CRYPTO");
        return RVF_E_SEGTYPE;
    }
    if (rvf_ld16(h + RVF_SH_FLAGS) != 0)
        return seg_fail(res, RVF_E_FLAGS, idx, off, off + RVF_SH_FLAGS,
                        "flags must be 0");
    if (rvf_ld64(h + RVF_SH_SEGMENT_ID) != idx)
        return seg_fail(res, RVF_E_SEGID, idx, off, off + RVF_SH_SEGMENT_ID,
                        "segment_id differs from the segment's index");
    if (h[RVF_SH_CHECKSUM_ALGO] != RVF_CHECKSUM_XXH3_128)
        return seg_fail(res, RVF_E_CHECKSUM_ALGO, idx, off,
                        off + RVF_SH_CHECKSUM_ALGO,
                        "checksum_algo must be 1 (XXH3-128)");
    if (h[RVF_SH_COMPRESSION] != RVF_COMPRESSION_NONE)
        return seg_fail(res, RVF_E_COMPRESSION, idx, off,
                        off + RVF_SH_COMPRESSION, "compression must be 0");
    if (rvf_ld32(h + RVF_SH_UNCOMPRESSED) != 0)
        return seg_fail(res, RVF_E_COMPRESSION, idx, off,
                        off + RVF_SH_UNCOMPRESSED,
                        "uncompressed_len must be 0 (no compression)");
    if (rvf_ld16(h + RVF_SH_RESERVED0) != 0)
        return seg_fail(res, RVF_E_RESERVED, idx, off, off + RVF_SH_RESERVED0,
                        "reserved_0 must be 0");
    if (rvf_ld32(h + RVF_SH_RESERVED1) != 0)
        return seg_fail(res, RVF_E_RESERVED, idx, off, off + RVF_SH_RESERVED1,
                        "reserved_1 must be 0");
    if (rvf_ld32(h + RVF_SH_ALIGN_PAD) != 0)
        return seg_fail(res, RVF_E_RESERVED, idx, off, off + RVF_SH_ALIGN_PAD,
                        "alignment_pad must be 0");

    /* len - off >= 64 here, so no subtraction wraps; comparing against
     * what is left (not off + 64 + plen) keeps a plen near 2^64 from
     * wrapping around. */
    uint64_t plen = rvf_ld64(h + RVF_SH_PAYLOAD_LEN);
    uint64_t left = len - off - RVF_SEG_HEADER_SIZE;
    if (plen > left) {
        seg_fail(res, RVF_E_TRUNCATED, idx, off, off + RVF_SH_PAYLOAD_LEN,
                 "payload_length ");
        rvf_msg_dec(res, plen);
        rvf_msg_str(res, " runs past the end of the file (");
        rvf_msg_dec(res, left);
        rvf_msg_str(res, " bytes left)");
        return RVF_E_TRUNCATED;
    }
    uint64_t end = off + RVF_SEG_HEADER_SIZE + plen;
    uint64_t pad = (RVF_SEG_ALIGN - end % RVF_SEG_ALIGN) % RVF_SEG_ALIGN;
    if (len - end < pad)
        return seg_fail(res, RVF_E_TRUNCATED, idx, off, end,
                        "file ends inside the padding after the payload");
    if (!rvf_all_zero(buf + end, (size_t)pad))
        return seg_fail(res, RVF_E_PADDING, idx, off, end,
                        "padding after the payload is not zero");

    s->offset = off;
    s->payload_offset = off + RVF_SEG_HEADER_SIZE;
    s->payload_len = plen;
    s->timestamp_ns = rvf_ld64(h + RVF_SH_TIMESTAMP);
    s->type = h[RVF_SH_TYPE];
    memcpy(s->hash, h + RVF_SH_CONTENT_HASH, RVF_HASH_LEN);
    *next = end + pad;
    return RVF_OK;
}

static enum rvf_status check_crypto(const uint8_t *buf, uint32_t idx,
                                    const struct rvf_segment *s,
                                    struct rvf_package *pkg,
                                    struct rvf_result *res)
{
    if (s->payload_len != RVF_CRYPTO_PAYLOAD_LEN) {
        seg_fail(res, RVF_E_SIG_FORMAT, idx, s->offset,
                 s->offset + RVF_SH_PAYLOAD_LEN, "crypto payload is ");
        rvf_msg_dec(res, s->payload_len);
        rvf_msg_str(res, " bytes, must be 100");
        return RVF_E_SIG_FORMAT;
    }
    const uint8_t *p = buf + s->payload_offset;
    if (rvf_ld16(p + RVF_CRYPTO_ALGO) != RVF_SIG_ED25519)
        return seg_fail(res, RVF_E_SIG_FORMAT, idx, s->offset,
                        s->payload_offset + RVF_CRYPTO_ALGO,
                        "sig_algo must be 0 (Ed25519)");
    if (rvf_ld16(p + RVF_CRYPTO_RESERVED) != 0)
        return seg_fail(res, RVF_E_SIG_FORMAT, idx, s->offset,
                        s->payload_offset + RVF_CRYPTO_RESERVED,
                        "crypto reserved field must be 0");
    pkg->signed_pkg = true;
    pkg->crypto = idx;
    pkg->signed_len = s->offset;
    pkg->sig_algo = RVF_SIG_ED25519;
    pkg->pubkey = p + RVF_CRYPTO_PUBKEY;
    pkg->signature = p + RVF_CRYPTO_SIG;
    return RVF_OK;
}

enum rvf_status rvf_parse(const uint8_t *buf, size_t len,
                          struct rvf_segment *segs, uint32_t cap,
                          const struct rvf_limits *lim,
                          struct rvf_package *pkg, struct rvf_result *res)
{
    struct rvf_limits defaults;
    enum rvf_status st;

    if (!pkg || (!buf && len) || (!segs && cap))
        return rvf_fail(res, RVF_E_INVAL, -1, 0, "rvf_parse: bad argument");
    lim = rvf_limits_or_default(lim, &defaults);
    memset(pkg, 0, sizeof(*pkg));
    pkg->base = buf;
    pkg->size = len;
    pkg->segs = segs;

    if ((uint64_t)len > lim->max_package) {
        rvf_fail(res, RVF_E_TOO_BIG, -1, 0, "package is ");
        rvf_msg_dec(res, len);
        rvf_msg_str(res, " bytes, the limit is ");
        rvf_msg_dec(res, lim->max_package);
        return RVF_E_TOO_BIG;
    }
    if (len == 0)
        return rvf_fail(res, RVF_E_TRUNCATED, -1, 0,
                        "empty file: no segment header");

    bool have_manifest = false;
    uint64_t off = 0;
    uint32_t i = 0;
    while (off < len) {
        if (i >= lim->max_segments || i >= cap) {
            seg_fail(res, RVF_E_LIMIT, i, off, off, "more than ");
            rvf_msg_dec(res, i < lim->max_segments ? cap : lim->max_segments);
            rvf_msg_str(res, " segments");
            return RVF_E_LIMIT;
        }
        if (len - off < RVF_SEG_HEADER_SIZE) {
            seg_fail(res, RVF_E_TRUNCATED, i, off, off, "header has only ");
            rvf_msg_dec(res, len - off);
            rvf_msg_str(res, " of 64 bytes");
            return RVF_E_TRUNCATED;
        }
        struct rvf_segment *s = &segs[i];
        uint64_t next;
        st = check_header(buf, len, off, i, s, &next, res);
        if (st != RVF_OK)
            return st;
        pkg->nsegs = i + 1;

        if (pkg->signed_pkg)
            return seg_fail(res, RVF_E_SIG_PLACEMENT, i, off, off + RVF_SH_TYPE,
                            s->type == RVF_SEG_CRYPTO
                                ? "second crypto segment"
                                : "segment after the crypto segment, which must be last");
        switch (s->type) {
        case RVF_SEG_MANIFEST:
            if (i == 0)
                have_manifest = true;
            else if (have_manifest)
                return seg_fail(res, RVF_E_DUP_MANIFEST, i, off,
                                off + RVF_SH_TYPE, "second manifest segment");
            else
                return seg_fail(res, RVF_E_ORDER, i, off, off + RVF_SH_TYPE,
                                "manifest must be segment 0");
            break;
        case RVF_SEG_CRYPTO:
            st = check_crypto(buf, i, s, pkg, res);
            if (st != RVF_OK)
                return st;
            break;
        default:
            break;
        }
        off = next;
        i++;
    }

    if (!have_manifest)
        return seg_fail(res, RVF_E_NO_MANIFEST, 0, 0, RVF_SH_TYPE,
                        "no manifest segment (segment 0 must be one)");
    if (lim->require_signature && !pkg->signed_pkg)
        return rvf_fail(res, RVF_E_NO_SIGNATURE, -1, len,
                        "package has no crypto segment and unsigned packages are not allowed");
    pkg->manifest = 0;
    rvf_ok(res);
    return RVF_OK;
}

const struct rvf_segment *rvf_find_segment(const struct rvf_segment *segs,
                                           uint32_t nsegs,
                                           const uint8_t hash[RVF_HASH_LEN],
                                           uint8_t type)
{
    if (!segs || !hash)
        return NULL;
    for (uint32_t i = 0; i < nsegs; i++)
        if ((type == 0 || segs[i].type == type) &&
            memcmp(segs[i].hash, hash, RVF_HASH_LEN) == 0)
            return &segs[i];
    return NULL;
}

uint64_t rvf_segment_size(uint64_t payload_len)
{
    if (payload_len > UINT64_MAX - RVF_SEG_HEADER_SIZE - (RVF_SEG_ALIGN - 1))
        return 0;
    uint64_t n = RVF_SEG_HEADER_SIZE + payload_len;
    return (n + RVF_SEG_ALIGN - 1) & ~(uint64_t)(RVF_SEG_ALIGN - 1);
}
