/* PUT_CAPS (abi.h "Cap lists"): publish a batch of caps whose bytes the
 * host already mapped read-only into the cap window, in one call and all
 * or nothing: one directory reservation for the batch, one put per
 * descriptor, and on any refusal every put released again in reverse
 * order and the reservation rolled back. The guest never touches the
 * caps' bytes. */
#include <string.h>

#include "mount_internal.h"
#include "nub/guest_addr.h"

/* Releases the first n descriptors' references, last first. */
static void undo(struct nub_dir *d, const struct nub_cap_desc *in, uint32_t n)
{
    for (uint32_t i = n; i-- > 0;) {
        uint8_t hash[16];
        memcpy(hash, in[i].hash, 16); /* checked when it was put */
        uint32_t left;
        struct nub_dir_entry gone;
        nub_dir_release(d, hash, &left, &gone);
    }
}

static enum nub_status put_one(struct nub_mounts *m, const struct nub_cap_desc *src, uint32_t i,
                               int *existed, char *msg, size_t cap)
{
    struct nub_cap_desc d;
    memcpy(&d, src, sizeof d); /* host-writable block: copy, then check */
    if (d.kind > NUB_CAP_MANIFEST || d.reserved0 || d.segment || d.reserved)
        return mount_failv(msg, cap, NUB_ST_INVAL, "PUT_CAPS: cap %u: kind %u or reserved bad", i,
                           d.kind);
    if (!nub_cap_range_ok(m, d.gpa, d.len))
        return mount_failv(msg, cap, NUB_ST_INVAL,
                           "PUT_CAPS: cap %u: [0x%llx, +%llu) is not in the cap window", i,
                           (unsigned long long)d.gpa, (unsigned long long)d.len);
    uint32_t refs;
    enum nub_status st = nub_dir_put(m->dir, d.hash, d.gpa, d.len, d.kind, &refs, existed);
    switch (st) {
    case NUB_ST_OK:
        return st;
    case NUB_ST_EXISTS:
        return mount_failv(msg, cap, st, "PUT_CAPS: cap %u: its hash exists with another length",
                           i);
    case NUB_ST_NOMEM:
        return mount_failv(msg, cap, st, "PUT_CAPS: no memory to grow the directory");
    case NUB_ST_QUOTA:
        return mount_failv(msg, cap, st, "PUT_CAPS: directory full");
    default:
        return mount_failv(msg, cap, st, "PUT_CAPS: cap %u: count or size overflow", i);
    }
}

enum nub_status nub_put_caps_call(struct nub_mounts *m, const uint64_t *args, uint64_t *ret,
                                  char *msg, size_t msg_cap)
{
    uint64_t gpa = args[0], n = args[1];
    for (int i = 2; i < NUB_MAILBOX_ARGS; i++)
        if (args[i])
            return mount_failv(msg, msg_cap, NUB_ST_INVAL, "PUT_CAPS: args[%d] must be 0", i);
    if (n == 0 || n > NUB_PUT_CAPS_MAX)
        return mount_failv(msg, msg_cap, NUB_ST_INVAL, "PUT_CAPS: %llu caps (1..%u)",
                           (unsigned long long)n, NUB_PUT_CAPS_MAX);
    enum nub_heap_owner owner = 0;
    uint64_t block = nub_heap_block_size(m->heap, gpa, &owner);
    if (block == 0 || owner != NUB_OWNER_HOST || block < n * sizeof(struct nub_cap_desc))
        return mount_failv(msg, msg_cap, NUB_ST_INVAL,
                           "PUT_CAPS: 0x%llx is not a block from ALLOC holding %llu caps",
                           (unsigned long long)gpa, (unsigned long long)n);
    const struct nub_cap_desc *in = nub_mem_ptr(gpa);
    struct nub_dir *d = m->dir;
    /* Room for the batch first, as if every cap were new, so no put in
     * it grows the table (looking each up first cost a probe per cap;
     * over-counting only lets a growth come a little early). */
    struct nub_dir_mark mark;
    enum nub_status st = nub_dir_reserve(d, n, &mark);
    if (st != NUB_ST_OK)
        return mount_failv(msg, msg_cap, st, "PUT_CAPS: %s",
                           st == NUB_ST_NOMEM ? "no memory to grow the directory"
                                              : "directory at its maximum size");
    uint32_t done = 0, created = 0;
    for (; done < n; done++) {
        int existed = 0;
        st = put_one(m, &in[done], done, &existed, msg, msg_cap);
        if (st != NUB_ST_OK)
            break;
        created += !existed;
    }
    if (st != NUB_ST_OK) {
        undo(d, in, done);
        nub_dir_rollback(d, &mark);
        return st;
    }
    nub_dir_commit(d, &mark);
    nub_heap_free(m->heap, gpa, NUB_OWNER_HOST); /* the list is read; the caps stay */
    ret[0] = created;
    ret[1] = n;
    return NUB_ST_OK;
}
