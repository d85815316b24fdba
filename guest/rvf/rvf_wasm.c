/* WASM module structure validator: magic, version, section ids and
 * order, LEB128 section sizes inside the module, and the export
 * section's entries. A walk over sections (and exports), bounded by
 * limits, never over every byte: the guest runs it at ~2M insns/s. */
#include "rvf_internal.h"

#define WASM_HEADER 8u
#define WASM_SEC_CUSTOM 0u
#define WASM_SEC_IMPORT 2u
#define WASM_SEC_EXPORT 7u
#define WASM_SEC_MAX 12u

/* Position of each non-custom id in the canonical order; DataCount (12)
 * sits between Element (9) and Code (10). */
static const uint8_t section_rank[WASM_SEC_MAX + 1] = {
    [1] = 1, [2] = 2, [3] = 3, [4] = 4, [5] = 5, [6] = 6, [7] = 7,
    [8] = 8, [9] = 9, [12] = 10, [10] = 11, [11] = 12,
};

/* Decode an unsigned LEB128 u32 at buf[*pos..end): at most 5 bytes, and
 * the 5th may only carry the top 4 bits. RVF_E_TRUNCATED if it runs off
 * the end, RVF_E_WASM if too long or too large. */
static enum rvf_status leb_u32(const uint8_t *buf, size_t end, size_t *pos,
                               uint32_t *out)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < 5; i++) {
        if (*pos >= end)
            return RVF_E_TRUNCATED;
        uint8_t b = buf[(*pos)++];
        if (i == 4 && (b & 0xF0))
            return RVF_E_WASM; /* continuation bit or value over 2^32 - 1 */
        v |= (uint32_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return RVF_OK;
        }
    }
    return RVF_E_WASM; /* not reached: i == 4 returns above */
}

static enum rvf_status wasm_fail(struct rvf_result *res, enum rvf_status st,
                                 size_t off, const char *text)
{
    rvf_fail(res, st, -1, off, "wasm @");
    rvf_msg_hex(res, off);
    rvf_msg_str(res, ": ");
    rvf_msg_str(res, text);
    return st;
}

/* A LEB128 that runs off the module is a truncated module; one that
 * runs off its section (in_section) is a malformed section. */
static enum rvf_status leb_fail(struct rvf_result *res, enum rvf_status st,
                                size_t off, const char *what, bool in_section)
{
    if (st == RVF_E_TRUNCATED && in_section)
        st = RVF_E_WASM;
    wasm_fail(res, st, off, what);
    rvf_msg_str(res, st == RVF_E_WASM && in_section
                         ? ": LEB128 runs past the end of its section"
                     : st == RVF_E_TRUNCATED
                         ? ": LEB128 runs past the end of the module"
                         : ": LEB128 longer than 5 bytes or over 32 bits");
    return st;
}

/* Export section body [pos, end): vec(name, kind byte, index). Calls
 * match(name, len, kind) for each if given; stops when it returns true. */
struct export_walk {
    const char *want;
    size_t want_len;
    uint8_t want_kind;
    bool found;
    uint32_t nfunc;
};

static enum rvf_status walk_exports(const uint8_t *buf, size_t pos, size_t end,
                                    uint32_t max_exports, struct export_walk *ew,
                                    struct rvf_result *res)
{
    uint32_t n;
    size_t at = pos;
    enum rvf_status st = leb_u32(buf, end, &pos, &n);
    if (st)
        return leb_fail(res, st, at, "export count", true);
    if (n > max_exports) {
        wasm_fail(res, RVF_E_LIMIT, at, "more exports than the limit ");
        rvf_msg_dec(res, max_exports);
        return RVF_E_LIMIT;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t nlen, index;
        at = pos;
        if ((st = leb_u32(buf, end, &pos, &nlen)))
            return leb_fail(res, st, at, "export name length", true);
        if (nlen > end - pos)
            return wasm_fail(res, RVF_E_WASM, at,
                             "export name runs past the export section");
        const uint8_t *name = buf + pos;
        pos += nlen;
        if (pos >= end)
            return wasm_fail(res, RVF_E_WASM, pos,
                             "export kind runs past the export section");
        uint8_t kind = buf[pos++];
        if (kind > 4)
            return wasm_fail(res, RVF_E_WASM, pos - 1, "unknown export kind");
        at = pos;
        if ((st = leb_u32(buf, end, &pos, &index)))
            return leb_fail(res, st, at, "export index", true);
        if (kind == RVF_WASM_EXPORT_FUNC)
            ew->nfunc++;
        if (ew->want && kind == ew->want_kind && nlen == ew->want_len &&
            memcmp(name, ew->want, nlen) == 0) {
            ew->found = true;
            return RVF_OK;
        }
    }
    if (pos != end)
        return wasm_fail(res, RVF_E_WASM, pos,
                         "export section has bytes after its last entry");
    return RVF_OK;
}

