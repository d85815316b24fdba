/* The client of the guest call protocol (abi.h ops): every sequence of
 * calls the host makes is written here once, over the sandbox engine
 * (sandbox.h: one call, the locks, ALLOC, writes into a fresh block).
 * PUT (preload, the test knob that forges a cap), MOUNT (the intake),
 * UNMOUNT, STATS and the misbehaving test ops all go through it.
 *
 * The one shape most of them share: ALLOC a block, copy bytes into it
 * (readers may run: nothing published points there), one call naming the
 * block, FREE it again if the guest refused. All return 0 or -errno. */
#ifndef NUB_GUEST_CALLS_H
#define NUB_GUEST_CALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nub/abi.h"
#include "sandbox.h"

/* Bytes to place at an offset of the block. */
struct nub_piece {
    uint64_t off;
    const void *data;
    size_t len;
};

/* Where a block call stopped (see nub_call_block_locked). */
enum nub_block_stage {
    NUB_BLOCK_ALLOC = 1, /* ALLOC refused or crashed: no block */
    NUB_BLOCK_COPY,      /* the host could not write the block (poisoned) */
    NUB_BLOCK_CALL,      /* the call crashed the guest, or was answered */
    NUB_BLOCK_FREE,      /* the FREE after a refusal crashed the guest */
};

struct nub_block_call {
    /* In. */
    uint64_t size, align;             /* the block ALLOC is asked for */
    const struct nub_piece *pieces;   /* copied in before the call */
    size_t npieces;
    struct nub_call call;             /* args[i] with bit i of gpa_args set */
    uint32_t gpa_args;                /*   get the block's gpa added */
    /* Tests only: runs after the copy, right before the call (inside the
     * caller's hold: use only *_locked sandbox calls). */
    void (*before)(void *ctx, struct nub_sandbox *sb, nub_gpa gpa);
    void *ctx;
    /* Out. */
    enum nub_block_stage stage;
    nub_gpa gpa;
    char alloc_msg[NUB_MAILBOX_MSG];  /* the guest's reason if ALLOC refused */
    char free_msg[NUB_MAILBOX_MSG];   /* the guest's reason if the FREE after a
                                         refusal was refused too ("" if not) */
    uint64_t alloc_ns, copy_ns, call_ns; /* call_ns includes the FREE */
};

/* Inside nub_sandbox_lock or nub_sandbox_seq_begin. 0 when the call was
 * answered: b->call.status and ret say how (a refused call's block is
 * FREEd again). Otherwise ALLOC's refusal (nub_errno_guest: -ENOSPC when
 * the heap is full; alloc_msg says why) or -EIO / -ESHUTDOWN when the
 * guest misbehaved; b->stage says where. */
int nub_call_block_locked(struct nub_sandbox *sb, struct nub_block_call *b);

/* PUT: publishes one blob, or takes one more reference if it is already
 * there. Hashes it (XXH3-128, natively, into hash_out); an existing cap
 * with that hash must have the same bytes (-EEXIST otherwise,
 * nub_reader_same_bytes); then ALLOC, copy, PUT. Takes the locks itself:
 * a large blob is copied in a call sequence, with readers let in. */
int nub_call_put(struct nub_sandbox *sb, const void *data, size_t len, uint16_t kind,
                 uint8_t hash_out[16]);

/* Tests only (-o test_forge_cap): PUT data under a hash the caller claims,
 * with no hashing and no byte comparison, which leaves the state an
 * XXH3-128 collision would. *existed: the hash was there already (the
 * guest took a reference instead). msg (NUB_MAILBOX_MSG bytes) gets the
 * guest's reason for a refusal. Takes the locks itself. */
int nub_call_put_claimed(struct nub_sandbox *sb, const uint8_t hash[16], const void *data,
                         size_t len, uint16_t kind, bool *existed, char *msg);

/* MOUNT's block (abi.h MOUNT): the package, then (64-byte aligned) this
 * mount's limits, which args[3] points at. */
