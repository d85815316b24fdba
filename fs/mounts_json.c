/* The JSON files of mounts/<name>/: info, queues, tasks and each
 * component's grants and entry, rendered from the guest's mount record
 * (copied out and validated by mount_reader) with the read lock held. */
#include "mounts.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hex.h"

/* Serialises j (consumed) as an indented JSON file. NULL with
 * *err = -ENOMEM (also when j is NULL: building it ran out of memory). */
static char *finish(json_t *j, size_t *len, int *err)
{
    char *s = j != NULL ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    char *out = nubfs_text_file(s, len);
    if (out == NULL)
        *err = -ENOMEM;
    return out;
}

/* A list file as {"format": 1, KEY: [...]}: every JSON file of nubfs
 * carries its format version (nubfs(8), JSON FILES). Consumes a. */
static json_t *listing(const char *key, json_t *a)
{
    json_t *o = a != NULL ? json_object() : NULL;
    if (o == NULL) {
        json_decref(a);
        return NULL;
    }
    json_object_set_new(o, "format", json_integer(1));
    json_object_set_new(o, key, a);
    return o;
}

/* Lowercase hex of up to 32 bytes (hashes, the signer key). */
static json_t *hex(const uint8_t *b, size_t n)
{
    char s[2 * 32 + 1];
    return json_string(nub_hex_encode(s, sizeof s, b, n > 32 ? 32 : n));
}

/* A name as a JSON string, never dropped: jansson refuses text that is
 * not UTF-8 (json_string gives NULL, and the key would vanish), so such
 * a name has each byte of 0x80 and up written as \xNN (nubfs(8)). */
static json_t *text(const char *s)
{
    json_t *j = json_string(s);
    if (j != NULL || s == NULL)
        return j;
    size_t n = strlen(s);
    char *e = malloc(4 * n + 1);
    if (e == NULL)
        return NULL;
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x80) {
            e[o++] = (char)*p;
        } else {
            e[o++] = '\\';
            e[o++] = 'x';
            nub_hex_encode(e + o, 3, p, 1);
            o += 2;
        }
    }
    e[o] = '\0';
    j = json_string(e);
    free(e);
    return j;
}

static bool all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

/* JSON integers are signed 64-bit: a guest value never becomes negative. */
static json_t *num(uint64_t v)
{
    return json_integer((json_int_t)(v & INT64_MAX));
}

/* Drops a half-built document and the component list: a record failed
 * its checks, so the file reads as EIO. */
static char *fail_io(json_t *doc, struct nub_mount_component *c, int *err)
{
    json_decref(doc);
    free(c);
    *err = -EIO;
    return NULL;
}

/* The mount's components (names for queues, tasks, grants). */
static struct nub_mount_component *components(const struct mview *v, int *err)
{
    struct nub_mount_component *c = calloc(v->m.ncomponents ? v->m.ncomponents : 1, sizeof(*c));
    if (c == NULL) {
        *err = -ENOMEM;
        return NULL;
    }
    if (v->m.ncomponents &&
        nub_mtab_components(&v->mr, &v->m, 0, v->m.ncomponents, c) != 0) {
        free(c);
        *err = -EIO;
        return NULL;
    }
    return c;
}

