/* Guest kernel ELF validation and loading with libelf. Everything is
 * checked before a single byte is copied into guest memory. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "elf_load.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "file_util.h"
#include "nub/abi.h"

#define MAX_KERNEL_FILE (64u << 20)
#define MAX_SYMBOLS (1u << 20) /* bound on the symtab walk */
#define MAX_SECTIONS 4096u

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        int n = snprintf(err, errlen, "nubfs: guest kernel refused: ");
        if (n >= 0 && (size_t)n < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return code;
}

/* The PT_LOAD holding [gpa, gpa+len), or NULL. */
static const struct nub_elf_segment *seg_holding(const struct nub_elf_image *img, uint64_t gpa,
                                                 uint64_t len)
{
    for (size_t i = 0; i < img->nseg; i++) {
        const struct nub_elf_segment *s = &img->seg[i];
        if (gpa >= s->gpa && gpa - s->gpa <= s->memsz && len <= s->memsz - (gpa - s->gpa))
            return s;
    }
    return NULL;
}

/* Plain header checks before libelf sees the bytes, so libelf only ever
 * gets native-order ELF64 (which it reads in place, never writing). */
static int check_ident(const uint8_t *p, size_t size, char *err, size_t errlen)
{
    if (size < sizeof(Elf64_Ehdr))
        return fail(err, errlen, -ENOEXEC, "file too short for an ELF header (%zu bytes)", size);
    if (memcmp(p, ELFMAG, SELFMAG) != 0)
        return fail(err, errlen, -ENOEXEC, "not an ELF file");
    if (p[EI_CLASS] != ELFCLASS64)
        return fail(err, errlen, -ENOEXEC, "not ELF64");
    if (p[EI_DATA] != ELFDATA2LSB)
        return fail(err, errlen, -ENOEXEC, "not little-endian");
    if (p[EI_VERSION] != EV_CURRENT)
        return fail(err, errlen, -ENOEXEC, "unknown ELF version");
    return 0;
}

/* Collects the PT_LOAD segments. Each must lie inside the file, be
 * identity-mapped (vaddr == paddr: the guest runs on identity page tables),
 * sit above the host-built page tables, fit in guest RAM and not overlap
 * another; the entry point must be in an executable one. */
static int parse_segments(Elf *e, const GElf_Ehdr *eh, size_t size, uint64_t mem_size,
                          struct nub_elf_image *img, char *err, size_t errlen)
{
    size_t phnum;
    if (elf_getphdrnum(e, &phnum) != 0)
        return fail(err, errlen, -ENOEXEC, "bad program headers: %s", elf_errmsg(-1));
    if (eh->e_phentsize != sizeof(Elf64_Phdr))
        return fail(err, errlen, -ENOEXEC, "bad program header size");
    if (eh->e_phoff > size || phnum > (size - eh->e_phoff) / sizeof(Elf64_Phdr))
        return fail(err, errlen, -ENOEXEC, "program headers beyond the end of the file");
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(e, (int)i, &ph) == NULL)
            return fail(err, errlen, -ENOEXEC, "program header %zu: %s", i, elf_errmsg(-1));
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        if (img->nseg == NUB_ELF_MAX_SEGMENTS)
            return fail(err, errlen, -ENOEXEC, "more than %d PT_LOAD segments",
                        NUB_ELF_MAX_SEGMENTS);
        if (ph.p_filesz > ph.p_memsz)
            return fail(err, errlen, -ENOEXEC, "segment %zu: filesz > memsz", i);
        if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset)
            return fail(err, errlen, -ENOEXEC, "segment %zu: beyond the end of the file", i);
        if (ph.p_vaddr != ph.p_paddr)
            return fail(err, errlen, -ENOEXEC, "segment %zu: vaddr != paddr", i);
        if (ph.p_vaddr < NUB_PT_LIMIT)
            return fail(err, errlen, -ENOEXEC,
                        "segment %zu at 0x%llx: below 0x%llx (page tables)", i,
                        (unsigned long long)ph.p_vaddr, NUB_PT_LIMIT);
        if (ph.p_vaddr > mem_size || ph.p_memsz > mem_size - ph.p_vaddr)
            return fail(err, errlen, -ENOEXEC,
                        "segment %zu [0x%llx, +0x%llx) does not fit in %llu MiB of guest RAM", i,
                        (unsigned long long)ph.p_vaddr, (unsigned long long)ph.p_memsz,
                        (unsigned long long)(mem_size >> 20));
        for (size_t j = 0; j < img->nseg; j++) {
            const struct nub_elf_segment *o = &img->seg[j];
            if (ph.p_vaddr < o->gpa + o->memsz && o->gpa < ph.p_vaddr + ph.p_memsz)
                return fail(err, errlen, -ENOEXEC, "segment %zu overlaps another segment", i);
        }
        img->seg[img->nseg++] = (struct nub_elf_segment){.gpa = ph.p_vaddr,
                                                         .memsz = ph.p_memsz,
                                                         .filesz = ph.p_filesz,
                                                         .offset = ph.p_offset,
                                                         .flags = ph.p_flags};
        if (ph.p_vaddr + ph.p_memsz > img->image_end)
            img->image_end = ph.p_vaddr + ph.p_memsz;
    }
    if (img->nseg == 0)
        return fail(err, errlen, -ENOEXEC, "no PT_LOAD segment");
    const struct nub_elf_segment *s = seg_holding(img, eh->e_entry, 1);
    if (s == NULL || !(s->flags & PF_X))
        return fail(err, errlen, -ENOEXEC, "entry 0x%llx is not in an executable segment",
                    (unsigned long long)eh->e_entry);
    img->entry = eh->e_entry;
    return 0;
}

