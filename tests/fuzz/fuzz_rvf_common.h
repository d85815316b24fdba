/* Shared by the RVF fuzz targets: walk every accessor of a manifest that
 * parsed (so ASan sees any read the view would make), and check that
 * re-encoding it gives a manifest that parses to the same view. */
#ifndef NUB_FUZZ_RVF_COMMON_H
#define NUB_FUZZ_RVF_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rvf.h"

#define FUZZ_CHECK(cond)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,    \
                    #cond);                                                     \
            abort();                                                            \
        }                                                                       \
    } while (0)

static inline void fuzz_check_result(const struct rvf_result *res)
{
    FUZZ_CHECK(memchr(res->msg, 0, RVF_MSG_MAX) != NULL);
    FUZZ_CHECK(res->status != RVF_OK || res->msg[0] == 0);
}

static inline void fuzz_check_name(const char *s)
{
    size_t n = strlen(s);
    FUZZ_CHECK(n >= 1 && n <= RVF_NAME_MAX);
}

/* Rebuild an encoder description from a parsed view, encode it, parse
 * the result and compare view by view. */
static inline void fuzz_roundtrip(const struct rvf_manifest *m)
{
    struct rvf_component_desc *cd = calloc(m->ncomponents + 1, sizeof(*cd));
    struct rvf_region_desc *rd = calloc(m->nregions + 1, sizeof(*rd));
    struct rvf_queue_desc *qd = calloc(m->nqueues + 1, sizeof(*qd));
    struct rvf_grant *gd = calloc(m->ngrants + 1, sizeof(*gd));
    const char **ents = calloc(m->ntasks + 1, sizeof(*ents));
    uint32_t *sets = calloc(2 * (size_t)m->nregions * (m->ncomponents + 1) + 1, sizeof(*sets));
    FUZZ_CHECK(cd && rd && qd && gd && ents && sets);
    size_t ne = 0, ns = 0;

    for (uint32_t i = 0; i < m->ncomponents; i++) {
        struct rvf_component c;
        rvf_manifest_component(m, i, &c);
        cd[i].name = c.name;
        cd[i].priority = c.priority;
        memcpy(cd[i].wasm_hash, c.wasm_hash, RVF_HASH_LEN);
        cd[i].entries = ents + ne;
        cd[i].nentries = c.nentries;
        for (uint32_t j = 0; j < c.nentries; j++)
            ents[ne++] = rvf_manifest_entry(m, &c, j);
    }
    for (uint32_t i = 0; i < m->nregions; i++) {
        struct rvf_region r;
        rvf_manifest_region(m, i, &r);
        rd[i].name = r.name;
        rd[i].policy = r.policy;
        rd[i].owner = r.owner;
        rd[i].max_size = r.max_size;
        rd[i].slot_size = r.slot_size;
        rd[i].slot_count = r.slot_count;
        memcpy(rd[i].init_hash, r.init_hash, RVF_HASH_LEN);
        rd[i].readers = sets + ns;
        rd[i].nreaders = r.nreaders;
        for (uint32_t j = 0; j < r.nreaders; j++)
            sets[ns++] = rvf_manifest_list_item(m, r.readers_first + j);
        rd[i].writers = sets + ns;
        rd[i].nwriters = r.nwriters;
        for (uint32_t j = 0; j < r.nwriters; j++)
            sets[ns++] = rvf_manifest_list_item(m, r.writers_first + j);
    }
    for (uint32_t i = 0; i < m->nqueues; i++) {
        struct rvf_queue q;
        rvf_manifest_queue(m, i, &q);
        qd[i] = (struct rvf_queue_desc){q.src, q.dst, q.src_port, q.dst_port,
                                        q.capacity, q.max_msg};
    }
    for (uint32_t i = 0; i < m->ngrants; i++)
        rvf_manifest_grant(m, i, &gd[i]);

    struct rvf_manifest_desc d = {
        m->name, m->pkg_version, cd, m->ncomponents, rd, m->nregions,
        qd, m->nqueues, gd, m->ngrants,
    };
    struct rvf_limits lim;
    rvf_limits_default(&lim);
    lim.max_components = lim.max_regions = lim.max_queues = lim.max_grants = UINT32_MAX;
    lim.max_tasks = UINT32_MAX;
    lim.max_region_size = lim.max_queue_bytes = UINT64_MAX;
    lim.max_queue_capacity = lim.max_message = UINT32_MAX;
    size_t need = 0;
    struct rvf_result res;
    FUZZ_CHECK(rvf_manifest_encode(&d, &lim, NULL, 0, &need, &res) == RVF_E_NOSPACE);
    uint8_t *out = malloc(need);
    FUZZ_CHECK(out);
    enum rvf_status st = rvf_manifest_encode(&d, &lim, out, need, &need, &res);
    if (st != RVF_OK)
        fprintf(stderr, "re-encode: %s\n", res.msg);
    FUZZ_CHECK(st == RVF_OK);
    struct rvf_manifest m2;
    FUZZ_CHECK(rvf_manifest_parse(out, need, NULL, 0, &lim, &m2, &res) == RVF_OK);
    FUZZ_CHECK(m2.ncomponents == m->ncomponents && m2.nregions == m->nregions &&
               m2.nqueues == m->nqueues && m2.ngrants == m->ngrants &&
               m2.ntasks == m->ntasks);
    FUZZ_CHECK(strcmp(m2.name, m->name) == 0);
    FUZZ_CHECK(strcmp(m2.pkg_version, m->pkg_version) == 0);
    for (uint32_t i = 0; i < m->ncomponents; i++) {
        struct rvf_component a, b;
        rvf_manifest_component(m, i, &a);
        rvf_manifest_component(&m2, i, &b);
        FUZZ_CHECK(strcmp(a.name, b.name) == 0 && a.priority == b.priority &&
                   a.nentries == b.nentries &&
                   memcmp(a.wasm_hash, b.wasm_hash, RVF_HASH_LEN) == 0);
        for (uint32_t j = 0; j < a.nentries; j++)
            FUZZ_CHECK(strcmp(rvf_manifest_entry(m, &a, j),
                              rvf_manifest_entry(&m2, &b, j)) == 0);
    }
    for (uint32_t i = 0; i < m->nregions; i++) {
        struct rvf_region a, b;
        rvf_manifest_region(m, i, &a);
        rvf_manifest_region(&m2, i, &b);
        FUZZ_CHECK(strcmp(a.name, b.name) == 0 && a.policy == b.policy &&
                   a.owner == b.owner && a.max_size == b.max_size &&
                   a.slot_size == b.slot_size && a.slot_count == b.slot_count &&
                   a.nreaders == b.nreaders && a.nwriters == b.nwriters &&
                   memcmp(a.init_hash, b.init_hash, RVF_HASH_LEN) == 0);
        for (uint32_t c = 0; c < m->ncomponents; c++) {
            FUZZ_CHECK(rvf_region_readable_by(m, &a, c) == rvf_region_readable_by(&m2, &b, c));
            FUZZ_CHECK(rvf_region_writable_by(m, &a, c) == rvf_region_writable_by(&m2, &b, c));
        }
    }
    for (uint32_t i = 0; i < m->nqueues; i++) {
        struct rvf_queue a, b;
        rvf_manifest_queue(m, i, &a);
        rvf_manifest_queue(&m2, i, &b);
        FUZZ_CHECK(a.src == b.src && a.dst == b.dst && a.capacity == b.capacity &&
                   a.max_msg == b.max_msg && strcmp(a.src_port, b.src_port) == 0 &&
                   strcmp(a.dst_port, b.dst_port) == 0);
    }
    for (uint32_t i = 0; i < m->ngrants; i++) {
        struct rvf_grant a, b;
        rvf_manifest_grant(m, i, &a);
        rvf_manifest_grant(&m2, i, &b);
        FUZZ_CHECK(memcmp(&a, &b, sizeof(a)) == 0);
    }
    free(out);
    free(cd);
    free(rd);
    free(qd);
    free(gd);
    free(ents);
    free(sets);
}