char *mnt_json_info(const struct mview *v, size_t *len, int *err)
{
    json_t *o = json_object();
    if (o == NULL)
        return finish(NULL, len, err);
    char when[NUBFS_UTC_TIME_MAX + 1];
    nubfs_utc_time(v->mounted_at.tv_sec, when);
    strcat(when, "Z");
    json_object_set_new(o, "format", json_integer(1)); /* nubfs(8), JSON FILES */
    json_object_set_new(o, "name", text(v->name));
    json_object_set_new(o, "file", text(v->ctlname));
    json_object_set_new(o, "handle", num(v->m.handle));
    json_object_set_new(o, "package", json_string(v->m.name));
    json_object_set_new(o, "version", json_string(v->m.version));
    json_object_set_new(o, "signer", all_zero(v->m.signer, sizeof(v->m.signer))
                                         ? json_null()
                                         : hex(v->m.signer, sizeof(v->m.signer)));
    json_object_set_new(o, "manifest", hex(v->m.manifest_hash, 16));
    json_object_set_new(o, "package_bytes", num(v->m.package_len));
    json_object_set_new(o, "components", num(v->m.ncomponents));
    json_object_set_new(o, "regions", num(v->m.nregions));
    json_object_set_new(o, "queues", num(v->m.nqueues));
    json_object_set_new(o, "tasks", num(v->m.ntasks));
    json_object_set_new(o, "grants", num(v->m.ngrants));
    json_object_set_new(o, "caps", num(v->m.ncaps));
    json_object_set_new(o, "mounted_at", json_string(when));
    json_object_set_new(o, "mounted_at_unix", num((uint64_t)v->mounted_at.tv_sec));
    json_object_set_new(o, "generation", num(v->m.generation));
    return finish(o, len, err);
}

static const char *state_name(uint32_t s)
{
    switch (s) {
    case NUB_TASK_READY:
        return "ready";
    case NUB_TASK_RUNNING:
        return "running";
    case NUB_TASK_STOPPED:
        return "stopped";
    case NUB_TASK_BLOCKED:
        return "blocked";
    case NUB_TASK_DONE:
        return "done";
    case NUB_TASK_TRAPPED:
        return "trapped";
    }
    return "unknown";
}

/* Why a task trapped (abi.h enum nub_task_trap; 1..11 in the spec's
 * wording, as the interpreter names them). */
static const char *trap_name(uint32_t t)
{
    static const char *const wasm[] = {
        "", "unreachable", "integer divide by zero", "integer overflow",
        "invalid conversion to integer", "out of bounds memory access", "out of bounds table access",
        "undefined element", "uninitialized element", "indirect call type mismatch",
        "call stack exhausted", "host trap"};
    if (t < sizeof wasm / sizeof wasm[0])
        return wasm[t];
    switch (t) {
    case NUB_TASK_TRAP_INSTANTIATE:
        return "instantiation failed";
    case NUB_TASK_TRAP_NOMEM:
        return "out of memory";
    case NUB_TASK_TRAP_START_FUEL:
        return "start function out of fuel";
    case NUB_TASK_TRAP_ENTRY:
        return "entry point is not an exported function";
    case NUB_TASK_TRAP_FUEL:
        return "out of fuel";
    }
    return "unknown";
}

char *mnt_json_tasks(const struct mview *v, size_t *len, int *err)
{
    struct nub_mount_component *c = components(v, err);
    if (c == NULL)
        return NULL;
    json_t *a = json_array();
    struct nub_mount_task t;
    for (uint32_t i = 0; a != NULL && i < v->m.ntasks; i++) {
        if (nub_mtab_tasks(&v->mr, &v->m, i, 1, &t) != 0 ||
            t.component >= v->m.ncomponents) {
            return fail_io(a, c, err);
        }
        json_t *o = json_object();
        json_object_set_new(o, "entry", json_string(t.entry));
        json_object_set_new(o, "component", json_string(c[t.component].name));
        json_object_set_new(o, "priority", num(t.priority));
        json_object_set_new(o, "state", json_string(state_name(t.state)));
        json_object_set_new(o, "trap", t.state == NUB_TASK_TRAPPED ? json_string(trap_name(t.trap))
                                                                   : json_null());
        json_object_set_new(o, "fuel_used", num(t.fuel_used));
        json_array_append_new(a, o);
    }
    free(c);
    return finish(listing("tasks", a), len, err);
}

