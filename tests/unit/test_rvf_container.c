/* Malformed-package catalog for the RVF container parser and the host
 * hash check: truncations, every header field corrupted, lying payload
 * lengths, segment order and signature placement. Each case must give
 * its specific status and a message naming the segment. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"
#include "rvf.h"
#include "rvf_build.h"
#include "errors.h"

#define MAXSEG 16

static struct rvf_segment segs[MAXSEG];

static enum rvf_status parse_lim(const uint8_t *b, size_t n,
                                 const struct rvf_limits *lim,
                                 struct rvf_package *pkg, struct rvf_result *res)
{
    return rvf_parse(b, n, segs, MAXSEG, lim, pkg, res);
}

static enum rvf_status parse(const uint8_t *b, size_t n, struct rvf_result *res)
{
    struct rvf_package pkg;
    return parse_lim(b, n, NULL, &pkg, res);
}

/* Parse a private copy so that ASan sees reads past the end. */
static enum rvf_status parse_copy(const uint8_t *b, size_t n,
                                  const struct rvf_limits *lim,
                                  struct rvf_result *res)
{
    struct rvf_package pkg;
    uint8_t *c = malloc(n ? n : 1);
    assert_non_null(c);
    memcpy(c, b, n);
    enum rvf_status st = parse_lim(c, n, lim, &pkg, res);
    free(c);
    return st;
}

static void test_valid_unsigned(void **state)
{
    (void)state;
    struct tpkg p;
    struct rvf_package pkg;
    struct rvf_result res;
    sample_package(&p, false);
    assert_int_equal(parse_lim(p.buf, p.len, NULL, &pkg, &res), RVF_OK);
    assert_int_equal(res.status, RVF_OK);
    assert_int_equal(pkg.nsegs, 4);
    assert_int_equal(pkg.manifest, 0);
    assert_false(pkg.signed_pkg);
    assert_null(pkg.pubkey);
    assert_int_equal(segs[0].type, RVF_SEG_MANIFEST);
    assert_int_equal(segs[1].type, RVF_SEG_WASM);
    assert_int_equal(segs[3].type, RVF_SEG_DATA);
    assert_int_equal(segs[3].payload_len, sizeof(sample_data));
    assert_memory_equal(rvf_payload(&pkg, &segs[3]), sample_data, sizeof(sample_data));
    assert_int_equal(p.len % 64, 0);
    assert_int_equal(rvf_check_hashes(&pkg, &res), RVF_OK);

    /* Segments are found by their cap hash, optionally by type. */
    uint8_t h[RVF_HASH_LEN];
    rvf_hash128(sample_data, sizeof(sample_data), h);
    assert_ptr_equal(rvf_find_segment(segs, pkg.nsegs, h, 0), &segs[3]);
    assert_ptr_equal(rvf_find_segment(segs, pkg.nsegs, h, RVF_SEG_DATA), &segs[3]);
    assert_null(rvf_find_segment(segs, pkg.nsegs, h, RVF_SEG_WASM));
    h[0] ^= 1;
    assert_null(rvf_find_segment(segs, pkg.nsegs, h, 0));

    /* Unsigned is fine unless the caller requires a signature. */
    struct rvf_limits lim;
    rvf_limits_default(&lim);
    lim.require_signature = true;
    assert_int_equal(parse_lim(p.buf, p.len, &lim, &pkg, &res), RVF_E_NO_SIGNATURE);
    assert_int_equal(nub_errno_rvf(res.status), -ENOKEY);
    tpkg_free(&p);
}

static void test_valid_signed(void **state)
{
    (void)state;
    struct tpkg p;
    struct rvf_package pkg;
    struct rvf_result res;
    struct rvf_limits lim;
    rvf_limits_default(&lim);
    lim.require_signature = true;
    sample_package(&p, true);
    assert_int_equal(parse_lim(p.buf, p.len, &lim, &pkg, &res), RVF_OK);
    assert_int_equal(pkg.nsegs, 5);
    assert_true(pkg.signed_pkg);
    assert_int_equal(pkg.crypto, 4);
    assert_int_equal(pkg.signed_len, segs[4].offset);
    assert_int_equal(pkg.sig_algo, RVF_SIG_ED25519);
    assert_ptr_equal(pkg.pubkey, p.buf + segs[4].payload_offset + RVF_CRYPTO_PUBKEY);
    assert_ptr_equal(pkg.signature, p.buf + segs[4].payload_offset + RVF_CRYPTO_SIG);
    assert_int_equal(rvf_check_hashes(&pkg, &res), RVF_OK);
    tpkg_free(&p);
}

