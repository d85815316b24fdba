/* KVM VM, memfd-backed RAM, one vCPU, and direct entry into long mode. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "kvm_vm.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "errbuf.h"
#include "nub/abi.h"

/* Layout of the host-built structures, all inside [NUB_PT_BASE, NUB_PT_LIMIT). */
#define PML4_GPA 0x1000ull
#define PDPT_GPA 0x2000ull
#define PT0_GPA 0x3000ull  /* 4 KiB pages for the first 2 MiB */
#define GDT_GPA 0x4000ull
#define TSS_GPA 0x5000ull
#define PD_GPA 0x6000ull   /* one page directory per GiB mapped */
#define MAX_GIB (NUB_MAX_MEM >> 30)
/* RAM's GiBs and the one after are mapped at boot (a store just past RAM
 * is an MMIO exit); a window GiB once a slot needs it; nothing else. */
#define WINDOW_BASE_GIB (NUB_CAP_WINDOW_BASE >> 30)
#define WINDOW_END_GIB ((NUB_CAP_WINDOW_BASE + NUB_CAP_WINDOW_SIZE) >> 30)
_Static_assert(PML4_GPA == NUB_PT_BASE, "tables start at NUB_PT_BASE");
_Static_assert(NUB_CAP_WINDOW_BASE >= NUB_MAX_MEM, "the cap window lies above any RAM");
_Static_assert(NUB_CAP_WINDOW_BASE % (1ull << 30) == 0 && NUB_CAP_WINDOW_SIZE % (1ull << 30) == 0,
               "the cap window is made of whole GiBs");
_Static_assert(WINDOW_END_GIB <= 512, "one PDPT maps the whole window");
_Static_assert(PD_GPA + WINDOW_END_GIB * 0x1000 <= NUB_PT_LIMIT, "tables end below NUB_PT_LIMIT");

#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull

#define SEL_CODE NUB_SEL_CODE
#define SEL_DATA 0x10
#define SEL_TSS 0x18
#define TSS_SIZE 104

/* KVM wants three pages for the (Intel, real-mode only) TSS; we never use
 * real mode, so park it in the top of the 32-bit space, outside RAM. */
#define KVM_TSS_ADDR 0xfffbd000ull

#define CR0_PE 0x1ull
#define CR0_ET 0x10ull
#define CR0_NE 0x20ull
#define CR0_WP 0x10000ull
#define CR0_PG 0x80000000ull
#define CR4_PAE 0x20ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull

const char *nub_kvm_exit_name(uint32_t reason)
{
    static const char *const names[] = {
        [KVM_EXIT_UNKNOWN] = "KVM_EXIT_UNKNOWN",
        [KVM_EXIT_EXCEPTION] = "KVM_EXIT_EXCEPTION",
        [KVM_EXIT_IO] = "KVM_EXIT_IO",
        [KVM_EXIT_HYPERCALL] = "KVM_EXIT_HYPERCALL",
        [KVM_EXIT_DEBUG] = "KVM_EXIT_DEBUG",
        [KVM_EXIT_HLT] = "KVM_EXIT_HLT",
        [KVM_EXIT_MMIO] = "KVM_EXIT_MMIO",
        [KVM_EXIT_IRQ_WINDOW_OPEN] = "KVM_EXIT_IRQ_WINDOW_OPEN",
        [KVM_EXIT_SHUTDOWN] = "KVM_EXIT_SHUTDOWN",
        [KVM_EXIT_FAIL_ENTRY] = "KVM_EXIT_FAIL_ENTRY",
        [KVM_EXIT_INTR] = "KVM_EXIT_INTR",
        [KVM_EXIT_SET_TPR] = "KVM_EXIT_SET_TPR",
        [KVM_EXIT_TPR_ACCESS] = "KVM_EXIT_TPR_ACCESS",
        [KVM_EXIT_NMI] = "KVM_EXIT_NMI",
        [KVM_EXIT_INTERNAL_ERROR] = "KVM_EXIT_INTERNAL_ERROR",
        [KVM_EXIT_SYSTEM_EVENT] = "KVM_EXIT_SYSTEM_EVENT",
        [KVM_EXIT_IOAPIC_EOI] = "KVM_EXIT_IOAPIC_EOI",
        [KVM_EXIT_X86_RDMSR] = "KVM_EXIT_X86_RDMSR",
        [KVM_EXIT_X86_WRMSR] = "KVM_EXIT_X86_WRMSR",
        [KVM_EXIT_X86_BUS_LOCK] = "KVM_EXIT_X86_BUS_LOCK",
        [KVM_EXIT_NOTIFY] = "KVM_EXIT_NOTIFY",
    };
    if (reason < sizeof(names) / sizeof(names[0]) && names[reason] != NULL)
        return names[reason];
    return "KVM_EXIT_(unknown)";
}

