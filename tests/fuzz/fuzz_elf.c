/* libFuzzer target: guest kernel ELF validation (nub_elf_parse, libelf
 * underneath) on arbitrary bytes, then nub_elf_load of what it accepts
 * into a scratch guest memory of FUZZ_ELF_MEM bytes from gpa 0. Checks the
 * promises an accepted image makes: segments inside the file and inside
 * guest RAM above the page tables, disjoint, the entry in an executable
 * segment, boot info and mailbox in writable ones and apart, and after
 * the load the boot-info block carries the magic and ABI version. */
#include <errno.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf_load.h"
#include "nub/abi.h"

#define FUZZ_ELF_MEM (8ull << 20)

#define FUZZ_CHECK(cond)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,    \
                    #cond);                                                     \
            abort();                                                            \
        }                                                                       \
    } while (0)

static bool inside(const struct nub_elf_segment *s, uint64_t gpa, uint64_t len, uint32_t flag)
{
    return (s->flags & flag) && gpa >= s->gpa && gpa - s->gpa <= s->memsz &&
           len <= s->memsz - (gpa - s->gpa);
}

static bool in_some(const struct nub_elf_image *img, uint64_t gpa, uint64_t len, uint32_t flag)
{
    for (size_t i = 0; i < img->nseg; i++)
        if (inside(&img->seg[i], gpa, len, flag))
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *ram;
    if (!ram)
        ram = malloc(FUZZ_ELF_MEM);
    FUZZ_CHECK(ram != NULL);
    /* A private, exactly-sized copy: libelf gets a writable buffer and
     * ASan sees any read past the file. */
    uint8_t *file = malloc(size ? size : 1);
    FUZZ_CHECK(file != NULL);
    if (size)
        memcpy(file, data, size);

    struct nub_elf_image img;
    char err[256];
    err[0] = '\0';
    int r = nub_elf_parse(file, size, FUZZ_ELF_MEM, &img, err, sizeof(err));
    FUZZ_CHECK(r == 0 || r == -ENOEXEC || r == -EPROTO || r == -ENOMEM);
    FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
    if (r != 0) {
        FUZZ_CHECK(err[0] != '\0');
        free(file);
        return 0;
    }

    FUZZ_CHECK(img.nseg >= 1 && img.nseg <= NUB_ELF_MAX_SEGMENTS);
    FUZZ_CHECK(img.abi_version == NUB_ABI_VERSION);
    for (size_t i = 0; i < img.nseg; i++) {
        const struct nub_elf_segment *s = &img.seg[i];
        FUZZ_CHECK(s->memsz > 0 && s->filesz <= s->memsz);
        FUZZ_CHECK(s->offset <= size && s->filesz <= size - s->offset);
        FUZZ_CHECK(s->gpa >= NUB_PT_LIMIT && s->gpa <= FUZZ_ELF_MEM &&
                   s->memsz <= FUZZ_ELF_MEM - s->gpa);
        FUZZ_CHECK(s->gpa + s->memsz <= img.image_end);
        for (size_t j = 0; j < i; j++) {
            const struct nub_elf_segment *o = &img.seg[j];
            FUZZ_CHECK(s->gpa >= o->gpa + o->memsz || o->gpa >= s->gpa + s->memsz);
        }
    }
    FUZZ_CHECK(img.image_end <= FUZZ_ELF_MEM);
    FUZZ_CHECK(in_some(&img, img.entry, 1, PF_X));
    FUZZ_CHECK(in_some(&img, img.boot_info_gpa, sizeof(struct nub_boot_info), PF_W));
    FUZZ_CHECK(in_some(&img, img.mailbox_gpa, sizeof(struct nub_mailbox), PF_W));
    FUZZ_CHECK(img.boot_info_gpa % 8 == 0 && img.mailbox_gpa % 8 == 0);
    FUZZ_CHECK(img.boot_info_gpa + sizeof(struct nub_boot_info) <= img.mailbox_gpa ||
               img.mailbox_gpa + sizeof(struct nub_mailbox) <= img.boot_info_gpa);

    /* Load into a RAM full of junk: every byte of every segment is
     * written (file bytes, then zeros). */
    struct nub_guest_mem gm;
    nub_gm_init(&gm);
    FUZZ_CHECK(nub_gm_add_region(&gm, 0, FUZZ_ELF_MEM, ram, -1, 0) == 0);
    for (size_t i = 0; i < img.nseg; i++)
        memset(ram + img.seg[i].gpa, 0xa5, (size_t)img.seg[i].memsz);
    FUZZ_CHECK(nub_elf_load(&img, &gm) == 0);
    for (size_t i = 0; i < img.nseg; i++) {
        const struct nub_elf_segment *s = &img.seg[i];
        FUZZ_CHECK(memcmp(ram + s->gpa, file + s->offset, (size_t)s->filesz) == 0);
        const uint8_t *z = ram + s->gpa + s->filesz;
        size_t zl = (size_t)(s->memsz - s->filesz);
        FUZZ_CHECK(zl == 0 || (z[0] == 0 && memcmp(z, z + 1, zl - 1) == 0));
    }
    struct nub_boot_info bi;
    FUZZ_CHECK(nub_gm_read(&gm, img.boot_info_gpa, &bi, sizeof(bi)) == 0);
    FUZZ_CHECK(bi.magic == NUB_BOOT_MAGIC && bi.abi_version == NUB_ABI_VERSION);
    free(file);
    return 0;
}
