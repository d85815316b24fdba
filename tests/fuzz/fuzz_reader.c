/* libFuzzer target: the cap-directory reader (src/reader.c) over a guest
 * memory built from the input (layout in fuzz_gm.h; boot info at
 * FZ_BOOT_GPA). Opens, lists every cap, looks up every hash found in a
 * table slot, every listed hash, the input's last 16 bytes and its tail
 * parsed as a hex file name (nub_hash_from_hex), and checks:
 *   - every cap served has its data inside guest memory, above the low
 *     area (its bytes are copied out, so ASan sees any stray read);
 *   - listing and lookup agree: get(h) succeeds iff h was listed, with the
 *     same cap; every used slot (of the table and, during a growth, of the
 *     old table) is either listed or counted bad (a stretch of
 *     NUB_READER_MAX_BAD_RUN bad ones ends a call with -EIO: the listing
 *     goes on after it); no hash is listed twice;
 *   - work is bounded: a lookup reads at most NUB_DIR_MAX_PROBE slots per
 *     table, a whole listing at most 1 + 2 * NUB_DIR_MAX_PROBE per slot.
 * Boot-info reserved[6] bit 8 makes the "guest" rewrite the first 48
 * bytes of its directory header (magic .. total_bytes) in the middle of
 * the listing (with reserved[0..5], after reserved[6] & 0xff caps): then
 * only the safety checks apply. */
#include <errno.h>

#include "fuzz_gm.h"
#include "reader.h"

#define MAX_LISTED 1024 /* at most 256 + 128 slots fit in guest memory */

static struct fz_mem M;
static struct nub_cap listed[MAX_LISTED];
static size_t nlisted;

static void check_cap(const struct nub_cap *c)
{
    FUZZ_CHECK(c->kind <= NUB_CAP_MANIFEST);
    FUZZ_CHECK(c->refcount > 0);
    fz_check_served(&M.gm, c->data_gpa, c->len);
}

static bool cap_eq(const struct nub_cap *a, const struct nub_cap *b)
{
    return memcmp(a->hash, b->hash, 16) == 0 && a->data_gpa == b->data_gpa &&
           a->len == b->len && a->refcount == b->refcount && a->kind == b->kind;
}

static const struct nub_cap *find_listed(const uint8_t hash[16])
{
    for (size_t i = 0; i < nlisted; i++)
        if (memcmp(listed[i].hash, hash, 16) == 0)
            return &listed[i];
    return NULL;
}

/* get/contains on one hash; with a stable memory they must agree with
 * the listing. */
