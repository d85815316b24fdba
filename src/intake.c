/* Package intake and the MOUNT/UNMOUNT calls (see intake.h): checks
 * a package on the host, compares it with the caps the guest already has,
 * and runs ALLOC + copy + MOUNT (+ FREE on failure) as one sandbox call
 * sequence: no other call can FREE or reuse the block in between, and
 * readers, excluded only while the guest runs, can see nothing half-done
 * (the block is unpublished until MOUNT publishes it whole). The copy
 * itself therefore does not stall caps/ reads. */
#include "intake.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "errors.h"
#include "guest_calls.h"
#include "reader.h"
#include "sign_pkg.h"

void nub_intake_opts_default(struct nub_intake_opts *o)
{
    memset(o, 0, sizeof(*o));
    rvf_limits_default(&o->limits);
}

/* The count limits a mount record can hold (abi.h NUB_MOUNT_MAX_*): the
 * guest clamps the limits it is given to these, and so does the host
 * before its own check, so both refuse exactly the same packages. */
static void clamp_to_abi(struct rvf_limits *l)
{
    const struct {
        uint32_t *v, max;
    } c[] = {{&l->max_segments, NUB_MOUNT_MAX_CAPS},
             {&l->max_components, NUB_MOUNT_MAX_COMPONENTS},
             {&l->max_regions, NUB_MOUNT_MAX_REGIONS},
             {&l->max_queues, NUB_MOUNT_MAX_QUEUES},
             {&l->max_tasks, NUB_MOUNT_MAX_TASKS},
             {&l->max_grants, NUB_MOUNT_MAX_GRANTS}};
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
        if (*c[i].v > c[i].max)
            *c[i].v = c[i].max;
}

/* The limits as MOUNT takes them (abi.h struct nub_mount_limits). A zero
 * limit reads "default" there. That matters only for the WASM walk limits,
 * which the guest alone checks: for every other one the host's check with
 * the same limits has already refused any package with such objects. */
static void abi_limits(const struct rvf_limits *l, struct nub_mount_limits *out)
{
    memset(out, 0, sizeof(*out));
    out->max_package = l->max_package;
    out->max_region_size = l->max_region_size;
    out->max_queue_bytes = l->max_queue_bytes;
    out->max_segments = l->max_segments;
    out->max_components = l->max_components;
    out->max_regions = l->max_regions;
    out->max_queues = l->max_queues;
    out->max_tasks = l->max_tasks;
    out->max_grants = l->max_grants;
    out->max_queue_capacity = l->max_queue_capacity;
    out->max_message = l->max_message;
    out->max_wasm_sections = l->max_wasm_sections;
    out->max_wasm_exports = l->max_wasm_exports;
}

/* reason = "<name>: <formatted>"; returns err (a negative errno) for a
 * one-line return. */
__attribute__((format(printf, 4, 5))) static int fail(struct nub_intake_result *out,
                                                      const char *name, int err,
                                                      const char *fmt, ...)
{
    int n = snprintf(out->reason, sizeof(out->reason), "%s: ", name);
    if (n < 0 || (size_t)n >= sizeof(out->reason))
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason + n, sizeof(out->reason) - (size_t)n, fmt, ap);
    va_end(ap);
    return err;
}

/* The poisoned-guest answer: the call failed because the guest crashed
 * now (-EIO) or earlier (-ESHUTDOWN); either way the daemon reboots. */
static int guest_down(struct nub_sandbox *sb, struct nub_intake_result *out, const char *name,
                      int r, const char *when)
{
    if (r == -ESHUTDOWN)
        return fail(out, name, -EIO, "guest is down (%s); it must be rebooted",
                    nub_sandbox_poison_reason(sb));
    return fail(out, name, -EIO, "the guest crashed during %s: %s", when,
                nub_sandbox_poison_reason(sb));
}

/* Step 5: a segment whose hash is already a cap must have its bytes. The
 * sandbox lock is held (either kind). *gen gets the directory generation
 * the comparison saw; with `recheck`, a directory still at the *gen given
 * is not compared again. */
