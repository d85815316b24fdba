/* The signature step of a mount (docs/ARCHITECTURE.md "The mount path",
 * step 2.4): the CRYPTO segment
 * that rvf_parse located, checked against the trusted keys. */
#include "sign_pkg.h"

#include <string.h>

enum nub_sig_status nub_sig_check_package(const struct nub_trust *trust,
                                          const struct rvf_package *pkg,
                                          uint8_t key_id[NUB_KEYID_BYTES])
{
    if (key_id)
        memset(key_id, 0, NUB_KEYID_BYTES);
    if (!pkg->signed_pkg)
        return NUB_SIG_NO_SIGNATURE;
    /* rvf_parse guarantees these for a signed package; stay defensive. */
    if (pkg->sig_algo != RVF_SIG_ED25519 || !pkg->pubkey || !pkg->signature ||
        pkg->signed_len > pkg->size)
        return NUB_SIG_MALFORMED;
    if (key_id)
        nub_key_id(pkg->pubkey, key_id);
    return nub_sig_verify(trust, pkg->pubkey, pkg->signature, pkg->base,
                          (size_t)pkg->signed_len);
}
