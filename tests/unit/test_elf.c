/* Unit tests of guest kernel ELF validation and loading (src/elf_load.c).
 * The valid input is the tiny test kernel (tests/unit/fixtures), built by
 * the system toolchain; every bad input is a patched or truncated copy. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "elf_load.h"
#include "guest_image.h"
#include "nub/abi.h"

#define MEM (16ull << 20)

static uint8_t *orig;
static size_t orig_size;

static int setup(void **state)
{
    (void)state;
    char err[256];
    void *d;
    if (nub_elf_read_file(NUB_TEST_KERNEL, &d, &orig_size, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    orig = d;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(orig);
    return 0;
}

static uint8_t *copy(void)
{
    uint8_t *b = malloc(orig_size);
    assert_non_null(b);
    memcpy(b, orig, orig_size);
    return b;
}

static Elf64_Ehdr *ehdr(uint8_t *b)
{
    return (Elf64_Ehdr *)b;
}

static Elf64_Phdr *phdr(uint8_t *b, int type, int nth)
{
    Elf64_Ehdr *e = ehdr(b);
    for (int i = 0; i < e->e_phnum; i++) {
        Elf64_Phdr *p = (Elf64_Phdr *)(b + e->e_phoff + (size_t)i * e->e_phentsize);
        if ((int)p->p_type == type && nth-- == 0)
            return p;
    }
    fail_msg("no program header of type %d", type);
    return NULL;
}

static Elf64_Shdr *shdr_by_type(uint8_t *b, uint32_t type)
{
    Elf64_Ehdr *e = ehdr(b);
    for (int i = 0; i < e->e_shnum; i++) {
        Elf64_Shdr *s = (Elf64_Shdr *)(b + e->e_shoff + (size_t)i * e->e_shentsize);
        if (s->sh_type == type)
            return s;
    }
    fail_msg("no section of type %u", type);
    return NULL;
}

static Elf64_Sym *symbol(uint8_t *b, const char *name)
{
    Elf64_Shdr *st = shdr_by_type(b, SHT_SYMTAB);
    Elf64_Ehdr *e = ehdr(b);
    Elf64_Shdr *str = (Elf64_Shdr *)(b + e->e_shoff + (size_t)st->sh_link * e->e_shentsize);
    for (size_t i = 0; i < st->sh_size / sizeof(Elf64_Sym); i++) {
        Elf64_Sym *s = (Elf64_Sym *)(b + st->sh_offset) + i;
        if (strcmp((char *)b + str->sh_offset + s->st_name, name) == 0)
            return s;
    }
    fail_msg("no symbol %s", name);
    return NULL;
}

/* Parses b; returns the result and leaves the reason in err. */
static int parse(const uint8_t *b, size_t n, char *err, size_t errlen)
{
    struct nub_elf_image img;
    err[0] = '\0';
    return nub_elf_parse(b, n, MEM, &img, err, errlen);
}

#define EXPECT_REFUSED(buf, code, needle)                                                   \
    do {                                                                                     \
        char err_[256];                                                                      \
        assert_int_equal(parse((buf), orig_size, err_, sizeof(err_)), (code));               \
        if (strstr(err_, (needle)) == NULL)                                                  \
            fail_msg("reason \"%s\" does not mention \"%s\"", err_, (needle));               \
    } while (0)

static void test_valid(void **state)
{
    (void)state;
    struct nub_elf_image img;
    char err[256] = "";
    int r = nub_elf_parse(orig, orig_size, MEM, &img, err, sizeof(err));
    if (r != 0)
        fail_msg("tiny kernel refused: %s", err);
    assert_int_equal(img.entry, 0x200000);
    assert_int_equal(img.nseg, 2);
    assert_int_equal(img.abi_version, NUB_ABI_VERSION);
    assert_int_equal(img.boot_info_gpa, symbol(orig, "nub_boot_info")->st_value);
    assert_int_equal(img.mailbox_gpa, symbol(orig, "nub_mailbox")->st_value);
    assert_true(img.image_end > img.mailbox_gpa);

    /* Loading copies the segments to their addresses and zeroes the tails. */
    uint8_t *ram = calloc(1, MEM);
    assert_non_null(ram);
    memset(ram + 0x200000, 0xff, 0x4000);
    struct nub_guest_mem gm;
    nub_gm_init(&gm);
    assert_int_equal(nub_gm_add_region(&gm, 0, MEM, ram, -1, 0), 0);
    /* Pretend the data segment has a .bss tail. */
    img.seg[1].memsz += 64;
    assert_int_equal(nub_elf_load(&img, &gm), 0);
    for (size_t i = 0; i < img.nseg; i++) {
        const struct nub_elf_segment *s = &img.seg[i];
        assert_memory_equal(ram + s->gpa, orig + s->offset, s->filesz);
        for (uint64_t j = s->filesz; j < s->memsz; j++)
            assert_int_equal(ram[s->gpa + j], 0);
    }
    uint64_t magic;
    memcpy(&magic, ram + img.boot_info_gpa, sizeof(magic));
    assert_int_equal(magic, NUB_BOOT_MAGIC);
    free(ram);
}