/* Cut the package at every length: at a segment end the rest is a valid
 * shorter package (unsigned), anywhere else it is truncated. */
static void test_truncate_everywhere(void **state)
{
    (void)state;
    struct tpkg p;
    struct rvf_result res;
    struct rvf_package pkg;
    struct rvf_limits lim;
    rvf_limits_default(&lim);
    lim.require_signature = true;
    sample_package(&p, true);
    assert_int_equal(parse_lim(p.buf, p.len, NULL, &pkg, &res), RVF_OK);
    struct rvf_segment all[MAXSEG];
    memcpy(all, segs, sizeof(all));
    uint32_t n = pkg.nsegs;

    for (size_t cut = 0; cut < p.len; cut++) {
        bool boundary = false;
        for (uint32_t i = 0; i < n; i++)
            if (cut == all[i].offset && cut > 0)
                boundary = true;
        enum rvf_status st = parse_copy(p.buf, cut, NULL, &res);
        if (boundary) {
            assert_int_equal(st, RVF_OK);
            /* ...but then it is unsigned. */
            assert_int_equal(parse_copy(p.buf, cut, &lim, &res), RVF_E_NO_SIGNATURE);
        } else {
            assert_int_equal(st, RVF_E_TRUNCATED);
            assert_non_null(strstr(res.msg, cut ? "segment " : "empty"));
        }
    }
    /* Cut inside the signature segment: truncated, not "unsigned". */
    assert_int_equal(parse_copy(p.buf, p.len - 1, &lim, &res), RVF_E_TRUNCATED);
    assert_int_equal(res.segment, 4);
    assert_int_equal(parse_copy(p.buf, all[4].offset + 70, &lim, &res), RVF_E_TRUNCATED);
    assert_non_null(strstr(res.msg, "payload_length"));
    assert_int_equal(parse_copy(p.buf, all[4].offset + 10, &lim, &res), RVF_E_TRUNCATED);
    assert_non_null(strstr(res.msg, "header has only 10 of 64 bytes"));
    tpkg_free(&p);
}

struct field_case {
    unsigned off, width;
    uint64_t value;
    enum rvf_status want;
    const char *text;
};

