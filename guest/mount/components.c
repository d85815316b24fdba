/* Mount step 4, first half: rvf_check_components (every WASM module
 * passes the structure walk, every WIT entry point is an exported
 * function; the same check `nubfs-pack verify` makes), then the component
 * records. The modules stay in place in the package, or in their caps'
 * read-only window ranges (caps mode). */
#include "mount_internal.h"

enum nub_status mount_components(struct mctx *c)
{
    /* Caps mode: the modules alone (read in place, in the read-only
     * window), so the check's lookups walk only them. */
    struct rvf_package wasm_only = c->pkg;
    if (c->caps_mode) {
        wasm_only.segs = c->wasm_segs;
        wasm_only.nsegs = c->nwasm;
    }
    struct rvf_result res;
    enum rvf_status rs = rvf_check_components(&wasm_only, &c->mf, &c->lim, &res);
    if (rs != RVF_OK)
        return mount_fail(c, mount_rvf_status(rs), "%s", res.msg);
    uint32_t task = 0;
    for (uint32_t i = 0; i < c->rec.ncomponents; i++) {
        struct rvf_component comp;
        rvf_manifest_component(&c->mf, i, &comp);
        const struct rvf_segment *s = mount_find_seg(c, comp.wasm_hash, RVF_SEG_WASM);
        if (!s)
            return mount_fail(c, NUB_ST_BADMSG, "component %s: no WASM segment with its hash",
                              comp.name);
        if (comp.nentries > c->rec.ntasks - task)
            return mount_fail(c, NUB_ST_BADMSG, "component %s: more entry points than tasks",
                              comp.name);
        struct nub_mount_component *out = &c->comps[i];
        mount_copy_name(out->name, comp.name);
        for (int k = 0; k < 16; k++)
            out->wasm_hash[k] = comp.wasm_hash[k];
        out->wasm_gpa = mount_payload_gpa(c, s);
        out->wasm_len = s->payload_len;
        out->priority = comp.priority;
        out->nentries = comp.nentries;
        out->first_task = task;
        task += comp.nentries;
    }
    return NUB_ST_OK;
}
