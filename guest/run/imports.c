/* The `nub` import module: what a component can do outside its instance
 * (the ABI, byte for byte, is in man/nubfs-rvf.5). Every call is checked
 * at run time against the component's grant table in the mount record,
 * and every pointer and length from the module against its linear memory
 * in 64-bit arithmetic: an error is a negative i32 for the module, never
 * an access. Blocking calls (send on a full queue, receive on an empty
 * one, yield) suspend the task; tasks_run.c retries them when the queue
 * moved. */
#include <string.h>

#include "nub/guest_addr.h"
#include "nub/guest_log.h"
#include "run_internal.h"

/* Error values (man/nubfs-rvf.5): negative Linux errno numbers. */
#define E_PERM (-1)      /* the region's policy does not allow it */
#define E_NOENT (-2)     /* no port or region of that name */
#define E_IO (-5)        /* a ring or record is inconsistent */
#define E_BADF (-9)      /* not a port / region handle of this component */
#define E_ACCES (-13)    /* no grant with that right */
#define E_FAULT (-14)    /* a buffer outside linear memory */
#define E_INVAL (-22)    /* offset or slot out of range */
#define E_NOSPC (-28)    /* append-only region full */
#define E_MSGSIZE (-90)  /* message over max_message, or buffer too small */

#define PORT_RECV 0x10000u /* handle bit: the receiving end */

static uint64_t err(int32_t e) { return (uint32_t)e; }

/* [ptr, ptr + len) of the task's linear memory, or NULL. */
static uint8_t *mem(const struct run_task *t, uint32_t ptr, uint32_t len)
{
    struct nub_wasm_memory *m = nub_wasm_instance_memory(t->inst);
    if (m == NULL)
        return len == 0 ? (uint8_t *)"" : NULL;
    uint64_t size = 0;
    uint8_t *d = nub_wasm_memory_data(m, &size);
    if ((uint64_t)ptr + len > size)
        return NULL;
    return d + ptr;
}

static const struct nub_mount_component *comp_of(const struct run_task *t,
                                                 const struct nub_mount_rec *r)
{
    return (const struct nub_mount_component *)nub_mem_ptr(r->components_gpa) + t->comp;
}

/* Rights the component's grant table gives on (kind, object). */
static uint32_t rights(const struct run_task *t, const struct nub_mount_rec *r, uint32_t kind,
                       uint32_t object)
{
    const struct nub_mount_component *c = comp_of(t, r);
    uint32_t n = c->ngrants > NUB_MOUNT_MAX_GRANTS ? NUB_MOUNT_MAX_GRANTS : c->ngrants;
    const struct nub_mount_grant *g = nub_mem_ptr(c->grants_gpa);
    uint32_t have = 0;
    for (uint32_t i = 0; c->grants_gpa != 0 && i < n; i++)
        if (g[i].component == t->comp && g[i].kind == kind && g[i].object == object)
            have |= g[i].rights;
    return have;
}

static int name_eq(const char field[NUB_MOUNT_NAME_LEN], const uint8_t *s, uint32_t len)
{
    if (len >= NUB_MOUNT_NAME_LEN)
        return 0;
    return memcmp(field, s, len) == 0 && field[len] == '\0';
}

/* ---- queues --------------------------------------------------------------- */

/* The queue and its ring behind a handle of this component, or an error. */
static int32_t queue(const struct run_task *t, const struct nub_mount_rec *r, uint32_t port,
                     int recv, struct nub_mount_queue *q, struct nub_ring **ring)
{
    uint32_t i = port & ~PORT_RECV;
    if ((port & PORT_RECV) != (recv ? PORT_RECV : 0) || i >= r->nqueues)
        return E_BADF;
    *q = ((const struct nub_mount_queue *)nub_mem_ptr(r->queues_gpa))[i];
    if ((recv ? q->dst : q->src) != t->comp)
        return E_BADF;
    if (!(rights(t, r, NUB_OBJ_QUEUE, i) & (recv ? NUB_RIGHT_READ : NUB_RIGHT_WRITE)))
        return E_ACCES;
    if (q->ring_gpa == 0)
        return E_BADF;
    *ring = nub_mem_ptr(q->ring_gpa);
    const struct nub_ring *g = *ring;
    if (g->magic != NUB_RING_MAGIC || g->capacity != q->capacity || g->max_msg != q->max_msg ||
        q->capacity == 0 || (q->capacity & (q->capacity - 1)) ||
        g->slot_size != nub_align_up((uint64_t)NUB_RING_SLOT_HEADER + q->max_msg, 8) ||
        g->tail - g->head > q->capacity ||
        q->ring_len != sizeof(struct nub_ring) + (uint64_t)q->capacity * g->slot_size)
        return E_IO;
    return 0;
}

