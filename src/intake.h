/* The package intake (docs/ARCHITECTURE.md "The mount path", "Errors"):
 * everything between "the daemon has the package bytes" and "the guest
 * answered MOUNT", and all the daemon learns about the package from its
 * one parse (names, counts, signer, cap hashes, phase times): nothing
 * outside the intake parses a package. The FUSE daemon calls it from
 * ctl/ flush and rename, and again after a guest reboot to re-mount what
 * it holds (it keeps the package bytes; the call is the same).
 *
 * Order of work, cheapest refusal first, byte-proportional work on the
 * host (the guest only ever sees a package that passed all of it):
 *   1. size against max_package                        -> EFBIG
 *   2. the Ed25519 signature against the trusted keys, before any parser
 *      sees the bytes (sign_pkg.h: found at a fixed offset from the end)
 *                                                      -> ENOKEY, EKEYREJECTED
 *   3. rvf_parse, rvf_manifest_parse with the limits   -> EBADMSG, EDQUOT, EFBIG
 *   4. every payload against its content hash          -> EUCLEAN
 *   5. read lock: every segment whose hash is already a cap is compared
 *      byte for byte with that cap                     -> EEXIST
 *   5a. (with a store, in the call sequence) every segment into the cap
 *      store: an object with its hash must hold its bytes -> EEXIST;
 *      over the store limit                            -> ENOSPC
 *   6. call sequence (guest_calls.h): re-check 5 if the directory changed,
 *      ALLOC, copy in, MOUNT (FREE on failure)         -> ENOSPC, EDQUOT,
 *      EBADMSG, EEXIST per the guest's status; EIO if the guest crashed.
 * On any failure nothing in the guest changed (the guest's all-or-nothing
 * MOUNT plus the FREE of the package block). */
#ifndef NUB_INTAKE_H
#define NUB_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nub/abi.h"
#include "rvf.h"
#include "cap_store.h"
#include "guest_calls.h"
#include "sandbox.h"
#include "sign.h"

struct nub_intake_opts {
    /* Package limits (-o max_package=SIZE, max_*=N), checked on the host
     * before the call and passed to the guest with MOUNT (abi.h struct
     * nub_mount_limits), which checks them again. Count limits above the
     * hard NUB_MOUNT_MAX_* are clamped to them on both sides. */
    struct rvf_limits limits;
    bool allow_unsigned;  /* unsigned packages mount (signer id all zero) */
    uint32_t fail_step;   /* tests: NUB_MOUNT_STEP_* fault injection (needs
                             test_ops in the sandbox); 0 = none */
    const char *name;     /* prefixes every reason, e.g. "hello.rvf"; may be NULL */
    bool want_caps;       /* on success, fill the result's caps (see there) */
    /* The cap store (cap_store.h; NULL: none, tests of the guest alone).
     * With one, every segment but the signature is put into it inside the
     * mount's call sequence (found by hash with its bytes compared, or
     * created and mapped), and the result holds those references. */
    struct nub_cap_store *store;
    /* The bytes were checked when first mounted (a replay from the state
     * directory, whose cap files are named by their hashes): the payload
     * hashes and the signature are not computed again (the claimed
     * signer must still be trusted); the rest of the intake runs. */
    bool known_good;
    /* Called in the mount's call sequence once every cap is in the store,
     * right before MOUNT: where the daemon makes the package durable (its
     * frame in the state directory, DESIGN §10). p is the parsed package
     * (p->base its bytes). 0 goes on; -errno refuses the mount with that
     * errno and why as the reason. NULL: nothing. */
    int (*durable)(void *ctx, const struct rvf_package *p, char *why, size_t whylen);
    void *durable_ctx;
    /* Tests only: called inside the mount's call sequence (see
     * nub_sandbox_seq_begin: readers may run) after the package was
     * copied to pkg_gpa, right before MOUNT (to play a guest that
     * corrupts itself). Use only *_locked sandbox calls in it. */
    void (*test_before_mount)(void *ctx, struct nub_sandbox *sb, nub_gpa pkg_gpa);
    void *test_ctx;
};

