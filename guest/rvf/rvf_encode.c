/* The RVF writers, host-only (nubfs-pack and the tests; the guest kernel
 * only parses): segment headers, the CRYPTO payload, and the manifest v1
 * encoder, which lays out
 * the header, the fixed-size tables, the u32 list pool and the string
 * table exactly as rvf_manifest_parse expects, sorting access sets and
 * grants into canonical order. The output is re-validated with the
 * parser, so whatever encodes also parses. Strings are not
 * de-duplicated: the encoding stays one simple deterministic pass. */
#include "rvf_internal.h"

struct sizes {
    uint64_t list_items;
    uint64_t str_bytes;
};

/* Count a string's table bytes; RVF_E_STRING if NULL or too long (the
 * parser checks the characters). */
static enum rvf_status count_str(const char *s, struct sizes *z,
                                 struct rvf_result *res, const char *what)
{
    if (!s) {
        rvf_fail(res, RVF_E_INVAL, -1, 0, "encode: missing ");
        rvf_msg_str(res, what);
        return RVF_E_INVAL;
    }
    size_t n = rvf_strnlen(s, RVF_NAME_MAX);
    if (n > RVF_NAME_MAX) {
        rvf_fail(res, RVF_E_STRING, -1, 0, "encode: ");
        rvf_msg_str(res, what);
        rvf_msg_str(res, " longer than 63 bytes");
        return RVF_E_STRING;
    }
    z->str_bytes += n + 1;
    return RVF_OK;
}

static enum rvf_status measure(const struct rvf_manifest_desc *d,
                               struct sizes *z, struct rvf_result *res)
{
    enum rvf_status st;
    if ((d->ncomponents && !d->components) || (d->nregions && !d->regions) ||
        (d->nqueues && !d->queues) || (d->ngrants && !d->grants))
        return rvf_fail(res, RVF_E_INVAL, -1, 0, "encode: missing table");
    if ((st = count_str(d->name, z, res, "package name")) ||
        (st = count_str(d->version, z, res, "package version")))
        return st;
    for (uint32_t i = 0; i < d->ncomponents; i++) {
        const struct rvf_component_desc *c = &d->components[i];
        if ((st = count_str(c->name, z, res, "component name")))
            return st;
        if (c->nentries && !c->entries)
            return rvf_fail(res, RVF_E_INVAL, -1, 0, "encode: missing entries");
        for (uint32_t k = 0; k < c->nentries; k++)
            if ((st = count_str(c->entries[k], z, res, "entry point")))
                return st;
        z->list_items += c->nentries;
    }
    for (uint32_t i = 0; i < d->nregions; i++) {
        const struct rvf_region_desc *r = &d->regions[i];
        if ((st = count_str(r->name, z, res, "region name")))
            return st;
        if ((r->nreaders && !r->readers) || (r->nwriters && !r->writers))
            return rvf_fail(res, RVF_E_INVAL, -1, 0, "encode: missing access set");
        z->list_items += (uint64_t)r->nreaders + r->nwriters;
    }
    for (uint32_t i = 0; i < d->nqueues; i++)
        if ((st = count_str(d->queues[i].src_port, z, res, "queue source port")) ||
            (st = count_str(d->queues[i].dst_port, z, res, "queue target port")))
            return st;
    return RVF_OK;
}

struct writer {
    uint8_t *out;
    uint32_t list_off, list_n;
    uint32_t str_off, str_n;
};

static uint32_t put_str(struct writer *w, const char *s)
{
    uint32_t at = w->str_n;
    size_t n = rvf_strnlen(s, RVF_NAME_MAX);
    memcpy(w->out + w->str_off + at, s, n);
    w->out[w->str_off + at + n] = 0;
    w->str_n += (uint32_t)n + 1;
    return at;
}

static uint32_t put_item(struct writer *w, uint32_t v)
{
    rvf_st32(w->out + w->list_off + w->list_n * 4, v);
    return w->list_n++;
}

/* Write a component-index set sorted ascending (insertion sort: sets
 * are at most max_components long and this runs on the host). */
static uint32_t put_set(struct writer *w, const uint32_t *v, uint32_t n)
{
    uint32_t first = w->list_n;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t x = v[k], j = k;
        uint8_t *base = w->out + w->list_off + first * 4;
        while (j > 0 && rvf_ld32(base + (j - 1) * 4) > x) {
            rvf_st32(base + j * 4, rvf_ld32(base + (j - 1) * 4));
            j--;
        }
        rvf_st32(base + j * 4, x);
        w->list_n++;
    }
    return first;
}