static uint8_t *slot_of(struct nub_ring *g, uint64_t n)
{
    return (uint8_t *)(g + 1) + (n & (g->capacity - 1)) * g->slot_size;
}

/* 1: done (*res), 0: would block (*seen: the ring position to watch). */
static int do_send(struct run_task *t, const uint32_t *a, uint64_t *res, uint64_t *seen)
{
    const struct nub_mount_rec *r = run_rec(t);
    struct nub_mount_queue q;
    struct nub_ring *g;
    int32_t e = r ? queue(t, r, a[0], 0, &q, &g) : E_BADF;
    if (e == 0 && a[2] > q.max_msg)
        e = E_MSGSIZE;
    const uint8_t *src = e == 0 ? mem(t, a[1], a[2]) : NULL;
    if (e == 0 && src == NULL)
        e = E_FAULT;
    if (e != 0) {
        *res = err(e);
        return 1;
    }
    if (g->tail - g->head >= q.capacity) {
        *seen = g->head;
        return 0;
    }
    uint8_t *s = slot_of(g, g->tail);
    uint32_t len = a[2];
    memcpy(s, &len, 4);
    memcpy(s + NUB_RING_SLOT_HEADER, src, len);
    g->tail++;
    *res = 0;
    return 1;
}

static int do_recv(struct run_task *t, const uint32_t *a, uint64_t *res, uint64_t *seen)
{
    const struct nub_mount_rec *r = run_rec(t);
    struct nub_mount_queue q;
    struct nub_ring *g;
    int32_t e = r ? queue(t, r, a[0], 1, &q, &g) : E_BADF;
    uint8_t *dst = e == 0 ? mem(t, a[1], a[2]) : NULL;
    if (e == 0 && dst == NULL)
        e = E_FAULT;
    if (e != 0) {
        *res = err(e);
        return 1;
    }
    if (g->tail == g->head) {
        *seen = g->tail;
        return 0;
    }
    const uint8_t *s = slot_of(g, g->head);
    uint32_t len;
    memcpy(&len, s, 4);
    if (len > q.max_msg) {
        *res = err(E_IO);
        return 1;
    }
    if (len > a[2]) {
        *res = err(E_MSGSIZE); /* the message stays for a larger buffer */
        return 1;
    }
    memcpy(dst, s + NUB_RING_SLOT_HEADER, len);
    g->head++;
    *res = len;
    return 1;
}

static enum nub_wasm_status suspend_on(struct run_task *t, enum run_wait w, const uint64_t *args,
                                       uint64_t seen)
{
    t->wait = w;
    t->wait_q = (uint32_t)args[0] & ~PORT_RECV;
    for (int i = 0; i < 3; i++)
        t->wait_args[i] = (uint32_t)args[i];
    t->wait_seen = seen;
    return NUB_WASM_SUSPENDED;
}

static enum nub_wasm_status imp_send(void *ctx, struct nub_wasm_task *wt, const uint64_t *args,
                                     uint64_t *results)
{
    (void)wt;
    uint32_t a[3] = {(uint32_t)args[0], (uint32_t)args[1], (uint32_t)args[2]};
    uint64_t seen = 0;
    if (do_send(ctx, a, &results[0], &seen))
        return NUB_WASM_DONE;
    return suspend_on(ctx, RUN_WAIT_SEND, args, seen);
}

static enum nub_wasm_status imp_recv(void *ctx, struct nub_wasm_task *wt, const uint64_t *args,
                                     uint64_t *results)
{
    (void)wt;
    uint32_t a[3] = {(uint32_t)args[0], (uint32_t)args[1], (uint32_t)args[2]};
    uint64_t seen = 0;
    if (do_recv(ctx, a, &results[0], &seen))
        return NUB_WASM_DONE;
    return suspend_on(ctx, RUN_WAIT_RECV, args, seen);
}

