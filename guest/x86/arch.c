/* The kernel's side of nub/guest_arch.h: port exits and the test ops that
 * misbehave on purpose so the host's recovery paths can be tested. */
#include <stdint.h>

#include "nub/guest_arch.h"
#include "nub/guest_log.h"
#include "x86.h"

void nub_arch_log_notify(void) { nub_outb(NUB_PORT_LOG); }

_Noreturn void nub_arch_abort(void)
{
    nub_outb(NUB_PORT_ABORT);
    for (;;) /* never hlt: an in-kernel LAPIC would swallow it */
        __asm__ volatile("pause");
}

enum nub_status nub_arch_test_op(uint32_t op, uint64_t arg, const struct nub_boot_info *bi,
                                 char *msg, uint64_t msg_cap)
{
    switch (op) {
    case NUB_OP_TEST_TRIPLE_FAULT: {
        /* With an empty IDT the #UD cannot be delivered: #GP, then #DF,
         * then shutdown (KVM_EXIT_SHUTDOWN). */
        struct __attribute__((packed)) {
            uint16_t limit;
            uint64_t base;
        } empty = {0, 0};
        __asm__ volatile("lidt %0\n\tud2" : : "m"(empty) : "memory");
        break;
    }
    case NUB_OP_TEST_MMIO:
        /* The host maps page tables beyond RAM but backs only
         * [0, mem_size): this store is a KVM_EXIT_MMIO. */
        *(volatile uint64_t *)(uintptr_t)bi->mem_size = 0x4f494d4d42554eull;
        nub_fmt(msg, msg_cap, "TEST_MMIO: store at 0x%llx did not trap",
                (unsigned long long)bi->mem_size);
        return NUB_ST_INVAL;
    case NUB_OP_TEST_SSE:
        nub_sse_probe();
        /* Only reached when the CPU allowed SSE: still a failure. */
        nub_panic("TEST_SSE: an SSE instruction executed without a fault");
    case NUB_OP_TEST_WRITE_CAP:
        /* Cap bytes are read-only KVM slots: this store must exit. */
        if (arg < NUB_CAP_WINDOW_BASE || arg - NUB_CAP_WINDOW_BASE > NUB_CAP_WINDOW_SIZE - 8) {
            nub_fmt(msg, msg_cap, "TEST_WRITE_CAP: 0x%llx is outside the cap window",
                    (unsigned long long)arg);
            return NUB_ST_INVAL;
        }
        *(volatile uint64_t *)(uintptr_t)arg = 0x5041434554495257ull;
        nub_fmt(msg, msg_cap, "TEST_WRITE_CAP: store at 0x%llx did not trap",
                (unsigned long long)arg);
        return NUB_ST_INVAL;
    case NUB_OP_TEST_HANG:
        for (;;)
            __asm__ volatile("" ::: "memory");
    default:
        break;
    }
    nub_fmt(msg, msg_cap, "test op 0x%x did not misbehave", op);
    return NUB_ST_INVAL;
}
