/* Signature check of a parsed RVF package (host side, before MOUNT). */
#ifndef NUB_SIGN_PKG_H
#define NUB_SIGN_PKG_H

#include "rvf.h"
#include "sign.h"

/* NO_SIGNATURE when pkg has no CRYPTO segment; otherwise the signer's key
 * id goes to key_id (if not NULL, zero when unsigned) and the signature
 * over pkg->base[0, signed_len) is checked against trust (NULL = nothing
 * trusted). Map the result to an errno with nub_errno_sig (errors.h). */
enum nub_sig_status nub_sig_check_package(const struct nub_trust *trust,
                                          const struct rvf_package *pkg,
                                          uint8_t key_id[NUB_KEYID_BYTES]);

#endif /* NUB_SIGN_PKG_H */