static int open_kvm(char *err, size_t errlen)
{
    /* NUBFS_KVM_DEVICE: the same override nubfs's pre-flight check honours. */
    const char *dev = getenv("NUBFS_KVM_DEVICE");
    int fd = open(dev && *dev ? dev : "/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd >= 0)
        return fd;
    int e = errno;
    if (e == ENOENT || e == ENXIO || e == ENODEV)
        nub_set_err(err, errlen,
                    "nubfs: /dev/kvm not found: load kvm (modprobe kvm_intel or kvm_amd) or run on "
                    "a host with virtualization");
    else if (e == EACCES || e == EPERM)
        nub_set_err(err, errlen,
                    "nubfs: /dev/kvm: permission denied: add yourself to the kvm group "
                    "(usermod -aG kvm $USER, then log in again)");
    else
        nub_set_err(err, errlen, "nubfs: cannot open /dev/kvm: %s", strerror(e));
    return -e;
}

/* The CPUID the guest sees: the host's vendor and signature and, of all
 * its features, long mode and the address widths; nothing else. That is
 * all the guest needs (it uses no SSE, x87, APIC or MSR, and 2 MiB pages)
 * and all KVM needs: LM to accept EFER.LME, and leaf 0x80000008, without
 * which KVM assumes 36 physical address bits and the cap window above
 * 64 GiB would be reserved. A hostile guest learns little of the host,
 * and is offered no feature nubfs never tested (kvm-pvm still fills leaf
 * 1's feature bits and leaf 0xd in from the host). It is read with the CPUID
 * instruction (5 leaves, ~20 us where each is an exit, as on a nested
 * host): KVM_GET_SUPPORTED_CPUID, which passed ~75 leaves before, cost
 * every start 0.3-0.6 ms of a second core and a thread to hide it. Built
 * once, so a reboot sets the same table (KVM refuses a different one on
 * a vCPU that has run). */
#define CPUID_80000001_EDX_LM (1u << 29)
#define CPUID_LEAVES 5
/* Physical address bits the highest window address needs. */
#define MIN_PHYS_BITS 38u
_Static_assert(NUB_CAP_WINDOW_BASE + NUB_CAP_WINDOW_SIZE <= (1ull << MIN_PHYS_BITS),
               "the cap window fits MIN_PHYS_BITS");

static void cpuid_entry(struct kvm_cpuid_entry2 *e, uint32_t fn)
{
    unsigned a = 0, b = 0, c = 0, d = 0;
    __cpuid_count(fn, 0, a, b, c, d);
    *e = (struct kvm_cpuid_entry2){.function = fn, .eax = a, .ebx = b, .ecx = c, .edx = d};
}

static int build_cpuid(struct nub_vm *vm, char *err, size_t errlen)
{
    struct kvm_cpuid2 *c =
        calloc(1, sizeof(*c) + CPUID_LEAVES * sizeof(struct kvm_cpuid_entry2));
    if (c == NULL) {
        nub_set_err(err, errlen, "nubfs: CPUID for the guest: %s", strerror(ENOMEM));
        return -ENOMEM;
    }
    struct kvm_cpuid_entry2 *e = c->entries;
    unsigned top = __get_cpuid_max(0x80000000u, NULL);
    cpuid_entry(&e[0], 0); /* vendor: KVM's emulation differs by it */
    e[0].eax = 1;           /* the highest basic leaf given */
    cpuid_entry(&e[1], 1);
    e[1].ebx = e[1].ecx = e[1].edx = 0; /* signature (eax) only: no APIC id, no feature */
    cpuid_entry(&e[2], 0x80000000u);
    e[2].eax = 0x80000008u;
    e[2].ebx = e[2].ecx = e[2].edx = 0;
    cpuid_entry(&e[3], 0x80000001u);
    e[3].eax = e[3].ebx = e[3].ecx = 0;
    e[3].edx &= CPUID_80000001_EDX_LM;
    cpuid_entry(&e[4], 0x80000008u);
    e[4].eax &= 0xffffu; /* physical and linear address bits */
    e[4].ebx = e[4].ecx = e[4].edx = 0;
    c->nent = CPUID_LEAVES;
    if (top < 0x80000008u || e[3].edx == 0 || (e[4].eax & 0xffu) < MIN_PHYS_BITS) {
        free(c);
        nub_set_err(err, errlen,
                    "nubfs: this CPU lacks what the guest needs (long mode, %u-bit "
                    "physical addresses)",
                    MIN_PHYS_BITS);
        return -ENODEV;
    }
    vm->cpuid = c;
    return 0;
}

static int setup_cpuid(struct nub_vm *vm, char *err, size_t errlen)
{
    if (vm->cpuid == NULL) {
        int r = build_cpuid(vm, err, errlen);
        if (r < 0)
            return r;
    }
    if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, vm->cpuid) < 0) {
        int e = errno;
        nub_set_err(err, errlen, "nubfs: KVM_SET_CPUID2: %s", strerror(e));
        return -e;
    }
    return 0;
}

