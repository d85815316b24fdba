/* The signature step of a mount, first of all (see sign_pkg.h): the
 * package's last RVF_CRYPTO_SEGMENT_SIZE bytes are read at a fixed
 * offset, and only the fields needed to find the key and the signature
 * are looked at. Everything else in them (segment id, content hash,
 * padding) is left to rvf_parse, which runs only on signed bytes. */
#include "sign_pkg.h"

#include <string.h>

static uint16_t ld16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t ld64(const uint8_t *p)
{
    return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

/* NO_SIGNATURE, MALFORMED, or OK with *t filled. */
static enum nub_sig_status find_tail(const uint8_t *pkg, size_t len, struct nub_sig_tail *t)
{
    memset(t, 0, sizeof(*t));
    if (pkg == NULL || len < RVF_CRYPTO_SEGMENT_SIZE)
        return NUB_SIG_NO_SIGNATURE;
    const uint8_t *h = pkg + (len - RVF_CRYPTO_SEGMENT_SIZE);
    if (ld32(h + RVF_SH_MAGIC) != RVF_SEG_MAGIC || h[RVF_SH_TYPE] != RVF_SEG_CRYPTO)
        return NUB_SIG_NO_SIGNATURE;
    t->present = true;
    t->signed_len = len - RVF_CRYPTO_SEGMENT_SIZE;
    const uint8_t *p = h + RVF_SEG_HEADER_SIZE;
    if (ld64(h + RVF_SH_PAYLOAD_LEN) != RVF_CRYPTO_PAYLOAD_LEN ||
        ld16(p + RVF_CRYPTO_ALGO) != RVF_SIG_ED25519 || ld16(p + RVF_CRYPTO_RESERVED) != 0)
        return NUB_SIG_MALFORMED;
    t->pubkey = p + RVF_CRYPTO_PUBKEY;
    t->signature = p + RVF_CRYPTO_SIG;
    return NUB_SIG_OK;
}

/* The tail of pkg into *t (and *tail), and its signer's key id; both
 * checks below start here. */
static enum nub_sig_status read_tail(const uint8_t *pkg, size_t len,
                                     uint8_t key_id[NUB_KEYID_BYTES], struct nub_sig_tail *tail,
                                     struct nub_sig_tail *t)
{
    if (key_id)
        memset(key_id, 0, NUB_KEYID_BYTES);
    enum nub_sig_status st = find_tail(pkg, len, t);
    if (tail)
        *tail = *t;
    if (st == NUB_SIG_OK && key_id)
        nub_key_id(t->pubkey, key_id);
    return st;
}

enum nub_sig_status nub_sig_check_bytes(const struct nub_trust *trust, const uint8_t *pkg,
                                        size_t len, uint8_t key_id[NUB_KEYID_BYTES],
                                        struct nub_sig_tail *tail)
{
    struct nub_sig_tail t;
    enum nub_sig_status st = read_tail(pkg, len, key_id, tail, &t);
    if (st != NUB_SIG_OK)
        return st;
    return nub_sig_verify(trust, t.pubkey, t.signature, pkg, (size_t)t.signed_len);
}

enum nub_sig_status nub_sig_check_known(const struct nub_trust *trust, const uint8_t *pkg,
                                        size_t len, uint8_t key_id[NUB_KEYID_BYTES],
                                        struct nub_sig_tail *tail)
{
    struct nub_sig_tail t;
    enum nub_sig_status st = read_tail(pkg, len, key_id, tail, &t);
    if (st != NUB_SIG_OK)
        return st;
    return trust != NULL && nub_trust_find(trust, t.pubkey) != NULL ? NUB_SIG_OK
                                                                    : NUB_SIG_UNTRUSTED_KEY;
}

enum nub_sig_status nub_sig_check_package(const struct nub_trust *trust,
                                          const struct rvf_package *pkg,
                                          uint8_t key_id[NUB_KEYID_BYTES])
{
    struct nub_sig_tail t;
    enum nub_sig_status st = nub_sig_check_bytes(trust, pkg->base, (size_t)pkg->size, key_id, &t);
    if (t.present != pkg->signed_pkg || (t.present && t.signed_len != pkg->signed_len))
        return NUB_SIG_MALFORMED;
    return st;
}