static bool grant_less(const struct rvf_grant *a, const struct rvf_grant *b)
{
    if (a->component != b->component)
        return a->component < b->component;
    if (a->kind != b->kind)
        return a->kind < b->kind;
    return a->object < b->object;
}

static void grant_store(uint8_t *p, const struct rvf_grant *g)
{
    rvf_st32(p + 0, g->component);
    rvf_st32(p + 4, g->kind);
    rvf_st32(p + 8, g->object);
    rvf_st32(p + 12, g->rights);
}

static void grant_load(const uint8_t *p, struct rvf_grant *g)
{
    g->component = rvf_ld32(p + 0);
    g->kind = rvf_ld32(p + 4);
    g->object = rvf_ld32(p + 8);
    g->rights = rvf_ld32(p + 12);
}

enum rvf_status rvf_manifest_encode(const struct rvf_manifest_desc *d,
                                    const struct rvf_limits *lim,
                                    uint8_t *out, size_t cap, size_t *out_len,
                                    struct rvf_result *res)
{
    struct sizes z = {0, 0};
    enum rvf_status st;

    if (!d || !out_len || (!out && cap))
        return rvf_fail(res, RVF_E_INVAL, -1, 0, "encode: bad argument");
    *out_len = 0;
    if ((st = measure(d, &z, res)) != RVF_OK)
        return st;

    uint64_t comp_off = RVF_MF_HEADER_SIZE;
    uint64_t region_off = comp_off + (uint64_t)d->ncomponents * RVF_MF_COMPONENT_SIZE;
    uint64_t queue_off = region_off + (uint64_t)d->nregions * RVF_MF_REGION_SIZE;
    uint64_t grant_off = queue_off + (uint64_t)d->nqueues * RVF_MF_QUEUE_SIZE;
    uint64_t list_off = grant_off + (uint64_t)d->ngrants * RVF_MF_GRANT_SIZE;
    uint64_t str_off = list_off + z.list_items * 4;
    uint64_t total = str_off + z.str_bytes;
    if (total > UINT32_MAX)
        return rvf_fail(res, RVF_E_LIMIT, -1, 0, "encode: manifest over 4 GiB");
    *out_len = (size_t)total;
    if (total > cap) {
        rvf_fail(res, RVF_E_NOSPACE, -1, 0, "encode: manifest needs ");
        rvf_msg_dec(res, total);
        rvf_msg_str(res, " bytes");
        return RVF_E_NOSPACE;
    }

    memset(out, 0, (size_t)total);
    uint8_t *h = out;
    struct writer w = {out, (uint32_t)list_off, 0, (uint32_t)str_off, 0};

    rvf_st32(h + 0, RVF_MF_MAGIC);
    rvf_st16(h + 4, RVF_MF_VERSION);
    rvf_st16(h + 6, RVF_MF_HEADER_SIZE);
    rvf_st32(h + 8, (uint32_t)total);
    rvf_st32(h + 16, put_str(&w, d->name));
    rvf_st32(h + 20, put_str(&w, d->version));
    rvf_st32(h + 24, (uint32_t)comp_off);
    rvf_st32(h + 28, d->ncomponents);
    rvf_st32(h + 32, (uint32_t)region_off);
    rvf_st32(h + 36, d->nregions);
    rvf_st32(h + 40, (uint32_t)queue_off);
    rvf_st32(h + 44, d->nqueues);
    rvf_st32(h + 48, (uint32_t)grant_off);
    rvf_st32(h + 52, d->ngrants);
    rvf_st32(h + 56, (uint32_t)list_off);
    rvf_st32(h + 60, (uint32_t)z.list_items);
    rvf_st32(h + 64, (uint32_t)str_off);
    rvf_st32(h + 68, (uint32_t)z.str_bytes);