static int compare_caps(struct nub_sandbox *sb, struct nub_cap_store *st,
                        const struct rvf_package *p, bool recheck, uint64_t *gen,
                        struct nub_intake_result *out, const char *name)
{
    const struct nub_guest_mem *gm = nub_sandbox_mem(sb);
    struct nub_reader rd;
    enum nub_reader_error re = nub_reader_open(&rd, gm, nub_sandbox_boot_info_gpa(sb));
    struct nub_dir_header h;
    if (re != NUB_READER_OK)
        return fail(out, name, -EIO, "guest directory unreadable: %s", nub_reader_strerror(re));
    if (nub_reader_header(&rd, &h) != 0)
        return fail(out, name, -EIO, "guest directory header is corrupt");
    if (recheck && h.generation == *gen)
        return 0;
    *gen = h.generation;
    for (uint32_t i = 0; i < p->nsegs; i++) {
        const struct rvf_segment *s = &p->segs[i];
        if (s->type == RVF_SEG_CRYPTO)
            continue;
        /* Its bytes in guest memory are a cap file's mapping: one that
         * was truncated would fault (SIGBUS), so the store looks first. */
        if (st != NULL && nub_cap_store_intact(st, s->hash) != 0) {
            char hex[33];
            nub_hash_to_hex(s->hash, hex);
            return fail(out, name, -EIO,
                        "segment %u: cap %s is damaged in the store (its file has the wrong "
                        "size): its bytes cannot be compared",
                        i, hex);
        }
        int r = nub_reader_same_bytes(&rd, s->hash, rvf_payload(p, s), s->payload_len);
        if (r >= 0)
            continue;
        char hex[33];
        nub_hash_to_hex(s->hash, hex);
        if (r == -EEXIST)
            return fail(out, name, -EEXIST,
                        "segment %u: cap %s already exists with different content", i, hex);
        if (r == -EFAULT)
            return fail(out, name, -EIO, "segment %u: cannot read cap %s from guest memory", i,
                        hex);
        return fail(out, name, -EIO, "segment %u: guest directory entry for cap %s is corrupt", i,
                    hex);
    }
    return 0;
}

/* Steps 1-4: everything that needs no guest (signature first). Fills out's package fields. */
static int check_package(const struct nub_trust *trust, const struct nub_intake_opts *o,
                         const uint8_t *pkg, size_t len, struct rvf_package *p,
                         struct rvf_segment **segs_out, struct nub_intake_result *out,
                         const char *name)
{
    struct rvf_limits lim = o->limits;
    lim.require_signature = false; /* decided below, with its own errno */
    clamp_to_abi(&lim);
    if ((uint64_t)len > lim.max_package)
        return fail(out, name, -EFBIG, "package is %zu bytes, max_package is %llu", len,
                    (unsigned long long)lim.max_package);

    /* Signature first: no parser sees bytes that no trusted key vouches
     * for (unless unsigned packages are allowed). */
    uint64_t t = nub_now_ns();
    struct nub_sig_tail tail;
    enum nub_sig_status ss = o->known_good
                                 ? nub_sig_check_known(trust, pkg, len, out->signer, &tail)
                                 : nub_sig_check_bytes(trust, pkg, len, out->signer, &tail);
    out->times.sig_ns = nub_now_ns() - t;
    out->signed_pkg = tail.present;
    if (tail.present)
        nub_key_id_hex(out->signer, out->signer_hex);
    switch (ss) {
    case NUB_SIG_OK:
        break;
    case NUB_SIG_NO_SIGNATURE:
        if (o->allow_unsigned)
            break;
        return fail(out, name, -ENOKEY,
                    "not signed, and unsigned packages are not allowed (-o allow_unsigned)");
    case NUB_SIG_BAD_SIGNATURE:
        return fail(out, name, -EKEYREJECTED, "bad signature (claimed key %s)", out->signer_hex);
    case NUB_SIG_UNTRUSTED_KEY:
        return fail(out, name, -EKEYREJECTED, "signed by untrusted key %s", out->signer_hex);
    case NUB_SIG_MALFORMED:
        return fail(out, name, nub_errno_sig(ss), "signature segment: %s",
                    nub_sig_status_str(ss));
    }

    t = nub_now_ns();
    /* A segment takes at least 64 bytes, so len/64 bounds the count; one
     * over the limit lets the parser report RVF_E_LIMIT itself. */
    uint64_t cap = len / RVF_SEG_HEADER_SIZE;
    if (cap > (uint64_t)lim.max_segments)
        cap = (uint64_t)lim.max_segments + 1;
    if (cap == 0)
        cap = 1;
    struct rvf_segment *segs = calloc(cap, sizeof(*segs));
    if (segs == NULL)
        return fail(out, name, -ENOMEM, "out of host memory for %llu segments",
                    (unsigned long long)cap);
    *segs_out = segs;
    struct rvf_result res;
    enum rvf_status st = rvf_parse(pkg, len, segs, (uint32_t)cap, &lim, p, &res);
    if (st != RVF_OK) {
        out->times.parse_ns = nub_now_ns() - t;
        return fail(out, name, nub_errno_rvf(st), "%s", res.msg);
    }
    /* The parse must find the signature where the check above did. */
    if (p->signed_pkg != tail.present || (tail.present && p->signed_len != tail.signed_len)) {
        out->times.parse_ns = nub_now_ns() - t;
        return fail(out, name, -EBADMSG, "the signature segment is not the last segment");
    }
    out->nsegments = p->nsegs;
    const struct rvf_segment *ms = &p->segs[p->manifest];
    struct rvf_manifest mf;
    st = rvf_manifest_parse(rvf_payload(p, ms), ms->payload_len, p->segs, p->nsegs, &lim, &mf,
                            &res);
    out->times.parse_ns = nub_now_ns() - t;
    /* A manifest naming a hash that no segment header claims may be right
     * while a header is wrong: then it is a hash mismatch (EUCLEAN), so
     * the hashes are checked before that refusal is given. */
    if (st == RVF_E_REF && !o->known_good && rvf_check_hashes(p, &res) == RVF_E_HASH)
        return fail(out, name, -EUCLEAN, "%s", res.msg);
    if (st != RVF_OK)
        return fail(out, name, nub_errno_rvf(st), "manifest: %s", res.msg);
    snprintf(out->name, sizeof(out->name), "%s", mf.name);
    snprintf(out->version, sizeof(out->version), "%s", mf.pkg_version);
    out->ncomponents = mf.ncomponents;
    out->nregions = mf.nregions;
    out->nqueues = mf.nqueues;
    out->ntasks = mf.ntasks;
    out->ngrants = mf.ngrants;

    if (o->known_good)
        return 0; /* the caps' names are their hashes (-o verify checks them on read) */
    t = nub_now_ns();
    st = rvf_check_hashes(p, &res);
    out->times.hash_ns = nub_now_ns() - t;
    if (st != RVF_OK)
        return fail(out, name, nub_errno_rvf(st), "%s", res.msg);
    return 0;
}