static void query(const struct nub_reader *r, const uint8_t hash[16], bool stable)
{
    struct nub_cap c;
    memset(&c, 0, sizeof(c));
    uint64_t reads0 = nub_reader_slots_read();
    int g = nub_reader_get(r, hash, &c);
    FUZZ_CHECK(nub_reader_slots_read() - reads0 <= 2 * NUB_DIR_MAX_PROBE);
    FUZZ_CHECK(g == 0 || g == -ENOENT || g == -EIO);
    FUZZ_CHECK(nub_reader_contains(r, hash) == (g == 0));
    if (g == 0) {
        FUZZ_CHECK(memcmp(c.hash, hash, 16) == 0);
        check_cap(&c);
    }
    if (!stable)
        return;
    const struct nub_cap *l = find_listed(hash);
    FUZZ_CHECK((g == 0) == (l != NULL));
    if (l)
        FUZZ_CHECK(cap_eq(l, &c));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_mem_load(&M, data, size);
    struct nub_reader r;
    enum nub_reader_error e = nub_reader_open(&r, &M.gm, FZ_BOOT_GPA);
    FUZZ_CHECK(nub_reader_strerror(e) != NULL);
    if (e != NUB_READER_OK)
        return 0;
    FUZZ_CHECK(r.directory_gpa >= NUB_KERNEL_BASE);

    struct nub_boot_info bi;
    FUZZ_CHECK(nub_gm_read(&M.gm, FZ_BOOT_GPA, &bi, sizeof(bi)) == 0);
    struct nub_dir_header h;
    FUZZ_CHECK(nub_reader_header(&r, &h) == 0);
    FUZZ_CHECK(nub_reader_len(&r) == (int64_t)h.count);
    /* The tables the header names (the old one only during a growth). */
    const struct {
        nub_gpa gpa;
        uint64_t cap;
    } tabs[2] = {{h.entries_gpa, h.capacity}, {h.old_entries_gpa, h.old_capacity}};
    const int ntabs = h.old_capacity ? 2 : 1;
    for (int t = 0; t < ntabs; t++)
        fz_check_served(&M.gm, tabs[t].gpa, tabs[t].cap * sizeof(struct nub_dir_entry));
    if (ntabs == 1)
        FUZZ_CHECK(h.old_entries_gpa == 0 && h.old_count == 0);
    else
        FUZZ_CHECK(h.old_capacity < h.capacity && h.old_count <= h.old_capacity);
    const uint64_t end = h.capacity + h.old_capacity;

    bool rewrite = (bi.reserved[6] & 0x100) != 0;
    uint64_t rewrite_at = bi.reserved[6] & 0xff;
    bool stable = true;

    uint64_t cursor = 0, bad = 0, reads0 = nub_reader_slots_read();
    int k;
    struct nub_cap c;
    nlisted = 0;
    for (;;) {
        if (rewrite && nlisted == rewrite_at) {
            /* The guest grew or trashed its table between two readdirs. */
            FUZZ_CHECK(nub_gm_write(&M.gm, r.directory_gpa, bi.reserved, 48) == 0);
            (void)nub_reader_refresh(&r);
            stable = false;
            rewrite = false;
        }
        uint64_t before = cursor, bad_before = bad;
        k = nub_reader_next(&r, &cursor, &c, &bad);
        if (k == -EIO && cursor > before) {
            /* A long corrupt stretch: skipped and counted, go on. */
            FUZZ_CHECK(bad - bad_before == NUB_READER_MAX_BAD_RUN);
            continue;
        }
        if (k != 1)
            break;
        FUZZ_CHECK(cursor > before);
        check_cap(&c);
        if (stable) {
            FUZZ_CHECK(cursor <= end);
            FUZZ_CHECK(find_listed(c.hash) == NULL);
        }
        FUZZ_CHECK(nlisted < MAX_LISTED);
        listed[nlisted++] = c;
    }
    FUZZ_CHECK(k == 0 || k == -EIO);
    if (stable) {
        /* Memory did not change since open: the header still reads. */
        FUZZ_CHECK(k == 0 && cursor == end);
        uint64_t used = 0;
        for (int t = 0; t < ntabs; t++)
            for (uint64_t i = 0; i < tabs[t].cap; i++) {
                struct nub_dir_entry ent;
                FUZZ_CHECK(nub_gm_read(&M.gm, tabs[t].gpa + i * sizeof(ent), &ent,
                                       sizeof(ent)) == 0);
                if (ent.flags & NUB_DIR_F_USED)
                    used++;
            }
        FUZZ_CHECK(nlisted + bad == used);
        FUZZ_CHECK(nlisted <= end);
        FUZZ_CHECK(nub_reader_slots_read() - reads0 <= end * (1 + 2 * NUB_DIR_MAX_PROBE));
    }

    /* Lookups: every slot's hash (listed or not), every listed hash, and
     * one straight from the input. */
    for (int t = 0; stable && t < ntabs; t++)
        for (uint64_t i = 0; i < tabs[t].cap; i++) {
            struct nub_dir_entry ent;
            FUZZ_CHECK(nub_gm_read(&M.gm, tabs[t].gpa + i * sizeof(ent), &ent, sizeof(ent)) == 0);
            if (ent.flags & NUB_DIR_F_USED)
                query(&r, ent.hash, true);
        }
    for (size_t i = 0; i < nlisted; i++) {
        /* The name FUSE shows parses back to the hash. */
        char hex[33];
        uint8_t back[16];
        nub_hash_to_hex(listed[i].hash, hex);
        FUZZ_CHECK(nub_hash_from_hex(hex, back) == 0 && memcmp(back, listed[i].hash, 16) == 0);
        query(&r, listed[i].hash, stable);
    }
    if (size >= 16)
        query(&r, data + size - 16, stable);
    /* A file name from a FUSE lookup: the input's last bytes as a string. */
    char name[40];
    size_t nl = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
    memcpy(name, data + size - nl, nl);
    name[nl] = '\0';
    uint8_t h16[16];
    if (nub_hash_from_hex(name, h16) == 0) {
        char again[33];
        nub_hash_to_hex(h16, again);
        FUZZ_CHECK(strcmp(again, name) == 0);
        query(&r, h16, stable);
    }

    /* A cursor from anywhere (a stale readdir offset) is harmless. */
    uint64_t cur = size >= 24 ? 0 : size;
    if (size >= 24)
        memcpy(&cur, data + size - 24, sizeof(cur));
    k = nub_reader_next(&r, &cur, &c, NULL);
    FUZZ_CHECK(k == 0 || k == 1 || k == -EIO);
    if (k == 1)
        check_cap(&c);
    return 0;
}