int run_imports_retry(struct run_task *t, uint64_t *result)
{
    const struct nub_mount_rec *r = run_rec(t);
    if (r == NULL || t->wait_q >= r->nqueues)
        return 0;
    const struct nub_mount_queue *q =
        (const struct nub_mount_queue *)nub_mem_ptr(r->queues_gpa) + t->wait_q;
    if (q->ring_gpa == 0)
        return 0;
    const struct nub_ring *g = nub_mem_ptr(q->ring_gpa);
    /* Nothing to do until the end it waits on moved. */
    if ((t->wait == RUN_WAIT_SEND ? g->head : g->tail) == t->wait_seen)
        return 0;
    uint64_t seen = 0;
    return t->wait == RUN_WAIT_SEND ? do_send(t, t->wait_args, result, &seen)
                                    : do_recv(t, t->wait_args, result, &seen);
}

static enum nub_wasm_status imp_port(void *ctx, struct nub_wasm_task *wt, const uint64_t *args,
                                     uint64_t *results)
{
    (void)wt;
    struct run_task *t = ctx;
    const struct nub_mount_rec *r = run_rec(t);
    uint32_t len = (uint32_t)args[1];
    const uint8_t *name = mem(t, (uint32_t)args[0], len);
    results[0] = err(name == NULL ? E_FAULT : E_NOENT);
    if (r == NULL || name == NULL)
        return NUB_WASM_DONE;
    const struct nub_mount_queue *q = nub_mem_ptr(r->queues_gpa);
    for (uint32_t i = 0; i < r->nqueues; i++) {
        if (q[i].src == t->comp && name_eq(q[i].src_port, name, len)) {
            results[0] = i;
            break;
        }
        if (q[i].dst == t->comp && name_eq(q[i].dst_port, name, len)) {
            results[0] = i | PORT_RECV;
            break;
        }
    }
    return NUB_WASM_DONE;
}

/* ---- regions -------------------------------------------------------------- */

static enum nub_wasm_status imp_region(void *ctx, struct nub_wasm_task *wt, const uint64_t *args,
                                       uint64_t *results)
{
    (void)wt;
    struct run_task *t = ctx;
    const struct nub_mount_rec *r = run_rec(t);
    uint32_t len = (uint32_t)args[1];
    const uint8_t *name = mem(t, (uint32_t)args[0], len);
    results[0] = err(name == NULL ? E_FAULT : E_NOENT);
    if (r == NULL || name == NULL)
        return NUB_WASM_DONE;
    const struct nub_mount_region *g = nub_mem_ptr(r->regions_gpa);
    for (uint32_t i = 0; i < r->nregions; i++)
        if (name_eq(g[i].name, name, len)) {
            results[0] = i;
            break;
        }
    return NUB_WASM_DONE;
}

/* The region behind a handle if the component holds `right` on it. */
static int32_t region(const struct run_task *t, uint32_t h, uint32_t right,
                      struct nub_mount_region **out)
{
    const struct nub_mount_rec *r = run_rec(t);
    if (r == NULL || h >= r->nregions)
        return E_BADF;
    if (!(rights(t, r, NUB_OBJ_REGION, h) & right))
        return E_ACCES;
    struct nub_mount_region *g = (struct nub_mount_region *)nub_mem_ptr(r->regions_gpa) + h;
    if (g->length > g->size || (g->policy == NUB_REGION_SLAB &&
                                (g->slot_size == 0 || g->slot_count > g->size / g->slot_size)))
        return E_IO;
    *out = g;
    return 0;
}

/* read(region, offset, ptr, len): immutable and append-only regions. */
static enum nub_wasm_status imp_read(void *ctx, struct nub_wasm_task *wt, const uint64_t *args,
                                     uint64_t *results)
{
    (void)wt;
    struct run_task *t = ctx;
    struct nub_mount_region *g = NULL;
    uint32_t off = (uint32_t)args[1], len = (uint32_t)args[3];
    int32_t e = region(t, (uint32_t)args[0], NUB_RIGHT_READ, &g);
    if (e == 0 && g->policy == NUB_REGION_SLAB)
        e = E_PERM;
    if (e == 0 && off > g->length)
        e = E_INVAL;
    uint8_t *dst = e == 0 ? mem(t, (uint32_t)args[2], len) : NULL;
    if (e == 0 && dst == NULL)
        e = E_FAULT;
    if (e != 0) {
        results[0] = err(e);
        return NUB_WASM_DONE;
    }
    uint64_t n = g->length - off < len ? g->length - off : len;
    memcpy(dst, nub_mem_ptr(g->gpa + off), n);
    results[0] = n;
    return NUB_WASM_DONE;
}

