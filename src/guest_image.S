/* Embeds the guest kernel ELF (built by guest/kernel.cmake) into the host
 * library; NUB_GUEST_IMAGE_PATH is set by src/host.cmake. */
    .section .rodata.nub_guest_image, "a"
    .balign 64
    .globl nub_guest_image_start
    .hidden nub_guest_image_start
nub_guest_image_start:
#ifdef NUB_GUEST_IMAGE_PATH
    .incbin NUB_GUEST_IMAGE_PATH
#endif
    .globl nub_guest_image_end
    .hidden nub_guest_image_end
nub_guest_image_end:

    .section .note.GNU-stack, "", @progbits