static void test_every_truncation_refused(void **state)
{
    (void)state;
    char err[256];
    for (size_t n = 0; n < orig_size; n++) {
        int r = parse(orig, n, err, sizeof(err));
        if (r == 0)
            fail_msg("truncated to %zu of %zu bytes but accepted", n, orig_size);
        assert_int_equal(r, -ENOEXEC);
        assert_true(strlen(err) > 0);
    }
}

static void test_header_fields(void **state)
{
    (void)state;
    uint8_t *b = copy();
    b[EI_MAG1] = 'X';
    EXPECT_REFUSED(b, -ENOEXEC, "not an ELF");
    memcpy(b, orig, orig_size);
    b[EI_CLASS] = ELFCLASS32;
    EXPECT_REFUSED(b, -ENOEXEC, "ELF64");
    memcpy(b, orig, orig_size);
    b[EI_DATA] = ELFDATA2MSB;
    EXPECT_REFUSED(b, -ENOEXEC, "little-endian");
    memcpy(b, orig, orig_size);
    ehdr(b)->e_machine = EM_AARCH64;
    EXPECT_REFUSED(b, -ENOEXEC, "x86-64");
    memcpy(b, orig, orig_size);
    ehdr(b)->e_type = ET_DYN;
    EXPECT_REFUSED(b, -ENOEXEC, "static executable");
    memcpy(b, orig, orig_size);
    ehdr(b)->e_phoff = orig_size - 8;
    EXPECT_REFUSED(b, -ENOEXEC, "");
    memcpy(b, orig, orig_size);
    ehdr(b)->e_entry = symbol(b, "nub_boot_info")->st_value; /* in data, not code */
    EXPECT_REFUSED(b, -ENOEXEC, "entry");
    memcpy(b, orig, orig_size);
    ehdr(b)->e_entry = 0x100000000ull;
    EXPECT_REFUSED(b, -ENOEXEC, "entry");
    free(b);
}

static void test_segments(void **state)
{
    (void)state;
    uint8_t *b = copy();
    Elf64_Phdr *data = phdr(b, PT_LOAD, 1);
    Elf64_Phdr *text = phdr(b, PT_LOAD, 0);

    data->p_vaddr = data->p_paddr = text->p_vaddr + 0x10; /* overlaps text */
    EXPECT_REFUSED(b, -ENOEXEC, "overlaps");
    memcpy(b, orig, orig_size);
    data->p_vaddr = data->p_paddr = MEM - 0x100; /* runs past RAM */
    EXPECT_REFUSED(b, -ENOEXEC, "does not fit");
    memcpy(b, orig, orig_size);
    data->p_vaddr = data->p_paddr = UINT64_MAX - 0x10; /* wraps */
    EXPECT_REFUSED(b, -ENOEXEC, "does not fit");
    memcpy(b, orig, orig_size);
    data->p_vaddr = data->p_paddr = 0x1000; /* over the page tables */
    EXPECT_REFUSED(b, -ENOEXEC, "page tables");
    memcpy(b, orig, orig_size);
    data->p_paddr += 0x1000;
    EXPECT_REFUSED(b, -ENOEXEC, "paddr");
    memcpy(b, orig, orig_size);
    data->p_filesz = data->p_memsz + 1;
    EXPECT_REFUSED(b, -ENOEXEC, "filesz > memsz");
    memcpy(b, orig, orig_size);
    data->p_offset = orig_size - 8;
    EXPECT_REFUSED(b, -ENOEXEC, "end of the file");
    memcpy(b, orig, orig_size);
    data->p_offset = UINT64_MAX - 8; /* offset + filesz overflows */
    EXPECT_REFUSED(b, -ENOEXEC, "end of the file");
    memcpy(b, orig, orig_size);
    data->p_flags &= ~(uint32_t)PF_W; /* boot info no longer writable */
    EXPECT_REFUSED(b, -ENOEXEC, "writable");
    memcpy(b, orig, orig_size);
    text->p_flags &= ~(uint32_t)PF_X;
    EXPECT_REFUSED(b, -ENOEXEC, "executable");
    free(b);
}

