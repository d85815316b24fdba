/* A minimal IDT: every CPU exception (vectors 0-31) panics with the vector,
 * error code, RIP and (for #PF) CR2, so a null dereference or a bug
 * becomes an ABORT with a reason instead of a silent triple fault. The
 * entry points (entry.S) lie at fixed addresses, so the table is a
 * constant: building it at boot cost ~400 emulated instructions a start. */
#include <stdint.h>

#include "nub/abi.h"
#include "nub/guest_arch.h"
#include "nub/guest_log.h"
#include "x86.h"

struct idt_gate {
    uint16_t off_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type; /* 0x8e: present, DPL 0, 64-bit interrupt gate */
    uint16_t off_mid;
    uint32_t off_hi;
    uint32_t zero;
};

struct __attribute__((packed)) idt_ptr {
    uint16_t limit;
    uint64_t base;
};

#define ISR_ADDR(v) (NUB_ISR_BASE + NUB_ISR_STRIDE * (v))
#define GATE(v)                                                                                \
    {.off_lo = (uint16_t)ISR_ADDR(v), .selector = NUB_SEL_CODE, .type = 0x8e,                  \
     .off_mid = (uint16_t)(ISR_ADDR(v) >> 16), .off_hi = (uint32_t)(ISR_ADDR(v) >> 32)}
#define GATE4(v) GATE(v), GATE(v + 1), GATE(v + 2), GATE(v + 3)
static const struct idt_gate idt[32] __attribute__((aligned(16))) = {
    GATE4(0), GATE4(4), GATE4(8), GATE4(12), GATE4(16), GATE4(20), GATE4(24), GATE4(28),
};

void nub_idt_init(void)
{
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    if (cs != NUB_SEL_CODE) /* the gates name the host's code selector */
        nub_panic("running on code selector 0x%x, not 0x%x", cs, NUB_SEL_CODE);
    struct idt_ptr p = {sizeof idt - 1, (uint64_t)(uintptr_t)idt};
    __asm__ volatile("lidt %0" : : "m"(p) : "memory");
}

static const char *const names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
    "#BR bound range", "#UD invalid opcode", "#NM no FPU", "#DF double fault",
    "coprocessor overrun", "#TS invalid TSS", "#NP segment not present", "#SS stack fault",
    "#GP general protection", "#PF page fault", "reserved", "#MF x87 error",
    "#AC alignment check", "#MC machine check", "#XM SIMD exception", "#VE virtualization",
    "#CP control protection",
};

void nub_fault(struct nub_fault_frame *f)
{
    static int depth;
    if (depth++) /* faulted while reporting a fault: just stop */
        nub_arch_abort();
    uint64_t cr2 = 0;
    if (f->vector == 14)
        __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    const char *name = f->vector < 32 && names[f->vector] ? names[f->vector] : "reserved";
    nub_panic("cpu exception %llu (%s) error=0x%llx rip=0x%llx cr2=0x%llx",
              (unsigned long long)f->vector, name, (unsigned long long)f->error,
              (unsigned long long)f->rip, (unsigned long long)cr2);
}
