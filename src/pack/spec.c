/* JSON package description -> rvf encoder input + segment blobs.
 *
 * Every check here names the JSON path of the offending value so a user
 * can fix the spec; the same rules are enforced again by
 * rvf_manifest_parse on the encoded manifest (the final word). */
#include "spec.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_util.h"
#include "pack.h"

const char *const pack_right_names[5] = {"read", "write", "grant", "revoke", "execute"};
const char *const pack_policy_names[3] = {"immutable", "append-only", "slab"};

struct ctx {
    const char *label;   /* spec file name for messages */
    const char *basedir; /* relative paths start here */
    const struct rvf_limits *lim;
    struct pack_spec *s;
    char *err;
    size_t errlen;
    uint64_t tasks; /* entry points so far, against lim->max_tasks */
};

/* JSON path of the current value, e.g. "queues[1].to". */
struct jpath {
    char buf[256];
};

static void jp_key(struct jpath *out, const struct jpath *parent, const char *key)
{
    if (!parent || !parent->buf[0])
        snprintf(out->buf, sizeof out->buf, "%s", key);
    else
        snprintf(out->buf, sizeof out->buf, "%.200s.%s", parent->buf, key);
}

static void jp_idx(struct jpath *out, const struct jpath *parent, size_t i)
{
    snprintf(out->buf, sizeof out->buf, "%.200s[%zu]", parent->buf, i);
}

static int fail(struct ctx *c, const struct jpath *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, const struct jpath *p, const char *fmt, ...)
{
    char msg[PACK_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p && p->buf[0])
        snprintf(c->err, c->errlen, "%s: %s: %s", c->label, p->buf, msg);
    else
        snprintf(c->err, c->errlen, "%s: %s", c->label, msg);
    return -1;
}

static void *sp_alloc(struct ctx *c, size_t n, size_t size)
{
    struct pack_spec *s = c->s;
    if (s->nallocs == s->allocs_cap) {
        size_t ncap = s->allocs_cap ? s->allocs_cap * 2 : 32;
        void **na = realloc(s->allocs, ncap * sizeof *na);
        if (!na)
            return NULL;
        s->allocs = na;
        s->allocs_cap = ncap;
    }
    void *p = calloc(n ? n : 1, size);
    if (p)
        s->allocs[s->nallocs++] = p;
    return p;
}

/* Only the listed keys may appear in obj. */
static int check_keys(struct ctx *c, const struct jpath *p, json_t *obj,
                      const char *const *allowed, size_t n)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        bool ok = false;
        for (size_t i = 0; i < n && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok) {
            char list[256] = "";
            size_t used = 0;
            for (size_t i = 0; i < n && used < sizeof list; i++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                                         i ? ", " : "", allowed[i]);
            struct jpath kp;
            jp_key(&kp, p, key);
            return fail(c, &kp, "unknown key (allowed here: %s)", list);
        }
    }
    return 0;
}

static int need_object(struct ctx *c, const struct jpath *p, json_t *v)
{
    return json_is_object(v) ? 0 : fail(c, p, "expected an object");
}

/* Optional arrays are absent or an array; *out = NULL when absent. */
static int get_array(struct ctx *c, const struct jpath *p, json_t *obj, const char *key,
                     bool required, json_t **out)
{
    json_t *v = json_object_get(obj, key);
    *out = v;
    if (!v)
        return required ? fail(c, p, "missing \"%s\"", key) : 0;
    if (!json_is_array(v)) {
        struct jpath kp;
        jp_key(&kp, p, key);
        return fail(c, &kp, "expected an array");
    }
    return 0;
}

/* The manifest's name rule: 1..63 bytes of [A-Za-z0-9._-], not starting '.'. */
static int check_name_str(struct ctx *c, const struct jpath *p, const char *s, size_t len)
{
    if (len == 0)
        return fail(c, p, "empty name");
    if (len > RVF_NAME_MAX)
        return fail(c, p, "\"%.*s...\" is longer than %u bytes", 20, s, RVF_NAME_MAX);
    if (s[0] == '.')
        return fail(c, p, "\"%s\" starts with '.'", s);
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return fail(c, p, "\"%.*s\" has a character outside [A-Za-z0-9._-]", 64, s);
    }
    return 0;
}