void nub_intake_opts_default(struct nub_intake_opts *o);

/* Wall-clock time of each phase, ns (0 for a phase not reached). */
struct nub_intake_times {
    uint64_t parse_ns;   /* rvf_parse + rvf_manifest_parse */
    uint64_t hash_ns;    /* rvf_check_hashes */
    uint64_t sig_ns;     /* nub_sig_check_bytes */
    uint64_t compare_ns; /* byte comparison with existing caps (both passes) */
    uint64_t store_ns;   /* putting the caps into the cap store */
    uint64_t lock_ns;    /* waiting for other calls to finish (call sequence) */
    uint64_t alloc_ns;   /* ALLOC call */
    uint64_t copy_ns;    /* copying the package into guest memory */
    uint64_t call_ns;    /* MOUNT call (incl. FREE on failure) */
    uint64_t total_ns;
};

#define NUB_INTAKE_REASON_MAX 512u

struct nub_intake_result {
    uint64_t handle;         /* nonzero on success */
    nub_gpa rec_gpa;         /* its struct nub_mount_rec (read it with mount_reader.h) */
    uint32_t caps_new;       /* directory entries the mount created */
    uint32_t caps_held;      /* references it holds (new + shared) */
    /* Known once the manifest parsed: */
    char name[NUB_MOUNT_NAME_LEN];    /* manifest package name */
    char version[NUB_MOUNT_NAME_LEN];
    uint32_t nsegments, ncomponents, nregions, nqueues, ntasks, ngrants;
    /* With want_caps, on success: the package's cap hashes (every segment
     * but the signature, in segment order), malloc'd; the caller owns them
     * (free). NULL otherwise. */
    uint8_t (*caps)[16];
    uint32_t ncaps;
    /* With a store, on success: one reference per segment but the
     * signature, in segment order (malloc'd); the caller owns them and
     * lets go with nub_intake_drop_objs. NULL otherwise. */
    struct nub_cap_obj **objs;
    uint32_t nobjs;
    /* Known once the signature was looked at: */
    bool signed_pkg;
    uint8_t signer[NUB_KEYID_BYTES];  /* key id (sign.h); zero when unsigned */
    char signer_hex[NUB_KEYID_HEX];   /* "" when unsigned */
    struct nub_intake_times times;
    /* One line for cp's user, log and syslog on failure ("" on success),
     * e.g. "hello.rvf: segment 2 @0x80: content hash does not match
     * payload", "hello.rvf: signed by untrusted key 3fa1c2d4e5f60718",
     * "hello.rvf: guest: region big: size 134217728, limit 67108864". */
    char reason[NUB_INTAKE_REASON_MAX];
};

/* Mounts pkg[0, len) (the bytes are only read, and may be freed after
 * the call). trust NULL = nothing trusted. 0 or -errno of errors.h:
 * -EFBIG, -EBADMSG, -EDQUOT, -EUCLEAN, -ENOKEY, -EKEYREJECTED, -EEXIST,
 * -ENOSPC, -EIO (guest crashed during the mount, or was already poisoned:
 * the daemon reboots it and re-mounts), -ENOMEM (host), -EINVAL (bad
 * options, or the guest refused the arguments). *out is always filled. */
int nub_intake(struct nub_sandbox *sb, const struct nub_trust *trust,
                      const struct nub_intake_opts *opts, const uint8_t *pkg, size_t len,
                      struct nub_intake_result *out);

/* Drops the store references objs[0, n) and frees the array (NULL is
 * fine). Not with the sandbox read lock held (see cap_store.h). */
void nub_intake_drop_objs(struct nub_cap_obj **objs, uint32_t n);
/* Frees a result's cap hashes and drops its store references (a mount
 * that is undone after nub_intake said yes). */
void nub_intake_result_release(struct nub_intake_result *out);

/* Unmounting is one guest call: nub_call_unmount (guest_calls.h). */

#endif /* NUB_INTAKE_H */
