/* Small x86-64 helpers shared by the kernel's machine-specific files. */
#ifndef NUB_X86_H
#define NUB_X86_H

#include <stdint.h>

/* An exit to the host. "memory": the host reads and writes guest memory
 * while we are stopped here, so nothing may be cached across it. */
static inline void nub_outb(uint16_t port)
{
    __asm__ volatile("outb %%al, %%dx" : : "a"(0), "d"(port) : "memory");
}

/* Frame built by the stubs in entry.S. */
struct nub_fault_frame {
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

/* Where entry.S's exception entry points lie (kernel.ld asserts it):
 * vector v's at NUB_ISR_BASE + 16 * v. */
#define NUB_ISR_BASE 0x200040ull
#define NUB_ISR_STRIDE 16u

void nub_idt_init(void);
void nub_fault(struct nub_fault_frame *f);
void nub_sse_probe(void);
void nub_kmain(void);

#endif /* NUB_X86_H */
