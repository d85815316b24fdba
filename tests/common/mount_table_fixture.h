/* A valid mount table written into a host-side guest memory from abi.h
 * alone (no guest code): the fixture the mount-reader unit test corrupts
 * and the seed the mount-reader fuzz target starts from. The caller picks
 * the addresses (struct mtf_layout) and writes the boot info itself. */
#ifndef NUB_TEST_MOUNT_TABLE_FIXTURE_H
#define NUB_TEST_MOUNT_TABLE_FIXTURE_H

#include <stdint.h>

#include "guest_mem.h"
#include "nub/abi.h"

/* Offsets of the record arrays inside the records block. */
#define MTF_OFF_COMP 0x0
#define MTF_OFF_REG 0x100
#define MTF_OFF_Q 0x280
#define MTF_OFF_TASK 0x380
#define MTF_OFF_GRANT 0x4c0
#define MTF_OFF_CAP 0x500
#define MTF_RECS_MIN 0x590 /* records_len must be at least this */

struct mtf_layout {
    uint64_t table_gpa, slots_gpa, capacity;
    uint32_t zombie_slot, hello_slot, tiny_slot; /* distinct, < capacity */
    uint64_t recs_gpa, recs_len;                 /* records block */
    uint64_t pkg_gpa, pkg_len;                   /* pkg_len >= 0x400 */
    uint64_t ring_gpa;                           /* the queue's ring */
    uint64_t log_gpa, log_size, log_length;      /* the append-only region */
};

static inline uint64_t mtf_slot_gpa(const struct mtf_layout *l, uint32_t i)
{
    return l->slots_gpa + (uint64_t)i * sizeof(struct nub_mount_rec);
}

/* Writes the table: a zombie "gone" (handle 1); a live "hello" (handle 2)
 * with components producer/consumer, an immutable region "banner"
 * ("hello world" in the package) and an append-only "log" ('a'..'z'
 * repeated), one queue out->in with its ring (head 5, tail 7), three tasks
 * run/tick/main, three grants and three caps; a live "tiny" (handle 3)
 * with one cap only. 0, or -1 if a write fails. */
int mtf_build(struct nub_guest_mem *gm, const struct mtf_layout *l);

#endif /* NUB_TEST_MOUNT_TABLE_FIXTURE_H */
