/* The one ABI shared by the nubfs host and its guest kernel: boot info,
 * call mailbox, I/O ports, ops, status codes, and the layouts of the cap
 * directory and mount table that the host reads out of guest memory.
 *
 * Everything here is plain fixed-width data, little-endian, naturally
 * aligned, with explicit padding, so both sides (and the static asserts
 * below) agree on every offset. Guest physical address == guest virtual
 * address. The host must treat every value the guest writes here as hostile.
 */
#ifndef NUB_ABI_H
#define NUB_ABI_H

#include <stdint.h>

/* Bump on any incompatible change to anything in this file. */
#define NUB_ABI_VERSION 1u

/* ---- Memory map (guest physical) ---------------------------------------
 * [0, 4 KiB)            unmapped: a null dereference faults
 * [NUB_PT_BASE, ...)    page tables and GDT/TSS written by the host
 * [NUB_KERNEL_BASE, _end) kernel image (PT_LOAD segments); the boot-info
 *                       block and the mailbox live in it at addresses
 *                       published by the ELF symbols below
 * [heap_start, mem_size) guest heap (heap_start = boot_info.heap_start)
 */
#define NUB_PAGE_SIZE 4096ull
#define NUB_PT_BASE 0x1000ull    /* PML4 here, then PDPT, PDs, first PT */
#define NUB_PT_LIMIT 0x100000ull /* host-built tables must end below 1 MiB */
#define NUB_KERNEL_BASE 0x200000ull
#define NUB_MIN_MEM (16ull << 20)
#define NUB_DEFAULT_MEM (256ull << 20)
#define NUB_MAX_MEM (64ull << 30)

/* ELF symbols the host looks up with libelf. */
#define NUB_SYM_BOOT_INFO "nub_boot_info"
#define NUB_SYM_MAILBOX "nub_mailbox"
/* ELF note (name "NUBFS", type NUB_NOTE_ABI) carrying a uint32_t ABI version. */
#define NUB_NOTE_NAME "NUBFS"
#define NUB_NOTE_ABI 1u

/* ---- I/O ports (guest `out` to these; the value written is ignored) --- */
#define NUB_PORT_DONE 0x0600u  /* the call in the mailbox is finished */
#define NUB_PORT_LOG 0x0601u   /* new bytes in the log ring */
#define NUB_PORT_ABORT 0x0602u /* the guest panicked; reason in mailbox msg */

/* ---- Boot info ---------------------------------------------------------- */
#define NUB_BOOT_MAGIC 0x544f4f4242554e21ull /* "!NUBBOOT" little-endian */

#define NUB_BOOT_F_TEST_OPS 0x1u /* host enables the misbehaving test ops */

struct nub_boot_info {
    uint64_t magic;          /* guest image: NUB_BOOT_MAGIC */
    uint32_t abi_version;    /* guest image: NUB_ABI_VERSION */
    uint32_t flags;          /* host: NUB_BOOT_F_* */
    uint64_t mem_size;       /* host: bytes of guest RAM, from gpa 0 */
    uint64_t hasher_seed;    /* host: random seed for directory slots */
    uint64_t heap_start;     /* guest: first heap byte (page aligned) */
    uint64_t directory_gpa;  /* guest: struct nub_dir_header, 0 before INIT */
    uint64_t mount_table_gpa;/* guest: struct nub_mount_table, 0 before INIT */
    uint64_t log_ring_gpa;   /* guest: struct nub_log_ring */
    uint64_t generation;     /* guest: copy of the directory generation */
    uint64_t reserved[7];
};

/* ---- Log ring -----------------------------------------------------------
 * The guest appends bytes at `head` (a running byte count, never reset);
 * the byte for count c is data[c % NUB_LOG_RING_SIZE]. Lines end in '\n'.
 * The host keeps its own read count and clamps it to at most one ring
 * behind `head`. */
#define NUB_LOG_RING_SIZE 8192u
struct nub_log_ring {
    uint64_t head;
    uint64_t reserved;
    char data[NUB_LOG_RING_SIZE];
};

/* ---- Calls --------------------------------------------------------------
 * The host writes op/seq/args/hash, sets status = NUB_ST_PENDING and runs
 * the vCPU; the guest writes status/ret/msg (and the scrub list) and exits
 * to NUB_PORT_DONE. The first DONE after boot carries op = NUB_OP_READY. */
enum nub_op {
    NUB_OP_READY = 0,   /* guest -> host, once, after boot */
    NUB_OP_INIT = 1,    /* create heap, directory, mount table */
    NUB_OP_ALLOC = 2,   /* args[0]=size args[1]=align -> ret[0]=gpa (zeroed) */
    NUB_OP_FREE = 3,    /* args[0]=gpa (from ALLOC, not yet given to PUT) */
    NUB_OP_PUT = 4,     /* args[0]=gpa args[1]=len args[2]=kind, hash[] ->
                           ret[0]=refcount ret[1]=1 if it already existed
                           (the guest then frees the new copy) */
    NUB_OP_RELEASE = 5, /* hash[] -> drop one reference; ret[0]=refcount left */
    NUB_OP_STATS = 6,   /* -> ret[] as enum nub_stat_index */
    NUB_OP_MOUNT = 7,   /* args[0]=package gpa args[1]=len ... (mount issue) */
    NUB_OP_UNMOUNT = 8, /* args[0]=handle */
    NUB_OP_NOP = 9,     /* does nothing; used to drain the scrub list */