/* Finds the boot-info and mailbox symbols in .symtab. */
static int parse_symbols(Elf *e, struct nub_elf_image *img, char *err, size_t errlen)
{
    bool have_bi = false, have_mb = false;
    Elf_Scn *scn = NULL;
    for (unsigned nscn = 0; (scn = elf_nextscn(e, scn)) != NULL; nscn++) {
        if (nscn >= MAX_SECTIONS)
            return fail(err, errlen, -ENOEXEC, "too many sections");
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) == NULL)
            return fail(err, errlen, -ENOEXEC, "bad section header: %s", elf_errmsg(-1));
        if (sh.sh_type != SHT_SYMTAB || sh.sh_entsize == 0)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        if (d == NULL)
            return fail(err, errlen, -ENOEXEC, "unreadable symbol table: %s", elf_errmsg(-1));
        size_t n = d->d_size / sh.sh_entsize;
        if (n > MAX_SYMBOLS)
            n = MAX_SYMBOLS;
        for (size_t i = 0; i < n; i++) {
            GElf_Sym sym;
            if (gelf_getsym(d, (int)i, &sym) == NULL)
                break;
            if (sym.st_shndx == SHN_UNDEF)
                continue;
            const char *name = elf_strptr(e, sh.sh_link, sym.st_name);
            if (name == NULL)
                continue;
            bool bi = strcmp(name, NUB_SYM_BOOT_INFO) == 0;
            bool mb = strcmp(name, NUB_SYM_MAILBOX) == 0;
            if (!bi && !mb)
                continue;
            uint64_t want = bi ? sizeof(struct nub_boot_info) : sizeof(struct nub_mailbox);
            if (sym.st_size != want)
                return fail(err, errlen, -ENOEXEC, "symbol %s has size %llu, expected %llu",
                            name, (unsigned long long)sym.st_size, (unsigned long long)want);
            if (sym.st_value % 8 != 0)
                return fail(err, errlen, -ENOEXEC, "symbol %s is not 8-byte aligned", name);
            const struct nub_elf_segment *s = seg_holding(img, sym.st_value, want);
            if (s == NULL || !(s->flags & PF_W))
                return fail(err, errlen, -ENOEXEC, "symbol %s is not in a writable segment",
                            name);
            if ((bi && have_bi) || (mb && have_mb))
                return fail(err, errlen, -ENOEXEC, "symbol %s defined twice", name);
            if (bi) {
                img->boot_info_gpa = sym.st_value;
                have_bi = true;
            } else {
                img->mailbox_gpa = sym.st_value;
                have_mb = true;
            }
        }
    }
    if (!have_bi)
        return fail(err, errlen, -ENOEXEC, "no symbol %s (was the kernel stripped?)",
                    NUB_SYM_BOOT_INFO);
    if (!have_mb)
        return fail(err, errlen, -ENOEXEC, "no symbol %s (was the kernel stripped?)",
                    NUB_SYM_MAILBOX);
    uint64_t a = img->boot_info_gpa, b = img->mailbox_gpa;
    if (a < b + sizeof(struct nub_mailbox) && b < a + sizeof(struct nub_boot_info))
        return fail(err, errlen, -ENOEXEC, "boot info and mailbox overlap");
    return 0;
}

/* The ABI version from the "NUBFS" note (SHT_NOTE sections). */
static int parse_note(Elf *e, struct nub_elf_image *img, char *err, size_t errlen)
{
    bool found = false;
    Elf_Scn *scn = NULL;
    for (unsigned nscn = 0; (scn = elf_nextscn(e, scn)) != NULL && nscn < MAX_SECTIONS; nscn++) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) == NULL || sh.sh_type != SHT_NOTE)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        if (d == NULL)
            continue;
        size_t off = 0, next;
        GElf_Nhdr nh;
        size_t name_off, desc_off;
        /* gelf_getnote always advances, so this loop ends. */
        while (off < d->d_size && (next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
            off = next;
            if (nh.n_type != NUB_NOTE_ABI || nh.n_namesz != sizeof(NUB_NOTE_NAME) ||
                memcmp((const char *)d->d_buf + name_off, NUB_NOTE_NAME,
                       sizeof(NUB_NOTE_NAME)) != 0)
                continue;
            if (nh.n_descsz != sizeof(uint32_t))
                return fail(err, errlen, -ENOEXEC, "NUBFS ABI note has a bad size");
            uint32_t v;
            memcpy(&v, (const char *)d->d_buf + desc_off, sizeof(v));
            if (found && v != img->abi_version)
                return fail(err, errlen, -ENOEXEC, "two NUBFS ABI notes disagree");
            img->abi_version = v;
            found = true;
        }
    }
    if (!found)
        return fail(err, errlen, -ENOEXEC, "no NUBFS ABI note (not a nubfs guest kernel?)");
    if (img->abi_version != NUB_ABI_VERSION)
        return fail(err, errlen, -EPROTO,
                    "it was built for nubfs guest ABI %u, this nubfs speaks ABI %u: use the "
                    "kernel built with this nubfs",
                    img->abi_version, NUB_ABI_VERSION);
    return 0;
}

