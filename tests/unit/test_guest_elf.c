/* Checks the built guest kernel as the host's ELF loader will see it:
 * a static x86-64 executable at NUB_KERNEL_BASE with sane PT_LOADs, the
 * nub_boot_info / nub_mailbox symbols with the ABI sizes, boot info
 * initialised with magic and ABI version, and the NUBFS ABI note.
 * Usage: test_guest_elf PATH-TO-nub-guest */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include "nub/abi.h"

static const char *elf_path;

struct img {
    int fd;
    Elf *e;
};

static void open_img(struct img *m)
{
    assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
    m->fd = open(elf_path, O_RDONLY);
    assert_true(m->fd >= 0);
    m->e = elf_begin(m->fd, ELF_C_READ, NULL);
    assert_non_null(m->e);
    assert_int_equal(elf_kind(m->e), ELF_K_ELF);
}

static void close_img(struct img *m)
{
    elf_end(m->e);
    close(m->fd);
}

static void test_header_and_segments(void **state)
{
    (void)state;
    struct img m;
    open_img(&m);
    GElf_Ehdr eh;
    assert_non_null(gelf_getehdr(m.e, &eh));
    assert_int_equal(eh.e_ident[EI_CLASS], ELFCLASS64);
    assert_int_equal(eh.e_type, ET_EXEC);
    assert_int_equal(eh.e_machine, EM_X86_64);
    size_t n;
    assert_int_equal(elf_getphdrnum(m.e, &n), 0);
    int entry_ok = 0, notes = 0, loads = 0;
    uint64_t prev_end = NUB_KERNEL_BASE;
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        assert_non_null(gelf_getphdr(m.e, (int)i, &ph));
        assert_true(ph.p_type == PT_LOAD || ph.p_type == PT_NOTE);
        if (ph.p_type == PT_NOTE) {
            notes++;
            continue;
        }
        loads++;
        /* In address order, page aligned, above the kernel base, not
         * overlapping, file part no larger than memory part. */
        assert_true(ph.p_vaddr >= prev_end);
        assert_int_equal(ph.p_vaddr, ph.p_paddr);
        assert_int_equal(ph.p_vaddr % NUB_PAGE_SIZE, 0);
        assert_int_equal(ph.p_offset % NUB_PAGE_SIZE, 0);
        assert_true(ph.p_filesz <= ph.p_memsz);
        assert_true(ph.p_vaddr + ph.p_memsz < (64ull << 20));
        prev_end = ph.p_vaddr + ph.p_memsz;
        if ((ph.p_flags & PF_X) && eh.e_entry >= ph.p_vaddr && eh.e_entry < prev_end)
            entry_ok = 1;
        assert_false((ph.p_flags & PF_X) && (ph.p_flags & PF_W)); /* W^X */
    }
    assert_true(entry_ok);
    assert_int_equal(notes, 1);
    assert_true(loads >= 1);
    close_img(&m);
}

/* Finds a symbol; returns its value and size. */
static int find_sym(Elf *e, const char *name, GElf_Sym *out)
{
    for (Elf_Scn *s = NULL; (s = elf_nextscn(e, s));) {
        GElf_Shdr sh;
        if (!gelf_getshdr(s, &sh) || sh.sh_type != SHT_SYMTAB)
            continue;
        Elf_Data *d = elf_getdata(s, NULL);
        for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
            GElf_Sym sym;
            const char *nm;
            if (gelf_getsym(d, (int)i, &sym) && (nm = elf_strptr(e, sh.sh_link, sym.st_name)) &&
                strcmp(nm, name) == 0) {
                *out = sym;
                return 1;
            }
        }
    }
    return 0;
}

/* Copies len file bytes at virtual address va out of the PT_LOAD holding them. */
static int read_va(Elf *e, int fd, uint64_t va, void *buf, size_t len)
{
    size_t n;
    elf_getphdrnum(e, &n);
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && va >= ph.p_vaddr &&
            va + len <= ph.p_vaddr + ph.p_filesz)
            return pread(fd, buf, len, (off_t)(ph.p_offset + va - ph.p_vaddr)) == (ssize_t)len;
    }
    return 0;
}

static void test_symbols_and_boot_info(void **state)
{
    (void)state;
    struct img m;
    open_img(&m);
    GElf_Sym bi, mb;
    assert_true(find_sym(m.e, NUB_SYM_BOOT_INFO, &bi));
    assert_true(find_sym(m.e, NUB_SYM_MAILBOX, &mb));
    assert_int_equal(bi.st_size, sizeof(struct nub_boot_info));
    assert_int_equal(mb.st_size, sizeof(struct nub_mailbox));
    assert_int_equal(bi.st_value % 8, 0);
    assert_int_equal(mb.st_value % 8, 0);
    struct nub_boot_info b;
    assert_true(read_va(m.e, m.fd, bi.st_value, &b, sizeof b));
    assert_int_equal(b.magic, NUB_BOOT_MAGIC);
    assert_int_equal(b.abi_version, NUB_ABI_VERSION);
    assert_int_equal(b.directory_gpa, 0);
    close_img(&m);
}

static void test_abi_note(void **state)
{
    (void)state;
    struct img m;
    open_img(&m);
    int found = 0;
    for (Elf_Scn *s = NULL; (s = elf_nextscn(m.e, s));) {
        GElf_Shdr sh;
        if (!gelf_getshdr(s, &sh) || sh.sh_type != SHT_NOTE)
            continue;
        Elf_Data *d = elf_getdata(s, NULL);
        GElf_Nhdr nh;
        size_t off = 0, name_off, desc_off;
        while (d && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
            if (nh.n_namesz == sizeof NUB_NOTE_NAME &&
                memcmp((char *)d->d_buf + name_off, NUB_NOTE_NAME, nh.n_namesz) == 0 &&
                nh.n_type == NUB_NOTE_ABI) {
                uint32_t v;
                assert_int_equal(nh.n_descsz, 4);
                memcpy(&v, (char *)d->d_buf + desc_off, 4);
                assert_int_equal(v, NUB_ABI_VERSION);
                found++;
            }
        }
    }
    assert_int_equal(found, 1);
    close_img(&m);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s nub-guest-elf\n", argv[0]);
        return 2;
    }
    elf_path = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_and_segments),
        cmocka_unit_test(test_symbols_and_boot_info),
        cmocka_unit_test(test_abi_note),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