/* append(region, ptr, len) -> offset written at: append-only regions. */
static enum nub_wasm_status imp_append(void *ctx, struct nub_wasm_task *wt, const uint64_t *args,
                                       uint64_t *results)
{
    (void)wt;
    struct run_task *t = ctx;
    struct nub_mount_region *g = NULL;
    uint32_t len = (uint32_t)args[2];
    int32_t e = region(t, (uint32_t)args[0], NUB_RIGHT_WRITE, &g);
    if (e == 0 && g->policy != NUB_REGION_APPEND_ONLY)
        e = E_PERM;
    if (e == 0 && (len > g->size - g->length || g->length > INT32_MAX))
        e = E_NOSPC;
    const uint8_t *src = e == 0 ? mem(t, (uint32_t)args[1], len) : NULL;
    if (e == 0 && src == NULL)
        e = E_FAULT;
    if (e != 0) {
        results[0] = err(e);
        return NUB_WASM_DONE;
    }
    uint64_t at = g->length;
    memcpy(nub_mem_ptr(g->gpa + at), src, len);
    g->length = at + len; /* bytes first, then the length readers go by */
    results[0] = at;
    return NUB_WASM_DONE;
}

/* read_slot / write_slot(region, slot, ptr, len): slab regions. */
static enum nub_wasm_status slot_io(struct run_task *t, const uint64_t *args, uint64_t *results,
                                    int write)
{
    struct nub_mount_region *g = NULL;
    uint32_t slot = (uint32_t)args[1], len = (uint32_t)args[3];
    int32_t e = region(t, (uint32_t)args[0], write ? NUB_RIGHT_WRITE : NUB_RIGHT_READ, &g);
    if (e == 0 && g->policy != NUB_REGION_SLAB)
        e = E_PERM;
    if (e == 0 && slot >= g->slot_count)
        e = E_INVAL;
    if (e == 0 && write && len > g->slot_size)
        e = E_MSGSIZE;
    uint8_t *buf = e == 0 ? mem(t, (uint32_t)args[2], len) : NULL;
    if (e == 0 && buf == NULL)
        e = E_FAULT;
    if (e != 0) {
        results[0] = err(e);
        return NUB_WASM_DONE;
    }
    uint8_t *s = nub_mem_ptr(g->gpa + (uint64_t)slot * g->slot_size);
    uint64_t n = len < g->slot_size ? len : g->slot_size;
    if (write)
        memcpy(s, buf, n);
    else
        memcpy(buf, s, n);
    results[0] = write ? 0 : n;
    return NUB_WASM_DONE;
}

static enum nub_wasm_status imp_read_slot(void *ctx, struct nub_wasm_task *wt,
                                          const uint64_t *args, uint64_t *results)
{
    (void)wt;
    return slot_io(ctx, args, results, 0);
}

static enum nub_wasm_status imp_write_slot(void *ctx, struct nub_wasm_task *wt,
                                           const uint64_t *args, uint64_t *results)
{
    (void)wt;
    return slot_io(ctx, args, results, 1);
}

/* ---- log, yield ----------------------------------------------------------- */

static enum nub_wasm_status imp_log(void *ctx, struct nub_wasm_task *wt, const uint64_t *args,
                                    uint64_t *results)
{
    (void)wt;
    struct run_task *t = ctx;
    uint32_t len = (uint32_t)args[1];
    const uint8_t *s = mem(t, (uint32_t)args[0], len);
    const struct nub_mount_rec *r = run_rec(t);
    if (s == NULL || r == NULL) {
        results[0] = err(s == NULL ? E_FAULT : E_BADF);
        return NUB_WASM_DONE;
    }
    char line[RUN_LOG_MAX + 1];
    uint32_t n = len < RUN_LOG_MAX ? len : RUN_LOG_MAX;
    memcpy(line, s, n);
    line[n] = '\0';
    if (n && line[n - 1] == '\n')
        line[n - 1] = '\0';
    char pkg[NUB_MOUNT_NAME_LEN], comp[NUB_MOUNT_NAME_LEN];
    memcpy(pkg, r->name, sizeof pkg);
    memcpy(comp, comp_of(t, r)->name, sizeof comp);
    pkg[sizeof pkg - 1] = comp[sizeof comp - 1] = '\0';
    nub_logf("task %s/%s: %s", pkg, comp, line);
    results[0] = 0;
    return NUB_WASM_DONE;
}