/* The boot-info block in the image must already carry magic and ABI. */
static int check_boot_info(struct nub_elf_image *img, char *err, size_t errlen)
{
    const struct nub_elf_segment *s = seg_holding(img, img->boot_info_gpa,
                                                  sizeof(struct nub_boot_info));
    uint64_t off = img->boot_info_gpa - s->gpa;
    if (off > s->filesz || s->filesz - off < 16)
        return fail(err, errlen, -ENOEXEC, "%s is not initialised in the image (in .bss?)",
                    NUB_SYM_BOOT_INFO);
    uint64_t magic;
    uint32_t abi;
    memcpy(&magic, img->file + s->offset + off, sizeof(magic));
    memcpy(&abi, img->file + s->offset + off + 8, sizeof(abi));
    if (magic != NUB_BOOT_MAGIC)
        return fail(err, errlen, -ENOEXEC, "%s has a bad magic", NUB_SYM_BOOT_INFO);
    if (abi != NUB_ABI_VERSION)
        return fail(err, errlen, -EPROTO,
                    "boot info says guest ABI %u, this nubfs speaks ABI %u", abi,
                    NUB_ABI_VERSION);
    return 0;
}

int nub_elf_parse(const void *data, size_t size, uint64_t mem_size, struct nub_elf_image *out,
                  char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    int r = check_ident(data, size, err, errlen);
    if (r < 0)
        return r;
    out->file = data;
    out->file_size = size;

    if (elf_version(EV_CURRENT) == EV_NONE)
        return fail(err, errlen, -ENOEXEC, "libelf: %s", elf_errmsg(-1));
    Elf *e = elf_memory((char *)data, size);
    if (e == NULL)
        return fail(err, errlen, -ENOEXEC, "libelf: %s", elf_errmsg(-1));
    GElf_Ehdr eh;
    if (elf_kind(e) != ELF_K_ELF || gelf_getehdr(e, &eh) == NULL) {
        r = fail(err, errlen, -ENOEXEC, "not an ELF object");
        goto out;
    }
    if (eh.e_machine != EM_X86_64) {
        r = fail(err, errlen, -ENOEXEC, "not an x86-64 ELF (e_machine %u)", eh.e_machine);
        goto out;
    }
    if (eh.e_type != ET_EXEC) {
        r = fail(err, errlen, -ENOEXEC, "not a static executable (e_type %u)", eh.e_type);
        goto out;
    }
    r = parse_segments(e, &eh, size, mem_size, out, err, errlen);
    if (r == 0)
        r = parse_symbols(e, out, err, errlen);
    if (r == 0)
        r = parse_note(e, out, err, errlen);
    if (r == 0)
        r = check_boot_info(out, err, errlen);
out:
    elf_end(e);
    return r;
}

int nub_elf_load(const struct nub_elf_image *img, const struct nub_guest_mem *gm)
{
    for (size_t i = 0; i < img->nseg; i++) {
        const struct nub_elf_segment *s = &img->seg[i];
        int r = nub_gm_write(gm, s->gpa, img->file + s->offset, s->filesz);
        if (r == 0)
            r = nub_gm_zero(gm, s->gpa + s->filesz, s->memsz - s->filesz);
        if (r < 0)
            return r;
    }
    return 0;
}

int nub_elf_read_file(const char *path, void **data, size_t *size, char *err, size_t errlen)
{
    uint8_t *buf;
    char why[PATH_MAX + 128];
    int r = nub_read_file(path, MAX_KERNEL_FILE, &buf, size, NULL, why, sizeof(why));
    if (r == 0 && *size == 0) {
        free(buf);
        r = -EINVAL;
    }
    /* Not a file a kernel could be in: the same answer as a bad ELF. */
    if (r == -EINVAL || r == -EFBIG) {
        r = -ENOEXEC;
        nub_set_err(err, errlen, "nubfs: kernel=%s: not a regular file of 1 byte to %u MiB", path,
                    MAX_KERNEL_FILE >> 20);
    } else if (r < 0) {
        nub_set_err(err, errlen, "nubfs: kernel=%s", why);
    }
    *data = r == 0 ? buf : NULL;
    if (r < 0)
        *size = 0;
    return r;
}
