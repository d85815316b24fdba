/* The directory's part of a mount's all or nothing (step 4). A
 * reservation opens before the first cap gains a reference; once the caps
 * already present hold theirs, it makes room for exactly the absent ones
 * (nub_dir_reserve_more: any growth happens there, never in the inserts
 * that follow). A failed mount
 * releases its caps in reverse order and rolls the reservation back: the
 * table it grew into is freed and the previous one is current again, with
 * no entry moved (the directory does no migration work until the call's
 * final tick), so entries, count, bytes, capacity and the heap's used
 * level are exactly as before. */
#include "mount_internal.h"
#include "nub/guest_log.h"

enum nub_status mount_dir_reserve(struct mctx *c, uint32_t fresh)
{
    struct nub_dir *d = c->m->dir;
    enum nub_status st = c->dir_reserved ? nub_dir_reserve_more(d, fresh, &c->dir_mark)
                                         : nub_dir_reserve(d, fresh, &c->dir_mark);
    if (st == NUB_ST_OK)
        c->dir_reserved = 1;
    if (st == NUB_ST_NOMEM)
        return mount_fail(c, st, "caps: no memory to grow the directory");
    if (st != NUB_ST_OK)
        return mount_fail(c, st, "caps: directory at its maximum size");
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