void nub_intake_result_release(struct nub_intake_result *out)
{
    free(out->caps);
    out->caps = NULL;
    out->ncaps = 0;
    nub_intake_drop_objs(out->objs, out->nobjs);
    out->objs = NULL;
    out->nobjs = 0;
}

void nub_intake_drop_objs(struct nub_cap_obj **objs, uint32_t n)
{
    if (objs == NULL)
        return;
    for (uint32_t i = 0; i < n; i++)
        nub_cap_obj_unref(objs[i]);
    free(objs);
}

static uint16_t cap_kind(uint8_t seg_type)
{
    switch (seg_type) {
    case RVF_SEG_MANIFEST: return NUB_CAP_MANIFEST;
    case RVF_SEG_WASM: return NUB_CAP_WASM;
    default: return NUB_CAP_DATA;
    }
}

/* Step 5a, in the call sequence (the store maps new files into the
 * guest): one store reference per segment but the signature. */
static int store_caps(struct nub_cap_store *st, const struct rvf_package *p, bool known_good,
                      struct nub_intake_result *out, const char *name)
{
    out->objs = calloc(p->nsegs ? p->nsegs : 1, sizeof(*out->objs));
    if (out->objs == NULL)
        return fail(out, name, -ENOMEM, "out of host memory for %u cap references", p->nsegs);
    for (uint32_t i = 0; i < p->nsegs; i++) {
        const struct rvf_segment *s = &p->segs[i];
        if (s->type == RVF_SEG_CRYPTO)
            continue;
        struct nub_cap_obj *obj;
        bool created;
        /* known_good: the store has (or its directory holds) the cap
         * under its name already; its payload in pkg is not read. */
        int r = known_good ? nub_cap_store_adopt(st, s->hash, s->payload_len, cap_kind(s->type),
                                                 &obj)
                           : nub_cap_store_put(st, s->hash, rvf_payload(p, s), s->payload_len,
                                               cap_kind(s->type), &obj, &created);
        if (r == 0) {
            out->objs[out->nobjs++] = obj;
            continue;
        }
        char hex[33];
        nub_hash_to_hex(s->hash, hex);
        if (r == -EEXIST)
            return fail(out, name, -EEXIST,
                        "segment %u: cap %s already exists with different content", i, hex);
        if (r == -ENOSPC) {
            struct nub_cap_store_stats ss;
            nub_cap_store_stats(st, &ss);
            if (ss.limit != 0 && ss.used <= ss.limit && s->payload_len <= ss.limit - ss.used)
                return fail(out, name, -ENOSPC,
                            "segment %u: no space for cap %s (%llu bytes) though the store "
                            "limit allows it: the state directory's file system is full",
                            i, hex, (unsigned long long)s->payload_len);
            return fail(out, name, -ENOSPC,
                        "segment %u: cap store full for cap %s (%llu bytes; %llu of %llu in use)",
                        i, hex, (unsigned long long)s->payload_len, (unsigned long long)ss.used,
                        (unsigned long long)ss.limit);
        }
        return fail(out, name, r, "segment %u: cap store: %s", i, strerror(-r));
    }
    return 0;
}