static int get_string(struct ctx *c, const struct jpath *parent, json_t *obj, const char *key,
                      const char **out)
{
    struct jpath p;
    jp_key(&p, parent, key);
    json_t *v = json_object_get(obj, key);
    if (!v)
        return fail(c, parent, "missing \"%s\"", key);
    if (!json_is_string(v))
        return fail(c, &p, "expected a string");
    if (strlen(json_string_value(v)) != json_string_length(v))
        return fail(c, &p, "string contains a NUL byte");
    *out = json_string_value(v);
    return 0;
}

static int get_name(struct ctx *c, const struct jpath *parent, json_t *obj, const char *key,
                    const char **out)
{
    if (get_string(c, parent, obj, key, out) < 0)
        return -1;
    struct jpath p;
    jp_key(&p, parent, key);
    return check_name_str(c, &p, *out, strlen(*out));
}

/* A non-negative integer in [min, max]; absent -> def (if !required). */
static int get_uint(struct ctx *c, const struct jpath *parent, json_t *obj, const char *key,
                    bool required, uint64_t def, uint64_t min, uint64_t max, uint64_t *out)
{
    struct jpath p;
    jp_key(&p, parent, key);
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            return fail(c, parent, "missing \"%s\"", key);
        *out = def;
        return 0;
    }
    if (!json_is_integer(v))
        return fail(c, &p, "expected an integer");
    json_int_t n = json_integer_value(v);
    if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
        return fail(c, &p, "%lld is out of range [%llu, %llu]", (long long)n,
                    (unsigned long long)min, (unsigned long long)max);
    *out = (uint64_t)n;
    return 0;
}

static int find_comp(const struct pack_spec *s, const char *name)
{
    for (uint32_t i = 0; i < s->desc.ncomponents; i++)
        if (!strcmp(s->comps[i].name, name))
            return (int)i;
    return -1;
}

static int find_region(const struct pack_spec *s, const char *name)
{
    for (uint32_t i = 0; i < s->desc.nregions; i++)
        if (!strcmp(s->regions[i].name, name))
            return (int)i;
    return -1;
}

/* Resolve path against basedir, read it, and add it as a segment blob
 * (once per (type, hash)). *hash gets its cap hash. */
static int load_blob(struct ctx *c, const struct jpath *p, const char *rel, uint8_t type,
                     uint64_t max, struct pack_blob **out)
{
    char path[PATH_MAX];
    if (rel[0] == '\0')
        return fail(c, p, "empty file name");
    int n = rel[0] == '/' ? snprintf(path, sizeof path, "%s", rel)
                          : snprintf(path, sizeof path, "%s/%s", c->basedir, rel);
    if (n < 0 || (size_t)n >= sizeof path)
        return fail(c, p, "path too long");
    uint8_t *data;
    size_t len;
    char why[PACK_ERR_MAX];
    if (nub_read_file(path, max, &data, &len, NULL, why, sizeof why) < 0)
        return fail(c, p, "%s", why);
    uint8_t hash[RVF_HASH_LEN];
    rvf_hash128(data, len, hash);
    struct pack_spec *s = c->s;
    for (size_t i = 0; i < s->nblobs; i++) {
        if (s->blobs[i].type == type && !memcmp(s->blobs[i].hash, hash, RVF_HASH_LEN)) {
            if (s->blobs[i].len != len || memcmp(s->blobs[i].data, data, len)) {
                free(data);
                return fail(c, p, "%s: different content with the cap hash of %s", path,
                            s->blobs[i].path);
            }
            free(data);
            *out = &s->blobs[i];
            return 0;
        }
    }
    struct pack_blob *nb = realloc(s->blobs, (s->nblobs + 1) * sizeof *nb);
    if (!nb) {
        free(data);
        return fail(c, p, "out of memory");
    }
    s->blobs = nb;
    struct pack_blob *b = &s->blobs[s->nblobs];
    b->type = type;
    memcpy(b->hash, hash, RVF_HASH_LEN);
    b->data = data;
    b->len = len;
    b->path = strdup(path);
    if (!b->path) {
        free(data);
        return fail(c, p, "out of memory");
    }
    s->nblobs++;
    *out = b;
    return 0;
}

/* Spec objects -> manifest descriptors. Each parse_* checks its keys
 * (an unknown one is an error, so a typo is never silently ignored) and
 * resolves names to indexes. */
