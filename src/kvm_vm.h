/* One KVM virtual machine for the nubfs guest: /dev/kvm, the VM, one
 * memfd-backed RAM slot at gpa 0, any number of read-only slots in the cap
 * window (docs/cap-store.md), and one vCPU put straight into 64-bit long
 * mode (no firmware) with host-built identity page tables.
 *
 * Guest RAM and its memfd live as long as the nub_vm; nub_vm_reset throws
 * away the VM and vCPU, zeroes RAM and makes a fresh VM on the same
 * memory with the same read-only slots, so pointers into RAM, the cap
 * mappings and the guest_mem set stay valid. */
#ifndef NUB_KVM_VM_H
#define NUB_KVM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "guest_mem.h"

struct nub_vm {
    int kvm_fd;
    int vm_fd;
    int vcpu_fd;
    int mem_fd;          /* memfd backing guest RAM */
    uint8_t *mem;        /* MAP_SHARED mapping of mem_fd */
    uint64_t mem_size;
    struct kvm_run *run; /* vCPU run area (mmap of vcpu_fd) */
    size_t run_size;
    struct nub_guest_mem gm; /* [0, mem_size) -> mem, mem_fd; then one
                                read-only region per extra slot */
    int stats_fd;            /* vCPU binary stats (KVM_GET_STATS_FD), or -1 */
    int64_t insn_stat_off;   /* offset of "insn_emulation" in stats_fd, or -1 */
    /* Read-only slots (nub_vm_map_ro), in no particular order. */
    struct nub_vm_slot *slots;
    size_t nslots, slots_cap;
    uint32_t *free_ids;      /* KVM slot ids given back, reused first */
    size_t nfree;
    uint32_t next_id;        /* next never-used KVM slot id (0 is RAM) */
    uint32_t max_slots;      /* KVM_CAP_NR_MEMSLOTS */
    int readonly_mem;        /* KVM_CAP_READONLY_MEM */
    struct kvm_cpuid2 *cpuid; /* the guest's CPUID (build_cpuid), kept for reboots */
};

struct nub_vm_slot {
    uint32_t id;
    uint64_t gpa, size;
    const void *host;
    int fd;
    off_t fd_offset;
};

/* Opens /dev/kvm, allocates mem_size bytes of RAM (multiple of 2 MiB,
 * NUB_MIN_MEM..NUB_MAX_MEM) and creates the VM and vCPU. -errno and a
 * one-line reason (with the fix when there is one) in err on failure. */
int nub_vm_create(struct nub_vm *vm, uint64_t mem_size, char *err, size_t errlen);

/* Writes the page tables, GDT and TSS below NUB_PT_LIMIT and sets the vCPU
 * registers for 64-bit mode with RIP = entry, RSP = 0 (the guest sets its
 * own stack), RFLAGS = 0x2. The page tables identity-map RAM rounded up
 * to 1 GiB plus the GiB after it, and each cap-window GiB a slot lies in
 * (nub_vm_map_ro adds them as slots come), with 2 MiB pages, except the
 * first 2 MiB, which uses 4 KiB pages with page 0 not present. Addresses
 * mapped but not backed by a slot exit with KVM_EXIT_MMIO, and so do
 * stores to a read-only slot; the rest is not present (a guest #PF). */
int nub_vm_setup_long_mode(struct nub_vm *vm, uint64_t entry, char *err, size_t errlen);

/* Destroys the VM and vCPU, zeroes all RAM, and creates a fresh VM and
 * vCPU on the same memory. Call nub_vm_setup_long_mode afterwards. */
int nub_vm_reset(struct nub_vm *vm, char *err, size_t errlen);

/* Shows host[0, size) to the guest read-only at gpa (KVM_MEM_READONLY),
 * and adds the matching read-only guest_mem region (fd/fd_offset: the
 * backing file, for splicing, or -1). gpa and size page aligned, inside
 * the cap window [NUB_CAP_WINDOW_BASE, +NUB_CAP_WINDOW_SIZE), overlapping
 * nothing. The slot survives nub_vm_reset. -EINVAL (bad range, overlap),
 * -ENOTSUP (this KVM has no read-only memory), -ENOSPC (KVM memory slots
 * used up), -ENOMEM, or the -errno of the ioctl. Do it while the vCPU
 * does not run and no other thread uses the guest_mem set. */
int nub_vm_map_ro(struct nub_vm *vm, uint64_t gpa, uint64_t size, const void *host, int fd,
                  off_t fd_offset);
/* Removes the slot mapped at gpa; -ENOENT if none starts there. The same
 * conditions as nub_vm_map_ro. The host mapping may go once it returns. */
int nub_vm_unmap(struct nub_vm *vm, uint64_t gpa);
/* Slots nub_vm_map_ro may still add. */
uint32_t nub_vm_slots_free(const struct nub_vm *vm);

/* One KVM_RUN: 0, or -errno (-EINTR when kicked by a signal or
 * immediate_exit). The exit is in vm->run. */
int nub_vm_run(struct nub_vm *vm);

/* General registers of the vCPU (for poison reasons); -errno on failure. */
int nub_vm_get_regs(struct nub_vm *vm, struct kvm_regs *regs);

/* Instructions KVM emulated for this vCPU (its "insn_emulation" stat).
 * On kvm-pvm, which emulates every instruction of a non-PVM guest, this
 * is the guest's instruction count; on hardware KVM only the few emulated
 * ones. -ENOTSUP if this KVM has no binary stats. */
int nub_vm_emulated_insns(const struct nub_vm *vm, uint64_t *out);

void nub_vm_destroy(struct nub_vm *vm);

/* Name of a KVM_EXIT_* reason, e.g. "KVM_EXIT_SHUTDOWN". */
const char *nub_kvm_exit_name(uint32_t reason);

#endif /* NUB_KVM_VM_H */
