/* The guest's call loop body, in plain C: reads the op in the mailbox,
 * runs it against the heap and the directory, writes status/ret/msg, the
 * scrub list and seq_done. The kernel calls nub_core_call() once per resume
 * and then exits to NUB_PORT_DONE; host tests call it directly over a
 * buffer that stands in for guest memory. */
#ifndef NUB_GUEST_CORE_H
#define NUB_GUEST_CORE_H

#include <stdint.h>

#include "nub/abi.h"
#include "nub/guest_dir.h"
#include "nub/guest_heap.h"
#include "nub/guest_mount.h"
#include "nub/guest_run.h"

#ifndef NUB_GUEST_VERSION
#define NUB_GUEST_VERSION "0"
#endif
/* The READY mailbox message: the host logs it with its boot times. */
#define NUB_READY_MSG "nubfs guest v" NUB_GUEST_VERSION

struct nub_core {
    struct nub_boot_info *bi;
    struct nub_mailbox *mb;
    uint64_t heap_start; /* the guest's own copy; boot info is host-writable */
    struct nub_heap heap;
    struct nub_dir dir;
    uint64_t mount_table_gpa;
    struct nub_mounts mounts; /* the mount table (guest/mount/) */
    struct nub_run run;       /* the tasks' run state (guest/run/) */
    uint64_t calls;
    int initialized;
};

/* c must be zero: the kernel's core is static storage, and the host
 * zeroes .bss at every load (boot and reboot); tests calloc theirs. Each
 * byte the guest stores costs emulation time on kvm-pvm (a rep stos runs
 * one emulated store per word), so nothing zero is zeroed again.
 * Publishes heap_start (page-aligned) in boot info and fills the mailbox
 * with the READY report (op READY, status OK, the banner). With
 * NUB_BOOT_F_INIT in bi->flags it also does INIT, whose answer READY then
 * carries. The caller then exits to NUB_PORT_DONE. ring may be NULL. */
void nub_core_boot(struct nub_core *c, struct nub_boot_info *bi, struct nub_mailbox *mb,
                   struct nub_log_ring *ring, uint64_t heap_start);

/* Serves the call in the mailbox. */
void nub_core_call(struct nub_core *c);

#endif /* NUB_GUEST_CORE_H */