static int parse_component(struct ctx *c, const struct jpath *p, json_t *o, uint32_t i)
{
    static const char *const keys[] = {"name", "wasm", "entry", "priority"};
    struct pack_spec *s = c->s;
    struct rvf_component_desc *cd = &s->comps[i];
    if (need_object(c, p, o) < 0 || check_keys(c, p, o, keys, 4) < 0)
        return -1;
    if (get_name(c, p, o, "name", &cd->name) < 0)
        return -1;
    for (uint32_t j = 0; j < i; j++)
        if (!strcmp(s->comps[j].name, cd->name)) {
            struct jpath np;
            jp_key(&np, p, "name");
            return fail(c, &np, "duplicate component \"%s\" (also components[%u])", cd->name, j);
        }
    uint64_t prio;
    if (get_uint(c, p, o, "priority", false, 0, 0, RVF_MAX_PRIORITY, &prio) < 0)
        return -1;
    cd->priority = (uint32_t)prio;

    const char *wasm;
    struct jpath wp;
    jp_key(&wp, p, "wasm");
    if (get_string(c, p, o, "wasm", &wasm) < 0)
        return -1;
    struct pack_blob *b;
    if (load_blob(c, &wp, wasm, RVF_SEG_WASM, c->lim->max_package, &b) < 0)
        return -1;
    struct rvf_result res;
    if (rvf_wasm_validate(b->data, b->len, c->lim, NULL, &res) != RVF_OK)
        return fail(c, &wp, "%s: not a valid WASM module: %s", wasm, res.msg);
    memcpy(cd->wasm_hash, b->hash, RVF_HASH_LEN);

    json_t *entries;
    if (get_array(c, p, o, "entry", true, &entries) < 0)
        return -1;
    size_t n = json_array_size(entries);
    c->tasks += n;
    if (c->tasks > c->lim->max_tasks) {
        struct jpath ep;
        jp_key(&ep, p, "entry");
        return fail(c, &ep, "more than %u entry points (tasks) in the package",
                    c->lim->max_tasks);
    }
    const char **names = sp_alloc(c, n, sizeof *names);
    if (!names)
        return fail(c, p, "out of memory");
    for (size_t k = 0; k < n; k++) {
        struct jpath ep, eap;
        jp_key(&eap, p, "entry");
        jp_idx(&ep, &eap, k);
        json_t *e = json_array_get(entries, k);
        if (!json_is_string(e))
            return fail(c, &ep, "expected a string");
        names[k] = json_string_value(e);
        if (check_name_str(c, &ep, names[k], json_string_length(e)) < 0)
            return -1;
        for (size_t j = 0; j < k; j++)
            if (!strcmp(names[j], names[k]))
                return fail(c, &ep, "entry point \"%s\" listed twice", names[k]);
        if (!rvf_wasm_has_export(b->data, b->len, names[k], RVF_WASM_EXPORT_FUNC))
            return fail(c, &ep, "%s does not export a function \"%s\"", wasm, names[k]);
    }
    cd->entries = names;
    cd->nentries = (uint32_t)n;
    return 0;
}

/* A list of component names -> index array; no duplicates. */
static int parse_comp_set(struct ctx *c, const struct jpath *p, json_t *o, const char *key,
                          const uint32_t **out, uint32_t *count)
{
    json_t *arr;
    *out = NULL;
    *count = 0;
    if (get_array(c, p, o, key, false, &arr) < 0)
        return -1;
    if (!arr)
        return 0;
    struct jpath ap;
    jp_key(&ap, p, key);
    size_t n = json_array_size(arr);
    uint32_t *idx = sp_alloc(c, n, sizeof *idx);
    if (!idx)
        return fail(c, p, "out of memory");
    for (size_t k = 0; k < n; k++) {
        struct jpath ep;
        jp_idx(&ep, &ap, k);
        json_t *e = json_array_get(arr, k);
        if (!json_is_string(e))
            return fail(c, &ep, "expected a component name");
        int ci = find_comp(c->s, json_string_value(e));
        if (ci < 0)
            return fail(c, &ep, "unknown component \"%s\"", json_string_value(e));
        for (size_t j = 0; j < k; j++)
            if (idx[j] == (uint32_t)ci)
                return fail(c, &ep, "component \"%s\" listed twice", json_string_value(e));
        idx[k] = (uint32_t)ci;
    }
    *out = idx;
    *count = (uint32_t)n;
    return 0;
}

