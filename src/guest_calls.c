/* The guest-call client (see guest_calls.h): the call sequences of PUT,
 * MOUNT, UNMOUNT, STATS and the test ops, written once over the sandbox
 * engine. The engine serializes and polices each call; this file knows
 * what the ops' arguments and answers mean (abi.h). */
#include "guest_calls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "errors.h"
#include "reader.h"
#include "rvf.h"

int nub_call_block_locked(struct nub_sandbox *sb, struct nub_block_call *b)
{
    b->stage = NUB_BLOCK_ALLOC;
    b->gpa = 0;
    b->alloc_msg[0] = b->free_msg[0] = '\0';
    b->alloc_ns = b->copy_ns = b->call_ns = 0;
    uint64_t t = nub_now_ns();
    int r = nub_sandbox_alloc_locked(sb, b->size, b->align, &b->gpa, b->alloc_msg);
    b->alloc_ns = nub_now_ns() - t;
    if (r < 0)
        return r;

    b->stage = NUB_BLOCK_COPY;
    t = nub_now_ns();
    for (size_t i = 0; r == 0 && i < b->npieces; i++)
        r = nub_sandbox_write_locked(sb, b->gpa + b->pieces[i].off, b->pieces[i].data,
                                     b->pieces[i].len);
    b->copy_ns = nub_now_ns() - t;
    if (r < 0)
        return r; /* poisoned: the block goes with the guest */

    b->stage = NUB_BLOCK_CALL;
    for (unsigned i = 0; i < NUB_MAILBOX_ARGS; i++)
        if (b->gpa_args & (1u << i))
            b->call.args[i] += b->gpa;
    t = nub_now_ns();
    if (b->before != NULL)
        b->before(b->ctx, sb, b->gpa);
    r = nub_sandbox_call_locked(sb, &b->call);
    if (r == 0 && b->call.status != NUB_ST_OK) {
        /* Refused: the block is still the host's, give it back. */
        b->stage = NUB_BLOCK_FREE;
        struct nub_call f = {.op = NUB_OP_FREE, .args = {b->gpa}};
        r = nub_sandbox_call_locked(sb, &f);
        if (r == 0 && f.status != NUB_ST_OK)
            snprintf(b->free_msg, sizeof(b->free_msg), "%s", f.msg);
        if (r == 0)
            b->stage = NUB_BLOCK_CALL;
    }
    b->call_ns = nub_now_ns() - t;
    return r;
}

/* Blobs at least this big are copied in with readers let in (a call
 * sequence, see sandbox.h); smaller ones are not worth the extra lock
 * round trips and go in under one exclusive hold. */
#define PUT_SEQ_MIN (256u * 1024u)

static void hold(struct nub_sandbox *sb, bool seq)
{
    if (seq)
        nub_sandbox_seq_begin(sb);
    else
        nub_sandbox_lock(sb);
}

static void release(struct nub_sandbox *sb, bool seq)
{
    if (seq)
        nub_sandbox_seq_end(sb);
    else
        nub_sandbox_unlock(sb);
}

/* ALLOC + copy + PUT of data under hash, in a hold. Even an empty blob
 * gets a block: PUT takes a block from ALLOC (which hands out at least
 * one granule). Blobs of a page or more start on a page, so reads splice
 * whole pages; smaller ones gain nothing from it and pack at the granule
 * (a page each would cost up to 64x the bytes). */
static int put_block_locked(struct nub_sandbox *sb, const uint8_t hash[16], const void *data,
                            size_t len, uint16_t kind, struct nub_block_call *b)
{
    struct nub_piece piece = {.off = 0, .data = data, .len = len};
    *b = (struct nub_block_call){
        .size = len,
        .align = len >= NUB_PAGE_SIZE ? NUB_PAGE_SIZE : 0,
        .pieces = &piece,
        .npieces = 1,
        .call = {.op = NUB_OP_PUT, .args = {0, len, kind}},
        .gpa_args = 1u << 0,
    };
    memcpy(b->call.hash, hash, 16);
    int r = nub_call_block_locked(sb, b);
    if (r == 0 && b->call.status != NUB_ST_OK)
        r = nub_errno_guest(b->call.status);
    return r;
}