/* Every accessor of an accepted manifest, plus the view's invariants. */
static inline void fuzz_walk_manifest(const struct rvf_manifest *m)
{
    fuzz_check_name(m->name);
    fuzz_check_name(m->pkg_version);
    uint32_t tasks = 0;
    for (uint32_t i = 0; i < m->ncomponents; i++) {
        struct rvf_component c;
        rvf_manifest_component(m, i, &c);
        fuzz_check_name(c.name);
        FUZZ_CHECK(c.priority <= RVF_MAX_PRIORITY);
        FUZZ_CHECK(rvf_manifest_find_component(m, c.name) == (int32_t)i);
        for (uint32_t j = 0; j < c.nentries; j++)
            fuzz_check_name(rvf_manifest_entry(m, &c, j));
        tasks += c.nentries;
    }
    FUZZ_CHECK(tasks == m->ntasks);
    for (uint32_t i = 0; i < m->nregions; i++) {
        struct rvf_region r;
        rvf_manifest_region(m, i, &r);
        fuzz_check_name(r.name);
        FUZZ_CHECK(r.owner < m->ncomponents);
        FUZZ_CHECK(rvf_manifest_find_region(m, r.name) == (int32_t)i);
        if (r.policy == RVF_REGION_IMMUTABLE)
            FUZZ_CHECK(r.nwriters == 0);
    }
    for (uint32_t i = 0; i < m->nqueues; i++) {
        struct rvf_queue q;
        rvf_manifest_queue(m, i, &q);
        FUZZ_CHECK(q.src < m->ncomponents && q.dst < m->ncomponents);
        FUZZ_CHECK(q.capacity && !(q.capacity & (q.capacity - 1)));
        fuzz_check_name(q.src_port);
        fuzz_check_name(q.dst_port);
    }
    for (uint32_t i = 0; i < m->ngrants; i++) {
        struct rvf_grant g;
        rvf_manifest_grant(m, i, &g);
        FUZZ_CHECK(g.component < m->ncomponents);
        FUZZ_CHECK(g.rights && !(g.rights & ~RVF_RIGHTS_ALL));
        if (g.kind == RVF_OBJ_REGION) {
            struct rvf_region r;
            rvf_manifest_region(m, g.object, &r);
            if (g.rights & RVF_RIGHT_READ)
                FUZZ_CHECK(rvf_region_readable_by(m, &r, g.component));
            if (g.rights & RVF_RIGHT_WRITE)
                FUZZ_CHECK(rvf_region_writable_by(m, &r, g.component));
        }
    }
    fuzz_roundtrip(m);
}

#endif