    /* Test-only ops: refused with NUB_ST_INVAL unless NUB_BOOT_F_TEST_OPS. */
    NUB_OP_TEST_TRIPLE_FAULT = 0x100, /* load an empty IDT and fault */
    NUB_OP_TEST_MMIO = 0x101,         /* write beyond guest RAM */
    NUB_OP_TEST_SSE = 0x102,          /* execute an SSE instruction */
    NUB_OP_TEST_HANG = 0x103,         /* spin forever (watchdog) */
    NUB_OP_TEST_PANIC = 0x104,        /* guest panic -> ABORT port */
    NUB_OP_TEST_CORRUPT = 0x105,      /* args[0]=gpa args[1]=value: write a
                                         u64 anywhere in guest RAM */
};

enum nub_status {
    NUB_ST_OK = 0,
    NUB_ST_PENDING = 1,   /* written by the host before a call */
    NUB_ST_INVAL = 2,     /* bad argument or unknown op */
    NUB_ST_NOMEM = 3,     /* guest heap exhausted */
    NUB_ST_EXISTS = 4,    /* equal hash, different blob (length differs) */
    NUB_ST_NOENT = 5,     /* no such cap / handle */
    NUB_ST_BADMSG = 6,    /* malformed package, manifest or module */
    NUB_ST_QUOTA = 7,     /* a configured limit was exceeded */
    NUB_ST_STATE = 8,     /* op not valid now (e.g. before INIT) */
    NUB_ST_OVERFLOW = 9,  /* a count or size would overflow */
};

enum nub_stat_index {
    NUB_STAT_CAPS = 0,       /* entries in the directory */
    NUB_STAT_CAP_BYTES = 1,  /* sum of cap lengths */
    NUB_STAT_HEAP_USED = 2,  /* bytes allocated from the heap */
    NUB_STAT_HEAP_TOTAL = 3, /* heap size */
    NUB_STAT_GENERATION = 4,
    NUB_STAT_CALLS = 5,      /* calls served since boot */
    NUB_STAT_MOUNTS = 6,
    NUB_STAT_COUNT = 7
};

#define NUB_MAILBOX_ARGS 8
#define NUB_MAILBOX_MSG 256
#define NUB_SCRUB_MAX 64

/* A freed range the host must zero before the next call (DESIGN §3: the
 * guest never zeroes payload-sized memory itself). */
struct nub_scrub {
    uint64_t gpa;
    uint64_t len;
};

struct nub_mailbox {
    uint32_t op;        /* enum nub_op */
    uint32_t status;    /* enum nub_status */
    uint64_t seq;       /* host increments per call; the guest echoes it */
    uint64_t seq_done;  /* guest: seq of the call it finished */
    uint64_t args[NUB_MAILBOX_ARGS];
    uint64_t ret[NUB_MAILBOX_ARGS];
    uint8_t hash[16];   /* cap hash argument, canonical (big-endian) */
    /* Ranges freed by this call. The guest does not reuse them until the
     * next call starts; the host zeroes them (after range checks) as soon
     * as DONE arrives. scrub_more != 0: more are pending, call NUB_OP_NOP. */
    uint32_t scrub_count;
    uint32_t scrub_more;
    struct nub_scrub scrub[NUB_SCRUB_MAX];
    char msg[NUB_MAILBOX_MSG]; /* NUL-terminated reason for a failure/panic */
};

/* ---- Cap directory -------------------------------------------------------
 * Open addressing, linear probing, capacity a power of two, load <= 3/4,
 * backward-shift deletion (no tombstones). The home slot of a hash is
 * XXH3_64bits_withSeed(hash, 16, hasher_seed) & (capacity - 1). */
#define NUB_DIR_MAGIC 0x5249445f4255454eull /* "NEUB_DIR" little-endian */
#define NUB_DIR_MIN_CAPACITY 64u
#define NUB_DIR_MAX_CAPACITY (1ull << 26)

enum nub_cap_kind {
    NUB_CAP_BLOB = 0,     /* opaque data (PUT from the host) */
    NUB_CAP_WASM = 1,     /* a WASM module */
    NUB_CAP_DATA = 2,     /* a package data segment */
    NUB_CAP_MANIFEST = 3, /* a package manifest */
};

#define NUB_DIR_F_USED 0x1u /* slot holds an entry */

struct nub_dir_header {
    uint64_t magic;
    uint64_t capacity;    /* slots in entries[] */
    uint64_t count;       /* used slots */
    uint64_t entries_gpa; /* struct nub_dir_entry[capacity] */
    uint64_t generation;  /* changes on every mutation */
    uint64_t total_bytes; /* sum of len over used slots */
};

struct nub_dir_entry {
    uint8_t hash[16];  /* canonical XXH3-128 of the blob */
    uint64_t data_gpa;
    uint64_t len;
    uint32_t refcount;
    uint16_t kind;     /* enum nub_cap_kind */
    uint16_t flags;    /* NUB_DIR_F_* */
};

/* ---- Mount table (filled in by the mount issue) -------------------------- */
#define NUB_MOUNT_MAGIC 0x544e4d5f4255454eull /* "NEUB_MNT" little-endian */
struct nub_mount_table {
    uint64_t magic;
    uint64_t capacity;  /* slots at slots_gpa */
    uint64_t count;
    uint64_t slots_gpa;
    uint64_t generation;
    uint64_t reserved[3];
};

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(struct nub_boot_info) == 128, "boot info layout");
_Static_assert(sizeof(struct nub_log_ring) == 16 + NUB_LOG_RING_SIZE, "log ring layout");
_Static_assert(sizeof(struct nub_dir_header) == 48, "directory header layout");
_Static_assert(sizeof(struct nub_dir_entry) == 40, "directory entry layout");
_Static_assert(sizeof(struct nub_mailbox) == 8 + 16 + 64 + 64 + 16 + 8 + 16 * 64 + 256,
               "mailbox layout");
#endif

#endif /* NUB_ABI_H */