/* The functions of the `nub` import module (man/nubfs-rvf.5): a component
 * may import these and nothing else. */
static const char *const nub_imports[] = {"port", "region", "send", "recv", "read",
                                          "append", "read_slot", "write_slot", "log", "yield"};

static bool known_import(const uint8_t *mod, uint32_t mlen, const uint8_t *name, uint32_t nlen)
{
    if (mlen != 3 || memcmp(mod, "nub", 3) != 0)
        return false;
    for (size_t i = 0; i < sizeof nub_imports / sizeof nub_imports[0]; i++)
        if (rvf_strnlen(nub_imports[i], 16) == nlen && memcmp(nub_imports[i], name, nlen) == 0)
            return true;
    return false;
}

/* Appends up to 32 bytes of a module-given name, '?' for what is not
 * printable ASCII. */
static void msg_name(struct rvf_result *res, const uint8_t *p, uint32_t n)
{
    char s[33];
    uint32_t k = 0;
    for (; k < n && k < 32; k++)
        s[k] = p[k] >= 0x20 && p[k] < 0x7f && p[k] != '"' ? (char)p[k] : '?';
    s[k] = '\0';
    rvf_msg_str(res, s);
}

/* Import section body [pos, end): vec(module name, field name, desc). Each
 * must be a function of the nub module (its type is checked when the task
 * is instantiated); the refusal names the import. At most max_imports
 * entries are walked (the export limit). */
static enum rvf_status walk_imports(const uint8_t *buf, size_t pos, size_t end,
                                    uint32_t max_imports, struct rvf_result *res)
{
    uint32_t n;
    size_t at = pos;
    if (pos == end)
        return RVF_OK; /* an empty section: nothing imported */
    enum rvf_status st = leb_u32(buf, end, &pos, &n);
    if (st)
        return leb_fail(res, st, at, "import count", true);
    if (n > max_imports) {
        wasm_fail(res, RVF_E_LIMIT, at, "more imports than the limit ");
        rvf_msg_dec(res, max_imports);
        return RVF_E_LIMIT;
    }
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *names[2];
        uint32_t lens[2];
        for (int k = 0; k < 2; k++) {
            at = pos;
            if ((st = leb_u32(buf, end, &pos, &lens[k])))
                return leb_fail(res, st, at, "import name length", true);
            if (lens[k] > end - pos)
                return wasm_fail(res, RVF_E_WASM, at, "import name runs past the import section");
            names[k] = buf + pos;
            pos += lens[k];
        }
        if (pos >= end)
            return wasm_fail(res, RVF_E_WASM, pos, "import kind runs past the import section");
        uint8_t kind = buf[pos++];
        uint32_t index;
        at = pos;
        if (kind != 0 || !known_import(names[0], lens[0], names[1], lens[1])) {
            wasm_fail(res, RVF_E_WASM, at, "import ");
            rvf_msg_str(res, "\"");
            msg_name(res, names[0], lens[0]);
            rvf_msg_str(res, ".");
            msg_name(res, names[1], lens[1]);
            rvf_msg_str(res, kind != 0 ? "\" is not a function: components import only "
                                         "functions of the nub module"
                                       : "\" is not a function of the nub module");
            return RVF_E_WASM;
        }
        if ((st = leb_u32(buf, end, &pos, &index)))
            return leb_fail(res, st, at, "import type index", true);
    }
    if (pos != end)
        return wasm_fail(res, RVF_E_WASM, pos, "import section has bytes after its last entry");
    return RVF_OK;
}

static enum rvf_status walk(const uint8_t *buf, size_t len,
                            const struct rvf_limits *lim,
                            struct rvf_wasm_info *info, struct export_walk *ew,
                            struct rvf_result *res)
{
    static const uint8_t magic[4] = {0x00, 0x61, 0x73, 0x6d};
    static const uint8_t version[4] = {0x01, 0x00, 0x00, 0x00};
    enum rvf_status st;

