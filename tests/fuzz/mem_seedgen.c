/* Writes the seed corpora of the guest-memory fuzz targets: valid cap
 * directories (fuzz_reader) and valid mount tables (fuzz_mount_reader),
 * laid out in the fixed memory map of fuzz_gm.h and built from abi.h the
 * way the unit tests build them, so the fuzzer starts from structure.
 *   mem_seedgen OUTDIR      creates OUTDIR/{reader,mount_reader}/ */
#include <errno.h>
#include <sys/stat.h>
#include <xxhash.h>

#include "fuzz_gm.h"

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
#define MT_RECS_LEN 0x1000ull
#define MT_PKG (FZ_B_GPA + 0x2800)
#define MT_PKG_LEN 0x800ull
#define MT_RING (FZ_B_GPA + 0x3000)
#define OFF_COMP 0x0
#define OFF_REG 0x100
#define OFF_Q 0x280
#define OFF_TASK 0x380
#define OFF_GRANT 0x480
#define OFF_CAP 0x500

static nub_gpa slot(uint32_t i)
{
    return MT_SLOTS + (uint64_t)i * sizeof(struct nub_mount_rec);
}

/* The unit test's table in small: a zombie, a live "hello" with two
 * components, an immutable and an append-only region (its memory across
 * C/D), a queue with its ring, three tasks, grants and caps, and a live
 * "tiny" with one cap only. */
static void mount_table(uint64_t capacity)
{
    clear();
    boot_info(0, MT_TABLE, 1);
    struct nub_mount_table t = {.magic = NUB_MOUNT_MAGIC,
                                .capacity = capacity,
                                .count = 2,
                                .slots_gpa = MT_SLOTS,
                                .generation = 7,
                                .next_handle = 4,
                                .zombies = 1};
    wr(MT_TABLE, &t, sizeof(t));

    struct nub_mount_rec z = {.handle = 1, .state = NUB_MOUNT_S_ZOMBIE};
    strcpy(z.name, "gone");
    wr(slot(0), &z, sizeof(z));

    struct nub_mount_rec r = {.handle = 2, .state = NUB_MOUNT_S_LIVE, .generation = 6};
    strcpy(r.name, "hello");
    strcpy(r.version, "1.0");
    memset(r.signer, 0xab, sizeof(r.signer));
    r.package_gpa = MT_PKG;
    r.package_len = MT_PKG_LEN;
    r.ncomponents = 2;
    r.nregions = 2;
    r.nqueues = 1;
    r.ntasks = 3;
    r.ngrants = 3;
    r.ncaps = 3;
    r.records_gpa = MT_RECS;
    r.records_len = MT_RECS_LEN;
    r.components_gpa = MT_RECS + OFF_COMP;
    r.regions_gpa = MT_RECS + OFF_REG;
    r.queues_gpa = MT_RECS + OFF_Q;
    r.tasks_gpa = MT_RECS + OFF_TASK;
    r.grants_gpa = MT_RECS + OFF_GRANT;
    r.caps_gpa = MT_RECS + OFF_CAP;
    wr(slot(2), &r, sizeof(r));

    struct nub_mount_rec tiny = {.handle = 3,
                                 .state = NUB_MOUNT_S_LIVE,
                                 .package_gpa = MT_PKG,
                                 .package_len = 64,
                                 .ncaps = 1,
                                 .records_gpa = MT_RECS,
                                 .records_len = MT_RECS_LEN,
                                 .caps_gpa = MT_RECS + OFF_CAP};
    strcpy(tiny.name, "tiny");
    wr(slot((uint32_t)capacity - 1), &tiny, sizeof(tiny));

    struct nub_mount_component c[2] = {0};
    strcpy(c[0].name, "producer");
    c[0].wasm_gpa = MT_PKG + 0x100;
    c[0].wasm_len = 0x40;
    c[0].priority = 10;
    c[0].nentries = 2;
    c[0].ngrants = 2;
    c[0].grants_gpa = MT_RECS + OFF_GRANT;
    strcpy(c[1].name, "consumer");
    c[1].wasm_gpa = MT_PKG + 0x200;
    c[1].wasm_len = 0x40;
    c[1].nentries = 1;
    c[1].first_task = 2;
    c[1].ngrants = 1;
    c[1].grants_gpa = MT_RECS + OFF_GRANT + sizeof(struct nub_mount_grant) * 2;
    wr(MT_RECS + OFF_COMP, c, sizeof(c));

    struct nub_mount_region g[2] = {0};
    strcpy(g[0].name, "banner");
    g[0].policy = NUB_REGION_IMMUTABLE;
    g[0].gpa = MT_PKG + 0x300;
    g[0].size = g[0].length = 11;
    g[0].readers[0] = 3;
    strcpy(g[1].name, "log");
    g[1].policy = NUB_REGION_APPEND_ONLY;
    g[1].owner = 1;
    g[1].gpa = FZ_D_GPA - 0x100;
    g[1].size = 0x200;
    g[1].length = 0x180;
    g[1].readers[0] = 2;
    g[1].writers[0] = 2;
    wr(MT_RECS + OFF_REG, g, sizeof(g));
    wr(MT_PKG + 0x300, "hello world", 11);
    for (int i = 0; i < 0x180; i++) {
        uint8_t b = (uint8_t)('a' + i % 26);
        wr(g[1].gpa + (uint64_t)i, &b, 1);
    }

    struct nub_mount_queue q = {.src = 0, .dst = 1, .capacity = 4, .max_msg = 20,
                                .ring_gpa = MT_RING, .ring_len = 64 + 4 * 32};
    strcpy(q.src_port, "out");
    strcpy(q.dst_port, "in");
    wr(MT_RECS + OFF_Q, &q, sizeof(q));
    struct nub_ring ring = {.magic = NUB_RING_MAGIC, .capacity = 4, .max_msg = 20,
                            .slot_size = 32, .head = 5, .tail = 7};
    wr(MT_RING, &ring, sizeof(ring));

    struct nub_mount_task tk[3] = {0};
    strcpy(tk[0].entry, "run");
    strcpy(tk[1].entry, "tick");
    strcpy(tk[2].entry, "main");
    tk[0].priority = tk[1].priority = 10;
    tk[2].component = 1;
    tk[0].state = NUB_TASK_READY;
    tk[1].state = NUB_TASK_RUNNING;
    tk[2].state = NUB_TASK_STOPPED;
    wr(MT_RECS + OFF_TASK, tk, sizeof(tk));

    struct nub_mount_grant gr[3] = {{0, NUB_OBJ_REGION, 0, NUB_RIGHT_READ},
                                    {0, NUB_OBJ_QUEUE, 0, NUB_RIGHT_WRITE},
                                    {1, NUB_OBJ_QUEUE, 0, NUB_RIGHT_READ}};
    wr(MT_RECS + OFF_GRANT, gr, sizeof(gr));

    struct nub_mount_cap cp[3] = {0};
    for (int i = 0; i < 3; i++) {
        memset(cp[i].hash, i + 1, 16);
        cp[i].gpa = MT_PKG + 0x100 * (uint64_t)(i + 1);
        cp[i].len = 0x40;
        cp[i].kind = i == 0 ? NUB_CAP_MANIFEST : NUB_CAP_WASM;
        cp[i].flags = NUB_MCAP_F_FIRST;
        cp[i].segment = (uint32_t)i;
    }
    wr(MT_RECS + OFF_CAP, cp, sizeof(cp));
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