static int parse_region(struct ctx *c, const struct jpath *p, json_t *o, uint32_t i)
{
    static const char *const keys_imm[] = {"name", "policy", "owner", "read", "write", "data"};
    static const char *const keys_app[] = {"name", "policy", "owner", "read", "write",
                                           "max_size"};
    static const char *const keys_slab[] = {"name",  "policy",    "owner",     "read",
                                            "write", "slot_size", "slot_count"};
    struct pack_spec *s = c->s;
    struct rvf_region_desc *rd = &s->regions[i];
    if (need_object(c, p, o) < 0)
        return -1;
    const char *policy;
    if (get_string(c, p, o, "policy", &policy) < 0)
        return -1;
    struct jpath pp;
    jp_key(&pp, p, "policy");
    if (!strcmp(policy, "immutable")) {
        rd->policy = RVF_REGION_IMMUTABLE;
        if (check_keys(c, p, o, keys_imm, 6) < 0)
            return -1;
    } else if (!strcmp(policy, "append-only")) {
        rd->policy = RVF_REGION_APPEND_ONLY;
        if (check_keys(c, p, o, keys_app, 6) < 0)
            return -1;
    } else if (!strcmp(policy, "slab")) {
        rd->policy = RVF_REGION_SLAB;
        if (check_keys(c, p, o, keys_slab, 7) < 0)
            return -1;
    } else {
        return fail(c, &pp, "unknown policy \"%s\" (immutable, append-only or slab)", policy);
    }
    if (get_name(c, p, o, "name", &rd->name) < 0)
        return -1;
    for (uint32_t j = 0; j < i; j++)
        if (!strcmp(s->regions[j].name, rd->name)) {
            struct jpath np;
            jp_key(&np, p, "name");
            return fail(c, &np, "duplicate region \"%s\" (also regions[%u])", rd->name, j);
        }
    const char *owner;
    if (get_string(c, p, o, "owner", &owner) < 0)
        return -1;
    int oi = find_comp(s, owner);
    if (oi < 0) {
        struct jpath op;
        jp_key(&op, p, "owner");
        return fail(c, &op, "unknown component \"%s\"", owner);
    }
    rd->owner = (uint32_t)oi;
    if (parse_comp_set(c, p, o, "read", &rd->readers, &rd->nreaders) < 0 ||
        parse_comp_set(c, p, o, "write", &rd->writers, &rd->nwriters) < 0)
        return -1;

    uint64_t max = c->lim->max_region_size;
    if (rd->policy == RVF_REGION_IMMUTABLE) {
        if (rd->nwriters) {
            struct jpath wp;
            jp_key(&wp, p, "write");
            return fail(c, &wp, "an immutable region cannot have writers");
        }
        const char *data;
        struct jpath dp;
        jp_key(&dp, p, "data");
        if (get_string(c, p, o, "data", &data) < 0)
            return -1;
        struct pack_blob *b;
        if (load_blob(c, &dp, data, RVF_SEG_DATA, max, &b) < 0)
            return -1;
        memcpy(rd->init_hash, b->hash, RVF_HASH_LEN);
    } else if (rd->policy == RVF_REGION_APPEND_ONLY) {
        if (get_uint(c, p, o, "max_size", true, 0, 1, max, &rd->max_size) < 0)
            return -1;
    } else {
        if (get_uint(c, p, o, "slot_size", true, 0, 1, max, &rd->slot_size) < 0 ||
            get_uint(c, p, o, "slot_count", true, 0, 1, max, &rd->slot_count) < 0)
            return -1;
        if (rd->slot_count > max / rd->slot_size) {
            struct jpath sp;
            jp_key(&sp, p, "slot_count");
            return fail(c, &sp, "slot_size x slot_count is over the region limit of %llu bytes",
                        (unsigned long long)max);
        }
    }
    return 0;
}

