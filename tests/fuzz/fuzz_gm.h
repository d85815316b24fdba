/* The guest memory the reader fuzz targets run over, and the seed
 * generator writes: four fixed regions whose bytes come from the input,
 * concatenated in this order (bytes past the end of the input are zero):
 *
 *   B   [NUB_KERNEL_BASE, +16 KiB)  boot info at its first byte, then
 *                                   whatever the input puts there
 *   hole                            never guest memory
 *   C   [NUB_KERNEL_BASE + 64 KiB, +4 KiB)
 *   D   right after C (adjacent: a range may cross C/D, never the hole)
 *   LOW [0x1000, +4 KiB)            the page-table area: guest memory the
 *                                   readers must still refuse to serve
 *
 * The layout is fixed so the fuzzer mutates structures, not the map. Each
 * region is its own exactly-sized heap block, so a host read one byte past
 * any region is an ASan report. */
#ifndef NUB_FUZZ_GM_H
#define NUB_FUZZ_GM_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest_mem.h"
#include "nub/abi.h"

#define FZ_B_GPA NUB_KERNEL_BASE
#define FZ_B_SIZE 0x4000ull
#define FZ_C_GPA (NUB_KERNEL_BASE + 0x10000ull)
#define FZ_C_SIZE 0x1000ull
#define FZ_D_GPA (FZ_C_GPA + FZ_C_SIZE)
#define FZ_D_SIZE 0x1000ull
#define FZ_LOW_GPA 0x1000ull
#define FZ_LOW_SIZE 0x1000ull
#define FZ_NREG 4
#define FZ_IMAGE_MAX (FZ_B_SIZE + FZ_C_SIZE + FZ_D_SIZE + FZ_LOW_SIZE)
#define FZ_BOOT_GPA FZ_B_GPA

#define FUZZ_CHECK(cond)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,    \
                    #cond);                                                     \
            abort();                                                            \
        }                                                                       \
    } while (0)

static const struct {
    nub_gpa gpa;
    uint64_t size;
} fz_layout[FZ_NREG] = {
    {FZ_B_GPA, FZ_B_SIZE},
    {FZ_C_GPA, FZ_C_SIZE},
    {FZ_D_GPA, FZ_D_SIZE},
    {FZ_LOW_GPA, FZ_LOW_SIZE},
};

struct fz_mem {
    struct nub_guest_mem gm;
    uint8_t *buf[FZ_NREG];
};

/* (Re)builds m from data[0, size); the region blocks are allocated once. */
static inline void fz_mem_load(struct fz_mem *m, const uint8_t *data, size_t size)
{
    nub_gm_init(&m->gm);
    size_t off = 0;
    for (int i = 0; i < FZ_NREG; i++) {
        if (m->buf[i] == NULL)
            m->buf[i] = malloc(fz_layout[i].size);
        FUZZ_CHECK(m->buf[i] != NULL);
        size_t n = 0;
        if (off < size)
            n = size - off < fz_layout[i].size ? size - off : (size_t)fz_layout[i].size;
        if (n)
            memcpy(m->buf[i], data + off, n);
        memset(m->buf[i] + n, 0, (size_t)fz_layout[i].size - n);
        off += (size_t)fz_layout[i].size;
        FUZZ_CHECK(nub_gm_add_region(&m->gm, fz_layout[i].gpa, fz_layout[i].size, m->buf[i], -1,
                                     0) == 0);
    }
}

/* The image of m as an input (trailing zeros trimmed); returns its length. */
static inline size_t fz_mem_dump(const struct fz_mem *m, uint8_t *out)
{
    size_t off = 0;
    for (int i = 0; i < FZ_NREG; i++) {
        memcpy(out + off, m->buf[i], (size_t)fz_layout[i].size);
        off += (size_t)fz_layout[i].size;
    }
    while (off > 0 && out[off - 1] == 0)
        off--;
    return off;
}

/* A range the reader handed out must be guest memory at or above
 * NUB_KERNEL_BASE; copying it out proves it to ASan as well. len 0 is
 * fine anywhere (nothing is read). */
static inline void fz_check_served(const struct nub_guest_mem *gm, nub_gpa gpa, uint64_t len)
{
    static uint8_t scratch[FZ_IMAGE_MAX];
    if (len == 0)
        return;
    FUZZ_CHECK(gpa >= NUB_KERNEL_BASE);
    FUZZ_CHECK(nub_gm_check_range(gm, gpa, len));
    /* Every range inside guest memory is smaller than all of it. */
    FUZZ_CHECK(len <= sizeof(scratch));
    FUZZ_CHECK(nub_gm_read(gm, gpa, scratch, (size_t)len) == 0);
}

#endif
