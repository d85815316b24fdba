/* Shrinking the cap directory back to its size before a failed mount grew
 * it, so the rollback leaves the heap level exactly as it was. Rehashes
 * into a zeroed table the mount reserved beforehand (it cannot fail) and
 * publishes it the way guest/lib/dir.c does.
 * TODO(lead): belongs in dir.c as nub_dir_resize(); kept here so the mount
 * work did not have to edit the directory's file. */
#include <string.h>

#include "mount_internal.h"
#include "nub/guest_addr.h"
#include "nub/guest_log.h"

void mount_dir_shrink(struct nub_dir *d, uint64_t gpa, uint64_t cap)
{
    if (cap < NUB_DIR_MIN_CAPACITY || (cap & (cap - 1)) || d->count * 4 > cap * 3)
        nub_panic("directory: cannot shrink %llu entries to %llu slots",
                  (unsigned long long)d->count, (unsigned long long)cap);
    const struct nub_dir_entry *old = nub_mem_ptr(d->entries_gpa);
    struct nub_dir_entry *t = nub_mem_ptr(gpa);
    uint64_t moved = 0;
    for (uint64_t i = 0; i < d->capacity; i++) {
        if (!(old[i].flags & NUB_DIR_F_USED))
            continue;
        uint64_t s = nub_dir_home_slot(old[i].hash, d->seed, cap);
        for (uint64_t n = 0; t[s].flags & NUB_DIR_F_USED; n++, s = (s + 1) & (cap - 1))
            if (n == cap)
                nub_panic("directory: shrink found no slot");
        t[s] = old[i];
        moved++;
    }
    if (moved != d->count)
        nub_panic("directory: %llu entries flagged, %llu counted", (unsigned long long)moved,
                  (unsigned long long)d->count);
    uint64_t old_gpa = d->entries_gpa;
    d->entries_gpa = gpa;
    d->capacity = cap;
    d->generation++;
    struct nub_dir_header *hd = nub_mem_ptr(d->header_gpa);
    hd->magic = NUB_DIR_MAGIC;
    hd->capacity = d->capacity;
    hd->count = d->count;
    hd->entries_gpa = d->entries_gpa;
    hd->generation = d->generation;
    hd->total_bytes = d->total_bytes;
    nub_heap_free(d->heap, old_gpa, NUB_OWNER_KERNEL);
}
