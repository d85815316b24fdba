/* Status texts, the result-message builder and the default limits. */
#include "rvf_internal.h"

static const char *const rvf_status_text[RVF_E__COUNT] = {
    [RVF_OK] = "ok",
    [RVF_E_INVAL] = "invalid argument",
    [RVF_E_TRUNCATED] = "truncated",
    [RVF_E_MAGIC] = "bad magic",
    [RVF_E_VERSION] = "unsupported version",
    [RVF_E_SEGTYPE] = "unknown segment type",
    [RVF_E_FLAGS] = "unsupported segment flags",
    [RVF_E_RESERVED] = "reserved field not zero",
    [RVF_E_CHECKSUM_ALGO] = "unsupported checksum algorithm",
    [RVF_E_COMPRESSION] = "unsupported compression",
    [RVF_E_SEGID] = "segment id out of sequence",
    [RVF_E_PADDING] = "segment padding not zero",
    [RVF_E_ORDER] = "manifest is not the first segment",
    [RVF_E_DUP_MANIFEST] = "more than one manifest",
    [RVF_E_NO_MANIFEST] = "no manifest",
    [RVF_E_NO_SIGNATURE] = "package is not signed",
    [RVF_E_SIG_PLACEMENT] = "signature segment misplaced",
    [RVF_E_SIG_FORMAT] = "malformed signature segment",
    [RVF_E_HASH] = "content does not match its hash",
    [RVF_E_LIMIT] = "limit exceeded",
    [RVF_E_TOO_BIG] = "package too large",
    [RVF_E_MANIFEST] = "malformed manifest",
    [RVF_E_STRING] = "invalid name",
    [RVF_E_INDEX] = "index out of range",
    [RVF_E_DUPLICATE] = "duplicate name",
    [RVF_E_REF] = "dangling reference",
    [RVF_E_RIGHTS] = "grant exceeds access sets",
    [RVF_E_WASM] = "malformed WASM module",
    [RVF_E_NOSPACE] = "output buffer too small",
};

const char *rvf_strerror(enum rvf_status st)
{
    if ((unsigned)st >= RVF_E__COUNT || !rvf_status_text[st])
        return "unknown status";
    return rvf_status_text[st];
}

void rvf_limits_default(struct rvf_limits *lim)
{
    if (!lim)
        return;
    memset(lim, 0, sizeof(*lim));
    lim->max_package = 256ull << 20;
    lim->max_segments = 1024;
    lim->max_components = 256;
    lim->max_regions = 256;
    lim->max_queues = 1024;
    lim->max_tasks = 64;
    lim->max_grants = 4096;
    lim->max_region_size = 64ull << 20;
    lim->max_queue_capacity = 65536;
    lim->max_message = 64u << 10;
    lim->max_queue_bytes = 16ull << 20;
    lim->max_wasm_sections = 1024;
    lim->max_wasm_exports = 4096;
    lim->require_signature = false;
}

const struct rvf_limits *rvf_limits_or_default(const struct rvf_limits *lim,
                                               struct rvf_limits *storage)
{
    if (lim)
        return lim;
    rvf_limits_default(storage);
    return storage;
}

static size_t msg_len(const struct rvf_result *res)
{
    size_t n = 0;
    while (n < RVF_MSG_MAX - 1 && res->msg[n])
        n++;
    return n;
}

void rvf_msg_str(struct rvf_result *res, const char *s)
{
    if (!res || !s)
        return;
    size_t n = msg_len(res);
    while (*s && n < RVF_MSG_MAX - 1)
        res->msg[n++] = *s++;
    res->msg[n] = '\0';
}

void rvf_msg_dec(struct rvf_result *res, uint64_t v)
{
    char tmp[21];
    int i = 20;
    tmp[i] = '\0';
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    rvf_msg_str(res, tmp + i);
}

void rvf_msg_hex(struct rvf_result *res, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[19];
    int i = 18;
    tmp[i] = '\0';
    do {
        tmp[--i] = digits[v & 15];
        v >>= 4;
    } while (v);
    tmp[--i] = 'x';
    tmp[--i] = '0';
    rvf_msg_str(res, tmp + i);
}

enum rvf_status rvf_fail(struct rvf_result *res, enum rvf_status st,
                         int32_t segment, uint64_t offset, const char *text)
{
    if (res) {
        res->status = st;
        res->segment = segment;
        res->offset = offset;
        res->msg[0] = '\0';
        rvf_msg_str(res, text);
    }
    return st;
}

void rvf_ok(struct rvf_result *res)
{
    if (res) {
        res->status = RVF_OK;
        res->segment = -1;
        res->offset = 0;
        res->msg[0] = '\0';
    }
}