/* Finds the vCPU's "insn_emulation" counter in its binary stats (Linux
 * 5.14+); leaves stats_fd -1 when unavailable. Only for measurements. */
static void open_stats(struct nub_vm *vm)
{
    vm->stats_fd = -1;
    vm->insn_stat_off = -1;
    if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_BINARY_STATS_FD) <= 0)
        return;
    int fd = ioctl(vm->vcpu_fd, KVM_GET_STATS_FD, NULL);
    if (fd < 0)
        return;
    struct kvm_stats_header h;
    /* name_size >= 1: each name's last byte is forced to NUL below. */
    if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || h.num_desc > 4096 ||
        h.name_size == 0 || h.name_size > 4096) {
        close(fd);
        return;
    }
    size_t dsz = sizeof(struct kvm_stats_desc) + h.name_size;
    char *d = malloc(dsz * h.num_desc);
    if (d != NULL && pread(fd, d, dsz * h.num_desc, h.desc_offset) == (ssize_t)(dsz * h.num_desc)) {
        for (uint32_t i = 0; i < h.num_desc; i++) {
            struct kvm_stats_desc *sd = (struct kvm_stats_desc *)(d + i * dsz);
            sd->name[h.name_size - 1] = '\0';
            if (strcmp(sd->name, "insn_emulation") == 0 && sd->size >= 1) {
                vm->insn_stat_off = (int64_t)h.data_offset + sd->offset;
                break;
            }
        }
    }
    free(d);
    if (vm->insn_stat_off < 0) {
        close(fd);
        return;
    }
    vm->stats_fd = fd;
}

int nub_vm_emulated_insns(const struct nub_vm *vm, uint64_t *out)
{
    if (vm->stats_fd < 0)
        return -ENOTSUP;
    if (pread(vm->stats_fd, out, sizeof(*out), vm->insn_stat_off) != (ssize_t)sizeof(*out))
        return -EIO;
    return 0;
}

/* Adds (or, with remove, deletes: size 0) one read-only slot in KVM. */
static int set_slot(struct nub_vm *vm, const struct nub_vm_slot *sl, bool remove)
{
    struct kvm_userspace_memory_region r = {
        .slot = sl->id,
        .flags = KVM_MEM_READONLY,
        .guest_phys_addr = sl->gpa,
        .memory_size = remove ? 0 : sl->size,
        .userspace_addr = (uint64_t)(uintptr_t)sl->host,
    };
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
        return -errno;
    return 0;
}

