/* Mount step 7: one task record per WIT entry point, in component order,
 * state READY. (Nothing runs WASM yet: a task is the record a scheduler
 * would pick up.) */
#include "mount_internal.h"

enum nub_status mount_tasks_spawn(struct mctx *c)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->rec.ncomponents; i++) {
        struct rvf_component comp;
        rvf_manifest_component(&c->mf, i, &comp);
        if (comp.nentries > c->rec.ntasks - n)
            return mount_fail(c, NUB_ST_BADMSG, "tasks: more entry points than counted");
        for (uint32_t j = 0; j < comp.nentries; j++, n++) {
            struct nub_mount_task *t = &c->tasks[n];
            mount_copy_name(t->entry, rvf_manifest_entry(&c->mf, &comp, j));
            t->component = i;
            t->priority = comp.priority;
            t->state = NUB_TASK_READY;
        }
    }
    if (n != c->rec.ntasks)
        return mount_fail(c, NUB_ST_BADMSG, "tasks: %u entry points, %u counted", n, c->rec.ntasks);
    return NUB_ST_OK;
}

void mount_tasks_stop(struct nub_mount_task *t, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        t[i].state = NUB_TASK_STOPPED;
}
