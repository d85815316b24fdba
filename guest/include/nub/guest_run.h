/* The task runner's state in the guest core (guest/run/tasks_run.c):
 * NUB_OP_RUN runs the tasks of every live mount in slices of fuel. */
#ifndef NUB_GUEST_RUN_H
#define NUB_GUEST_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "nub/abi.h"
#include "nub/guest_heap.h"
#include "nub/guest_mount.h"
#include "wasm.h"

struct run_mount;

struct nub_run {
    struct nub_heap *heap;
    struct nub_mounts *mounts;
    struct nub_wasm_env env;
    struct run_mount *rm[NUB_MOUNT_SLOTS]; /* by mount table slot */
    uint32_t cursor;                       /* slot the next round starts at */
    /* The slots with run state, ascending, as of the mount table's
     * generation synced_gen (a mount or unmount changes it): a slice
     * walks these, not every slot. */
    uint16_t live[NUB_MOUNT_SLOTS];
    uint32_t nlive;
    uint64_t synced_gen;
    int synced; /* 0: look at the table at the next slice */
};

/* Sets up the run state over heap h and mounts m. *r must be zero (it is
 * part of the core, in .bss: zeroing its 2.6 KB again was ~330 emulated
 * string-store iterations of every start). */
void nub_run_init(struct nub_run *r, struct nub_heap *h, struct nub_mounts *m);

/* NUB_OP_RUN (abi.h "Tasks"). */
enum nub_status nub_run_call(struct nub_run *r, const uint64_t *args, uint64_t *ret, char *msg,
                             size_t msg_cap);

#endif /* NUB_GUEST_RUN_H */
