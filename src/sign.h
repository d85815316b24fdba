/* Package signatures: Ed25519 keys (libsodium), their text files, key ids,
 * detached signatures, and the set of trusted public keys.
 *
 * nubfs key files (one line each, lowercase hex, an optional final '\n',
 * nothing else):
 *   NAME.pub  "nubfs-ed25519-public " + 64 hex digits (the 32-byte key)
 *   NAME.key  "nubfs-ed25519-secret " + 64 hex digits (the 32-byte seed;
 *             the key pair is derived from it).
 * OpenSSH key files are taken too (sign_ssh.h): a public key file may hold
 * "ssh-ed25519 BASE64 [comment]" lines, also allowed_signers-style with
 * principals and options in front; a secret key may be an unencrypted
 * OpenSSH Ed25519 private key (ssh-keygen -t ed25519 -N ''). A secret key
 * file's mode must be 0600 or stricter: one readable by others is refused.
 * Key id: the first 8 bytes of the unkeyed BLAKE2b-256 of the 32 raw public
 * key bytes, as 16 lowercase hex digits (`b2sum -l 256` of the raw key):
 * the same key has the same id in either format.
 *
 * Every function returns 0 / a status, or -errno; on failure `err` (when
 * non-NULL) holds a one-line reason naming the file. */
#ifndef NUB_SIGN_H
#define NUB_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NUB_SIGN_PUBLIC_BYTES 32u
#define NUB_SIGN_SEED_BYTES 32u
#define NUB_SIGN_SECRET_BYTES 64u /* libsodium's seed || public key */
#define NUB_SIGN_BYTES 64u
#define NUB_KEYID_BYTES 8u
#define NUB_KEYID_HEX (2u * NUB_KEYID_BYTES + 1u)

#define NUB_PUB_PREFIX "nubfs-ed25519-public "
#define NUB_SEC_PREFIX "nubfs-ed25519-secret "

/* Room for a reason such as "PATH: malformed key file (...)" */
#define NUB_SIGN_ERR_MAX 512u

/* Result of checking a package's signature (errno: errors.h). */
enum nub_sig_status {
    NUB_SIG_OK = 0,
    NUB_SIG_NO_SIGNATURE = 1,  /* no CRYPTO segment          -> ENOKEY */
    NUB_SIG_BAD_SIGNATURE = 2, /* signature does not verify  -> EKEYREJECTED */
    NUB_SIG_UNTRUSTED_KEY = 3, /* valid, but signer unknown  -> EKEYREJECTED */
    NUB_SIG_MALFORMED = 4,     /* CRYPTO segment unreadable  -> EBADMSG */
};

struct nub_pubkey {
    uint8_t pk[NUB_SIGN_PUBLIC_BYTES];
    uint8_t id[NUB_KEYID_BYTES];
};

/* Holds secret material: clear it with nub_seckey_wipe when done. */
struct nub_seckey {
    uint8_t sk[NUB_SIGN_SECRET_BYTES];
    struct nub_pubkey pub;
};

/* The trusted keys. `count` may be 0 (then nothing is trusted). */
struct nub_trust {
    struct nub_pubkey *keys;
    size_t count;
    size_t cap;
};

/* sodium_init once; -EIO if libsodium cannot start. Every function below
 * that needs libsodium calls it, so calling it first is optional. */
int nub_sign_init(void);

const char *nub_sig_status_str(enum nub_sig_status st);
/* Its errno: nub_errno_sig (errors.h). */

/* Key id of a public key, and as text (NUB_KEYID_HEX bytes incl. NUL). */
void nub_key_id(const uint8_t pk[NUB_SIGN_PUBLIC_BYTES], uint8_t id[NUB_KEYID_BYTES]);
void nub_key_id_hex(const uint8_t id[NUB_KEYID_BYTES], char out[NUB_KEYID_HEX]);

/* A fresh key pair from libsodium's CSPRNG. */
int nub_key_generate(struct nub_seckey *out);
void nub_seckey_wipe(struct nub_seckey *k);

/* Called for each key of a public key file; a negative return stops the
 * parse and is returned. */
