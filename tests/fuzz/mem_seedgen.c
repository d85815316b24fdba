/* Writes the seed corpora of the guest-memory fuzz targets: valid cap
 * directories (fuzz_reader) and valid mount tables (fuzz_mount_reader),
 * laid out in the fixed memory map of fuzz_gm.h and built from abi.h the
 * way the unit tests build them, so the fuzzer starts from structure.
 *   mem_seedgen OUTDIR      creates OUTDIR/{reader,mount_reader}/ */
#include <errno.h>
#include <sys/stat.h>
#include <xxhash.h>

#include "fuzz_gm.h"
#include "mount_table_fixture.h"

static const char *outdir;
static struct fz_mem M;
static uint8_t image[FZ_IMAGE_MAX];

static void put(const char *sub, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", outdir, sub);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    size_t len = fz_mem_dump(&M, image);
    snprintf(path, sizeof(path), "%s/%s/%s", outdir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(image, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void wr(nub_gpa gpa, const void *p, size_t n)
{
    FUZZ_CHECK(nub_gm_write(&M.gm, gpa, p, n) == 0);
}

static void clear(void)
{
    fz_mem_load(&M, NULL, 0);
}

static void boot_info(nub_gpa dir, nub_gpa mounts, uint64_t seed)
{
    struct nub_boot_info bi = {.magic = NUB_BOOT_MAGIC,
                               .abi_version = NUB_ABI_VERSION,
                               .mem_size = FZ_D_GPA + FZ_D_SIZE,
                               .hasher_seed = seed,
                               .heap_start = FZ_B_GPA + 0x1000,
                               .directory_gpa = dir,
                               .mount_table_gpa = mounts};
    wr(FZ_BOOT_GPA, &bi, sizeof(bi));
}

/* ---- directories -------------------------------------------------------- */

#define DIR_HDR (FZ_B_GPA + 0x100)
#define DIR_ENTRIES (FZ_B_GPA + 0x200) /* up to 256 slots: ends by B + 0x2a00 */
#define DIR_OLD (FZ_B_GPA + 0x2c00)    /* up to 64 slots: ends by B + 0x3600 */

/* Inserts by linear probing from the seeded home slot, as the guest does. */
static void insert(nub_gpa table, uint64_t capacity, uint64_t seed,
                   const struct nub_dir_entry *e)
{
    uint64_t mask = capacity - 1;
    uint64_t idx = XXH3_64bits_withSeed(e->hash, 16, seed) & mask;
    for (;; idx = (idx + 1) & mask) {
        struct nub_dir_entry cur;
        FUZZ_CHECK(nub_gm_read(&M.gm, table + idx * sizeof(cur), &cur, sizeof(cur)) == 0);
        if (!(cur.flags & NUB_DIR_F_USED))
            break;
    }
    wr(table + idx * sizeof(*e), e, sizeof(*e));
}

/* A directory of `capacity` slots with nblobs blobs of growing sizes,
 * their bytes in C and D (some cross C/D), one empty blob. With
 * old_capacity, a growth is being migrated: odd blobs are still in the
 * old table; `dup` also leaves a stale copy of blob 0 there (the reader
 * must list only the new one). */
static void directory(uint64_t capacity, uint64_t old_capacity, int nblobs, uint64_t seed,
                      bool dup)
{
    clear();
    boot_info(DIR_HDR, 0, seed);
    nub_gpa next = FZ_C_GPA;
    uint64_t used = 0, old_used = 0, total = 0;
    for (int i = 0; i < nblobs; i++) {
        uint8_t buf[512];
        uint64_t len = i == 0 ? 0 : (uint64_t)(i * 37) % sizeof(buf);
        for (uint64_t j = 0; j < len; j++)
            buf[j] = (uint8_t)(i * 13 + j);
        nub_gpa gpa = 0;
        if (len) {
            if (next + len > FZ_D_GPA + FZ_D_SIZE)
                next = FZ_C_GPA;
            gpa = next;
            wr(gpa, buf, len);
            next += len;
        }
        XXH128_canonical_t h;
        XXH128_canonicalFromHash(&h, XXH3_128bits(buf, len));
        struct nub_dir_entry e = {.data_gpa = gpa,
                                  .len = len,
                                  .refcount = (uint32_t)(1 + i % 3),
                                  .kind = (uint16_t)(i % 4),
                                  .flags = NUB_DIR_F_USED};
        memcpy(e.hash, h.digest, 16);
        if (old_capacity && i % 2) {
            insert(DIR_OLD, old_capacity, seed, &e);
            old_used++;
        } else {
            insert(DIR_ENTRIES, capacity, seed, &e);
        }
        if (dup && i == 0)
            insert(DIR_OLD, old_capacity, seed, &e);
        used++;
        total += len;
    }
    struct nub_dir_header hd = {.magic = NUB_DIR_MAGIC,
                                .capacity = capacity,
                                .count = used,
                                .entries_gpa = DIR_ENTRIES,
                                .generation = 3,
                                .total_bytes = total};
    if (old_capacity) {
        hd.old_entries_gpa = DIR_OLD;
        hd.old_capacity = old_capacity;
        hd.old_count = old_used;
        hd.migrate_next = old_capacity / 2;
    }
    wr(DIR_HDR, &hd, sizeof(hd));
}

/* ---- mount tables ------------------------------------------------------- */

#define MT_TABLE (FZ_B_GPA + 0x100)
#define MT_SLOTS (FZ_B_GPA + 0x200)
#define MT_RECS (FZ_B_GPA + 0x1800)
#define MT_PKG (FZ_B_GPA + 0x2800)
#define MT_RING (FZ_B_GPA + 0x3000)

/* The unit test's table (tests/common/mount_table_fixture.h) in small,
 * "tiny" in the last slot and the append-only region's memory across
 * C/D. */
static void mount_table(uint64_t capacity)
{
    clear();
    boot_info(0, MT_TABLE, 1);
    const struct mtf_layout l = {.table_gpa = MT_TABLE, .slots_gpa = MT_SLOTS,
                                 .capacity = capacity, .zombie_slot = 0, .hello_slot = 2,
                                 .tiny_slot = (uint32_t)capacity - 1, .recs_gpa = MT_RECS,
                                 .recs_len = 0x1000, .pkg_gpa = MT_PKG, .pkg_len = 0x800,
                                 .ring_gpa = MT_RING, .log_gpa = FZ_D_GPA - 0x100,
                                 .log_size = 0x200, .log_length = 0x180};
    FUZZ_CHECK(mtf_build(&M.gm, &l) == 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mem_seedgen OUTDIR\n");
        return 2;
    }
    outdir = argv[1];
    mkdir(outdir, 0755);

    directory(64, 0, 0, 5, false);
    put("reader", "empty64");
    directory(64, 0, 10, 0x1234abcd5678ef01ull, false);
    put("reader", "small64");
    directory(64, 0, 48, 42, false); /* load 3/4: long probe runs */
    put("reader", "full64");
    directory(256, 0, 120, 7, false);
    put("reader", "mid256");
    directory(128, 64, 60, 11, false); /* growth half migrated */
    put("reader", "migrating");
    directory(128, 64, 30, 12, true);
    put("reader", "migrating_dup");
    /* The guest rewrites its header after the third cap is listed (see
     * fuzz_reader.c): once growing the table, once trashing the magic. */
    directory(64, 0, 20, 9, false);
    struct nub_boot_info bi;
    FUZZ_CHECK(nub_gm_read(&M.gm, FZ_BOOT_GPA, &bi, sizeof(bi)) == 0);
    struct nub_dir_header grown = {.magic = NUB_DIR_MAGIC, .capacity = 128, .count = 20,
                                   .entries_gpa = DIR_ENTRIES, .generation = 4};
    memcpy(bi.reserved, &grown, 48); /* magic .. total_bytes */
    bi.reserved[6] = 0x100 | 3;
    wr(FZ_BOOT_GPA, &bi, sizeof(bi));
    put("reader", "rewrite_grow");
    bi.reserved[0] = 0;
    wr(FZ_BOOT_GPA, &bi, sizeof(bi));
    put("reader", "rewrite_trash");
    clear();
    boot_info(0, 0, 1);
    put("reader", "uninit");

    mount_table(8);
    put("mount_reader", "table8");
    mount_table(16); /* slots end below the records block */
    put("mount_reader", "table16");
    clear();
    boot_info(DIR_HDR, 0, 1);
    put("mount_reader", "no_table");
    return 0;
}
