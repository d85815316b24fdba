/* Mount step 6: one ring buffer in guest memory per queue of the wiring
 * (layout in abi.h: struct nub_ring, then capacity length-prefixed slots).
 * The ring comes zeroed from the heap; only its header is written. */
#include "mount_internal.h"
#include "nub/guest_addr.h"

static enum nub_status connect_one(struct mctx *c, uint32_t i, struct nub_mount_queue *out)
{
    struct rvf_queue q;
    rvf_manifest_queue(&c->mf, i, &q);
    const struct rvf_limits *lim = &c->lim;
    if (q.src >= c->rec.ncomponents || q.dst >= c->rec.ncomponents || q.capacity == 0 ||
        (q.capacity & (q.capacity - 1)) || q.max_msg == 0)
        return mount_fail(c, NUB_ST_BADMSG, "queue %u: bad endpoints or geometry", i);
    if (q.capacity > lim->max_queue_capacity || q.max_msg > lim->max_message ||
        (uint64_t)q.capacity * q.max_msg > lim->max_queue_bytes)
        return mount_fail(c, NUB_ST_QUOTA, "queue %u: %u x %u bytes over the limits", i,
                          q.capacity, q.max_msg);
    /* capacity <= 2^32 and slot <= 2^32 + 8: the product fits in 64 bits. */
    uint64_t slot = nub_align_up((uint64_t)NUB_RING_SLOT_HEADER + q.max_msg, 8);
    uint64_t len = sizeof(struct nub_ring) + (uint64_t)q.capacity * slot;
    mount_copy_name(out->src_port, q.src_port);
    mount_copy_name(out->dst_port, q.dst_port);
    out->src = q.src;
    out->dst = q.dst;
    out->capacity = q.capacity;
    out->max_msg = q.max_msg;
    if (nub_heap_alloc(c->m->heap, len, 0, NUB_OWNER_MOUNT, &out->ring_gpa) != NUB_ST_OK) {
        out->ring_gpa = 0;
        return mount_fail(c, NUB_ST_NOMEM, "queue %s.%s -> %s.%s: no memory for %llu bytes",
                          c->comps[q.src].name, q.src_port, c->comps[q.dst].name, q.dst_port,
                          (unsigned long long)len);
    }
    out->ring_len = len;
    struct nub_ring *ring = nub_mem_ptr(out->ring_gpa);
    ring->magic = NUB_RING_MAGIC;
    ring->capacity = q.capacity;
    ring->max_msg = q.max_msg;
    ring->slot_size = slot;
    ring->head = ring->tail = 0;
    return NUB_ST_OK;
}

enum nub_status mount_queues_connect(struct mctx *c)
{
    for (uint32_t i = 0; i < c->rec.nqueues; i++) {
        enum nub_status st = connect_one(c, i, &c->queues[i]);
        if (st != NUB_ST_OK)
            return st;
        c->queues_made = i + 1;
    }
    return NUB_ST_OK;
}

void mount_queues_disconnect(struct nub_heap *h, struct nub_mount_queue *q, uint32_t n)
{
    for (uint32_t i = n; i-- > 0;) {
        if (q[i].ring_gpa)
            nub_heap_free(h, q[i].ring_gpa, NUB_OWNER_MOUNT);
        q[i].ring_gpa = 0;
        q[i].ring_len = 0;
    }
}