    if (!buf && len)
        return rvf_fail(res, RVF_E_INVAL, -1, 0, "wasm: bad argument");
    if (len < 4 || memcmp(buf, magic, 4) != 0)
        return wasm_fail(res, len < 4 ? RVF_E_TRUNCATED : RVF_E_MAGIC, 0,
                         "module does not start with \\0asm");
    if (len < WASM_HEADER)
        return wasm_fail(res, RVF_E_TRUNCATED, 4, "module ends inside its version");
    if (memcmp(buf + 4, version, 4) != 0)
        return wasm_fail(res, RVF_E_VERSION, 4, "binary version is not 1");

    size_t pos = WASM_HEADER;
    uint32_t nsec = 0, mask = 0;
    unsigned last_rank = 0, last_id = 0;
    while (pos < len) {
        if (nsec >= lim->max_wasm_sections) {
            wasm_fail(res, RVF_E_LIMIT, pos, "more sections than the limit ");
            rvf_msg_dec(res, lim->max_wasm_sections);
            return RVF_E_LIMIT;
        }
        size_t sec_at = pos;
        uint8_t id = buf[pos++];
        if (id > WASM_SEC_MAX) {
            wasm_fail(res, RVF_E_WASM, sec_at, "unknown section id ");
            rvf_msg_dec(res, id);
            return RVF_E_WASM;
        }
        if (id != WASM_SEC_CUSTOM) {
            if (section_rank[id] <= last_rank) {
                wasm_fail(res, RVF_E_WASM, sec_at, "section ");
                rvf_msg_dec(res, id);
                rvf_msg_str(res, id == last_id ? " appears twice"
                                               : " out of order after section ");
                if (id != last_id)
                    rvf_msg_dec(res, last_id);
                return RVF_E_WASM;
            }
            last_rank = section_rank[id];
            last_id = id;
            mask |= 1u << id;
        }
        uint32_t size;
        size_t size_at = pos;
        if ((st = leb_u32(buf, len, &pos, &size)))
            return leb_fail(res, st, size_at, "section size", false);
        if (size > len - pos) {
            wasm_fail(res, RVF_E_TRUNCATED, size_at, "section ");
            rvf_msg_dec(res, id);
            rvf_msg_str(res, " of ");
            rvf_msg_dec(res, size);
            rvf_msg_str(res, " bytes runs past the end of the module");
            return RVF_E_TRUNCATED;
        }
        size_t end = pos + size;
        if (id == WASM_SEC_CUSTOM) {
            uint32_t nlen;
            size_t at = pos;
            if ((st = leb_u32(buf, end, &pos, &nlen)))
                return leb_fail(res, st, at, "custom section name length", true);
            if (nlen > end - pos)
                return wasm_fail(res, RVF_E_WASM, at,
                                 "custom section name runs past the section");
        } else if (id == WASM_SEC_IMPORT && ew->want == NULL) {
            if ((st = walk_imports(buf, pos, end, lim->max_wasm_exports, res)))
                return st;
        } else if (id == WASM_SEC_EXPORT) {
            if ((st = walk_exports(buf, pos, end, lim->max_wasm_exports, ew, res)))
                return st;
            if (ew->found)
                return RVF_OK;
        }
        pos = end;
        nsec++;
    }
    if (info) {
        info->nsections = nsec;
        info->section_mask = mask;
        info->nfunc_exports = ew->nfunc;
    }
    return RVF_OK;
}

enum rvf_status rvf_wasm_validate(const uint8_t *buf, size_t len,
                                  const struct rvf_limits *lim,
                                  struct rvf_wasm_info *info,
                                  struct rvf_result *res)
{
    struct rvf_limits defaults;
    struct export_walk ew = {0};
    if (info)
        memset(info, 0, sizeof(*info));
    enum rvf_status st = walk(buf, len, rvf_limits_or_default(lim, &defaults),
                              info, &ew, res);
    if (st == RVF_OK)
        rvf_ok(res);
    return st;
}

bool rvf_wasm_has_export(const uint8_t *buf, size_t len, const char *name,
                         uint8_t kind)
{
    struct rvf_limits lim;
    if (!name)
        return false;
    size_t n = rvf_strnlen(name, 4096);
    if (n > 4096)
        return false;
    rvf_limits_default(&lim);
    /* The caller validated the module with its own limits; don't refuse
     * here because ours are smaller. */
    lim.max_wasm_sections = UINT32_MAX;
    lim.max_wasm_exports = UINT32_MAX;
    struct export_walk ew = {.want = name, .want_len = n, .want_kind = kind};
    return walk(buf, len, &lim, NULL, &ew, NULL) == RVF_OK && ew.found;
}