static enum nub_wasm_status imp_yield(void *ctx, struct nub_wasm_task *wt, const uint64_t *args,
                                      uint64_t *results)
{
    (void)wt;
    (void)results;
    return suspend_on(ctx, RUN_WAIT_YIELD, args, 0);
}

/* ---- linking -------------------------------------------------------------- */

static const uint8_t i32s[4] = {NUB_WASM_I32, NUB_WASM_I32, NUB_WASM_I32, NUB_WASM_I32};

static const struct import_def {
    const char *name;
    uint32_t nparams, nresults;
    nub_wasm_host_fn fn;
} defs[] = {
    {"port", 2, 1, imp_port},           {"region", 2, 1, imp_region},
    {"send", 3, 1, imp_send},           {"recv", 3, 1, imp_recv},
    {"read", 4, 1, imp_read},           {"append", 3, 1, imp_append},
    {"read_slot", 4, 1, imp_read_slot}, {"write_slot", 4, 1, imp_write_slot},
    {"log", 2, 1, imp_log},             {"yield", 0, 0, imp_yield},
};

static const struct import_def *find_def(const char *name, uint32_t len)
{
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
        if (strlen(defs[i].name) == len && memcmp(defs[i].name, name, len) == 0)
            return &defs[i];
    return NULL;
}

static int same_type(const struct nub_wasm_functype *ft, const struct import_def *d)
{
    if (ft == NULL || ft->nparams != d->nparams || ft->nresults != d->nresults)
        return 0;
    for (uint32_t i = 0; i < ft->nparams; i++)
        if (ft->params[i] != NUB_WASM_I32)
            return 0;
    for (uint32_t i = 0; i < ft->nresults; i++)
        if (ft->results[i] != NUB_WASM_I32)
            return 0;
    return 1;
}

int run_imports_link(const struct nub_wasm_env *env, struct run_task *t, const char **why)
{
    uint32_t n = nub_wasm_import_count(t->mod);
    t->nimports = 0;
    t->imports = NULL;
    if (n == 0)
        return 0;
    t->imports = env->zalloc(env->ctx, (size_t)n * sizeof *t->imports);
    if (t->imports == NULL) {
        *why = "no memory for the imports";
        return -1;
    }
    t->nimports = n;
    for (uint32_t i = 0; i < n; i++) {
        const char *mod, *name;
        uint32_t mlen, nlen;
        enum nub_wasm_kind kind;
        nub_wasm_import_get(t->mod, i, &mod, &mlen, &name, &nlen, &kind);
        const struct import_def *d =
            mlen == 3 && memcmp(mod, "nub", 3) == 0 && kind == NUB_WASM_KFUNC
                ? find_def(name, nlen)
                : NULL;
        if (d == NULL) {
            *why = "an import that is not a nub function";
            return -1;
        }
        if (!same_type(nub_wasm_import_functype(t->mod, i), d)) {
            *why = "a nub import of the wrong type";
            return -1;
        }
        struct nub_wasm_functype ft = {d->nparams, d->nresults, i32s, i32s};
        t->imports[i] = nub_wasm_host_func(env, &ft, d->fn, t);
        if (t->imports[i] == NULL) {
            *why = "no memory for the imports";
            return -1;
        }
    }
    return 0;
}

void run_imports_free(const struct nub_wasm_env *env, struct run_task *t)
{
    for (uint32_t i = 0; t->imports != NULL && i < t->nimports; i++)
        if (t->imports[i] != NULL)
            nub_wasm_host_func_free(env, t->imports[i]);
    if (t->imports != NULL)
        env->free(env->ctx, t->imports, (size_t)t->nimports * sizeof *t->imports);
    t->imports = NULL;
    t->nimports = 0;
}