/* "COMPONENT.PORT", split at the last '.' (ports have no dots). */
static int parse_endpoint(struct ctx *c, const struct jpath *parent, json_t *o, const char *key,
                          uint32_t *comp, const char **port)
{
    const char *ep;
    if (get_string(c, parent, o, key, &ep) < 0)
        return -1;
    struct jpath p;
    jp_key(&p, parent, key);
    const char *dot = strrchr(ep, '.');
    if (!dot || dot == ep || !dot[1])
        return fail(c, &p, "\"%s\" is not COMPONENT.PORT", ep);
    size_t clen = (size_t)(dot - ep);
    char *cname = sp_alloc(c, clen + 1, 1);
    if (!cname)
        return fail(c, &p, "out of memory");
    memcpy(cname, ep, clen);
    int ci = find_comp(c->s, cname);
    if (ci < 0)
        return fail(c, &p, "unknown component \"%s\"", cname);
    if (check_name_str(c, &p, dot + 1, strlen(dot + 1)) < 0)
        return -1;
    *comp = (uint32_t)ci;
    *port = dot + 1;
    return 0;
}

static int parse_queue(struct ctx *c, const struct jpath *p, json_t *o, uint32_t i)
{
    static const char *const keys[] = {"from", "to", "capacity", "max_message"};
    struct rvf_queue_desc *qd = &c->s->queues[i];
    const struct rvf_limits *lim = c->lim;
    if (need_object(c, p, o) < 0 || check_keys(c, p, o, keys, 4) < 0)
        return -1;
    if (parse_endpoint(c, p, o, "from", &qd->src, &qd->src_port) < 0 ||
        parse_endpoint(c, p, o, "to", &qd->dst, &qd->dst_port) < 0)
        return -1;
    uint64_t cap, msg;
    if (get_uint(c, p, o, "capacity", true, 0, 1, lim->max_queue_capacity, &cap) < 0)
        return -1;
    if (cap & (cap - 1)) {
        struct jpath cp;
        jp_key(&cp, p, "capacity");
        return fail(c, &cp, "%llu is not a power of two", (unsigned long long)cap);
    }
    if (get_uint(c, p, o, "max_message", true, 0, 1, lim->max_message, &msg) < 0)
        return -1;
    if (cap * msg > lim->max_queue_bytes)
        return fail(c, p, "capacity x max_message = %llu bytes, over the limit of %llu",
                    (unsigned long long)(cap * msg), (unsigned long long)lim->max_queue_bytes);
    qd->capacity = (uint32_t)cap;
    qd->max_msg = (uint32_t)msg;
    return 0;
}

/* Rights the manifest's access sets allow (same rule as rvf_manifest.c). */
static uint32_t allowed_rights(const struct pack_spec *s, uint32_t comp, uint32_t kind,
                               uint32_t obj, const char **why)
{
    if (kind == RVF_OBJ_REGION) {
        const struct rvf_region_desc *r = &s->regions[obj];
        uint32_t ok = 0;
        for (uint32_t k = 0; k < r->nreaders; k++)
            if (r->readers[k] == comp)
                ok |= RVF_RIGHT_READ;
        for (uint32_t k = 0; k < r->nwriters; k++)
            if (r->writers[k] == comp)
                ok |= RVF_RIGHT_WRITE;
        if (r->owner == comp)
            ok |= RVF_RIGHT_GRANT | RVF_RIGHT_REVOKE;
        *why = "read needs the region's read set, write its write set, grant/revoke its owner";
        return ok;
    }
    if (kind == RVF_OBJ_QUEUE) {
        const struct rvf_queue_desc *q = &s->queues[obj];
        uint32_t ok = 0;
        if (q->dst == comp)
            ok |= RVF_RIGHT_READ | RVF_RIGHT_GRANT | RVF_RIGHT_REVOKE;
        if (q->src == comp)
            ok |= RVF_RIGHT_WRITE | RVF_RIGHT_GRANT | RVF_RIGHT_REVOKE;
        *why = "read is for the queue's target, write for its source";
        return ok;
    }
    *why = "a component can only be granted read and execute";
    return RVF_RIGHT_READ | RVF_RIGHT_EXECUTE;
}

