/* Mount step 5: per-component grant tables. The manifest's grants are
 * sorted by component, so each component's table is a contiguous slice of
 * the mount's grant array. Every grant is checked again here against the
 * access sets (the parser did too; this is the table the rights come
 * from, so it must not trust a path it does not see). */
#include "mount_internal.h"

/* Rights a component may hold on an object, from the manifest's sets. */
static uint32_t allowed(const struct mctx *c, const struct rvf_grant *g)
{
    uint32_t ok = 0;
    switch (g->kind) {
    case RVF_OBJ_REGION: {
        struct rvf_region r;
        rvf_manifest_region(&c->mf, g->object, &r);
        if (rvf_region_readable_by(&c->mf, &r, g->component))
            ok |= NUB_RIGHT_READ;
        if (rvf_region_writable_by(&c->mf, &r, g->component))
            ok |= NUB_RIGHT_WRITE;
        if (r.owner == g->component)
            ok |= NUB_RIGHT_GRANT | NUB_RIGHT_REVOKE;
        break;
    }
    case RVF_OBJ_QUEUE: {
        struct rvf_queue q;
        rvf_manifest_queue(&c->mf, g->object, &q);
        if (q.dst == g->component)
            ok |= NUB_RIGHT_READ | NUB_RIGHT_GRANT | NUB_RIGHT_REVOKE;
        if (q.src == g->component)
            ok |= NUB_RIGHT_WRITE | NUB_RIGHT_GRANT | NUB_RIGHT_REVOKE;
        break;
    }
    case RVF_OBJ_COMPONENT:
        ok = NUB_RIGHT_READ | NUB_RIGHT_EXECUTE;
        break;
    }
    return ok;
}

enum nub_status mount_grants(struct mctx *c)
{
    const struct nub_mount_rec *rec = &c->rec;
    uint32_t prev = 0;
    for (uint32_t i = 0; i < rec->ngrants; i++) {
        struct rvf_grant g;
        rvf_manifest_grant(&c->mf, i, &g);
        uint32_t nobj = g.kind == RVF_OBJ_REGION  ? rec->nregions
                        : g.kind == RVF_OBJ_QUEUE ? rec->nqueues
                        : g.kind == RVF_OBJ_COMPONENT ? rec->ncomponents
                                                      : 0;
        if (g.component >= rec->ncomponents || g.object >= nobj || (i && g.component < prev))
            return mount_fail(c, NUB_ST_BADMSG, "grant %u: bad component, object or order", i);
        uint32_t extra = g.rights & ~allowed(c, &g);
        if (extra)
            return mount_fail(c, NUB_ST_BADMSG,
                              "grant %u: rights 0x%x of component %s exceed the access sets", i,
                              extra, c->comps[g.component].name);
        prev = g.component;
        c->grants[i] = (struct nub_mount_grant){g.component, g.kind, g.object, g.rights};
        struct nub_mount_component *comp = &c->comps[g.component];
        if (comp->ngrants++ == 0)
            comp->grants_gpa = rec->grants_gpa + (uint64_t)i * sizeof(struct nub_mount_grant);
    }
    return NUB_ST_OK;
}

void mount_grants_revoke(struct nub_mount_component *comps, uint32_t ncomps,
                         struct nub_mount_grant *g, uint32_t n)
{
    for (uint32_t i = 0; i < ncomps; i++) {
        comps[i].ngrants = 0;
        comps[i].grants_gpa = 0;
    }
    for (uint32_t i = 0; i < n; i++)
        g[i].rights = 0;
}
