/* Writes seed frames for fuzz.frame into DIR: a frame with literal and
 * cap pieces (one empty), one with a single literal, one of an empty
 * package. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

static int put(const char *dir, const char *name, const uint8_t *pkg, uint64_t len,
               const struct nubfs_frame_cap *caps, uint32_t n)
{
    struct nubfs_frame_meta m = {.mode = 0644, .uid = 1000, .gid = 1000,
                                 .mtime = {1700000000, 5}};
    uint8_t *b;
    size_t bl;
    if (nubfs_frame_encode(&m, pkg, len, caps, n, &b, &bl) != 0)
        return 1;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int bad = f == NULL || fwrite(b, 1, bl, f) != bl;
    if (f != NULL && fclose(f) != 0)
        bad = 1;
    free(b);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: frame_seedgen DIR\n");
        return 2;
    }
    uint8_t pkg[512];
    for (size_t i = 0; i < sizeof(pkg); i++)
        pkg[i] = (uint8_t)i;
    struct nubfs_frame_cap c[3] = {{.off = 64, .len = 100, .kind = 1, .hash = {1}},
                                   {.off = 200, .len = 0, .kind = 2, .hash = {2}},
                                   {.off = 256, .len = 192, .kind = 3, .hash = {3}}};
    int bad = put(argv[1], "three_caps", pkg, sizeof(pkg), c, 3);
    bad |= put(argv[1], "literal", pkg, 100, NULL, 0);
    bad |= put(argv[1], "empty", pkg, 0, NULL, 0);
    return bad;
}