int nub_call_put(struct nub_sandbox *sb, const void *data, size_t len, uint16_t kind,
                 uint8_t hash_out[16])
{
    rvf_hash128(data, len, hash_out); /* the same content hash as a package's */
    bool seq = len >= PUT_SEQ_MIN;
    hold(sb, seq);
    int r;
    struct nub_reader rd;
    if (nub_sandbox_poisoned(sb)) {
        r = -ESHUTDOWN;
    } else if (nub_reader_open(&rd, nub_sandbox_mem(sb), nub_sandbox_boot_info_gpa(sb)) !=
               NUB_READER_OK) {
        r = -EIO;
    } else {
        /* Reading guest memory needs no rwlock here: only holders of
         * the call mutex change it. A present cap with the same bytes is
         * still PUT: the caller gets its own reference (the guest frees
         * the duplicate copy). */
        r = nub_reader_same_bytes(&rd, hash_out, data, len);
        struct nub_block_call b;
        if (r >= 0)
            r = put_block_locked(sb, hash_out, data, len, kind, &b);
    }
    release(sb, seq);
    return r;
}

int nub_call_put_claimed(struct nub_sandbox *sb, const uint8_t hash[16], const void *data,
                         size_t len, uint16_t kind, bool *existed, char *msg)
{
    struct nub_block_call b;
    nub_sandbox_lock(sb);
    int r = put_block_locked(sb, hash, data, len, kind, &b);
    nub_sandbox_unlock(sb);
    *existed = r == 0 && b.call.ret[1] != 0;
    if (msg != NULL)
        snprintf(msg, NUB_MAILBOX_MSG, "%s",
                 b.stage == NUB_BLOCK_ALLOC ? b.alloc_msg : b.call.msg);
    return r;
}

int nub_call_mount_locked(struct nub_sandbox *sb, const struct nub_call_mount *a,
                          struct nub_block_call *b)
{
    /* len is the size of a buffer in memory: rounding it up cannot wrap. */
    size_t lim_off = (a->len + 63) & ~(size_t)63;
    struct nub_piece pieces[2] = {
        {.off = 0, .data = a->pkg, .len = a->len},
        {.off = lim_off, .data = a->limits, .len = sizeof(*a->limits)},
    };
    *b = (struct nub_block_call){
        .size = lim_off + sizeof(*a->limits),
        .align = NUB_PAGE_SIZE,
        .pieces = pieces,
        .npieces = 2,
        .call = {.op = NUB_OP_MOUNT, .args = {0, a->len, a->fail_step, lim_off}},
        .gpa_args = (1u << 0) | (1u << 3),
        .before = a->before,
        .ctx = a->ctx,
    };
    memcpy(b->call.hash, a->signer, NUB_MOUNT_SIGNER_LEN);
    return nub_call_block_locked(sb, b);
}

int nub_call_mount_caps_locked(struct nub_sandbox *sb, const struct nub_call_mount_caps *a,
                               struct nub_block_call *b)
{
    struct nub_mount_caps_hdr h = {.ncaps = a->ncaps, .manifest = a->manifest};
    size_t list = sizeof(h) + (size_t)a->ncaps * sizeof(*a->caps); /* ncaps <= 1024 */
    size_t lim_off = (list + 63) & ~(size_t)63;
    struct nub_piece pieces[3] = {
        {.off = 0, .data = &h, .len = sizeof(h)},
        {.off = sizeof(h), .data = a->caps, .len = (size_t)a->ncaps * sizeof(*a->caps)},
        {.off = lim_off, .data = a->limits, .len = sizeof(*a->limits)},
    };
    *b = (struct nub_block_call){
        .size = lim_off + sizeof(*a->limits),
        .align = 64,
        .pieces = pieces,
        .npieces = 3,
        .call = {.op = NUB_OP_MOUNT,
                 .args = {0, list, a->fail_step | NUB_MOUNT_F_CAPS, lim_off}},
        .gpa_args = (1u << 0) | (1u << 3),
        .before = a->before,
        .ctx = a->ctx,
    };
    memcpy(b->call.hash, a->signer, NUB_MOUNT_SIGNER_LEN);
    return nub_call_block_locked(sb, b);
}

