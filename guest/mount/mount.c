/* nub_mount, the guest side of MOUNT: runs steps 2-7 in order, each recording its
 * progress, and either commits the mount record or undoes everything in
 * reverse order (all or nothing). Also the mailbox glue for the op
 * dispatcher and the small helpers the steps share. */
#include <stdarg.h>
#include <string.h>

#include "mount_internal.h"
#include "nub/guest_addr.h"
#include "nub/guest_log.h"

enum nub_status mount_fail(struct mctx *c, enum nub_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (c->msg_cap)
        nub_vfmt(c->msg, c->msg_cap, fmt, ap);
    va_end(ap);
    return st;
}

enum nub_status mount_failv(char *msg, size_t cap, enum nub_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (cap)
        nub_vfmt(msg, cap, fmt, ap);
    va_end(ap);
    return st;
}

void mount_copy_name(char *dst, const char *src)
{
    /* src is a name the manifest parser checked (NUL-terminated in the
     * manifest's string table), so strlen may run to its NUL.
     * strlen/memcpy/memset: string instructions, nearly free when
     * emulated (a byte loop cost ~4 emulated instructions a byte). */
    size_t n = src ? strlen(src) : 0;
    if (n > NUB_MOUNT_NAME_LEN - 1)
        n = NUB_MOUNT_NAME_LEN - 1;
    if (n)
        memcpy(dst, src, n);
    memset(dst + n, 0, NUB_MOUNT_NAME_LEN - n);
}

static const char *const step_names[] = {"", "", "parse", "regions", "components", "grants",
                                         "queues", "tasks"};

/* Test-only fault injection: fail right after step `step` did its work. */
static enum nub_status after(struct mctx *c, uint32_t step, enum nub_status st)
{
    if (st == NUB_ST_OK && c->req->fail_step == step)
        return mount_fail(c, NUB_ST_INVAL, "MOUNT: fault injected after step %u (%s)", step,
                          step_names[step]);
    return st;
}

static enum nub_status run(struct mctx *c)
{
    enum nub_status st;
    if ((st = after(c, NUB_MOUNT_STEP_PARSE, mount_parse(c))) != NUB_ST_OK)
        return st;
    if ((st = after(c, NUB_MOUNT_STEP_REGIONS, mount_regions_create(c))) != NUB_ST_OK)
        return st;
    st = mount_components(c);
    if (st == NUB_ST_OK)
        st = mount_caps_publish(c);
    if ((st = after(c, NUB_MOUNT_STEP_COMPONENTS, st)) != NUB_ST_OK)
        return st;
    if ((st = after(c, NUB_MOUNT_STEP_GRANTS, mount_grants(c))) != NUB_ST_OK)
        return st;
    if ((st = after(c, NUB_MOUNT_STEP_QUEUES, mount_queues_connect(c))) != NUB_ST_OK)
        return st;
    return after(c, NUB_MOUNT_STEP_TASKS, mount_tasks_spawn(c));
}

/* Reverse order of run(); each undo does only what its step recorded. */
static void rollback(struct mctx *c)
{
    struct nub_heap *h = c->m->heap;
    if (c->records_made) {
        mount_tasks_stop(c->tasks, c->rec.ntasks);
        mount_queues_disconnect(h, c->queues, c->queues_made);
        mount_grants_revoke(c->comps, c->rec.ncomponents, c->grants, c->rec.ngrants);
    }
    mount_caps_undo(c);
    if (c->records_made)
        mount_regions_destroy(h, c->regions, c->regions_made);
    mount_parse_undo(c);
}