/* Makes the VM and vCPU on the existing RAM. */
static int create_vm_vcpu(struct nub_vm *vm, char *err, size_t errlen)
{
    int e;
    vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0) {
        e = errno;
        nub_set_err(err, errlen, "nubfs: KVM_CREATE_VM: %s", strerror(e));
        return -e;
    }
    /* Only needed for real mode on Intel; harmless elsewhere. Some KVMs
     * (e.g. kvm-pvm) reject it, which is fine for a long-mode guest. */
    if (vm->mem_size <= KVM_TSS_ADDR)
        (void)ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR);

    struct kvm_userspace_memory_region slot = {
        .slot = 0,
        .flags = 0,
        .guest_phys_addr = 0,
        .memory_size = vm->mem_size,
        .userspace_addr = (uint64_t)(uintptr_t)vm->mem,
    };
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
        e = errno;
        nub_set_err(err, errlen, "nubfs: KVM_SET_USER_MEMORY_REGION (%llu bytes): %s",
                    (unsigned long long)vm->mem_size, strerror(e));
        return -e;
    }
    /* A fresh VM after a reset gets the caps the old one had. */
    for (size_t i = 0; i < vm->nslots; i++) {
        int r = set_slot(vm, &vm->slots[i], false);
        if (r < 0) {
            nub_set_err(err, errlen, "nubfs: re-adding read-only slot %u at 0x%llx: %s",
                        vm->slots[i].id, (unsigned long long)vm->slots[i].gpa, strerror(-r));
            return r;
        }
    }
    vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
    if (vm->vcpu_fd < 0) {
        e = errno;
        nub_set_err(err, errlen, "nubfs: KVM_CREATE_VCPU: %s", strerror(e));
        return -e;
    }
    vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
    if (vm->run == MAP_FAILED) {
        e = errno;
        vm->run = NULL;
        nub_set_err(err, errlen, "nubfs: mmap of the vCPU run area: %s", strerror(e));
        return -e;
    }
    open_stats(vm);
    return setup_cpuid(vm, err, errlen);
}

static void destroy_vm_vcpu(struct nub_vm *vm)
{
    if (vm->stats_fd >= 0)
        close(vm->stats_fd);
    vm->stats_fd = -1;
    vm->insn_stat_off = -1;
    if (vm->run != NULL)
        munmap(vm->run, vm->run_size);
    vm->run = NULL;
    if (vm->vcpu_fd >= 0)
        close(vm->vcpu_fd);
    vm->vcpu_fd = -1;
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    vm->vm_fd = -1;
}

static int setup_ram(struct nub_vm *vm, char *err, size_t errlen);

int nub_vm_create(struct nub_vm *vm, uint64_t mem_size, char *err, size_t errlen)
{
    memset(vm, 0, sizeof(*vm));
    vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = vm->mem_fd = vm->stats_fd = -1;
    vm->insn_stat_off = -1;
    nub_gm_init(&vm->gm);
    if (mem_size < NUB_MIN_MEM || mem_size > NUB_MAX_MEM || mem_size % NUB_PAGE_SIZE != 0) {
        nub_set_err(
            err, errlen,
            "nubfs: guest_mem=%llu: must be a multiple of 4 KiB between %llu MiB and %llu GiB",
            (unsigned long long)mem_size, NUB_MIN_MEM >> 20, NUB_MAX_MEM >> 30);
        return -EINVAL;
    }
    vm->mem_size = mem_size;
    int r = open_kvm(err, errlen);
    if (r < 0)
        return r;
    vm->kvm_fd = r;
    int api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        nub_set_err(err, errlen, "nubfs: /dev/kvm speaks API %d, need %d", api, KVM_API_VERSION);
        r = -ENOTSUP;
        goto fail;
    }
    if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0) {
        nub_set_err(err, errlen, "nubfs: this KVM lacks KVM_CAP_IMMEDIATE_EXIT (needed by the "
                                 "call watchdog): use Linux 4.11 or newer");
        r = -ENOTSUP;
        goto fail;
    }
    int rs = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (rs < (int)sizeof(struct kvm_run)) {
        nub_set_err(err, errlen, "nubfs: KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
        r = -EIO;
        goto fail;
    }
    vm->run_size = (size_t)rs;
    /* Read-only slots hold the caps (docs/cap-store.md); without them the
     * daemon cannot start, which nub_vm_map_ro reports. */
    vm->readonly_mem = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
    int ns = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
    vm->max_slots = ns > 0 ? (uint32_t)ns : 32; /* the KVM API's old minimum */
    vm->next_id = 1;

    r = setup_ram(vm, err, errlen);
    if (r < 0)
        goto fail;
    r = create_vm_vcpu(vm, err, errlen);
    if (r < 0)
        goto fail;
    return 0;
fail:
    nub_vm_destroy(vm);
    return r;
}