static void put_le(uint8_t *p, unsigned width, uint64_t v)
{
    for (unsigned i = 0; i < width; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Each header field corrupted, in the manifest header and in a later one. */
static void test_header_fields(void **state)
{
    (void)state;
    static const struct field_case cases[] = {
        {RVF_SH_MAGIC, 4, 0x53465652, RVF_E_MAGIC, "magic"},
        {RVF_SH_MAGIC, 1, 0x00, RVF_E_MAGIC, "magic"},
        {RVF_SH_VERSION, 1, 0, RVF_E_VERSION, "version 0"},
        {RVF_SH_VERSION, 1, 2, RVF_E_VERSION, "version 2"},
        {RVF_SH_TYPE, 1, 0x00, RVF_E_SEGTYPE, "seg_type"},
        {RVF_SH_TYPE, 1, 0x01, RVF_E_SEGTYPE, "seg_type"},
        {RVF_SH_TYPE, 1, 0xFF, RVF_E_SEGTYPE, "seg_type"},
        {RVF_SH_FLAGS, 2, 0x0001, RVF_E_FLAGS, "flags"},
        {RVF_SH_FLAGS, 2, 0x8000, RVF_E_FLAGS, "flags"},
        {RVF_SH_SEGMENT_ID, 8, 7, RVF_E_SEGID, "segment_id"},
        {RVF_SH_SEGMENT_ID, 8, UINT64_MAX, RVF_E_SEGID, "segment_id"},
        {RVF_SH_CHECKSUM_ALGO, 1, 0, RVF_E_CHECKSUM_ALGO, "checksum_algo"},
        {RVF_SH_CHECKSUM_ALGO, 1, 2, RVF_E_CHECKSUM_ALGO, "checksum_algo"},
        {RVF_SH_COMPRESSION, 1, 1, RVF_E_COMPRESSION, "compression"},
        {RVF_SH_RESERVED0, 2, 1, RVF_E_RESERVED, "reserved_0"},
        {RVF_SH_RESERVED1, 4, 0x80000000u, RVF_E_RESERVED, "reserved_1"},
        {RVF_SH_UNCOMPRESSED, 4, 200, RVF_E_COMPRESSION, "uncompressed_len"},
        {RVF_SH_ALIGN_PAD, 4, 1, RVF_E_RESERVED, "alignment_pad"},
        {RVF_SH_PAYLOAD_LEN, 8, UINT64_MAX, RVF_E_TRUNCATED, "payload_length"},
        {RVF_SH_PAYLOAD_LEN, 8, UINT64_MAX - 63, RVF_E_TRUNCATED, "payload_length"},
        {RVF_SH_PAYLOAD_LEN, 8, 1ull << 63, RVF_E_TRUNCATED, "payload_length"},
        {RVF_SH_PAYLOAD_LEN, 8, 0xFFFFFFFFull, RVF_E_TRUNCATED, "payload_length"},
    };
    struct tpkg p;
    struct rvf_package pkg;
    struct rvf_result res;
    sample_package(&p, true);
    assert_int_equal(parse_lim(p.buf, p.len, NULL, &pkg, &res), RVF_OK);
    struct rvf_segment all[MAXSEG];
    memcpy(all, segs, sizeof(all));

    const uint32_t which[] = {0, 2, 4};
    for (size_t w = 0; w < 3; w++) {
        uint32_t si = which[w];
        for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
            uint8_t *c = malloc(p.len);
            memcpy(c, p.buf, p.len);
            put_le(c + all[si].offset + cases[k].off, cases[k].width, cases[k].value);
            enum rvf_status st = parse(c, p.len, &res);
            if (st != cases[k].want)
                fail_msg("segment %u field @%u: got %s (%s), want %s", si,
                         cases[k].off, rvf_strerror(st), res.msg,
                         rvf_strerror(cases[k].want));
            assert_int_equal(res.segment, (int32_t)si);
            assert_int_equal(res.offset, all[si].offset + cases[k].off);
            assert_non_null(strstr(res.msg, cases[k].text));
            assert_int_equal(nub_errno_rvf(st), -EBADMSG);
            free(c);
        }
    }
    tpkg_free(&p);
}

/* Flip every byte of every header: structural fields must be refused by
 * the parser; timestamp and hash bytes pass it and the hash check must
 * catch the hash bytes. */
static void test_every_header_byte(void **state)
{
    (void)state;
    struct tpkg p;
    struct rvf_package pkg;
    struct rvf_result res;
    sample_package(&p, true);
    assert_int_equal(parse_lim(p.buf, p.len, NULL, &pkg, &res), RVF_OK);
    struct rvf_segment all[MAXSEG];
    memcpy(all, segs, sizeof(all));
    uint32_t n = pkg.nsegs;

    uint8_t *c = malloc(p.len);
    for (uint32_t si = 0; si < n; si++) {
        for (unsigned b = 0; b < RVF_SEG_HEADER_SIZE; b++) {
            memcpy(c, p.buf, p.len);
            c[all[si].offset + b] ^= 0xFF;
            enum rvf_status st = parse_lim(c, p.len, NULL, &pkg, &res);
            bool ts = b >= RVF_SH_TIMESTAMP && b < RVF_SH_TIMESTAMP + 8;
            bool hash = b >= RVF_SH_CONTENT_HASH && b < RVF_SH_CONTENT_HASH + 16;
            if (ts) {
                assert_int_equal(st, RVF_OK);
                assert_int_equal(rvf_check_hashes(&pkg, &res), RVF_OK);
            } else if (hash) {
                assert_int_equal(st, RVF_OK);
                assert_int_equal(rvf_check_hashes(&pkg, &res), RVF_E_HASH);
                assert_int_equal(res.segment, (int32_t)si);
            } else {
                if (st == RVF_OK)
                    fail_msg("segment %u header byte %u flipped but accepted", si, b);
                /* A shorter payload_length shows at the next header. */
                assert_true(res.segment >= (int32_t)si);
            }
        }
    }
    free(c);
    tpkg_free(&p);
}

static void test_wrong_content_hash(void **state)
{
    (void)state;
    struct tpkg p;
    struct rvf_package pkg;
    struct rvf_result res;
    sample_package(&p, true);
    /* One payload byte changed in each segment in turn. */
    for (uint32_t si = 0; si < 5; si++) {
        assert_int_equal(parse_lim(p.buf, p.len, NULL, &pkg, &res), RVF_OK);
        uint64_t at = segs[si].payload_offset + segs[si].payload_len / 2;
        p.buf[at] ^= 0x40;
        assert_int_equal(parse_lim(p.buf, p.len, NULL, &pkg, &res), RVF_OK);
        assert_int_equal(rvf_check_hashes(&pkg, &res), RVF_E_HASH);
        assert_int_equal(res.segment, (int32_t)si);
        assert_int_equal(nub_errno_rvf(res.status), -EUCLEAN);
        assert_non_null(strstr(res.msg, "content_hash"));
        p.buf[at] ^= 0x40;
    }
    tpkg_free(&p);
}

/* Payload lengths that lie: shorter lands the next header inside the
 * payload or the padding; longer swallows the next segment. */
static void test_lying_lengths(void **state)
{
    (void)state;
    struct tpkg p;
    struct rvf_package pkg;
    struct rvf_result res;
    sample_package(&p, false);
    assert_int_equal(parse_lim(p.buf, p.len, NULL, &pkg, &res), RVF_OK);
    struct rvf_segment data = segs[3], wasm = segs[1], wasm2 = segs[2];
    uint8_t *lenp = p.buf + data.offset + RVF_SH_PAYLOAD_LEN;

    put_le(lenp, 8, data.payload_len - 1); /* last byte 0x7f now in padding */
    assert_int_equal(parse(p.buf, p.len, &res), RVF_E_PADDING);
    assert_int_equal(res.segment, 3);

    put_le(lenp, 8, data.payload_len - 64); /* next "header" is payload */
    assert_int_equal(parse(p.buf, p.len, &res), RVF_E_MAGIC);
    assert_int_equal(res.segment, 4);

    put_le(lenp, 8, data.payload_len + 1); /* eats a padding byte: only the hash can tell */
    assert_int_equal(parse_lim(p.buf, p.len, NULL, &pkg, &res), RVF_OK);
    assert_int_equal(rvf_check_hashes(&pkg, &res), RVF_E_HASH);
    assert_int_equal(res.segment, 3);

    put_le(lenp, 8, p.len - data.payload_offset + 1); /* one byte past EOF */
    assert_int_equal(parse(p.buf, p.len, &res), RVF_E_TRUNCATED);
    assert_non_null(strstr(res.msg, "runs past the end of the file"));
    put_le(lenp, 8, data.payload_len);

    /* Overlap: the first WASM segment claims the second as payload. */
    uint8_t *wl = p.buf + wasm.offset + RVF_SH_PAYLOAD_LEN;
    put_le(wl, 8, wasm2.payload_offset + wasm2.payload_len - wasm.payload_offset);
    assert_int_equal(parse_lim(p.buf, p.len, NULL, &pkg, &res), RVF_E_SEGID);
    assert_int_equal(res.segment, 2); /* the data segment now at index 2 */
    tpkg_free(&p);
}

static void test_trailing_and_padding(void **state)
{
    (void)state;
    struct tpkg p;
    struct rvf_result res;
    sample_package(&p, false);
    size_t n = p.len;
    uint8_t *c = calloc(1, n + 128);
    memcpy(c, p.buf, n);
    assert_int_equal(parse(c, n + 10, &res), RVF_E_TRUNCATED);
    assert_int_equal(res.segment, 4);
    assert_int_equal(parse(c, n + 64, &res), RVF_E_MAGIC);
    assert_int_equal(res.segment, 4);
    memcpy(c + n, "RVFS garbage", 12);
    assert_int_equal(parse(c, n + 128, &res), RVF_E_MAGIC);
    /* Non-zero padding after the last payload. */
    memcpy(c, p.buf, n);
    c[n - 1] = 1;
    assert_int_equal(parse(c, n, &res), RVF_E_PADDING);
    assert_int_equal(res.segment, 3);
    free(c);
    tpkg_free(&p);
}

static void test_manifest_rules(void **state)
{
    (void)state;
    struct tpkg p;
    struct rvf_result res;
    uint8_t w[64];
    size_t wl = sample_wasm(w, "run");
    uint8_t mf[128] = {0};

    tpkg_init(&p); /* no manifest at all */
    tpkg_add(&p, RVF_SEG_WASM, w, wl);
    tpkg_add(&p, RVF_SEG_DATA, sample_data, sizeof(sample_data));
    assert_int_equal(parse(p.buf, p.len, &res), RVF_E_NO_MANIFEST);
    tpkg_free(&p);

    tpkg_init(&p); /* manifest second */
    tpkg_add(&p, RVF_SEG_WASM, w, wl);
    tpkg_add(&p, RVF_SEG_MANIFEST, mf, sizeof(mf));
    assert_int_equal(parse(p.buf, p.len, &res), RVF_E_ORDER);
    assert_int_equal(res.segment, 1);
    tpkg_free(&p);

    tpkg_init(&p); /* two manifests */
    tpkg_add(&p, RVF_SEG_MANIFEST, mf, sizeof(mf));
    tpkg_add(&p, RVF_SEG_WASM, w, wl);
    tpkg_add(&p, RVF_SEG_MANIFEST, mf, sizeof(mf));
    assert_int_equal(parse(p.buf, p.len, &res), RVF_E_DUP_MANIFEST);
    assert_int_equal(res.segment, 2);
    assert_non_null(strstr(res.msg, "segment 2 @0x"));
    tpkg_free(&p);

    tpkg_init(&p); /* a lone manifest with an empty payload is structurally fine */
    tpkg_add(&p, RVF_SEG_MANIFEST, mf, 0);
    assert_int_equal(parse(p.buf, p.len, &res), RVF_OK);
    tpkg_free(&p);
}

static void test_signature_placement(void **state)
{
    (void)state;
    struct tpkg p;
    struct rvf_result res;
    uint8_t pk[32] = {1}, sig[64] = {2}, mf[96] = {0};

    tpkg_init(&p); /* crypto not last */
    tpkg_add(&p, RVF_SEG_MANIFEST, mf, sizeof(mf));
    tpkg_add_crypto(&p, pk, sig);
    tpkg_add(&p, RVF_SEG_DATA, sample_data, sizeof(sample_data));
    assert_int_equal(parse(p.buf, p.len, &res), RVF_E_SIG_PLACEMENT);
    assert_int_equal(res.segment, 2);
    assert_non_null(strstr(res.msg, "must be last"));
    tpkg_free(&p);

    tpkg_init(&p); /* two crypto segments */
    tpkg_add(&p, RVF_SEG_MANIFEST, mf, sizeof(mf));
    tpkg_add_crypto(&p, pk, sig);
    tpkg_add_crypto(&p, pk, sig);
    assert_int_equal(parse(p.buf, p.len, &res), RVF_E_SIG_PLACEMENT);
    assert_non_null(strstr(res.msg, "second crypto"));
    tpkg_free(&p);

    tpkg_init(&p); /* crypto first */
    tpkg_add_crypto(&p, pk, sig);
    tpkg_add(&p, RVF_SEG_MANIFEST, mf, sizeof(mf));
    assert_int_equal(parse(p.buf, p.len, &res), RVF_E_SIG_PLACEMENT);
    tpkg_free(&p);

    tpkg_init(&p); /* only a crypto segment */
    tpkg_add_crypto(&p, pk, sig);
    assert_int_equal(parse(p.buf, p.len, &res), RVF_E_NO_MANIFEST);
    tpkg_free(&p);

    /* Crypto payload of the wrong size, algorithm or reserved field. */
    uint8_t cp[RVF_CRYPTO_PAYLOAD_LEN + 1];
    rvf_crypto_payload_encode(cp, RVF_SIG_ED25519, pk, sig);
    cp[RVF_CRYPTO_PAYLOAD_LEN] = 0;
    const size_t lens[] = {0, 64, 96, RVF_CRYPTO_PAYLOAD_LEN - 1, RVF_CRYPTO_PAYLOAD_LEN + 1};
    for (size_t k = 0; k < 5; k++) {
        tpkg_init(&p);
        tpkg_add(&p, RVF_SEG_MANIFEST, mf, sizeof(mf));
        tpkg_add(&p, RVF_SEG_CRYPTO, cp, lens[k]);
        assert_int_equal(parse(p.buf, p.len, &res), RVF_E_SIG_FORMAT);
        assert_int_equal(res.segment, 1);
        tpkg_free(&p);
    }
    const unsigned bad_at[] = {RVF_CRYPTO_ALGO, RVF_CRYPTO_ALGO + 1, RVF_CRYPTO_RESERVED};
    for (size_t k = 0; k < 3; k++) {
        rvf_crypto_payload_encode(cp, RVF_SIG_ED25519, pk, sig);
        cp[bad_at[k]] = 1;
        tpkg_init(&p);
        tpkg_add(&p, RVF_SEG_MANIFEST, mf, sizeof(mf));
        tpkg_add(&p, RVF_SEG_CRYPTO, cp, RVF_CRYPTO_PAYLOAD_LEN);
        assert_int_equal(parse(p.buf, p.len, &res), RVF_E_SIG_FORMAT);
        tpkg_free(&p);
    }
}

static void test_limits(void **state)
{
    (void)state;
    struct tpkg p;
    struct rvf_package pkg;
    struct rvf_result res;
    struct rvf_limits lim;
    sample_package(&p, true);

    rvf_limits_default(&lim);
    assert_int_equal(lim.max_package, 256ull << 20);
    lim.max_package = p.len - 1;
    assert_int_equal(parse_lim(p.buf, p.len, &lim, &pkg, &res), RVF_E_TOO_BIG);
    assert_int_equal(nub_errno_rvf(res.status), -EFBIG);
    lim.max_package = p.len;
    assert_int_equal(parse_lim(p.buf, p.len, &lim, &pkg, &res), RVF_OK);

    lim.max_segments = 4;
    assert_int_equal(parse_lim(p.buf, p.len, &lim, &pkg, &res), RVF_E_LIMIT);
    assert_int_equal(res.segment, 4);
    assert_int_equal(nub_errno_rvf(res.status), -EDQUOT);

    /* The caller's segment array is a limit too. */
    assert_int_equal(rvf_parse(p.buf, p.len, segs, 3, NULL, &pkg, &res), RVF_E_LIMIT);

    /* Empty input and bad arguments. */
    assert_int_equal(rvf_parse(p.buf, 0, segs, MAXSEG, NULL, &pkg, &res), RVF_E_TRUNCATED);
    assert_int_equal(rvf_parse(NULL, 10, segs, MAXSEG, NULL, &pkg, &res), RVF_E_INVAL);
    assert_int_equal(rvf_parse(p.buf, p.len, segs, MAXSEG, NULL, NULL, &res), RVF_E_INVAL);
    /* A NULL result is allowed. */
    assert_int_equal(rvf_parse(p.buf, 5, segs, MAXSEG, NULL, &pkg, NULL), RVF_E_TRUNCATED);
    tpkg_free(&p);
}

static void test_strerror_errno(void **state)
{
    (void)state;
    for (int s = 0; s < RVF_E__COUNT; s++) {
        assert_non_null(rvf_strerror((enum rvf_status)s));
        assert_string_not_equal(rvf_strerror((enum rvf_status)s), "unknown status");
    }
    assert_string_equal(rvf_strerror((enum rvf_status)999), "unknown status");
    assert_int_equal(nub_errno_rvf(RVF_OK), 0);
    assert_int_equal(nub_errno_rvf(RVF_E_MAGIC), -EBADMSG);
    assert_int_equal(nub_errno_rvf(RVF_E_WASM), -EBADMSG);
    assert_int_equal(nub_errno_rvf(RVF_E_MANIFEST), -EBADMSG);
    assert_int_equal(nub_errno_rvf(RVF_E_HASH), -EUCLEAN);
    assert_int_equal(nub_errno_rvf(RVF_E_LIMIT), -EDQUOT);
    assert_int_equal(nub_errno_rvf(RVF_E_TOO_BIG), -EFBIG);
    assert_int_equal(nub_errno_rvf(RVF_E_NO_SIGNATURE), -ENOKEY);

    /* Cap hashes are canonical XXH3-128, as `xxhsum -H2` prints them:
     * the empty input hashes to 99aa06d3014798d86001c324468d497f. */
    uint8_t h[16];
    char hex[33];
    rvf_hash128("", 0, h);
    nub_hash_to_hex(h, hex);
    assert_string_equal(hex, "99aa06d3014798d86001c324468d497f");
}

#ifdef RVF_TEST_SIGN
#include "sign.h"

/* Real Ed25519 over the signed range, via the pack helper's nubsign. */
static void test_signature_verify(void **state)
{
    (void)state;
    struct nub_seckey a, b;
    struct nub_trust trust;
    struct tpkg p;
    struct rvf_package pkg;
    struct rvf_result res;
    assert_int_equal(nub_key_generate(&a), 0);
    assert_int_equal(nub_key_generate(&b), 0);

    sample_package(&p, false);
    uint8_t sig[RVF_SIG_LEN];
    nub_sign_detached(&a, p.buf, p.len, sig);
    tpkg_add_crypto(&p, a.pub.pk, sig);
    assert_int_equal(parse_lim(p.buf, p.len, NULL, &pkg, &res), RVF_OK);
    assert_int_equal(rvf_check_hashes(&pkg, &res), RVF_OK);

    nub_trust_init(&trust);
    assert_int_equal(nub_trust_add(&trust, &b.pub), 0);
    /* Signed by a key that is not trusted. */
    assert_int_equal(nub_sig_verify(&trust, pkg.pubkey, pkg.signature, p.buf,
                                    pkg.signed_len), NUB_SIG_UNTRUSTED_KEY);
    assert_int_equal(nub_trust_add(&trust, &a.pub), 0);
    assert_int_equal(nub_sig_verify(&trust, pkg.pubkey, pkg.signature, p.buf,
                                    pkg.signed_len), NUB_SIG_OK);
    /* Bad signature: one bit of it flipped, or one signed byte changed. */
    p.buf[segs[pkg.crypto].payload_offset + RVF_CRYPTO_SIG + 5] ^= 1;
    assert_int_equal(nub_sig_verify(&trust, pkg.pubkey, pkg.signature, p.buf,
                                    pkg.signed_len), NUB_SIG_BAD_SIGNATURE);
    p.buf[segs[pkg.crypto].payload_offset + RVF_CRYPTO_SIG + 5] ^= 1;
    p.buf[segs[1].offset + RVF_SH_TIMESTAMP] ^= 1; /* parses fine, hashes fine */
    assert_int_equal(parse_lim(p.buf, p.len, NULL, &pkg, &res), RVF_OK);
    assert_int_equal(rvf_check_hashes(&pkg, &res), RVF_OK);
    assert_int_equal(nub_sig_verify(&trust, pkg.pubkey, pkg.signature, p.buf,
                                    pkg.signed_len), NUB_SIG_BAD_SIGNATURE);
    nub_trust_free(&trust);
    nub_seckey_wipe(&a);
    nub_seckey_wipe(&b);
    tpkg_free(&p);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_unsigned),
        cmocka_unit_test(test_valid_signed),
        cmocka_unit_test(test_truncate_everywhere),
        cmocka_unit_test(test_header_fields),
        cmocka_unit_test(test_every_header_byte),
        cmocka_unit_test(test_wrong_content_hash),
        cmocka_unit_test(test_lying_lengths),
        cmocka_unit_test(test_trailing_and_padding),
        cmocka_unit_test(test_manifest_rules),
        cmocka_unit_test(test_signature_placement),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_strerror_errno),
#ifdef RVF_TEST_SIGN
        cmocka_unit_test(test_signature_verify),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
