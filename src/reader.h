/* The directory reader: a read-only view of the guest's cap directory,
 * walked in guest memory by the host with no VM exit.
 *
 * Guest memory is hostile: every structure is copied out before it is
 * validated, every address goes through guest_mem, probe sequences and
 * table sizes are bounded. A corrupt directory yields -EIO, never a crash
 * or an out-of-bounds access. The caller holds the sandbox read lock (the
 * guest is quiescent) for as long as it uses what it got. */
#ifndef NUB_READER_H
#define NUB_READER_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"
#include "nub/abi.h"
#include "nub/dir_slot.h"

enum nub_reader_error {
    NUB_READER_OK = 0,
    NUB_READER_BAD_MAGIC,      /* boot info magic is not NUB_BOOT_MAGIC */
    NUB_READER_BAD_ABI,        /* boot info ABI version differs */
    NUB_READER_UNINITIALISED,  /* directory_gpa is 0: INIT has not run */
    NUB_READER_OUT_OF_RANGE,   /* boot info or directory outside guest memory */
    NUB_READER_CORRUPT,        /* directory header fails validation */
};

const char *nub_reader_strerror(enum nub_reader_error e);

struct nub_reader {
    const struct nub_guest_mem *gm;
    nub_gpa boot_info_gpa;
    nub_gpa directory_gpa;
    uint64_t seed;
};

/* A cap as copied out of one directory entry, already validated: its data
 * range lies inside guest memory. */
struct nub_cap {
    uint8_t hash[16];
    nub_gpa data_gpa;
    uint64_t len;
    uint32_t refcount;
    uint16_t kind;
};

enum nub_reader_error nub_reader_open(struct nub_reader *r, const struct nub_guest_mem *gm,
                                      nub_gpa boot_info_gpa);

/* Re-reads the directory address from boot info (after the guest grew or
 * rebuilt its table, or rebooted). */
enum nub_reader_error nub_reader_refresh(struct nub_reader *r);

/* Validated snapshot of the header: 0 or -EIO. */
int nub_reader_header(const struct nub_reader *r, struct nub_dir_header *out);

/* Number of caps (both tables); -EIO if the header is corrupt. */
int64_t nub_reader_len(const struct nub_reader *r);

/* 0 and *out filled; -ENOENT if absent; -EIO if the table is corrupt on the
 * probe path (or the entry's data lies outside guest memory). Probes the
 * new table, then the old one while a growth is being migrated, each for
 * at most NUB_DIR_MAX_PROBE slots (abi.h). */
int nub_reader_get(const struct nub_reader *r, const uint8_t hash[16], struct nub_cap *out);
bool nub_reader_contains(const struct nub_reader *r, const uint8_t hash[16]);

/* The rule for a cap hash that is already published: it must name the
 * same bytes (an equal hash with other bytes is refused, never merged).
 * 0 if no cap has this hash, 1 if it has exactly data[0, len), -EEXIST if
 * its bytes differ, the reader's error (-EIO) if its entry is corrupt,
 * -EFAULT if its bytes cannot be read from guest memory. */
int nub_reader_same_bytes(const struct nub_reader *r, const uint8_t hash[16], const void *data,
                          uint64_t len);

/* Iteration in slot order. *cursor starts at 0; returns 1 with *out and
 * the cursor advanced past it, 0 at the end, -EIO on a corrupt table.
 * While the guest migrates to a grown table, cursors [0, capacity) are the
 * new table's slots and [capacity, capacity + old_capacity) the old one's;
 * each cap is listed once, where its own lookup finds it.
 * Entries that fail validation are skipped (and counted in *bad if
 * non-NULL), at most NUB_READER_MAX_BAD_RUN per call: the call that meets
 * that many returns -EIO with the cursor moved past them (a corrupt
 * stretch: a caller may go on from there; -EIO for a corrupt header
 * leaves the cursor alone). So one call reads at most capacity +
 * old_capacity empty slots plus (NUB_READER_MAX_BAD_RUN + 1) used ones at
 * (1 + 2 * NUB_DIR_MAX_PROBE) reads each, and a whole listing at most
 * (1 + 2 * NUB_DIR_MAX_PROBE) reads per slot.
 * The cursor is stable for a given directory generation, so FUSE readdir
 * offsets can be cursors. */
#define NUB_READER_MAX_BAD_RUN 256u
int nub_reader_next(const struct nub_reader *r, uint64_t *cursor, struct nub_cap *out,
                    uint64_t *bad);

/* Directory slots this thread has read from guest memory so far: a work
 * counter for tests and statistics (lookups, listing). */
uint64_t nub_reader_slots_read(void);

/* Home slot of a hash for a given seed and capacity: nub_dir_slot, in
 * nub/dir_slot.h (the guest's own definition). */

/* nub_hash_to_hex / nub_hash_from_hex: cap names (hex.h). */
#include "hex.h"

#endif /* NUB_READER_H */
