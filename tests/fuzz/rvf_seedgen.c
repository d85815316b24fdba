/* Writes the seed corpora of the RVF fuzz targets from the encoder and
 * the test package builder:
 *   rvf_seedgen OUTDIR [FILE.rvf|FILE.wasm ...]
 * creates OUTDIR/{container,manifest,wasm}/. Extra .rvf files (e.g. the
 * example packages) are added whole, and their manifest and WASM
 * segments go to the other two corpora; .wasm files go to wasm/. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rvf.h"
#include "rvf_build.h"

static const char *outdir;

static void put(const char *sub, const char *name, const void *buf, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", outdir, sub);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof(path), "%s/%s/%s", outdir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void add_package_parts(const char *base, const uint8_t *buf, size_t len)
{
    static struct rvf_segment segs[1024];
    struct rvf_package pkg;
    struct rvf_result res;
    if (rvf_parse(buf, len, segs, 1024, NULL, &pkg, &res) != RVF_OK) {
        fprintf(stderr, "%s: %s (kept in container/ only)\n", base, res.msg);
        return;
    }
    char name[512];
    snprintf(name, sizeof(name), "%s.manifest", base);
    put("manifest", name, rvf_payload(&pkg, &segs[0]), (size_t)segs[0].payload_len);
    for (uint32_t i = 0; i < pkg.nsegs; i++)
        if (segs[i].type == RVF_SEG_WASM) {
            snprintf(name, sizeof(name), "%s.%u.wasm", base, i);
            put("wasm", name, rvf_payload(&pkg, &segs[i]), (size_t)segs[i].payload_len);
        }
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    size_t r;
    while (b && (r = fread(b + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap)
            b = realloc(b, cap *= 2);
    }
    fclose(f);
    *len = n;
    return b;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: rvf_seedgen OUTDIR [FILE.rvf|FILE.wasm ...]\n");
        return 2;
    }
    outdir = argv[1];
    mkdir(outdir, 0755);

    struct tpkg p;
    sample_package(&p, false);
    put("container", "sample_unsigned.rvf", p.buf, p.len);
    add_package_parts("sample", p.buf, p.len);
    tpkg_free(&p);
    sample_package(&p, true);
    put("container", "sample_signed.rvf", p.buf, p.len);
    tpkg_free(&p);

    /* Smallest valid package and manifest: no components at all. */
    struct rvf_manifest_desc empty = {.name = "empty", .version = "0"};
    uint8_t *mf;
    size_t ml = encode_desc(&empty, &mf);
    put("manifest", "empty.manifest", mf, ml);
    tpkg_init(&p);
    tpkg_add(&p, RVF_SEG_MANIFEST, mf, ml);
    put("container", "empty.rvf", p.buf, p.len);
    tpkg_free(&p);
    free(mf);

    uint8_t w[64];
    size_t wl = sample_wasm(w, "run");
    put("wasm", "run.wasm", w, wl);
    put("wasm", "header_only.wasm", w, 8);

    for (int i = 2; i < argc; i++) {
        size_t len;
        uint8_t *b = slurp(argv[i], &len);
        if (!b) {
            perror(argv[i]);
            return 1;
        }
        const char *base = strrchr(argv[i], '/');
        base = base ? base + 1 : argv[i];
        size_t bl = strlen(base);
        if (bl > 4 && strcmp(base + bl - 4, ".rvf") == 0) {
            put("container", base, b, len);
            add_package_parts(base, b, len);
        } else {
            put("wasm", base, b, len);
        }
        free(b);
    }
    return 0;
}