int nub_call_put_caps(struct nub_sandbox *sb, const struct nub_cap_desc *caps, uint32_t n,
                      uint32_t *created, char *msg)
{
    if (msg != NULL)
        msg[0] = '\0';
    if (n == 0 || n > NUB_PUT_CAPS_MAX)
        return -EINVAL;
    struct nub_piece piece = {.off = 0, .data = caps, .len = (size_t)n * sizeof(*caps)};
    struct nub_block_call b = {
        .size = piece.len,
        .align = 64,
        .pieces = &piece,
        .npieces = 1,
        .call = {.op = NUB_OP_PUT_CAPS, .args = {0, n}},
        .gpa_args = 1u << 0,
    };
    nub_sandbox_lock(sb);
    int r = nub_sandbox_poisoned(sb) ? -ESHUTDOWN : nub_call_block_locked(sb, &b);
    nub_sandbox_unlock(sb);
    if (r == 0 && b.call.status != NUB_ST_OK)
        r = nub_errno_guest(b.call.status);
    if (msg != NULL && r != 0 && r != -ESHUTDOWN)
        snprintf(msg, NUB_MAILBOX_MSG, "%s",
                 b.stage == NUB_BLOCK_ALLOC ? b.alloc_msg : b.call.msg);
    if (created != NULL)
        *created = r == 0 ? (uint32_t)b.call.ret[0] : 0;
    return r;
}

int nub_call_unmount(struct nub_sandbox *sb, uint64_t handle, struct nub_call_unmount_result *out)
{
    struct nub_call_unmount_result dummy;
    if (out == NULL)
        out = &dummy;
    memset(out, 0, sizeof(*out));
    uint64_t t = nub_now_ns();
    struct nub_call c = {.op = NUB_OP_UNMOUNT, .args = {handle}};
    int r = nub_sandbox_call(sb, &c);
    out->call_ns = nub_now_ns() - t;
    if (r < 0) {
        snprintf(out->reason, sizeof(out->reason), "%s during unmount: %s",
                 r == -ESHUTDOWN ? "guest is down" : "the guest crashed",
                 nub_sandbox_poison_reason(sb));
        return -EIO;
    }
    if (c.status != NUB_ST_OK) {
        snprintf(out->reason, sizeof(out->reason), "guest: %s", c.msg);
        return nub_errno_guest(c.status);
    }
    out->caps_removed = (uint32_t)c.ret[0];
    out->zombie = c.ret[1] != 0;
    out->zombies_freed = (uint32_t)c.ret[2];
    return 0;
}

int nub_call_stats(struct nub_sandbox *sb, uint64_t ret[NUB_MAILBOX_ARGS])
{
    struct nub_call c = {.op = NUB_OP_STATS};
    int r = nub_sandbox_call(sb, &c);
    if (r == 0 && c.status != NUB_ST_OK)
        r = nub_errno_guest(c.status);
    if (r == 0)
        memcpy(ret, c.ret, sizeof(c.ret));
    return r;
}

int nub_call_test_op(struct nub_sandbox *sb, uint32_t op)
{
    struct nub_call c = {.op = op};
    int r = nub_sandbox_call(sb, &c);
    return r == 0 ? nub_errno_guest(c.status) : r;
}

int nub_call_test_write_cap(struct nub_sandbox *sb, nub_gpa gpa)
{
    struct nub_call c = {.op = NUB_OP_TEST_WRITE_CAP, .args = {gpa}};
    int r = nub_sandbox_call(sb, &c);
    return r == 0 ? nub_errno_guest(c.status) : r;
}

int nub_call_test_op_locked(struct nub_sandbox *sb, uint32_t op)
{
    struct nub_call c = {.op = op};
    int r = nub_sandbox_call_locked(sb, &c);
    return r == 0 ? nub_errno_guest(c.status) : r;
}