static int cmp_desc(const void *a, const void *b)
{
    const struct nub_cap_desc *x = a, *y = b;
    int r = memcmp(x->hash, y->hash, 16);
    if (r != 0)
        return r;
    return x->segment < y->segment ? -1 : x->segment > y->segment;
}

/* ABI 2 MOUNT: one descriptor per segment but the signature (the store
 * object out->objs[k] holds the k-th one's bytes), sorted as abi.h asks.
 * -ENOMEM (host) with *b untouched, else nub_call_mount_caps_locked's. */
static int mount_caps(struct nub_sandbox *sb, const struct nub_intake_opts *o,
                      const struct rvf_package *p, const struct nub_mount_limits *lim,
                      struct nub_intake_result *out, const char *name, struct nub_block_call *b)
{
    struct nub_cap_desc *d = calloc(out->nobjs ? out->nobjs : 1, sizeof(*d));
    if (d == NULL)
        return fail(out, name, -ENOMEM, "out of host memory for %u cap descriptors", out->nobjs);
    uint32_t k = 0;
    for (uint32_t i = 0; i < p->nsegs && k < out->nobjs; i++) {
        const struct rvf_segment *s = &p->segs[i];
        if (s->type == RVF_SEG_CRYPTO)
            continue;
        const struct nub_cap_obj *obj = out->objs[k];
        memcpy(d[k].hash, s->hash, 16);
        d[k].gpa = obj->gpa;
        d[k].len = obj->len;
        d[k].kind = cap_kind(s->type); /* the segment's, not the object's first kind */
        d[k].segment = i;
        k++;
    }
    qsort(d, k, sizeof(*d), cmp_desc);
    uint32_t manifest = 0;
    for (uint32_t i = 0; i < k; i++)
        if (d[i].kind == NUB_CAP_MANIFEST)
            manifest = i;
    struct nub_call_mount_caps a = {.caps = d, .ncaps = k, .manifest = manifest, .limits = lim,
                                    .fail_step = o->fail_step, .signer = out->signer,
                                    .before = o->test_before_mount, .ctx = o->test_ctx};
    int r = nub_call_mount_caps_locked(sb, &a, b);
    free(d);
    return r;
}

/* Step 6, in a call sequence (nub_sandbox_seq_begin): re-check step 5,
 * then the client's ALLOC + copy + MOUNT (+ FREE on refusal). Guest
 * memory is only read, or written into our own block, so the sequence
 * hold is enough; each call takes the exclusive lock itself. */
