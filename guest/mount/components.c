/* Mount step 4, first half: rvf_check_components (every WASM module
 * passes the structure walk, every WIT entry point is an exported
 * function; the same check `nubfs-pack verify` makes), then the component
 * records. The modules stay in place in the package. */
#include "mount_internal.h"

enum nub_status mount_components(struct mctx *c)
{
    const struct rvf_package *p = &c->pkg;
    struct rvf_result res;
    enum rvf_status rs = rvf_check_components(p, &c->mf, &c->lim, &res);
    if (rs != RVF_OK)
        return mount_fail(c, mount_rvf_status(rs), "%s", res.msg);
    uint32_t task = 0;
    for (uint32_t i = 0; i < c->rec.ncomponents; i++) {
        struct rvf_component comp;
        rvf_manifest_component(&c->mf, i, &comp);
        const struct rvf_segment *s =
            rvf_find_segment(p->segs, p->nsegs, comp.wasm_hash, RVF_SEG_WASM);
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
