/* The JSON package description of `nubfs-pack build` (format in
 * nubfs-pack(1)): parsed with jansson, every value checked with a message
 * naming its JSON path, turned into the rvf encoder's input plus the list
 * of blobs (WASM modules, data files) that become segments. */
#ifndef NUB_PACK_SPEC_H
#define NUB_PACK_SPEC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "rvf.h"

#define PACK_ERR_MAX 1024u

/* One segment payload other than the manifest, loaded from a file. Equal
 * (type, hash) pairs are stored once. */
struct pack_blob {
    uint8_t type; /* RVF_SEG_WASM or RVF_SEG_DATA */
    uint8_t hash[RVF_HASH_LEN];
    uint8_t *data;
    size_t len;
    char *path; /* as resolved, for messages */
};

struct pack_spec {
    json_t *root; /* owns every string the desc points to */
    struct rvf_manifest_desc desc;
    struct rvf_component_desc *comps;
    struct rvf_region_desc *regions;
    struct rvf_queue_desc *queues;
    struct rvf_grant *grants;
    void **allocs; /* every other allocation (entry lists, index lists, ports) */
    size_t nallocs, allocs_cap;
    struct pack_blob *blobs;
    size_t nblobs;
};

/* Loads and checks spec_path. Paths inside are relative to its directory.
 * lim may be NULL for the defaults. On error returns -1 and err holds one
 * line "SPEC: JSON.PATH: reason". */
int pack_spec_load(const char *spec_path, const struct rvf_limits *lim, struct pack_spec *out,
                   char *err, size_t errlen);

/* The same on an already parsed document (takes a reference to root);
 * label prefixes messages, basedir resolves relative paths. */
int pack_spec_from_json(json_t *root, const char *label, const char *basedir,
                        const struct rvf_limits *lim, struct pack_spec *out, char *err,
                        size_t errlen);

void pack_spec_free(struct pack_spec *s);

/* Rights names in spec order (bit i = RVF_RIGHT_* 1 << i). */
extern const char *const pack_right_names[5];
extern const char *const pack_policy_names[3];

#endif /* NUB_PACK_SPEC_H */
