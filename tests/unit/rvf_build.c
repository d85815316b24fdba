/* In-memory RVF package builder shared by the rvf unit tests and the
 * fuzz seed generator (see rvf_build.h). */
#include "rvf_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tpkg_init(struct tpkg *p)
{
    memset(p, 0, sizeof(*p));
}

void tpkg_free(struct tpkg *p)
{
    free(p->buf);
    memset(p, 0, sizeof(*p));
}

static void reserve(struct tpkg *p, size_t more)
{
    if (p->len + more <= p->cap)
        return;
    size_t cap = p->cap ? p->cap : 1024;
    while (cap < p->len + more)
        cap *= 2;
    p->buf = realloc(p->buf, cap);
    if (!p->buf)
        abort();
    p->cap = cap;
}

void tpkg_add(struct tpkg *p, uint8_t type, const void *payload, size_t len)
{
    uint64_t total = rvf_segment_size(len);
    uint8_t hash[RVF_HASH_LEN];
    reserve(p, (size_t)total);
    rvf_hash128(payload, len, hash);
    rvf_segment_header_encode(p->buf + p->len, type, p->nseg, len,
                              1700000000000000000ull, hash);
    if (len)
        memcpy(p->buf + p->len + RVF_SEG_HEADER_SIZE, payload, len);
    memset(p->buf + p->len + RVF_SEG_HEADER_SIZE + len, 0,
           (size_t)total - RVF_SEG_HEADER_SIZE - len);
    p->len += (size_t)total;
    p->nseg++;
}

void tpkg_add_crypto(struct tpkg *p, const uint8_t pk[RVF_PUBKEY_LEN],
                     const uint8_t sig[RVF_SIG_LEN])
{
    uint8_t payload[RVF_CRYPTO_PAYLOAD_LEN];
    rvf_crypto_payload_encode(payload, RVF_SIG_ED25519, pk, sig);
    tpkg_add(p, RVF_SEG_CRYPTO, payload, sizeof(payload));
}

size_t sample_wasm(uint8_t out[64], const char *name)
{
    size_t n = strlen(name), i = 0;
    static const uint8_t head[] = {
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, /* \0asm v1 */
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00,             /* type: () -> () */
        0x03, 0x02, 0x01, 0x00,                         /* func: type 0 */
    };
    if (n > 20)
        abort();
    memcpy(out, head, sizeof(head));
    i = sizeof(head);
    out[i++] = 0x07; /* export section */
    out[i++] = (uint8_t)(4 + n);
    out[i++] = 0x01;
    out[i++] = (uint8_t)n;
    memcpy(out + i, name, n);
    i += n;
    out[i++] = 0x00; /* func */
    out[i++] = 0x00; /* index 0 */
    static const uint8_t code[] = {0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b};
    memcpy(out + i, code, sizeof(code));
    return i + sizeof(code);
}

const uint8_t sample_data[200] = {
    'c', 'o', 'n', 'f', 'i', 'g', ':', ' ', 'g', 'r', 'e', 'e', 't', 'i', 'n', 'g',
    '=', 'h', 'e', 'l', 'l', 'o', '\n', [40] = 1, [41] = 2, [42] = 3, [199] = 0x7f,
};

static const char *const entries0[] = {"run"};
static const char *const entries1[] = {"main"};
static const uint32_t both[] = {1, 0};
static const uint32_t c0[] = {0};
static const uint32_t c1[] = {1};

static struct rvf_component_desc comps[2] = {
    {.name = "greeter", .priority = 10, .entries = entries0, .nentries = 1},
    {.name = "logger", .priority = 5, .entries = entries1, .nentries = 1},
};
static struct rvf_region_desc regions[3] = {
    {.name = "config", .policy = RVF_REGION_IMMUTABLE, .owner = 0,
     .readers = both, .nreaders = 2},
    {.name = "log", .policy = RVF_REGION_APPEND_ONLY, .owner = 1,
     .max_size = 4096, .readers = both, .nreaders = 2, .writers = c1,
     .nwriters = 1},
    {.name = "slots", .policy = RVF_REGION_SLAB, .owner = 0, .slot_size = 64,
     .slot_count = 16, .readers = c0, .nreaders = 1, .writers = c0,
     .nwriters = 1},
};
static const struct rvf_queue_desc queues[1] = {
    {.src = 0, .src_port = "out", .dst = 1, .dst_port = "in", .capacity = 16,
     .max_msg = 256},
};
/* Deliberately unsorted: the encoder sorts. */
static const struct rvf_grant grants[] = {
    {1, RVF_OBJ_REGION, 1, RVF_RIGHT_READ | RVF_RIGHT_WRITE | RVF_RIGHT_GRANT},
    {0, RVF_OBJ_REGION, 0, RVF_RIGHT_READ},
    {0, RVF_OBJ_QUEUE, 0, RVF_RIGHT_WRITE},
    {1, RVF_OBJ_QUEUE, 0, RVF_RIGHT_READ},
    {0, RVF_OBJ_REGION, 2, RVF_RIGHT_READ | RVF_RIGHT_WRITE},
    {1, RVF_OBJ_COMPONENT, 0, RVF_RIGHT_EXECUTE},
};
static struct rvf_manifest_desc desc = {
    .name = "hello", .version = "1.0.0",
    .components = comps, .ncomponents = 2,
    .regions = regions, .nregions = 3,
    .queues = queues, .nqueues = 1,
    .grants = grants, .ngrants = sizeof(grants) / sizeof(grants[0]),
};

const struct rvf_manifest_desc *sample_desc(void)
{
    uint8_t w[64];
    size_t n = sample_wasm(w, "run");
    rvf_hash128(w, n, comps[0].wasm_hash);
    n = sample_wasm(w, "main");
    rvf_hash128(w, n, comps[1].wasm_hash);
    rvf_hash128(sample_data, sizeof(sample_data), regions[0].init_hash);
    return &desc;
}

size_t encode_desc(const struct rvf_manifest_desc *d, uint8_t **out)
{
    size_t need = 0;
    struct rvf_result res;
    if (rvf_manifest_encode(d, NULL, NULL, 0, &need, &res) != RVF_E_NOSPACE) {
        fprintf(stderr, "encode_desc: %s\n", res.msg);
        abort();
    }
    *out = malloc(need);
    if (!*out || rvf_manifest_encode(d, NULL, *out, need, &need, &res) != RVF_OK) {
        fprintf(stderr, "encode_desc: %s\n", res.msg);
        abort();
    }
    return need;
}

void sample_package(struct tpkg *p, bool sign)
{
    uint8_t *mf, w[64];
    size_t mlen = encode_desc(sample_desc(), &mf);
    tpkg_init(p);
    tpkg_add(p, RVF_SEG_MANIFEST, mf, mlen);
    free(mf);
    size_t n = sample_wasm(w, "run");
    tpkg_add(p, RVF_SEG_WASM, w, n);
    n = sample_wasm(w, "main");
    tpkg_add(p, RVF_SEG_WASM, w, n);
    tpkg_add(p, RVF_SEG_DATA, sample_data, sizeof(sample_data));
    if (sign) {
        uint8_t pk[RVF_PUBKEY_LEN] = {0}, sig[RVF_SIG_LEN] = {0};
        tpkg_add_crypto(p, pk, sig);
    }
}
