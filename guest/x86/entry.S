/* Kernel entry and CPU exception stubs.
 *
 * The host starts the vCPU here in 64-bit mode with interrupts off and an
 * unspecified RSP, so the first thing is our own stack. The exception
 * stubs give the C fault handler a uniform frame (vector, error code, then
 * what the CPU pushed), so every fault becomes a panic with a message. */

    .section .text.entry, "ax"
    .globl _start
    .type _start, @function
_start:
    cli
    cld
    lea nub_stack_top(%rip), %rsp
    xor %ebp, %ebp
    call nub_kmain
1:  jmp 1b
    .size _start, . - _start

/* Vectors that push an error code themselves: 8, 10-14, 17, 21, 29, 30.
 * Vector v's entry point nub_isr_v lies at nub_isr_base + 16 * v (.org
 * refuses to move backwards), and the linker script puts nub_isr_base at
 * NUB_ISR_BASE: idt.c builds its gates from those constants. */
    .section .text.isr, "ax"
    .globl nub_isr_base
nub_isr_base:
    .irp v,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .org nub_isr_base + 16 * \v, 0xcc
nub_isr_\v:
    .if (\v == 8) || ((\v >= 10) && (\v <= 14)) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30)
    .else
    pushq $0
    .endif
    pushq $\v
    jmp nub_isr_common
    .endr
    .org nub_isr_base + 16 * 32, 0xcc

nub_isr_common:
    mov %rsp, %rdi          /* struct nub_fault_frame * */
    and $-16, %rsp
    call nub_fault          /* never returns */
2:  jmp 2b

/* The one SSE instruction in the image, for NUB_OP_TEST_SSE (the
 * no-SIMD check skips this function by name). */
    .text
    .globl nub_sse_probe
    .type nub_sse_probe, @function
nub_sse_probe:
    pxor %xmm0, %xmm0
    ret
    .size nub_sse_probe, . - nub_sse_probe

    .section .bss.stack, "aw", @nobits
    .balign 4096
nub_stack_bottom:
    .skip 65536
    .globl nub_stack_top
nub_stack_top:

    .section .note.GNU-stack, "", @progbits
