/* Reading a package file for inspect and verify: the bytes, the segment
 * table (rvf_parse) and the manifest (rvf_manifest_parse). */
#ifndef NUB_PACK_LOAD_H
#define NUB_PACK_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rvf.h"

struct pack_pkg {
    uint8_t *data;
    size_t len;
    struct rvf_segment *segs;
    struct rvf_package pkg;
    struct rvf_manifest m;
    bool parsed;          /* rvf_parse accepted the container */
    bool manifest_ok;     /* rvf_manifest_parse accepted the manifest */
    struct rvf_result res; /* why the first failing step failed */
};

/* Reads the file and runs rvf_parse. 0 when the file was read (even if it
 * does not parse: look at parsed and res); -1 with a message printed when
 * it cannot be read. */
int pack_pkg_load(const char *path, const struct rvf_limits *lim, struct pack_pkg *p);
/* rvf_manifest_parse of a parsed package; sets manifest_ok (or res). */
bool pack_pkg_manifest(struct pack_pkg *p, const struct rvf_limits *lim);
void pack_pkg_free(struct pack_pkg *p);

/* Lowercase names for segment types, policies, object kinds. */
const char *pack_seg_type_name(uint8_t type);

#endif /* NUB_PACK_LOAD_H */
