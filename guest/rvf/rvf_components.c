/* The checks that need both the manifest and the modules: every WASM
 * segment passes the structure walk, and every component's WIT entry
 * points are functions its module exports. One function, called by the
 * guest's mount step 4 and by `nubfs-pack verify`, so verify accepts what
 * the guest mounts (DESIGN §5). A walk over sections and exports, never
 * over payload bytes. */
#include "rvf_internal.h"

static enum rvf_status check_modules(const struct rvf_package *pkg, const struct rvf_limits *lim,
                                     struct rvf_result *res)
{
    for (uint32_t i = 0; i < pkg->nsegs; i++) {
        const struct rvf_segment *s = &pkg->segs[i];
        if (s->type != RVF_SEG_WASM)
            continue;
        struct rvf_result why;
        enum rvf_status st = rvf_wasm_validate(rvf_payload(pkg, s), (size_t)s->payload_len, lim,
                                               NULL, &why);
        if (st != RVF_OK) {
            rvf_fail(res, st, (int32_t)i, s->payload_offset + why.offset, "segment ");
            rvf_msg_dec(res, i);
            rvf_msg_str(res, ": ");
            rvf_msg_str(res, why.msg);
            return st;
        }
    }
    return RVF_OK;
}

static enum rvf_status component_fail(struct rvf_result *res, const struct rvf_component *comp,
                                      const char *text, const char *entry)
{
    rvf_fail(res, RVF_E_REF, -1, 0, "component ");
    rvf_msg_str(res, comp->name);
    rvf_msg_str(res, text);
    if (entry) {
        rvf_msg_str(res, entry);
        rvf_msg_str(res, " is not an exported function");
    }
    return RVF_E_REF;
}

enum rvf_status rvf_check_components(const struct rvf_package *pkg, const struct rvf_manifest *mf,
                                     const struct rvf_limits *lim, struct rvf_result *res)
{
    struct rvf_limits defaults;
    if (!pkg || !mf || (pkg->nsegs && !pkg->segs))
        return rvf_fail(res, RVF_E_INVAL, -1, 0, "rvf_check_components: bad argument");
    lim = rvf_limits_or_default(lim, &defaults);
    enum rvf_status st = check_modules(pkg, lim, res);
    if (st != RVF_OK)
        return st;
    for (uint32_t i = 0; i < mf->ncomponents; i++) {
        struct rvf_component comp;
        rvf_manifest_component(mf, i, &comp);
        /* rvf_manifest_parse with the segment list checked this; a
         * manifest parsed without it must not get further here. */
        const struct rvf_segment *s =
            rvf_find_segment(pkg->segs, pkg->nsegs, comp.wasm_hash, RVF_SEG_WASM);
        if (!s)
            return component_fail(res, &comp, ": no WASM segment with its hash", NULL);
        const uint8_t *mod = rvf_payload(pkg, s);
        for (uint32_t j = 0; j < comp.nentries; j++) {
            const char *entry = rvf_manifest_entry(mf, &comp, j);
            if (!rvf_wasm_has_export(mod, (size_t)s->payload_len, entry, RVF_WASM_EXPORT_FUNC))
                return component_fail(res, &comp, ": entry point ", entry);
        }
    }
    rvf_ok(res);
    return RVF_OK;
}