static int parse_grant(struct ctx *c, const struct jpath *p, json_t *o, uint32_t i)
{
    static const char *const keys[] = {"component", "object", "rights"};
    struct pack_spec *s = c->s;
    struct rvf_grant *g = &s->grants[i];
    if (need_object(c, p, o) < 0 || check_keys(c, p, o, keys, 3) < 0)
        return -1;
    const char *comp, *obj;
    if (get_string(c, p, o, "component", &comp) < 0 || get_string(c, p, o, "object", &obj) < 0)
        return -1;
    struct jpath cp, op, rp;
    jp_key(&cp, p, "component");
    jp_key(&op, p, "object");
    jp_key(&rp, p, "rights");
    int ci = find_comp(s, comp);
    if (ci < 0)
        return fail(c, &cp, "unknown component \"%s\"", comp);
    g->component = (uint32_t)ci;

    const char *colon = strchr(obj, ':');
    if (!colon)
        return fail(c, &op, "\"%s\" is not region:NAME, queue:INDEX or component:NAME", obj);
    const char *on = colon + 1;
    size_t klen = (size_t)(colon - obj);
    if (klen == 6 && !strncmp(obj, "region", 6)) {
        int ri = find_region(s, on);
        if (ri < 0)
            return fail(c, &op, "unknown region \"%s\"", on);
        g->kind = RVF_OBJ_REGION;
        g->object = (uint32_t)ri;
    } else if (klen == 5 && !strncmp(obj, "queue", 5)) {
        char *end;
        errno = 0;
        unsigned long qi = strtoul(on, &end, 10);
        if (!*on || *end || errno || on[0] == '-' || on[0] == '+' || (on[0] == '0' && on[1]))
            return fail(c, &op, "\"%s\": a queue is named by its index in \"queues\"", obj);
        if (qi >= s->desc.nqueues)
            return fail(c, &op, "no queue %lu (the spec has %u)", qi, s->desc.nqueues);
        g->kind = RVF_OBJ_QUEUE;
        g->object = (uint32_t)qi;
    } else if (klen == 9 && !strncmp(obj, "component", 9)) {
        int oi = find_comp(s, on);
        if (oi < 0)
            return fail(c, &op, "unknown component \"%s\"", on);
        g->kind = RVF_OBJ_COMPONENT;
        g->object = (uint32_t)oi;
    } else {
        return fail(c, &op, "unknown object kind \"%.*s\" (region, queue or component)",
                    (int)klen, obj);
    }
    for (uint32_t j = 0; j < i; j++)
        if (s->grants[j].component == g->component && s->grants[j].kind == g->kind &&
            s->grants[j].object == g->object)
            return fail(c, p, "a second grant of %s to \"%s\" (also grants[%u]); merge their rights",
                        obj, comp, j);

    json_t *rights;
    if (get_array(c, p, o, "rights", true, &rights) < 0)
        return -1;
    if (json_array_size(rights) == 0)
        return fail(c, &rp, "no rights listed");
    g->rights = 0;
    for (size_t k = 0; k < json_array_size(rights); k++) {
        struct jpath ep;
        jp_idx(&ep, &rp, k);
        json_t *e = json_array_get(rights, k);
        if (!json_is_string(e))
            return fail(c, &ep, "expected a right name");
        uint32_t bit = 0;
        for (uint32_t b = 0; b < 5; b++)
            if (!strcmp(json_string_value(e), pack_right_names[b]))
                bit = 1u << b;
        if (!bit)
            return fail(c, &ep, "unknown right \"%s\" (read, write, grant, revoke, execute)",
                        json_string_value(e));
        if (g->rights & bit)
            return fail(c, &ep, "right \"%s\" listed twice", json_string_value(e));
        g->rights |= bit;
    }
    const char *why;
    uint32_t extra = g->rights & ~allowed_rights(s, g->component, g->kind, g->object, &why);
    if (extra) {
        for (uint32_t b = 0; b < 5; b++)
            if (extra & (1u << b))
                return fail(c, &rp, "\"%s\" on %s is wider than the manifest allows \"%s\" (%s)",
                            pack_right_names[b], obj, comp, why);
    }
    return 0;
}

/* Checks a top-level array (absent = empty unless required) against its
 * limit and allocates its table; items are parsed by the caller. */
static void *begin_table(struct ctx *c, json_t *root, const char *key, bool required,
                         uint32_t limit, size_t elem, json_t **arr, size_t *n)
{
    struct jpath top = {""}, kp;
    if (get_array(c, &top, root, key, required, arr) < 0)
        return NULL;
    *n = *arr ? json_array_size(*arr) : 0;
    jp_key(&kp, NULL, key);
    if (*n > limit) {
        fail(c, &kp, "%zu entries, at most %u allowed", *n, limit);
        return NULL;
    }
    void *t = sp_alloc(c, *n, elem);
    if (!t)
        fail(c, &kp, "out of memory");
    return t;
}

