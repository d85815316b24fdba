/* The directory's part of a mount's all or nothing (step 4). Before the
 * first cap is published, the directory reserves room for every cap the
 * package may add, counted as if all were new (nub_dir_reserve: any
 * growth happens there, never in the puts that follow). A failed mount
 * releases its caps in reverse order and rolls the reservation back: the
 * table it grew into is freed and the previous one is current again, with
 * no entry moved (the directory does no migration work until the call's
 * final tick), so entries, count, bytes, capacity and the heap's used
 * level are exactly as before. */
#include "mount_internal.h"
#include "nub/guest_log.h"

enum nub_status mount_dir_reserve(struct mctx *c)
{
    /* Room as if every cap were new: looking each up first cost a probe
     * per cap (~100 emulated instructions). Over-counting is harmless:
     * at most one growth a little early (and a package is at most
     * NUB_MOUNT_MAX_CAPS caps). */
    enum nub_status st = nub_dir_reserve(c->m->dir, c->rec.ncaps, &c->dir_mark);
    if (st == NUB_ST_NOMEM)
        return mount_fail(c, st, "caps: no memory to grow the directory");
    if (st != NUB_ST_OK)
        return mount_fail(c, st, "caps: directory at its maximum size");
    c->dir_reserved = 1;
    return NUB_ST_OK;
}

void mount_dir_commit(struct mctx *c)
{
    if (c->dir_reserved)
        nub_dir_commit(c->m->dir, &c->dir_mark);
    c->dir_reserved = 0;
}

void mount_dir_undo(struct mctx *c)
{
    if (c->dir_reserved)
        nub_dir_rollback(c->m->dir, &c->dir_mark);
    c->dir_reserved = 0;
}
