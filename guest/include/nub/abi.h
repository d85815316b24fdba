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
#define NUB_ABI_VERSION 2u

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
#define NUB_SEL_CODE 0x08 /* the host's GDT: 64-bit code, DPL 0 */
#define NUB_MIN_MEM (16ull << 20)
#define NUB_DEFAULT_MEM (256ull << 20)
#define NUB_MAX_MEM (64ull << 30)

/* The cap window (docs/cap-store.md): guest-physical addresses above any
 * RAM size where the host maps the backing files of caps, each as its own
 * read-only KVM memory slot. The host's page tables identity-map it; a
 * guest store there is a KVM_EXIT_MMIO (the sandbox is poisoned). The
 * window a guest actually has is in boot info (cap_window_gpa/size). */
#define NUB_CAP_WINDOW_BASE (64ull << 30)
#define NUB_CAP_WINDOW_SIZE (128ull << 30)

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
/* host: INIT in the boot run. READY then answers as INIT does (status,
 * msg on failure, ret[] as STATS, the addresses in the boot info), and
 * the host makes no INIT call. */
#define NUB_BOOT_F_INIT 0x2u

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
 * to NUB_PORT_DONE. The first DONE after boot carries op = NUB_OP_READY
 * (and INIT's answer, with NUB_BOOT_F_INIT). */
enum nub_op {
    NUB_OP_READY = 0,   /* guest -> host, once, after boot */
    NUB_OP_INIT = 1,    /* create heap, directory, mount table -> ret[] as
                           STATS (so a start needs no STATS call of its own);
                           nubfs has the boot run do it (NUB_BOOT_F_INIT) */
    NUB_OP_ALLOC = 2,   /* args[0]=size args[1]=align -> ret[0]=gpa (zeroed) */
    NUB_OP_FREE = 3,    /* args[0]=gpa (from ALLOC, not yet given to PUT) */
    NUB_OP_PUT = 4,     /* args[0]=gpa args[1]=len args[2]=kind, hash[] ->
                           ret[0]=refcount ret[1]=1 if it already existed
                           (the guest then frees the new copy) */
    NUB_OP_RELEASE = 5, /* hash[] -> drop one reference; ret[0]=refcount left */
    NUB_OP_STATS = 6,   /* -> ret[] as enum nub_stat_index */
    NUB_OP_MOUNT = 7,   /* args[0]=package gpa args[1]=len args[2]=flags
                           args[3]=limits gpa or 0, hash[0..8)=signer key
                           id -> ret[0]=handle ...
                           (see "Mount protocol" below) */
    NUB_OP_UNMOUNT = 8, /* args[0]=handle -> ret[0]=caps removed ... */
    NUB_OP_NOP = 9,     /* does nothing; used to drain the scrub list */
    NUB_OP_PUT_CAPS = 12, /* args[0]=gpa of an ALLOC block holding args[1]
                           struct nub_cap_desc (caps already mapped in the
                           cap window) -> ret[0]=entries created ret[1]=
                           references taken; all or nothing; the guest
                           frees the block on success (see "Cap lists") */
    NUB_OP_RUN = 10,    /* run tasks for one slice: see "Tasks" below */

    /* Test-only ops: refused with NUB_ST_INVAL unless NUB_BOOT_F_TEST_OPS. */
    NUB_OP_TEST_TRIPLE_FAULT = 0x100, /* load an empty IDT and fault */
    NUB_OP_TEST_MMIO = 0x101,         /* write beyond guest RAM */
    NUB_OP_TEST_SSE = 0x102,          /* execute an SSE instruction */
    NUB_OP_TEST_HANG = 0x103,         /* spin forever (watchdog) */
    NUB_OP_TEST_PANIC = 0x104,        /* guest panic -> ABORT port */
    NUB_OP_TEST_WRITE_CAP = 0x106,    /* args[0]=gpa in the cap window: store
                                         there (a read-only slot: KVM_EXIT_MMIO,
                                         the sandbox is poisoned) */
    NUB_OP_TEST_CORRUPT = 0x105,      /* args[0]=gpa args[1]=value: write a
                                         u64 anywhere in guest RAM */
    NUB_OP_TEST_WASM = 0x107,         /* run a WASM export in the guest: see
                                         struct nub_test_wasm_req */
};

/* NUB_OP_TEST_WASM: args[0] = gpa of a host-owned block (from ALLOC; it
 * stays the host's, which FREEs it after), args[1] = module length (the
 * module starts at args[0]), args[2] = offset in the block of this
 * request (8-aligned, at or after the module, inside the block). The guest
 * decodes and validates the module, instantiates it (no imports), runs the
 * export with `fuel` (0 = unbounded: only the watchdog stops it) and frees
 * everything again. NUB_ST_BADMSG (msg says why) if the module is refused
 * or has no such function export. On NUB_ST_OK: ret[0] enum nub_wasm_status
 * (wasm.h), ret[1] enum nub_wasm_trap, ret[2] fuel used, ret[3] results
 * (at most 4: more is NUB_ST_INVAL), ret[4..7] the results as 64-bit
 * slots. */
#define NUB_TEST_WASM_MAX_ARGS 8u
struct nub_test_wasm_req {
    char export_name[64];         /* NUL-padded */
    uint64_t fuel;
    uint32_t nargs;               /* = the export's parameter count */
    uint32_t reserved;
    uint64_t args[NUB_TEST_WASM_MAX_ARGS];
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

/* A freed range the host must zero before the next call (the guest never
 * zeroes payload-sized memory itself: docs/ARCHITECTURE.md). */
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
 * Open addressing, linear probing, capacity a power of two, load <= 1/2,
 * backward-shift deletion (no tombstones). The home slot of a hash is
 * XXH3_64bits_withSeed(hash, 16, hasher_seed) & (capacity - 1).
 *
 * Growth is incremental (no call rehashes the whole table): the guest
 * allocates a larger table, publishes it as entries_gpa/capacity and the
 * previous one as old_entries_gpa/old_capacity, then moves a bounded number
 * of old slots per call until the old table is empty, frees it and sets
 * both old fields to 0. While old_capacity != 0:
 *   - old_capacity is a power of two, NUB_DIR_MIN_CAPACITY <= old_capacity
 *     < capacity, and the old table is a valid table of the same kind (its
 *     own home slots: hash & (old_capacity - 1));
 *   - a hash is in at most one of the two tables; a lookup probes the new
 *     table, then (if absent there) the old one;
 *   - count and total_bytes cover both tables; old_count is how many of
 *     the count are still in the old table; migrate_next is the next old
 *     slot the guest will move (informational: readers need neither).
 *
 * Probe bound. Every entry lies fewer than NUB_DIR_MAX_PROBE slots after
 * its home slot in whichever table holds it: (slot - home) & (capacity - 1)
 * < NUB_DIR_MAX_PROBE. So a lookup examines at most NUB_DIR_MAX_PROBE slots
 * per table, and a hash not met within them is absent even if the run of
 * used slots goes on. Readers stop every probe there, so a hostile table
 * (every slot used, entries far from home) costs O(NUB_DIR_MAX_PROBE) per
 * lookup, never a walk over the table. The guest keeps the bound with
 * Robin Hood insertion (each run of used slots kept in order of home,
 * which minimises the longest distance: at load 3/4 it stays near 30 at
 * the maximum capacity, where first-come placement reaches hundreds), and
 * when an insert would still break it the table grows early; if growing
 * is impossible right then (a migration or a MOUNT's reservation under
 * way, or NUB_DIR_MAX_CAPACITY) the insert is refused with NUB_ST_QUOTA.
 * Backward-shift deletion only ever shortens distances. */
#define NUB_DIR_MAGIC 0x5249445f4255454eull /* "NEUB_DIR" little-endian */
#define NUB_DIR_MIN_CAPACITY 64u
#define NUB_DIR_MAX_CAPACITY (1ull << 26)
#define NUB_DIR_MAX_PROBE 64u

enum nub_cap_kind {
    NUB_CAP_BLOB = 0,     /* opaque data (PUT from the host) */
    NUB_CAP_WASM = 1,     /* a WASM module */
    NUB_CAP_DATA = 2,     /* a package data segment */
    NUB_CAP_MANIFEST = 3, /* a package manifest */
};

#define NUB_DIR_F_USED 0x1u /* slot holds an entry */
/* flags >> NUB_DIR_DIST_SHIFT: the entry's distance from its home slot
 * (< NUB_DIR_MAX_PROBE), the guest's own bookkeeping; readers ignore it. */
#define NUB_DIR_DIST_SHIFT 8u

struct nub_dir_header {
    uint64_t magic;
    uint64_t capacity;    /* slots in entries[] */
    uint64_t count;       /* used slots, both tables */
    uint64_t entries_gpa; /* struct nub_dir_entry[capacity] */
    uint64_t generation;  /* changes on every mutation (and migration step) */
    uint64_t total_bytes; /* sum of len over used slots (both tables) */
    uint64_t old_entries_gpa; /* table being migrated from, or 0 */
    uint64_t old_capacity;    /* its slots, or 0 */
    uint64_t old_count;       /* used slots in it */
    uint64_t migrate_next;    /* old slot the migration moves next */
};

struct nub_dir_entry {
    uint8_t hash[16];  /* canonical XXH3-128 of the blob */
    uint64_t data_gpa;
    uint64_t len;
    uint32_t refcount;
    uint16_t kind;     /* enum nub_cap_kind */
    uint16_t flags;    /* NUB_DIR_F_* */
};

/* ---- Cap lists (ABI 2) ---------------------------------------------------
 * The bytes of a cap are a host file mapped read-only into the cap window
 * (docs/cap-store.md); the guest is told where, never given a copy. A
 * descriptor names one cap: its hash, the window range holding exactly
 * its bytes, and its kind. The guest copies each descriptor out of the
 * block before looking at it and checks gpa/len against the window
 * (overflow-safe: gpa >= base, len <= size - (gpa - base)); an empty cap
 * may sit anywhere in the window, its gpa is never read.
 *
 * PUT_CAPS (preload): the block holds args[1] descriptors, 1 <= n <=
 * NUB_PUT_CAPS_MAX, kind in 0..3, segment and reserved 0. All or nothing:
 * either every descriptor gained a reference (a new entry, or +1 on an
 * existing entry with the same length) or nothing changed (NUB_ST_EXISTS,
 * NOMEM, QUOTA, INVAL with msg naming the descriptor). */
#define NUB_PUT_CAPS_MAX 4096u

struct nub_cap_desc {
    uint8_t hash[16];  /* canonical XXH3-128 of the bytes */
    uint64_t gpa;      /* in [cap window), read-only */
    uint64_t len;
    uint16_t kind;     /* enum nub_cap_kind */
    uint16_t reserved0;
    uint32_t segment;  /* MOUNT: the segment index in the package; PUT_CAPS: 0 */
    uint64_t reserved; /* 0 */
};

/* MOUNT with NUB_MOUNT_F_CAPS: the block at args[0] starts with this
 * header, then ncaps descriptors (one per segment but the signature,
 * sorted by (hash, segment), strictly increasing); args[1] = 32 + 48 *
 * ncaps. */
struct nub_mount_caps_hdr {
    uint32_t ncaps;     /* 1 .. max_segments */
    uint32_t manifest;  /* index of the one NUB_CAP_MANIFEST descriptor */
    uint64_t reserved[3];
};

/* ---- Mount protocol ------------------------------------------------------
 * Before NUB_OP_MOUNT the host has (docs/ARCHITECTURE.md "The mount path"): checked the
 * Ed25519 signature against its trusted keys, checked every segment's
 * XXH3-128 against its header, and compared the bytes with any existing cap
 * of equal hash (the guest never hashes or compares payload bytes). It then
 * ALLOCs the package size, copies the package there and calls MOUNT:
 *   args[0] gpa of the package: the start of a block ALLOC returned (owner
 *           host), args[1] its length in bytes (0 < len <= block size),
 *   args[2] flags: NUB_MOUNT_F_FAIL_STEP_MASK = test fault injection (fail
 *           right after step N, 2..7, as if it had failed: everything is
 *           rolled back); refused with NUB_ST_INVAL unless the boot flags
 *           have NUB_BOOT_F_TEST_OPS. Every other bit must be 0.
 *   args[3] 0 (the guest's default limits), or the gpa of a struct
 *           nub_mount_limits (below) inside the same block, 8-byte
 *           aligned, at or after args[0] + args[1]: the host ALLOCs
 *           round_up(len, 64) + sizeof(struct nub_mount_limits) and
 *           writes the limits at args[0] + round_up(len, 64). Anything
 *           else is NUB_ST_INVAL.
 *   args[4..7] reserved, must be 0 (NUB_ST_INVAL).
 *   hash[0..8) the signer key id (as src/sign.h defines it: the first 8
 *           bytes of the BLAKE2b-256 of the Ed25519 public key the
 *           signature verified with; all zero for an unsigned package),
 *           recorded in the mount record; hash[8..16) ignored.
 * The guest runs steps 2-7 (parse, regions, components/caps, grants,
 * queues, tasks), all or nothing. On success:
 *   ret[0] handle (nonzero, never reused during one boot),
 *   ret[1] gpa of its struct nub_mount_rec in the mount table,
 *   ret[2] caps this mount added to the directory (new entries),
 *   ret[3] caps it holds a reference to (new + shared; = rec.ncaps),
 * and the package block now belongs to the mount (the host can no longer
 * FREE it; UNMOUNT frees it). On failure the directory (its entries,
 * count, bytes and capacity; the generation may have advanced), the mount
 * table and the heap's used level are exactly as before, the package block
 * is still the host's (it FREEs it), and msg says why:
 *   NUB_ST_BADMSG  container/manifest/WASM malformed, an entry point not an
 *                  exported function, a grant beyond the access sets
 *   NUB_ST_QUOTA   a limit exceeded (counts, sizes, mount table full)
 *   NUB_ST_NOMEM   guest heap exhausted
 *   NUB_ST_EXISTS  a cap hash already present with another length
 *   NUB_ST_INVAL   bad arguments, or the injected fault.
 * Mount names: the mount record carries the manifest's package name, and
 * names are NOT unique in the table: replacing a package is done by the
 * host as mount-new-then-unmount-old, so both are mounted for a moment.
 * The host owns the mapping from its ctl/ file names to handles.
 *
 * NUB_OP_UNMOUNT args[0]=handle (NUB_ST_NOENT if no live mount has it):
 * stops its tasks, disconnects its queues, revokes its grants, destroys
 * its regions, drops its cap references, frees the handle and its memory.
 *   ret[0] caps removed from the directory by this call,
 *   ret[1] 1 if the package bytes stay as a hidden zombie (see below),
 *   ret[2] zombies freed by this call (including its own package).
 * Cap bytes live in place in the package of the mount that published the
 * cap first. If other holders still reference such a cap at unmount, the
 * record becomes NUB_MOUNT_S_ZOMBIE: the package (and the cap list) stay
 * until no directory entry points into the package any more; every
 * MOUNT and UNMOUNT call frees the zombies whose caps are gone. */
#define NUB_MOUNT_F_FAIL_STEP_MASK 0xffull
/* ABI 2: args[0] is not a package but a cap list (struct nub_mount_caps_hdr
 * + descriptors, see "Cap lists"): the guest copies the manifest out of
 * the window into scratch RAM and parses it there, validates WASM modules
 * in place (read-only), points immutable regions and component modules at
 * their caps' window gpas, and publishes the caps. No package byte is in
 * guest RAM. package_gpa/len of the record are then the cap list's block
 * (freed at unmount; never a zombie: no entry points into it). */
#define NUB_MOUNT_F_CAPS 0x100ull

/* The package limits of one MOUNT (-o max_package=SIZE, nubfs(8)), as
 * configured on the host, which has already checked the package against
 * them (the guest checks again: it trusts no one's parse but its own).
 * The guest copies the struct out once, before using any of it.
 *   0 in a field: the guest's default for it (rvf_limits_default(); for
 *     max_package, no limit beyond the block). A limit of 0 cannot be
 *     passed; the host's own check refuses such packages before the call
 *     (except for the WASM walk limits, which only the guest checks).
 *   Count limits above the hard maxima NUB_MOUNT_MAX_* (fixed by the
 *     record formats and bitmaps below) are CLAMPED to them, not refused:
 *     a package over the hard maximum is NUB_ST_QUOTA, and msg names the
 *     hard limit. The host clamps the same way before its own check, so
 *     both refuse the same packages. Byte limits (package, region, queue,
 *     message) have no hard maximum: guest memory bounds them (NOMEM).
 *   reserved must be 0 (NUB_ST_INVAL): room for more limits without an
 *     ABI version bump. */
struct nub_mount_limits {
    uint64_t max_package;        /* bytes of the package (args[1]) */
    uint64_t max_region_size;    /* bytes of one region */
    uint64_t max_queue_bytes;    /* capacity x max message of one queue */
    uint32_t max_segments;       /* <= NUB_MOUNT_MAX_CAPS */
    uint32_t max_components;     /* <= NUB_MOUNT_MAX_COMPONENTS */
    uint32_t max_regions;        /* <= NUB_MOUNT_MAX_REGIONS */
    uint32_t max_queues;         /* <= NUB_MOUNT_MAX_QUEUES */
    uint32_t max_tasks;          /* <= NUB_MOUNT_MAX_TASKS */
    uint32_t max_grants;         /* <= NUB_MOUNT_MAX_GRANTS */
    uint32_t max_queue_capacity; /* slots of one queue */
    uint32_t max_message;        /* bytes of one queue message */
    uint32_t max_wasm_sections;  /* sections walked in one module */
    uint32_t max_wasm_exports;   /* exports walked in one module */
    uint64_t reserved[2];
};
#define NUB_MOUNT_STEP_PARSE 2u
#define NUB_MOUNT_STEP_REGIONS 3u
#define NUB_MOUNT_STEP_COMPONENTS 4u
#define NUB_MOUNT_STEP_GRANTS 5u
#define NUB_MOUNT_STEP_QUEUES 6u
#define NUB_MOUNT_STEP_TASKS 7u
#define NUB_MOUNT_SIGNER_LEN 8u

/* ---- Mount table (guest heap, read by the host) ---------------------------
 * boot_info.mount_table_gpa -> struct nub_mount_table, allocated by INIT
 * together with its fixed array of `capacity` (NUB_MOUNT_SLOTS) records at
 * slots_gpa; neither moves afterwards. A record is in use iff state !=
 * NUB_MOUNT_S_FREE; the host shows only NUB_MOUNT_S_LIVE records (`count`
 * of them) and ignores zombies. Each live record points at arrays in one
 * records block of the guest heap (components_gpa ... caps_gpa, each with
 * its count); those arrays never change while the record is live, except
 * task states, append-only lengths and ring head/tail. `generation`
 * changes on every successful mount or unmount (a failed mount leaves the
 * table untouched). All strings are char[NUB_MOUNT_NAME_LEN], NUL-padded,
 * at most 63 characters; the host must still bound its reads (memchr) and
 * range-check every gpa and count (at most the NUB_MOUNT_MAX_* below). */
#define NUB_MOUNT_MAGIC 0x544e4d5f4255454eull /* "NEUB_MNT" little-endian */
#define NUB_MOUNT_SLOTS 256u
#define NUB_MOUNT_NAME_LEN 64u
#define NUB_MOUNT_MAX_COMPONENTS 256u /* also the width of the reader/writer bitmaps */
#define NUB_MOUNT_MAX_REGIONS 256u
#define NUB_MOUNT_MAX_QUEUES 1024u
#define NUB_MOUNT_MAX_TASKS 64u
#define NUB_MOUNT_MAX_GRANTS 4096u
#define NUB_MOUNT_MAX_CAPS 1024u      /* segments of one package */

struct nub_mount_table {
    uint64_t magic;       /* NUB_MOUNT_MAGIC */
    uint64_t capacity;    /* records at slots_gpa (NUB_MOUNT_SLOTS) */
    uint64_t count;       /* records in state NUB_MOUNT_S_LIVE */
    uint64_t slots_gpa;   /* struct nub_mount_rec[capacity] */
    uint64_t generation;  /* changes on every mount and unmount */
    uint64_t next_handle; /* handle the next mount gets */
    uint64_t zombies;     /* records in state NUB_MOUNT_S_ZOMBIE */
    uint64_t reserved;
};

enum nub_mount_state {
    NUB_MOUNT_S_FREE = 0,
    NUB_MOUNT_S_LIVE = 1,
    NUB_MOUNT_S_ZOMBIE = 2, /* unmounted; package bytes kept for others' caps */
};

struct nub_mount_rec {
    uint64_t handle;              /* nonzero while in use */
    uint32_t state;               /* enum nub_mount_state */
    uint32_t flags;               /* 0 */
    char name[NUB_MOUNT_NAME_LEN];    /* manifest package name */
    char version[NUB_MOUNT_NAME_LEN]; /* manifest package version */
    uint8_t signer[NUB_MOUNT_SIGNER_LEN]; /* key id from the host; 0 = unsigned */
    uint8_t manifest_hash[16];    /* cap hash of the manifest segment */
    uint64_t package_gpa;         /* package bytes (block owned by the mount) */
    uint64_t package_len;
    uint64_t generation;          /* table generation that published it */
    uint32_t ncomponents, nregions, nqueues, ntasks, ngrants, ncaps;
    uint64_t components_gpa;      /* struct nub_mount_component[ncomponents] */
    uint64_t regions_gpa;         /* struct nub_mount_region[nregions] */
    uint64_t queues_gpa;          /* struct nub_mount_queue[nqueues] */
    uint64_t tasks_gpa;           /* struct nub_mount_task[ntasks] */
    uint64_t grants_gpa;          /* struct nub_mount_grant[ngrants] */
    uint64_t caps_gpa;            /* struct nub_mount_cap[ncaps] */
    uint64_t records_gpa;         /* the block holding all six arrays */
    uint64_t records_len;
    uint64_t reserved[5];
};

/* A component: its module is a WASM cap, kept in place in the package. */
struct nub_mount_component {
    char name[NUB_MOUNT_NAME_LEN];
    uint8_t wasm_hash[16];        /* cap hash of its module */
    uint64_t wasm_gpa;            /* module bytes (inside the package) */
    uint64_t wasm_len;
    uint32_t priority;            /* 0..255 */
    uint32_t nentries;            /* WIT entry points = its tasks: */
    uint32_t first_task;          /*   tasks[first_task .. first_task+nentries) */
    uint32_t ngrants;             /* its grant table: */
    uint64_t grants_gpa;          /*   struct nub_mount_grant[ngrants] (a slice of the mount's) */
    uint64_t reserved;
};

enum nub_region_policy { /* = the manifest's values */
    NUB_REGION_IMMUTABLE = 0,   /* the bytes of a DATA cap, in place */
    NUB_REGION_APPEND_ONLY = 1, /* max_size bytes reserved, zero; length grows */
    NUB_REGION_SLAB = 2,        /* slot_size x slot_count bytes, zero */
};

struct nub_mount_region {
    char name[NUB_MOUNT_NAME_LEN];
    uint32_t policy;              /* enum nub_region_policy */
    uint32_t owner;               /* component index */
    uint64_t gpa;                 /* region memory */
    uint64_t size;                /* bytes reserved at gpa */
    uint64_t length;              /* bytes in use: slab, immutable = size; append-only from 0 */
    uint64_t slot_size, slot_count; /* slab; 0 otherwise */
    uint8_t init_hash[16];        /* immutable: its DATA cap; else zero */
    uint8_t readers[NUB_MOUNT_MAX_COMPONENTS / 8]; /* bit c%8 of byte c/8: component c */
    uint8_t writers[NUB_MOUNT_MAX_COMPONENTS / 8];
};

/* A queue's ring in guest memory: this header, then capacity slots of
 * slot_size bytes; slot i holds {uint32_t len; uint32_t reserved;
 * uint8_t data[max_msg]}. Message n (a running count) lives in slot
 * n & (capacity - 1); the ring holds messages [head, tail). */
#define NUB_RING_MAGIC 0x474e49525f42554eull /* "NUB_RING" little-endian */
#define NUB_RING_SLOT_HEADER 8u
struct nub_ring {
    uint64_t magic;
    uint32_t capacity;            /* power of two */
    uint32_t max_msg;             /* bytes */
    uint64_t slot_size;           /* round_up(8 + max_msg, 8) */
    uint64_t head;                /* messages consumed */
    uint64_t tail;                /* messages produced; tail - head <= capacity */
    uint64_t reserved[3];
};

struct nub_mount_queue {
    char src_port[NUB_MOUNT_NAME_LEN];
    char dst_port[NUB_MOUNT_NAME_LEN];
    uint32_t src, dst;            /* component indices */
    uint32_t capacity, max_msg;
    uint64_t ring_gpa;            /* struct nub_ring, then the slots */
    uint64_t ring_len;            /* 64 + capacity * slot_size */
};

/* ---- Tasks ----------------------------------------------------------------
 * NUB_OP_RUN args[0] = fuel of the slice (> 0; about one unit per WASM
 * instruction), args[1] = most fuel one task gets per turn (0 = the
 * slice's), args[2] = most fuel a task may use without waiting on a queue
 * (from its start, or since it last blocked in a send or receive; 0 = no
 * limit): past it the task ends TRAPPED with NUB_TASK_TRAP_FUEL; args[3] =
 * flags, NUB_RUN_F_TEST_CRASH or 0 (any other bit: NUB_ST_INVAL). The
 * guest first drops the run state of mounts that are gone (their tasks
 * stop here, at a slice boundary), then takes runnable tasks round robin
 * (a cursor survives between calls) until the fuel is spent or none can
 * run; a task blocked on a queue is only looked at again when that
 * queue's head or tail moved. A task's first turn instantiates its
 * component's module (an instance of its own; the tasks of a component
 * share one decoded module) and sets up the call of its entry point with
 * zero arguments, which runs from its next turn; that first turn is
 * charged 16000 + the module's length in fuel (ret[1]) if it decodes the
 * module, 4000 + a quarter of its length if another task of the component
 * did. Returns ret[0] tasks runnable now (ready or running), ret[1] fuel
 * used in this slice, ret[2] tasks blocked, ret[3] tasks that trapped in
 * this slice, ret[4] tasks done in it. Task records (below) carry state,
 * trap and fuel; the host reads them. */
/* Test only (refused with NUB_ST_INVAL unless NUB_BOOT_F_TEST_OPS): after
 * the slice's turns the guest triple-faults, so the host recovers from a
 * crash inside a RUN slice. */
#define NUB_RUN_F_TEST_CRASH 0x1u
enum nub_task_state {
    NUB_TASK_READY = 1,    /* not started yet, or yielded */
    NUB_TASK_RUNNING = 2,  /* started, preempted at the end of its fuel */
    NUB_TASK_STOPPED = 3,  /* its mount went away */
    NUB_TASK_BLOCKED = 4,  /* waits on a queue (receive: empty, send: full) */
    NUB_TASK_DONE = 5,     /* the entry point returned */
    NUB_TASK_TRAPPED = 6,  /* ended by a trap: see trap */
};

/* Why a task trapped: 1..11 are the interpreter's traps (enum
 * nub_wasm_trap in guest/wasm/wasm.h, same numbers), the rest the runner's. */
enum nub_task_trap {
    NUB_TASK_TRAP_NONE = 0,
    NUB_TASK_TRAP_WASM_LAST = 11,   /* last interpreter trap */
    NUB_TASK_TRAP_INSTANTIATE = 32, /* module refused, import missing or mistyped */
    NUB_TASK_TRAP_NOMEM = 33,       /* guest heap exhausted for its instance */
    NUB_TASK_TRAP_START_FUEL = 34,  /* start function ran past its fuel */
    NUB_TASK_TRAP_ENTRY = 35,       /* entry point not an exported function */
    NUB_TASK_TRAP_FUEL = 36,        /* ran past RUN args[2] without waiting */
};

struct nub_mount_task {
    char entry[NUB_MOUNT_NAME_LEN]; /* WIT entry point (an exported function) */
    uint32_t component;           /* index */
    uint32_t priority;            /* the component's */
    uint32_t state;               /* enum nub_task_state */
    uint32_t trap;                /* enum nub_task_trap when TRAPPED, else 0 */
    uint64_t fuel_used;           /* since the mount */
    uint64_t reserved;
};

enum nub_object_kind { /* = the manifest's values */
    NUB_OBJ_REGION = 0,
    NUB_OBJ_QUEUE = 1,
    NUB_OBJ_COMPONENT = 2,
};

#define NUB_RIGHT_READ 0x01u
#define NUB_RIGHT_WRITE 0x02u
#define NUB_RIGHT_GRANT 0x04u
#define NUB_RIGHT_REVOKE 0x08u
#define NUB_RIGHT_EXECUTE 0x10u

/* Sorted by (component, kind, object); a component's grants are contiguous. */
struct nub_mount_grant {
    uint32_t component;
    uint32_t kind;                /* enum nub_object_kind */
    uint32_t object;              /* index in the mount's table of that kind */
    uint32_t rights;              /* NUB_RIGHT_* */
};

/* One cap reference the mount holds (one per non-signature segment). */
#define NUB_MCAP_F_FIRST 0x1u /* this mount created the directory entry: its
                                 data_gpa points into this package */
struct nub_mount_cap {
    uint8_t hash[16];
    uint64_t gpa;                 /* the bytes in this package */
    uint64_t len;
    uint16_t kind;                /* enum nub_cap_kind */
    uint16_t flags;               /* NUB_MCAP_F_* */
    uint32_t segment;             /* segment index in the package */
    uint64_t reserved;
};

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(struct nub_boot_info) == 128, "boot info layout");
_Static_assert(sizeof(struct nub_log_ring) == 16 + NUB_LOG_RING_SIZE, "log ring layout");
_Static_assert(sizeof(struct nub_dir_header) == 80, "directory header layout");
_Static_assert(sizeof(struct nub_dir_entry) == 40, "directory entry layout");
_Static_assert(sizeof(struct nub_mount_table) == 64, "mount table layout");
_Static_assert(sizeof(struct nub_mount_rec) == 320, "mount record layout");
_Static_assert(sizeof(struct nub_mount_component) == 128, "component record layout");
_Static_assert(sizeof(struct nub_mount_region) == 192, "region record layout");
_Static_assert(sizeof(struct nub_ring) == 64, "ring header layout");
_Static_assert(sizeof(struct nub_mount_queue) == 160, "queue record layout");
_Static_assert(sizeof(struct nub_mount_task) == 96, "task record layout");
_Static_assert(sizeof(struct nub_mount_grant) == 16, "grant record layout");
_Static_assert(sizeof(struct nub_mount_cap) == 48, "cap record layout");
_Static_assert(sizeof(struct nub_mount_limits) == 80, "mount limits layout");
_Static_assert(sizeof(struct nub_test_wasm_req) == 144, "test wasm request layout");
_Static_assert(sizeof(struct nub_cap_desc) == 48, "cap descriptor layout");
_Static_assert(sizeof(struct nub_mount_caps_hdr) == 32, "cap list header layout");
_Static_assert(sizeof(struct nub_mailbox) == 8 + 16 + 64 + 64 + 16 + 8 + 16 * 64 + 256,
               "mailbox layout");
#endif

#endif /* NUB_ABI_H */