/* Parses item i of arr; the table's count grows as items parse, so later
 * items (and their duplicate checks) see exactly the earlier ones. */
#define PARSE_ITEMS(c, key, arr, n, count, call)                                                 \
    do {                                                                                         \
        struct jpath kp_;                                                                        \
        jp_key(&kp_, NULL, key);                                                                 \
        for (size_t i_ = 0; i_ < (n); i_++) {                                                    \
            struct jpath ip_;                                                                    \
            jp_idx(&ip_, &kp_, i_);                                                              \
            json_t *o_ = json_array_get(arr, i_);                                                \
            uint32_t i32_ = (uint32_t)i_;                                                        \
            if (call(c, &ip_, o_, i32_) < 0)                                                     \
                return -1;                                                                       \
            (count) = i32_ + 1;                                                                  \
        }                                                                                        \
    } while (0)

int pack_spec_from_json(json_t *root, const char *label, const char *basedir,
                        const struct rvf_limits *lim, struct pack_spec *s, char *err,
                        size_t errlen)
{
    static const char *const keys[] = {"name", "version", "components", "regions", "queues",
                                       "grants"};
    struct rvf_limits defaults;
    if (!lim) {
        rvf_limits_default(&defaults);
        lim = &defaults;
    }
    memset(s, 0, sizeof *s);
    s->root = json_incref(root);
    struct ctx c = {label, basedir, lim, s, err, errlen, 0};
    struct jpath top = {""};
    if (!json_is_object(root))
        return fail(&c, NULL, "the top level must be a JSON object");
    if (check_keys(&c, &top, root, keys, 6) < 0 ||
        get_name(&c, &top, root, "name", &s->desc.name) < 0 ||
        get_name(&c, &top, root, "version", &s->desc.version) < 0)
        return -1;
    json_t *arr;
    size_t n;
    /* Components first: every other table refers to them by name. */
    if (!(s->comps = begin_table(&c, root, "components", true, lim->max_components,
                                 sizeof *s->comps, &arr, &n)))
        return -1;
    s->desc.components = s->comps;
    PARSE_ITEMS(&c, "components", arr, n, s->desc.ncomponents, parse_component);
    if (!(s->regions = begin_table(&c, root, "regions", false, lim->max_regions,
                                   sizeof *s->regions, &arr, &n)))
        return -1;
    s->desc.regions = s->regions;
    PARSE_ITEMS(&c, "regions", arr, n, s->desc.nregions, parse_region);
    if (!(s->queues = begin_table(&c, root, "queues", false, lim->max_queues, sizeof *s->queues,
                                  &arr, &n)))
        return -1;
    s->desc.queues = s->queues;
    PARSE_ITEMS(&c, "queues", arr, n, s->desc.nqueues, parse_queue);
    if (!(s->grants = begin_table(&c, root, "grants", false, lim->max_grants, sizeof *s->grants,
                                  &arr, &n)))
        return -1;
    s->desc.grants = s->grants;
    PARSE_ITEMS(&c, "grants", arr, n, s->desc.ngrants, parse_grant);
    return 0;
}

int pack_spec_load(const char *spec_path, const struct rvf_limits *lim, struct pack_spec *out,
                   char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    /* Duplicate keys are an error, not "last one wins". */
    json_t *root = json_load_file(spec_path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (je.line > 0)
            snprintf(err, errlen, "%s:%d:%d: %s", spec_path, je.line, je.column, je.text);
        else
            snprintf(err, errlen, "%s: %s", spec_path, je.text);
        return -1;
    }
    char dir[PATH_MAX];
    const char *slash = strrchr(spec_path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == spec_path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - spec_path), spec_path);
    int r = pack_spec_from_json(root, spec_path, dir, lim, out, err, errlen);
    json_decref(root);
    return r;
}

void pack_spec_free(struct pack_spec *s)
{
    for (size_t i = 0; i < s->nallocs; i++)
        free(s->allocs[i]);
    free(s->allocs);
    for (size_t i = 0; i < s->nblobs; i++) {
        free(s->blobs[i].data);
        free(s->blobs[i].path);
    }
    free(s->blobs);
    if (s->root)
        json_decref(s->root);
    memset(s, 0, sizeof *s);
}
