/* Duplicate names in a manifest table (components, regions) in time
 * linear in the table: a small open-addressing set of record indices on
 * the caller's stack, keyed by an FNV-1a hash of the name. The guest
 * parses every manifest it mounts at ~1.5 M emulated instructions per
 * second, and comparing each name with every earlier one cost ~2,500
 * instructions per region of a 255-region package. Colliding names
 * (chosen by a package author) only fall back to comparing within one
 * probe run, never more than the pairwise check would; a table of more
 * than RVF_NAMESET_MAX names (raised host limits only: the guest's are
 * at most 256) is checked pairwise. */
#include "rvf_internal.h"

void rvf_nameset_init(struct rvf_nameset *s, const uint8_t *strings, const uint8_t *records,
                      uint32_t recsize, uint32_t field, uint32_t n)
{
    s->strings = strings;
    s->records = records;
    s->recsize = recsize;
    s->field = field;
    s->mask = 0;
    if (n > RVF_NAMESET_MAX)
        return; /* pairwise */
    uint32_t slots = 8;
    while (slots < 2 * n)
        slots *= 2;
    for (uint32_t i = 0; i < slots; i++)
        s->slot[i] = 0;
    s->mask = slots - 1;
}

static const char *name_of(const struct rvf_nameset *s, uint32_t j)
{
    return (const char *)s->strings + rvf_ld32(s->records + (uint64_t)j * s->recsize + s->field);
}

bool rvf_nameset_dup(struct rvf_nameset *s, uint32_t i, const char *name)
{
    if (s->mask == 0) {
        for (uint32_t j = 0; j < i; j++)
            if (rvf_streq(name, name_of(s, j)))
                return true;
        return false;
    }
    uint32_t h = 2166136261u;
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    /* At most mask + 1 slots looked at; at most half are used. */
    for (uint32_t k = 0, at = h & s->mask; k <= s->mask; k++, at = (at + 1) & s->mask) {
        uint16_t v = s->slot[at];
        if (v == 0) {
            s->slot[at] = (uint16_t)(i + 1);
            return false;
        }
        if (rvf_streq(name, name_of(s, v - 1u)))
            return true;
    }
    return false; /* not reached: the set is never full */
}