static void commit(struct mctx *c, struct nub_mount_out *out)
{
    struct nub_mounts *m = c->m;
    struct nub_mount_rec *r = &c->rec;
    r->handle = m->next_handle++;
    r->state = NUB_MOUNT_S_LIVE;
    r->generation = ++m->generation;
    *mount_slot(m, c->slot) = *r;
    /* Checked in step 2 and untouched since: cannot fail. */
    if (nub_heap_set_owner(m->heap, r->package_gpa, NUB_OWNER_HOST, NUB_OWNER_MOUNT) != NUB_ST_OK)
        nub_panic("mount: package block 0x%llx changed owner", (unsigned long long)r->package_gpa);
    mount_dir_commit(c);
    m->live++;
    mount_table_publish(m);
    out->handle = r->handle;
    out->rec_gpa = m->slots_gpa + (uint64_t)c->slot * sizeof(struct nub_mount_rec);
    out->caps_new = c->caps_new;
    out->caps_held = c->caps_made;
    nub_logf("mount: %s %s handle %llu: %u components, %u regions, %u queues, %u tasks, "
             "%u caps (%u new)",
             r->name, r->version, (unsigned long long)r->handle, r->ncomponents, r->nregions,
             r->nqueues, r->ntasks, r->ncaps, c->caps_new);
}

enum nub_status nub_mount(struct nub_mounts *m, const struct nub_mount_req *req,
                          struct nub_mount_out *out, char *msg, size_t msg_cap)
{
    struct mctx c = {.m = m, .req = req, .msg = msg, .msg_cap = msg_cap, .caps_mode = req->caps};
    *out = (struct nub_mount_out){0};
    if (msg_cap)
        msg[0] = '\0';
    enum nub_status st = run(&c);
    if (st == NUB_ST_OK)
        commit(&c, out);
    else
        rollback(&c);
    if (c.scratch_gpa)
        nub_heap_free(m->heap, c.scratch_gpa, NUB_OWNER_MOUNT);
    return st;
}

enum nub_status nub_mount_call(struct nub_mounts *m, int test_ops, const uint64_t *args,
                               const uint8_t hash[16], uint64_t *ret, char *msg, size_t msg_cap)
{
    uint64_t flags = args[2];
    if (flags & ~(NUB_MOUNT_F_FAIL_STEP_MASK | NUB_MOUNT_F_CAPS))
        return mount_failv(msg, msg_cap, NUB_ST_INVAL, "MOUNT: unknown flags 0x%llx",
                           (unsigned long long)flags);
    uint32_t step = (uint32_t)(flags & NUB_MOUNT_F_FAIL_STEP_MASK);
    if (step && !test_ops)
        return mount_failv(msg, msg_cap, NUB_ST_INVAL,
                           "MOUNT: fault injection refused: test ops are disabled");
    if (step && (step < NUB_MOUNT_STEP_PARSE || step > NUB_MOUNT_STEP_TASKS))
        return mount_failv(msg, msg_cap, NUB_ST_INVAL, "MOUNT: no step %u to fail at", step);
    for (int i = 4; i < NUB_MAILBOX_ARGS; i++)
        if (args[i])
            return mount_failv(msg, msg_cap, NUB_ST_INVAL, "MOUNT: args[%d] is reserved, must be 0",
                               i);
    struct nub_mount_req req = {.pkg_gpa = args[0], .pkg_len = args[1], .fail_step = step,
                                .limits_gpa = args[3], .caps = (flags & NUB_MOUNT_F_CAPS) != 0};
    memcpy(req.signer, hash, sizeof req.signer);
    struct nub_mount_out out;
    enum nub_status st = nub_mount(m, &req, &out, msg, msg_cap);
    if (st == NUB_ST_OK) {
        ret[0] = out.handle;
        ret[1] = out.rec_gpa;
        ret[2] = out.caps_new;
        ret[3] = out.caps_held;
    }
    return st;
}

enum nub_status nub_unmount_call(struct nub_mounts *m, const uint64_t *args, uint64_t *ret,
                                 char *msg, size_t msg_cap)
{
    struct nub_unmount_out out;
    enum nub_status st = nub_unmount(m, args[0], &out, msg, msg_cap);
    if (st == NUB_ST_OK) {
        ret[0] = out.caps_removed;
        ret[1] = out.zombie;
        ret[2] = out.zombies_freed;
    }
    return st;
}