/* Guest RAM: a memfd, mapped shared, as the first guest_mem region. */
static int setup_ram(struct nub_vm *vm, char *err, size_t errlen)
{
    int e, r;
    uint64_t mem_size = vm->mem_size;
    vm->mem_fd = memfd_create("nubfs-guest-ram", MFD_CLOEXEC);
    if (vm->mem_fd < 0) {
        e = errno;
        nub_set_err(err, errlen, "nubfs: memfd_create: %s", strerror(e));
        return -e;
    }
    if (ftruncate(vm->mem_fd, (off_t)mem_size) < 0) {
        e = errno;
        nub_set_err(err, errlen, "nubfs: cannot size guest RAM to %llu bytes: %s",
                    (unsigned long long)mem_size, strerror(e));
        return -e;
    }
    void *m = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                   vm->mem_fd, 0);
    if (m == MAP_FAILED) {
        e = errno;
        nub_set_err(err, errlen, "nubfs: mmap of %llu bytes of guest RAM: %s",
                    (unsigned long long)mem_size, strerror(e));
        return -e;
    }
    vm->mem = m;
    r = nub_gm_add_region(&vm->gm, 0, mem_size, vm->mem, vm->mem_fd, 0);
    if (r < 0)
        nub_set_err(err, errlen, "nubfs: guest memory map: %s", strerror(-r));
    return r;
}

int nub_vm_reset(struct nub_vm *vm, char *err, size_t errlen)
{
    destroy_vm_vcpu(vm);
    int r = nub_gm_zero(&vm->gm, 0, vm->mem_size);
    if (r < 0) {
        nub_set_err(err, errlen, "nubfs: zeroing guest RAM: %s", strerror(-r));
        return r;
    }
    return create_vm_vcpu(vm, err, errlen);
}

static bool window_range(uint64_t gpa, uint64_t size)
{
    return size > 0 && gpa % NUB_PAGE_SIZE == 0 && size % NUB_PAGE_SIZE == 0 &&
           gpa >= NUB_CAP_WINDOW_BASE && gpa - NUB_CAP_WINDOW_BASE < NUB_CAP_WINDOW_SIZE &&
           size <= NUB_CAP_WINDOW_SIZE - (gpa - NUB_CAP_WINDOW_BASE);
}

uint32_t nub_vm_slots_free(const struct nub_vm *vm)
{
    /* id 0 is RAM; ids are < max_slots. */
    uint64_t used = 1 + vm->nslots;
    return used >= vm->max_slots ? 0 : (uint32_t)(vm->max_slots - used);
}

static void map_window(struct nub_vm *vm, uint64_t gpa, uint64_t size);

