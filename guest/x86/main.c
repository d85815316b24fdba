/* The kernel's entry in C and its call loop. The ELF symbols nub_boot_info
 * and nub_mailbox are how the host finds the two blocks it talks through;
 * the .note.nubfs note carries the ABI version for the ELF loader. */
#include <stdint.h>

#include "nub/abi.h"
#include "nub/guest_core.h"
#include "nub/guest_log.h"
#include "x86.h"

struct nub_boot_info nub_boot_info = {
    .magic = NUB_BOOT_MAGIC,
    .abi_version = NUB_ABI_VERSION,
};
struct nub_mailbox nub_mailbox;

static struct nub_log_ring log_ring;
static struct nub_core core;

/* End of the image (linker script), where the heap begins. */
extern char nub_image_end[];

struct nub_elf_note {
    uint32_t namesz, descsz, type;
    char name[8]; /* "NUBFS\0" padded to 4 bytes */
    uint32_t desc;
};
__attribute__((section(".note.nubfs"), aligned(4), used)) static const struct nub_elf_note
    abi_note = {sizeof NUB_NOTE_NAME, sizeof(uint32_t), NUB_NOTE_ABI, NUB_NOTE_NAME,
                NUB_ABI_VERSION};

void nub_kmain(void)
{
    nub_log_attach(&log_ring, &nub_mailbox); /* panics have a mailbox from now on */
    nub_idt_init();
    nub_boot_info.log_ring_gpa = (uint64_t)(uintptr_t)&log_ring;
    nub_core_boot(&core, &nub_boot_info, &nub_mailbox, &log_ring,
                  (uint64_t)(uintptr_t)nub_image_end);
    for (;;) {
        nub_outb(NUB_PORT_DONE); /* READY first, then each finished call */
        nub_core_call(&core);
    }
}
