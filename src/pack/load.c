/* Reading and parsing a package file for inspect and verify. */
#include "load.h"

#include <stdlib.h>
#include <string.h>

#include "file_util.h"
#include "pack.h"
#include "spec.h"

int pack_pkg_load(const char *path, const struct rvf_limits *lim, struct pack_pkg *p)
{
    memset(p, 0, sizeof *p);
    char err[PACK_ERR_MAX];
    if (nub_read_file(path, lim->max_package, &p->data, &p->len, NULL, err, sizeof err) < 0) {
        pack_err("%s", err);
        return -1;
    }
    p->segs = calloc(lim->max_segments ? lim->max_segments : 1, sizeof *p->segs);
    if (!p->segs) {
        pack_err("%s: out of memory", path);
        return -1;
    }
    if (rvf_parse(p->data, p->len, p->segs, lim->max_segments, lim, &p->pkg, &p->res) != RVF_OK)
        return 0;
    p->parsed = true;
    return 0;
}

bool pack_pkg_manifest(struct pack_pkg *p, const struct rvf_limits *lim)
{
    if (!p->parsed)
        return false;
    const struct rvf_segment *ms = &p->segs[p->pkg.manifest];
    if (rvf_manifest_parse(rvf_payload(&p->pkg, ms), (size_t)ms->payload_len, p->segs,
                           p->pkg.nsegs, lim, &p->m, &p->res) != RVF_OK)
        return false;
    p->manifest_ok = true;
    return true;
}

void pack_pkg_free(struct pack_pkg *p)
{
    free(p->data);
    free(p->segs);
    memset(p, 0, sizeof *p);
}

const char *pack_seg_type_name(uint8_t type)
{
    switch (type) {
    case RVF_SEG_MANIFEST: return "manifest";
    case RVF_SEG_WASM: return "wasm";
    case RVF_SEG_DATA: return "data";
    case RVF_SEG_CRYPTO: return "crypto";
    }
    return "unknown";
}
