/* Unmount: stop tasks, disconnect queues, revoke grants, destroy regions,
 * drop cap references, free the handle and the package. If a cap this
 * package published first is still held by others, its bytes must stay:
 * the record turns into a hidden zombie that keeps the package (and its cap
 * list) until nub_mounts_sweep() finds no entry pointing into it. */
#include <string.h>

#include "mount_internal.h"
#include "nub/guest_addr.h"
#include "nub/guest_log.h"

static uint32_t clamp(uint32_t n, uint32_t max) { return n > max ? max : n; }

enum nub_status nub_unmount(struct nub_mounts *m, uint64_t handle, struct nub_unmount_out *out,
                            char *msg, size_t msg_cap)
{
    *out = (struct nub_unmount_out){0};
    if (msg_cap)
        msg[0] = '\0';
    int64_t s = mount_table_find(m, handle);
    if (s < 0)
        return mount_failv(msg, msg_cap, NUB_ST_NOENT, "UNMOUNT: no mount with handle %llu",
                           (unsigned long long)handle);
    struct nub_mount_rec *slot = mount_slot(m, (uint32_t)s);
    /* Copy out and bound every count: the table lives in host-writable
     * memory, and the loops below must stay bounded whatever it says. */
    struct nub_mount_rec r = *slot;
    r.name[NUB_MOUNT_NAME_LEN - 1] = '\0';
    uint32_t nc = clamp(r.ncomponents, NUB_MOUNT_MAX_COMPONENTS);
    uint32_t nr = clamp(r.nregions, NUB_MOUNT_MAX_REGIONS);
    uint32_t nq = clamp(r.nqueues, NUB_MOUNT_MAX_QUEUES);
    uint32_t nt = clamp(r.ntasks, NUB_MOUNT_MAX_TASKS);
    uint32_t ng = clamp(r.ngrants, NUB_MOUNT_MAX_GRANTS);
    uint32_t ncap = clamp(r.ncaps, NUB_MOUNT_MAX_CAPS);
    struct nub_mount_cap *caps = nub_mem_ptr(r.caps_gpa);

    mount_tasks_stop(nub_mem_ptr(r.tasks_gpa), nt);
    mount_queues_disconnect(m->heap, nub_mem_ptr(r.queues_gpa), nq);
    mount_grants_revoke(nub_mem_ptr(r.components_gpa), nc, nub_mem_ptr(r.grants_gpa), ng);
    mount_regions_destroy(m->heap, nub_mem_ptr(r.regions_gpa), nr);
    out->caps_removed = mount_caps_release(m, caps, ncap);

    m->live--;
    m->generation++;
    if (mount_caps_pinned(m->dir, caps, ncap, r.package_gpa, r.package_len)) {
        /* Keep the package and the cap list; the rest is gone. */
        slot->state = NUB_MOUNT_S_ZOMBIE;
        slot->ncomponents = slot->nregions = slot->nqueues = slot->ntasks = slot->ngrants = 0;
        m->zombies++;
        out->zombie = 1;
    } else {
        nub_heap_free(m->heap, r.package_gpa, NUB_OWNER_MOUNT);
        nub_heap_free(m->heap, r.records_gpa, NUB_OWNER_MOUNT);
        memset(slot, 0, sizeof *slot);
        out->zombies_freed = 1;
    }
    mount_table_publish(m);
    nub_logf("unmount: %s handle %llu: %u caps removed%s", r.name, (unsigned long long)handle,
             out->caps_removed, out->zombie ? ", package kept for caps still held" : "");
    /* Our releases may have unpinned earlier zombies. */
    out->zombies_freed += nub_mounts_sweep(m);
    return NUB_ST_OK;
}