static int mount_locked(struct nub_sandbox *sb, const struct nub_intake_opts *o,
                        const struct rvf_package *p, const uint8_t *pkg, size_t len,
                        uint64_t gen, struct nub_intake_result *out, const char *name)
{
    if (nub_sandbox_poisoned(sb))
        return guest_down(sb, out, name, -ESHUTDOWN, "");
    uint64_t t = nub_now_ns();
    int r = 0;
    if (o->store != NULL) {
        r = store_caps(o->store, p, o->known_good, out, name);
        out->times.store_ns = nub_now_ns() - t;
        if (r < 0)
            return r;
    }
    if (o->durable != NULL) {
        char why[256] = "";
        r = o->durable(o->durable_ctx, p, why, sizeof(why));
        if (r < 0)
            return fail(out, name, r, "state directory: %s", why[0] ? why : strerror(-r));
    }
    /* Another mount may have published caps since the read-locked pass. */
    t = nub_now_ns();
    r = o->known_good ? 0 : compare_caps(sb, o->store, p, true, &gen, out, name);
    out->times.compare_ns += nub_now_ns() - t;
    if (r < 0)
        return r;

    struct nub_mount_limits lim;
    abi_limits(&o->limits, &lim);
    struct nub_block_call b;
    if (o->store != NULL) {
        /* ABI 2: the caps are in the store and mapped; MOUNT gets where. */
        r = mount_caps(sb, o, p, &lim, out, name, &b);
        if (r == -ENOMEM)
            return r;
    } else {
        struct nub_call_mount a = {.pkg = pkg, .len = len, .limits = &lim,
                                   .fail_step = o->fail_step, .signer = out->signer,
                                   .before = o->test_before_mount, .ctx = o->test_ctx};
        r = nub_call_mount_locked(sb, &a, &b);
    }
    out->times.alloc_ns = b.alloc_ns;
    out->times.copy_ns = b.copy_ns;
    out->times.call_ns = b.call_ns;
    if (r == -EIO || r == -ESHUTDOWN) {
        static const char *const when[] = {
            [NUB_BLOCK_ALLOC] = "ALLOC", [NUB_BLOCK_COPY] = "the copy of the mount arguments",
            [NUB_BLOCK_CALL] = "the mount", [NUB_BLOCK_FREE] = "FREE after a failed mount"};
        return guest_down(sb, out, name, r, when[b.stage]); /* its memory goes with it */
    }
    if (r == -ENOSPC)
        return fail(out, name, -ENOSPC, "guest out of memory for the mount's %llu-byte block (%s)",
                    (unsigned long long)b.size, b.alloc_msg);
    if (r < 0)
        return fail(out, name, r, "guest refused ALLOC of %llu bytes: %s",
                    (unsigned long long)b.size, b.alloc_msg);
    const struct nub_call *c = &b.call;
    if (c->status == NUB_ST_OK && c->ret[0] != 0) {
        out->handle = c->ret[0];
        out->rec_gpa = c->ret[1];
        out->caps_new = (uint32_t)c->ret[2];
        out->caps_held = (uint32_t)c->ret[3];
        return 0;
    }
    int err = c->status == NUB_ST_OK ? fail(out, name, -EIO, "guest: MOUNT succeeded with handle 0")
                                     : fail(out, name, nub_errno_mount(c->status), "guest: %s",
                                            c->msg);
    if (b.free_msg[0] != '\0') {
        size_t n = strlen(out->reason);
        snprintf(out->reason + n, sizeof(out->reason) - n, " (and FREE of the package failed: %s)",
                 b.free_msg);
    }
    return err;
}

/* The package's cap hashes from the intake's parse (want_caps), taken
 * before the guest sees the package, so that running out of host memory
 * for them changes nothing. */
static int take_caps(const struct rvf_package *p, struct nub_intake_result *out,
                     const char *name)
{
    out->caps = calloc(p->nsegs ? p->nsegs : 1, 16);
    if (out->caps == NULL)
        return fail(out, name, -ENOMEM, "out of host memory for %u cap hashes", p->nsegs);
    for (uint32_t i = 0; i < p->nsegs; i++)
        if (p->segs[i].type != RVF_SEG_CRYPTO)
            memcpy(out->caps[out->ncaps++], p->segs[i].hash, 16);
    return 0;
}

int nub_intake(struct nub_sandbox *sb, const struct nub_trust *trust,
                      const struct nub_intake_opts *opts, const uint8_t *pkg, size_t len,
                      struct nub_intake_result *out)
{
    uint64_t t0 = nub_now_ns();
    memset(out, 0, sizeof(*out));
    struct nub_intake_opts def;
    if (opts == NULL) {
        nub_intake_opts_default(&def);
        opts = &def;
    }
    const char *name = opts->name != NULL ? opts->name : "package";
    if (pkg == NULL && len != 0)
        return fail(out, name, -EINVAL, "no package bytes");
    if (opts->fail_step & ~NUB_MOUNT_F_FAIL_STEP_MASK)
        return fail(out, name, -EINVAL, "bad fault-injection step %u", opts->fail_step);

    struct rvf_package p;
    struct rvf_segment *segs = NULL;
    int r = check_package(trust, opts, pkg, len, &p, &segs, out, name);
    if (r == 0 && opts->want_caps)
        r = take_caps(&p, out, name);
    if (r == 0) {
        uint64_t t = nub_now_ns();
        uint64_t gen = 0;
        nub_sandbox_rdlock(sb);
        r = opts->known_good ? 0 : compare_caps(sb, opts->store, &p, false, &gen, out, name);
        nub_sandbox_rdunlock(sb);
        out->times.compare_ns = nub_now_ns() - t;
        if (r == 0) {
            t = nub_now_ns();
            nub_sandbox_seq_begin(sb);
            out->times.lock_ns = nub_now_ns() - t;
            r = mount_locked(sb, opts, &p, pkg, len, gen, out, name);
            nub_sandbox_seq_end(sb);
        }
    }
    if (r != 0)
        nub_intake_result_release(out); /* after the sequence: a slot the store removes goes at once */
    free(segs);
    out->times.total_ns = nub_now_ns() - t0;
    return r;
}
