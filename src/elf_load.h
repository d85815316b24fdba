/* Validating and loading the guest kernel ELF (libelf).
 *
 * nub_elf_parse checks everything first (format, segments, symbols, ABI
 * version) and touches no guest memory; nub_elf_load then copies the
 * PT_LOAD segments in. A refused ELF gets a one-line reason. */
#ifndef NUB_ELF_LOAD_H
#define NUB_ELF_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

#define NUB_ELF_MAX_SEGMENTS 16

struct nub_elf_segment {
    uint64_t gpa;    /* p_vaddr == p_paddr */
    uint64_t memsz;
    uint64_t filesz;
    uint64_t offset; /* in the file */
    uint32_t flags;  /* PF_R | PF_W | PF_X */
};

struct nub_elf_image {
    const uint8_t *file; /* the ELF bytes (not owned) */
    size_t file_size;
    uint64_t entry;
    uint64_t boot_info_gpa; /* symbol nub_boot_info */
    uint64_t mailbox_gpa;   /* symbol nub_mailbox */
    uint64_t image_end;     /* end of the highest PT_LOAD */
    uint32_t abi_version;   /* from the NUBFS note */
    size_t nseg;
    struct nub_elf_segment seg[NUB_ELF_MAX_SEGMENTS];
};

/* Validates an ELF image for a guest with mem_size bytes of RAM. 0, or
 * -ENOEXEC (not a usable nubfs kernel) / -EPROTO (ABI version differs) /
 * -ENOMEM with a reason in err. The image must outlive *out. */
int nub_elf_parse(const void *data, size_t size, uint64_t mem_size, struct nub_elf_image *out,
                  char *err, size_t errlen);

/* Copies every PT_LOAD segment into guest memory and zeroes its tail
 * (memsz beyond filesz). Only for an image nub_elf_parse accepted. */
int nub_elf_load(const struct nub_elf_image *img, const struct nub_guest_mem *gm);

/* Reads a whole kernel file (1 byte to 64 MiB) into a malloc'd buffer, as
 * nubfs -o kernel=PATH does. 0, or -errno (-ENOEXEC: not a regular file of
 * that size) with "nubfs: kernel=PATH: reason" in err. */
int nub_elf_read_file(const char *path, void **data, size_t *size, char *err, size_t errlen);

#endif /* NUB_ELF_LOAD_H */