typedef int (*nub_pubkey_fn)(void *ctx, const struct nub_pubkey *k);

/* Parse public key file text: the nubfs line, or OpenSSH key lines (at
 * least one; see sign_ssh.h). add gets every key. -EINVAL when malformed;
 * nothing is trusted from a file that is malformed anywhere, but add may
 * have been called for earlier lines (collect, then commit). */
int nub_pubkeys_parse(const char *text, size_t len, nub_pubkey_fn add, void *ctx, char *err,
                      size_t errlen);
/* Key-file text holding exactly one key (either format above). -EINVAL
 * when malformed. */
int nub_pubkey_parse(const char *text, size_t len, struct nub_pubkey *out, char *err,
                     size_t errlen);
int nub_seckey_parse(const char *text, size_t len, struct nub_seckey *out, char *err,
                     size_t errlen);

/* Load a key file (regular file; public at most 64 KiB, secret at most
 * 4 KiB and not accessible by group or others). nub_pubkey_load wants
 * exactly one key, nub_pubkeys_load takes every key of the file. */
int nub_pubkey_load(const char *path, struct nub_pubkey *out, char *err, size_t errlen);
int nub_pubkeys_load(const char *path, nub_pubkey_fn add, void *ctx, char *err, size_t errlen);
int nub_seckey_load(const char *path, struct nub_seckey *out, char *err, size_t errlen);

/* Write BASE.key (0600, created exclusively) and BASE.pub (0644). Without
 * `force` an existing file is an error (-EEXIST) and nothing is written;
 * with it both are replaced atomically (temp file + rename). */
int nub_key_write_pair(const char *base, const struct nub_seckey *key, bool force, char *err,
                       size_t errlen);

/* Detached Ed25519 signature of msg[0, len). */
void nub_sign_detached(const struct nub_seckey *key, const uint8_t *msg, size_t len,
                       uint8_t sig[NUB_SIGN_BYTES]);
/* True iff sig is pk's valid signature of msg[0, len). */
bool nub_sign_check(const uint8_t pk[NUB_SIGN_PUBLIC_BYTES], const uint8_t sig[NUB_SIGN_BYTES],
                    const uint8_t *msg, size_t len);

/* Trust set. nub_trust_add_file adds every key of one public key file, or
 * none if the file is malformed. nub_trust_load_dir adds
 * every "*.pub" regular file of dir (sorted by name; other names ignored):
 * each file that cannot be read or parsed is passed to report (if not NULL)
 * and loading continues; the result is 0 if all were fine, else -EINVAL
 * with the first such problem in err. When dir itself cannot be read
 * (missing, not a directory, no permission) nothing is reported: the
 * result is that -errno with the one reason in err. Keys already present
 * are not added twice. */
/* reason is a whole line that already names the file. */
typedef void (*nub_trust_report_fn)(void *ctx, const char *path, const char *reason);
void nub_trust_init(struct nub_trust *t);
void nub_trust_free(struct nub_trust *t);
int nub_trust_add(struct nub_trust *t, const struct nub_pubkey *k);
int nub_trust_add_file(struct nub_trust *t, const char *path, char *err, size_t errlen);
int nub_trust_load_dir(struct nub_trust *t, const char *dir, nub_trust_report_fn report,
                       void *ctx, char *err, size_t errlen);
const struct nub_pubkey *nub_trust_find(const struct nub_trust *t,
                                        const uint8_t pk[NUB_SIGN_PUBLIC_BYTES]);

/* The signature check behind every mount and `nubfs-pack verify`: sig must
 * be pk's signature of signed_bytes, and pk must be in trust. The signature
 * is checked first, so a forged package is BAD_SIGNATURE even when its
 * claimed key is unknown. A NULL trust is an empty set: nothing trusted. */
enum nub_sig_status nub_sig_verify(const struct nub_trust *trust,
                                   const uint8_t pk[NUB_SIGN_PUBLIC_BYTES],
                                   const uint8_t sig[NUB_SIGN_BYTES],
                                   const uint8_t *signed_bytes, size_t len);

#endif /* NUB_SIGN_H */