int nub_vm_map_ro(struct nub_vm *vm, uint64_t gpa, uint64_t size, const void *host, int fd,
                  off_t fd_offset)
{
    if (!window_range(gpa, size) || host == NULL)
        return -EINVAL;
    if (!vm->readonly_mem)
        return -ENOTSUP;
    if (nub_vm_slots_free(vm) == 0)
        return -ENOSPC;
    if (vm->nslots == vm->slots_cap) {
        size_t cap = vm->slots_cap ? vm->slots_cap * 2 : 64;
        struct nub_vm_slot *v = realloc(vm->slots, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        uint32_t *f = realloc(vm->free_ids, cap * sizeof(*f));
        if (f == NULL) {
            vm->slots = v;
            return -ENOMEM;
        }
        vm->slots = v;
        vm->free_ids = f;
        vm->slots_cap = cap;
    }
    /* The guest_mem region first: it refuses overlaps. */
    int r = nub_gm_add_ro_region(&vm->gm, gpa, size, host, fd, fd_offset);
    if (r < 0)
        return r;
    struct nub_vm_slot sl = {.id = vm->nfree ? vm->free_ids[vm->nfree - 1] : vm->next_id,
                             .gpa = gpa, .size = size, .host = host, .fd = fd,
                             .fd_offset = fd_offset};
    if (vm->vm_fd >= 0 && (r = set_slot(vm, &sl, false)) < 0) {
        nub_gm_remove_region(&vm->gm, gpa);
        return r == -EEXIST ? -EINVAL : r;
    }
    if (vm->nfree)
        vm->nfree--;
    else
        vm->next_id++;
    vm->slots[vm->nslots++] = sl;
    if (vm->mem != NULL)
        map_window(vm, gpa, size);
    return 0;
}

int nub_vm_unmap(struct nub_vm *vm, uint64_t gpa)
{
    for (size_t i = 0; i < vm->nslots; i++) {
        struct nub_vm_slot *sl = &vm->slots[i];
        if (sl->gpa != gpa)
            continue;
        if (vm->vm_fd >= 0) {
            int r = set_slot(vm, sl, true);
            if (r < 0)
                return r;
        }
        nub_gm_remove_region(&vm->gm, gpa);
        vm->free_ids[vm->nfree++] = sl->id; /* nfree < nslots <= slots_cap */
        *sl = vm->slots[--vm->nslots];
        return 0;
    }
    return -ENOENT;
}

void nub_vm_destroy(struct nub_vm *vm)
{
    destroy_vm_vcpu(vm);
    if (vm->mem != NULL)
        munmap(vm->mem, vm->mem_size);
    vm->mem = NULL;
    if (vm->mem_fd >= 0)
        close(vm->mem_fd);
    vm->mem_fd = -1;
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    vm->kvm_fd = -1;
    free(vm->slots);
    free(vm->free_ids);
    free(vm->cpuid);
    vm->cpuid = NULL;
    vm->slots = NULL;
    vm->free_ids = NULL;
    vm->nslots = vm->slots_cap = vm->nfree = 0;
    nub_gm_destroy(&vm->gm);
}

static void put_u64(struct nub_vm *vm, uint64_t gpa, uint64_t v)
{
    memcpy(vm->mem + gpa, &v, sizeof(v));
}

/* Identity-maps GiB g with 2 MiB pages: its page directory, whole, then
 * its PDPT entry. A window GiB is mapped when a slot first lies in it
 * (all 128 at every boot cost ~0.5 ms: 128 pages to fault in, 64K
 * entries, for a window nearly always almost empty). Not present ->
 * present needs no TLB flush: no TLB or shadow MMU keeps a not-present
 * entry, and the guest is not running (slots change between calls). */
static void map_gib(struct nub_vm *vm, uint64_t g)
{
    /* The PDPT is guest memory: a guest that wrote a present entry itself
     * only keeps its own mapping (page tables bound nothing; slots do). */
    uint64_t pdpte;
    memcpy(&pdpte, vm->mem + PDPT_GPA + g * 8, sizeof(pdpte));
    if (pdpte & PTE_P)
        return;
    uint64_t pd = PD_GPA + g * 0x1000;
    for (uint64_t i = 0; i < 512; i++)
        put_u64(vm, pd + i * 8, ((g << 30) | (i << 21)) | PTE_P | PTE_RW | PTE_PS);
    put_u64(vm, PDPT_GPA + g * 8, pd | PTE_P | PTE_RW);
}

/* The window GiBs [gpa, gpa + size) lies in (window_range holds). */
static void map_window(struct nub_vm *vm, uint64_t gpa, uint64_t size)
{
    for (uint64_t g = gpa >> 30; g <= (gpa + size - 1) >> 30 && g < WINDOW_END_GIB; g++)
        map_gib(vm, g);
}

/* 4-level identity map; see nub_vm_setup_long_mode. A page directory is
 * read only once its PDPT entry is present, so only PML4, PDPT and PT0
 * need zeroing. Only RAM's GiBs and the next: mapping all 64 below the
 * window cost every start ~0.45 ms (64 pages to fault in, 32K entries)
 * for memory no guest may use; a guest that strays there takes a page
 * fault (a panic: poisoned, like the MMIO exit of a stray store). */
static void write_page_tables(struct nub_vm *vm, uint64_t ram_gib)
{
    memset(vm->mem + NUB_PT_BASE, 0, PT0_GPA + 0x1000 - NUB_PT_BASE);
    put_u64(vm, PML4_GPA, PDPT_GPA | PTE_P | PTE_RW);
    for (uint64_t g = 0; g <= ram_gib && g < WINDOW_BASE_GIB; g++)
        map_gib(vm, g);
    for (size_t i = 0; i < vm->nslots; i++) /* slots outlive a reboot */
        map_window(vm, vm->slots[i].gpa, vm->slots[i].size);
    /* First 2 MiB: 4 KiB pages, page 0 left not present (null faults). */
    put_u64(vm, PD_GPA, PT0_GPA | PTE_P | PTE_RW);
    for (uint64_t i = 1; i < 512; i++)
        put_u64(vm, PT0_GPA + i * 8, (i << 12) | PTE_P | PTE_RW);
}

static void write_gdt_tss(struct nub_vm *vm)
{
    memset(vm->mem + GDT_GPA, 0, 0x1000);
    memset(vm->mem + TSS_GPA, 0, 0x1000);
    put_u64(vm, GDT_GPA + 0x00, 0);
    put_u64(vm, GDT_GPA + SEL_CODE, 0x00af9b000000ffffull); /* 64-bit code, DPL 0 */
    put_u64(vm, GDT_GPA + SEL_DATA, 0x00cf93000000ffffull); /* data, DPL 0 */
    /* 16-byte 64-bit TSS descriptor, type 0xb (busy), present. */
    uint64_t base = TSS_GPA, limit = TSS_SIZE - 1;
    uint64_t lo = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x8bull << 40) |
                  (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    put_u64(vm, GDT_GPA + SEL_TSS, lo);
    put_u64(vm, GDT_GPA + SEL_TSS + 8, base >> 32);
    /* I/O map base past the limit: no I/O permission bitmap. */
    uint16_t iomap = TSS_SIZE;
    memcpy(vm->mem + TSS_GPA + 102, &iomap, sizeof(iomap));
}

int nub_vm_setup_long_mode(struct nub_vm *vm, uint64_t entry, char *err, size_t errlen)
{
    uint64_t gib = (vm->mem_size + (1ull << 30) - 1) >> 30;
    if (gib > MAX_GIB)
        return -EINVAL;
    /* RAM and the GiB after it (MMIO exits), the window's GiBs that hold
     * slots. */
    write_page_tables(vm, gib);
    write_gdt_tss(vm);

    struct kvm_sregs s;
    if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s) < 0) {
        int e = errno;
        nub_set_err(err, errlen, "nubfs: KVM_GET_SREGS: %s", strerror(e));
        return -e;
    }
    struct kvm_segment code = {.base = 0, .limit = 0xffffffff, .selector = SEL_CODE,
                               .type = 0xb, .present = 1, .dpl = 0, .db = 0, .s = 1,
                               .l = 1, .g = 1};
    struct kvm_segment data = {.base = 0, .limit = 0xffffffff, .selector = SEL_DATA,
                               .type = 0x3, .present = 1, .dpl = 0, .db = 1, .s = 1,
                               .l = 0, .g = 1};
    s.cs = code;
    s.ds = s.es = s.fs = s.gs = s.ss = data;
    s.tr = (struct kvm_segment){.base = TSS_GPA, .limit = TSS_SIZE - 1, .selector = SEL_TSS,
                                .type = 0xb, .present = 1, .s = 0};
    s.ldt = (struct kvm_segment){.selector = 0, .type = 0x2, .present = 0, .unusable = 1};
    s.gdt.base = GDT_GPA;
    s.gdt.limit = SEL_TSS + 16 - 1;
    s.idt.base = 0;
    s.idt.limit = 0;
    s.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    s.cr3 = PML4_GPA;
    s.cr4 = CR4_PAE; /* no OSFXSR/OSXMMEXCPT: the guest uses no SSE */
    s.efer = EFER_LME | EFER_LMA;
    if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &s) < 0) {
        int e = errno;
        nub_set_err(err, errlen, "nubfs: KVM_SET_SREGS (long mode): %s", strerror(e));
        return -e;
    }
    struct kvm_regs regs = {.rip = entry, .rflags = 0x2};
    if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0) {
        int e = errno;
        nub_set_err(err, errlen, "nubfs: KVM_SET_REGS: %s", strerror(e));
        return -e;
    }
    return 0;
}

int nub_vm_run(struct nub_vm *vm)
{
    if (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0)
        return -errno;
    return 0;
}

int nub_vm_get_regs(struct nub_vm *vm, struct kvm_regs *regs)
{
    if (ioctl(vm->vcpu_fd, KVM_GET_REGS, regs) < 0)
        return -errno;
    return 0;
}
