/* OpenSSH Ed25519 key formats (src/sign_ssh.c), behind the key-file
 * parsers of sign.h: keys users already have. Internal to nubsign. */
#ifndef NUB_SIGN_SSH_H
#define NUB_SIGN_SSH_H

#include <stddef.h>
#include <stdint.h>

#include "sign.h"

#define NUB_SSH_ED25519 "ssh-ed25519"
#define NUB_SSH_PRIVATE_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"

/* Public key lines, one key a line, as ssh-keygen writes NAME.pub and as
 * allowed_signers files hold them:
 *     [PRINCIPALS [OPTIONS]] ssh-ed25519 BASE64 [COMMENT]
 * Blank lines and lines starting with '#' are skipped. PRINCIPALS are not
 * looked at. OPTIONS: namespaces="LIST" (the line counts only if LIST
 * holds "nubfs" or "*"); cert-authority, valid-after, valid-before and
 * anything else are refused, never ignored. Every other key type is
 * refused. add is called for each key (its negative return stops the
 * parse and is returned). 0 with at least one key, or -EINVAL with
 * "line N: reason" in err. */
int nub_ssh_pubkeys_parse(const char *text, size_t len, nub_pubkey_fn add, void *ctx, char *err,
                          size_t errlen);

/* An unencrypted "openssh-key-v1" private key holding one Ed25519 key,
 * as `ssh-keygen -t ed25519 -N ''` writes it: PEM-style armour around
 * base64. Fills seed and pk (checked against each other). 0 or -EINVAL
 * (an encrypted key says how to make an unencrypted copy). */
int nub_ssh_seckey_parse(const char *text, size_t len, uint8_t seed[NUB_SIGN_SEED_BYTES],
                         uint8_t pk[NUB_SIGN_PUBLIC_BYTES], char *err, size_t errlen);

#endif /* NUB_SIGN_SSH_H */
