/* Signature check of an RVF package (host side, before MOUNT), run on the
 * raw bytes before any parser sees them (docs/ARCHITECTURE.md "The mount
 * path", step 2.2): the CRYPTO segment is last and of fixed size
 * (RVF_CRYPTO_SEGMENT_SIZE), so it is found at a fixed offset from the
 * end without walking the package. */
#ifndef NUB_SIGN_PKG_H
#define NUB_SIGN_PKG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rvf.h"
#include "sign.h"

/* What the last RVF_CRYPTO_SEGMENT_SIZE bytes of a package say. */
struct nub_sig_tail {
    bool present;        /* a CRYPTO segment header (magic + type) is there */
    uint64_t signed_len; /* bytes it covers: len - RVF_CRYPTO_SEGMENT_SIZE */
    const uint8_t *pubkey;    /* RVF_PUBKEY_LEN bytes inside pkg, when present */
    const uint8_t *signature; /* RVF_SIG_LEN bytes inside pkg, when present */
};

/* Looks at pkg[len - 192, len) only. A package without a CRYPTO header
 * there is unsigned (NO_SIGNATURE); one whose header is there but whose
 * payload length, algorithm or reserved field is wrong is MALFORMED;
 * otherwise the Ed25519 signature over pkg[0, len - 192) is checked
 * against trust (NULL = nothing trusted): OK, BAD_SIGNATURE (checked
 * first) or UNTRUSTED_KEY. key_id (if not NULL) gets the claimed signer,
 * zero when there is none; tail (if not NULL) what was found. Map the
 * result to an errno with nub_errno_sig (errors.h). */
enum nub_sig_status nub_sig_check_bytes(const struct nub_trust *trust, const uint8_t *pkg,
                                        size_t len, uint8_t key_id[NUB_KEYID_BYTES],
                                        struct nub_sig_tail *tail);

/* For bytes checked when first mounted (a replay from the state
 * directory): the same answers, but the signature itself is not
 * recomputed: the claimed key must still be in trust. */
enum nub_sig_status nub_sig_check_known(const struct nub_trust *trust, const uint8_t *pkg,
                                        size_t len, uint8_t key_id[NUB_KEYID_BYTES],
                                        struct nub_sig_tail *tail);

/* The same check for a package rvf_parse accepted (nubfs-pack verify):
 * MALFORMED too when the parse and the fixed-offset look disagree. */
enum nub_sig_status nub_sig_check_package(const struct nub_trust *trust,
                                          const struct rvf_package *pkg,
                                          uint8_t key_id[NUB_KEYID_BYTES]);

#endif /* NUB_SIGN_PKG_H */
