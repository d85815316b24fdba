/* Internal helpers of the RVF code: little-endian loads/stores that work
 * at any alignment, bounded string helpers, and the result-message
 * builder (no snprintf in the guest). Not part of the public API. */
#ifndef NUB_RVF_INTERNAL_H
#define NUB_RVF_INTERNAL_H

#include "rvf.h"

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

static inline uint16_t rvf_ld16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t rvf_ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t rvf_ld64(const uint8_t *p)
{
    return (uint64_t)rvf_ld32(p) | (uint64_t)rvf_ld32(p + 4) << 32;
}

static inline void rvf_st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void rvf_st32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void rvf_st64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline bool rvf_all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Length of s, or max + 1 if no NUL within max + 1 bytes. */
static inline size_t rvf_strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n <= max && s[n])
        n++;
    return n;
}

static inline bool rvf_streq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* rvf_names.c: a set of the names of a table's records seen so far, for
 * finding a duplicate in time linear in the table (pairwise over more
 * than RVF_NAMESET_MAX records). Lives on the caller's stack. */
#define RVF_NAMESET_MAX 256u
struct rvf_nameset {
    const uint8_t *strings; /* the string table */
    const uint8_t *records; /* record 0 */
    uint32_t recsize, field; /* record size; offset of its u32 name offset */
    uint32_t mask;          /* slots - 1; 0: pairwise */
    uint16_t slot[2 * RVF_NAMESET_MAX]; /* record index + 1; 0 empty */
};
/* For a table of n records. */
void rvf_nameset_init(struct rvf_nameset *s, const uint8_t *strings, const uint8_t *records,
                      uint32_t recsize, uint32_t field, uint32_t n);
/* Record i's name (validated: NUL-terminated, at most RVF_NAME_MAX
 * bytes), with records 0..i-1 passed before in order: true if one of
 * them has the same name; else remembers record i. */
bool rvf_nameset_dup(struct rvf_nameset *s, uint32_t i, const char *name);

const struct rvf_limits *rvf_limits_or_default(const struct rvf_limits *lim,
                                               struct rvf_limits *storage);

/* Result builder: rvf_fail starts a message (and sets status, segment,
 * offset); the rvf_msg_* calls append. All accept res == NULL. Returns
 * st so callers can `return rvf_fail(...)`. */
enum rvf_status rvf_fail(struct rvf_result *res, enum rvf_status st,
                         int32_t segment, uint64_t offset, const char *text);
void rvf_msg_str(struct rvf_result *res, const char *s);
void rvf_msg_dec(struct rvf_result *res, uint64_t v);
void rvf_msg_hex(struct rvf_result *res, uint64_t v);
void rvf_ok(struct rvf_result *res);

#endif /* NUB_RVF_INTERNAL_H */