    for (uint32_t i = 0; i < d->ncomponents; i++) {
        const struct rvf_component_desc *c = &d->components[i];
        uint8_t *p = out + comp_off + (uint64_t)i * RVF_MF_COMPONENT_SIZE;
        rvf_st32(p + 0, put_str(&w, c->name));
        rvf_st32(p + 4, c->priority);
        uint32_t first = w.list_n;
        /* Strings first, then their offsets: put_item after put_str. */
        for (uint32_t k = 0; k < c->nentries; k++)
            put_item(&w, put_str(&w, c->entries[k]));
        rvf_st32(p + 8, first);
        rvf_st32(p + 12, c->nentries);
        memcpy(p + 16, c->wasm_hash, RVF_HASH_LEN);
    }
    for (uint32_t i = 0; i < d->nregions; i++) {
        const struct rvf_region_desc *r = &d->regions[i];
        uint8_t *p = out + region_off + (uint64_t)i * RVF_MF_REGION_SIZE;
        rvf_st32(p + 0, put_str(&w, r->name));
        rvf_st32(p + 4, r->policy);
        rvf_st32(p + 8, r->owner);
        rvf_st32(p + 12, put_set(&w, r->readers, r->nreaders));
        rvf_st32(p + 16, r->nreaders);
        rvf_st32(p + 20, put_set(&w, r->writers, r->nwriters));
        rvf_st32(p + 24, r->nwriters);
        if (r->policy == RVF_REGION_APPEND_ONLY) {
            rvf_st64(p + 32, r->max_size);
        } else if (r->policy == RVF_REGION_SLAB) {
            rvf_st64(p + 32, r->slot_size);
            rvf_st64(p + 40, r->slot_count);
        } else if (r->policy == RVF_REGION_IMMUTABLE) {
            memcpy(p + 48, r->init_hash, RVF_HASH_LEN);
        }
    }
    for (uint32_t i = 0; i < d->nqueues; i++) {
        const struct rvf_queue_desc *q = &d->queues[i];
        uint8_t *p = out + queue_off + (uint64_t)i * RVF_MF_QUEUE_SIZE;
        rvf_st32(p + 0, q->src);
        rvf_st32(p + 4, put_str(&w, q->src_port));
        rvf_st32(p + 8, q->dst);
        rvf_st32(p + 12, put_str(&w, q->dst_port));
        rvf_st32(p + 16, q->capacity);
        rvf_st32(p + 20, q->max_msg);
    }
    /* Grants, insertion-sorted into (component, kind, object) order. */
    for (uint32_t i = 0; i < d->ngrants; i++) {
        uint8_t *base = out + grant_off;
        uint32_t j = i;
        struct rvf_grant prev;
        while (j > 0) {
            grant_load(base + (j - 1) * RVF_MF_GRANT_SIZE, &prev);
            if (!grant_less(&d->grants[i], &prev))
                break;
            grant_store(base + j * RVF_MF_GRANT_SIZE, &prev);
            j--;
        }
        grant_store(base + j * RVF_MF_GRANT_SIZE, &d->grants[i]);
    }

    struct rvf_manifest m;
    return rvf_manifest_parse(out, (size_t)total, NULL, 0, lim, &m, res);
}

void rvf_segment_header_encode(uint8_t out[RVF_SEG_HEADER_SIZE], uint8_t type,
                               uint64_t segment_id, uint64_t payload_len,
                               uint64_t timestamp_ns,
                               const uint8_t hash[RVF_HASH_LEN])
{
    memset(out, 0, RVF_SEG_HEADER_SIZE);
    rvf_st32(out + RVF_SH_MAGIC, RVF_SEG_MAGIC);
    out[RVF_SH_VERSION] = RVF_SEG_VERSION;
    out[RVF_SH_TYPE] = type;
    rvf_st64(out + RVF_SH_SEGMENT_ID, segment_id);
    rvf_st64(out + RVF_SH_PAYLOAD_LEN, payload_len);
    rvf_st64(out + RVF_SH_TIMESTAMP, timestamp_ns);
    out[RVF_SH_CHECKSUM_ALGO] = RVF_CHECKSUM_XXH3_128;
    out[RVF_SH_COMPRESSION] = RVF_COMPRESSION_NONE;
    if (hash)
        memcpy(out + RVF_SH_CONTENT_HASH, hash, RVF_HASH_LEN);
}

void rvf_crypto_payload_encode(uint8_t out[RVF_CRYPTO_PAYLOAD_LEN],
                               uint16_t sig_algo,
                               const uint8_t pubkey[RVF_PUBKEY_LEN],
                               const uint8_t sig[RVF_SIG_LEN])
{
    memset(out, 0, RVF_CRYPTO_PAYLOAD_LEN);
    rvf_st16(out + RVF_CRYPTO_ALGO, sig_algo);
    if (pubkey)
        memcpy(out + RVF_CRYPTO_PUBKEY, pubkey, RVF_PUBKEY_LEN);
    if (sig)
        memcpy(out + RVF_CRYPTO_SIG, sig, RVF_SIG_LEN);
}