struct nub_call_mount {
    const uint8_t *pkg;
    size_t len;
    const struct nub_mount_limits *limits;
    uint32_t fail_step;                        /* NUB_MOUNT_STEP_* or 0 */
    const uint8_t *signer;                     /* NUB_MOUNT_SIGNER_LEN bytes */
    void (*before)(void *ctx, struct nub_sandbox *sb, nub_gpa pkg_gpa); /* tests */
    void *ctx;
};
/* ALLOC + copy + MOUNT (+ FREE on refusal) as nub_call_block_locked, in a
 * call sequence; b->call.ret: handle, record gpa, caps new, caps held. */
int nub_call_mount_locked(struct nub_sandbox *sb, const struct nub_call_mount *a,
                          struct nub_block_call *b);

/* ABI 2 MOUNT (abi.h NUB_MOUNT_F_CAPS): the block holds the cap list
 * header, the descriptors (sorted by (hash, segment), the caller's
 * order), then (64-byte aligned) the limits. No package byte is copied. */
struct nub_call_mount_caps {
    const struct nub_cap_desc *caps;
    uint32_t ncaps;
    uint32_t manifest;                         /* index in caps */
    const struct nub_mount_limits *limits;
    uint32_t fail_step;
    const uint8_t *signer;                     /* NUB_MOUNT_SIGNER_LEN bytes */
    void (*before)(void *ctx, struct nub_sandbox *sb, nub_gpa list_gpa); /* tests */
    void *ctx;
};
int nub_call_mount_caps_locked(struct nub_sandbox *sb, const struct nub_call_mount_caps *a,
                               struct nub_block_call *b);

/* PUT_CAPS: publishes caps[0, n) (n <= NUB_PUT_CAPS_MAX), whose bytes the
 * cap store already mapped, in one guest call, all or nothing (ALLOC,
 * copy of the descriptors, PUT_CAPS; FREE on refusal). *created: new
 * directory entries (may be NULL). msg (NUB_MAILBOX_MSG bytes, may be
 * NULL) gets the guest's reason for a refusal. Takes the lock itself. */
int nub_call_put_caps(struct nub_sandbox *sb, const struct nub_cap_desc *caps, uint32_t n,
                      uint32_t *created, char *msg);
/* How many caps a publisher sends per PUT_CAPS (preload, republish): at
 * ~700 emulated instructions per cap, and as much again for the
 * directory migration a batch pays for while a growth is under way,
 * about 0.35 M instructions, well inside the call watchdog (5 s) even
 * when a loaded host emulates at a tenth of the usual 1.5 M/s (1024 per
 * call ran into it at 61k caps with a test suite running beside). The
 * calls' fixed cost (ALLOC + PUT_CAPS, under 1,000 instructions) is a few
 * instructions per cap. */
#define NUB_PUT_CAPS_BATCH 256u

/* UNMOUNT's answer. */
#define NUB_CALL_REASON_MAX 512u
struct nub_call_unmount_result {
    uint32_t caps_removed;  /* directory entries that went away */
    bool zombie;            /* package bytes kept for caps others hold */
    uint32_t zombies_freed;
    uint64_t call_ns;
    char reason[NUB_CALL_REASON_MAX];
};
/* UNMOUNT: 0, -ENOENT (no live mount with that handle), -EIO (guest
 * crashed or poisoned). out may be NULL. */
int nub_call_unmount(struct nub_sandbox *sb, uint64_t handle, struct nub_call_unmount_result *out);

/* STATS: ret gets the counters (abi.h NUB_STAT_*). 0, a guest refusal, or
 * -EIO / -ESHUTDOWN. */
int nub_call_stats(struct nub_sandbox *sb, uint64_t ret[NUB_MAILBOX_ARGS]);

/* A misbehaving test op (NUB_OP_TEST_*, needs test_ops in the sandbox)
 * with no arguments: normally -EIO (the guest was poisoned). The _locked
 * form inside a hold (the mount's test hook). */
int nub_call_test_op(struct nub_sandbox *sb, uint32_t op);
/* NUB_OP_TEST_WRITE_CAP: the guest stores to gpa (a cap's bytes in the
 * cap window, a read-only slot): normally -EIO, the sandbox poisoned. */
int nub_call_test_write_cap(struct nub_sandbox *sb, nub_gpa gpa);
int nub_call_test_op_locked(struct nub_sandbox *sb, uint32_t op);

#endif /* NUB_GUEST_CALLS_H */