static void test_symbols(void **state)
{
    (void)state;
    uint8_t *b = copy();
    Elf64_Shdr *st = shdr_by_type(b, SHT_SYMTAB);
    Elf64_Shdr *str = (Elf64_Shdr *)(b + ehdr(b)->e_shoff + (size_t)st->sh_link *
                                             ehdr(b)->e_shentsize);
    char *name = (char *)b + str->sh_offset + symbol(b, "nub_mailbox")->st_name;
    name[4] = 'X';
    EXPECT_REFUSED(b, -ENOEXEC, "nub_mailbox");
    memcpy(b, orig, orig_size);
    name = (char *)b + str->sh_offset + symbol(b, "nub_boot_info")->st_name;
    name[4] = 'X';
    EXPECT_REFUSED(b, -ENOEXEC, "nub_boot_info");
    memcpy(b, orig, orig_size);
    symbol(b, "nub_boot_info")->st_size = 64;
    EXPECT_REFUSED(b, -ENOEXEC, "size");
    memcpy(b, orig, orig_size);
    symbol(b, "nub_mailbox")->st_size += 8;
    EXPECT_REFUSED(b, -ENOEXEC, "size");
    memcpy(b, orig, orig_size);
    symbol(b, "nub_mailbox")->st_value = MEM - 64; /* outside every segment */
    EXPECT_REFUSED(b, -ENOEXEC, "writable");
    memcpy(b, orig, orig_size);
    symbol(b, "nub_mailbox")->st_value = symbol(b, "nub_boot_info")->st_value + 64;
    EXPECT_REFUSED(b, -ENOEXEC, "");
    memcpy(b, orig, orig_size);
    shdr_by_type(b, SHT_SYMTAB)->sh_type = SHT_PROGBITS; /* stripped */
    EXPECT_REFUSED(b, -ENOEXEC, "stripped");
    free(b);
}

static void test_abi_version(void **state)
{
    (void)state;
    uint8_t *b = copy();
    Elf64_Shdr *note = shdr_by_type(b, SHT_NOTE);
    /* Nhdr (12 bytes) + "NUBFS\0" padded to 8 + desc. */
    uint32_t *desc = (uint32_t *)(b + note->sh_offset + 12 + 8);
    assert_int_equal(*desc, NUB_ABI_VERSION);
    *desc = NUB_ABI_VERSION + 1;
    EXPECT_REFUSED(b, -EPROTO, "ABI");
    memcpy(b, orig, orig_size);
    ((Elf64_Nhdr *)(b + note->sh_offset))->n_type = 77; /* no ABI note left */
    EXPECT_REFUSED(b, -ENOEXEC, "note");
    memcpy(b, orig, orig_size);
    memcpy(b + note->sh_offset + 12, "NUBFX", 5);
    EXPECT_REFUSED(b, -ENOEXEC, "note");
    /* The boot-info block in the image must agree. */
    memcpy(b, orig, orig_size);
    Elf64_Phdr *data = phdr(b, PT_LOAD, 1);
    uint64_t bi = symbol(b, "nub_boot_info")->st_value;
    uint8_t *bip = b + data->p_offset + (bi - data->p_vaddr);
    bip[0] ^= 1;
    EXPECT_REFUSED(b, -ENOEXEC, "magic");
    bip[0] ^= 1;
    bip[8] = NUB_ABI_VERSION + 1;
    EXPECT_REFUSED(b, -EPROTO, "ABI");
    free(b);
}

static void test_read_file_errors(void **state)
{
    (void)state;
    char err[256];
    void *d;
    size_t n;
    assert_int_equal(nub_elf_read_file("/nonexistent/kernel", &d, &n, err, sizeof(err)),
                     -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/kernel"));
    assert_int_equal(nub_elf_read_file("/", &d, &n, err, sizeof(err)), -ENOEXEC);
}

static void test_embedded_guest(void **state)
{
    (void)state;
    const void *d;
    size_t n;
    nub_guest_image(&d, &n);
    if (n == 0) {
        print_message("no embedded guest kernel in this build: nothing to check\n");
        return;
    }
    struct nub_elf_image img;
    char err[256] = "";
    int r = nub_elf_parse(d, n, NUB_DEFAULT_MEM, &img, err, sizeof(err));
    if (r != 0)
        fail_msg("embedded guest refused: %s", err);
    assert_true(img.entry >= NUB_KERNEL_BASE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_every_truncation_refused),
        cmocka_unit_test(test_header_fields),
        cmocka_unit_test(test_segments),
        cmocka_unit_test(test_symbols),
        cmocka_unit_test(test_abi_version),
        cmocka_unit_test(test_read_file_errors),
        cmocka_unit_test(test_embedded_guest),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