char *mnt_json_queues(const struct mview *v, size_t *len, int *err)
{
    struct nub_mount_component *c = components(v, err);
    if (c == NULL)
        return NULL;
    json_t *a = json_array();
    struct nub_mount_queue q;
    for (uint32_t i = 0; a != NULL && i < v->m.nqueues; i++) {
        struct nub_ring ring;
        if (nub_mtab_queues(&v->mr, &v->m, i, 1, &q) != 0 ||
            q.src >= v->m.ncomponents || q.dst >= v->m.ncomponents ||
            nub_mtab_ring(&v->mr, &q, &ring) != 0) {
            return fail_io(a, c, err);
        }
        json_t *o = json_object();
        json_object_set_new(o, "index", num(i));
        json_object_set_new(o, "from", json_sprintf("%s.%s", c[q.src].name, q.src_port));
        json_object_set_new(o, "to", json_sprintf("%s.%s", c[q.dst].name, q.dst_port));
        json_object_set_new(o, "capacity", num(q.capacity));
        json_object_set_new(o, "max_message", num(q.max_msg));
        json_object_set_new(o, "head", num(ring.head));
        json_object_set_new(o, "tail", num(ring.tail));
        json_object_set_new(o, "pending", num(ring.tail - ring.head));
        json_array_append_new(a, o);
    }
    free(c);
    return finish(listing("queues", a), len, err);
}

/* "region:banner", "queue:0", "component:hello": the manifest's spelling. */
static json_t *object_name(const struct mview *v, const struct nub_mount_component *c,
                           const struct nub_mount_grant *g)
{
    switch (g->kind) {
    case NUB_OBJ_REGION: {
        struct nub_mount_region r;
        if (g->object < v->m.nregions &&
            nub_mtab_regions(&v->mr, &v->m, g->object, 1, &r) == 0)
            return json_sprintf("region:%s", r.name);
        break;
    }
    case NUB_OBJ_QUEUE:
        if (g->object < v->m.nqueues)
            return json_sprintf("queue:%u", g->object);
        break;
    case NUB_OBJ_COMPONENT:
        if (g->object < v->m.ncomponents)
            return json_sprintf("component:%s", c[g->object].name);
        break;
    }
    return NULL;
}

char *mnt_json_grants(const struct mview *v, uint32_t comp, size_t *len, int *err)
{
    struct nub_mount_component *c = components(v, err);
    if (c == NULL)
        return NULL;
    uint32_t first, n;
    if (comp >= v->m.ncomponents ||
        nub_mtab_component_grants(&v->m, &c[comp], &first, &n) != 0) {
        return fail_io(NULL, c, err);
    }
    static const char *const rights[] = {"read", "write", "grant", "revoke", "execute"};
    json_t *a = json_array();
    for (uint32_t i = 0; a != NULL && i < n; i++) {
        struct nub_mount_grant g;
        json_t *obj = NULL;
        if (nub_mtab_grants(&v->mr, &v->m, first + i, 1, &g) != 0 ||
            (obj = object_name(v, c, &g)) == NULL) {
            return fail_io(a, c, err);
        }
        json_t *o = json_object();
        json_object_set_new(o, "object", obj);
        json_t *r = json_array();
        for (unsigned b = 0; b < 5; b++)
            if (g.rights & (1u << b))
                json_array_append_new(r, json_string(rights[b]));
        json_object_set_new(o, "rights", r);
        json_array_append_new(a, o);
    }
    free(c);
    return finish(listing("grants", a), len, err);
}

char *mnt_json_entry(const struct mview *v, uint32_t comp, size_t *len, int *err)
{
    struct nub_mount_component c;
    if (comp >= v->m.ncomponents || nub_mtab_components(&v->mr, &v->m, comp, 1, &c) != 0 ||
        c.first_task > v->m.ntasks || c.nentries > v->m.ntasks - c.first_task) {
        *err = -EIO;
        return NULL;
    }
    json_t *a = json_array();
    for (uint32_t i = 0; a != NULL && i < c.nentries; i++) {
        struct nub_mount_task t;
        if (nub_mtab_tasks(&v->mr, &v->m, c.first_task + i, 1, &t) != 0) {
            return fail_io(a, NULL, err);
        }
        json_array_append_new(a, json_string(t.entry));
    }
    return finish(listing("entry", a), len, err);
}
