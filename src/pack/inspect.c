/* nubfs-pack inspect: print a package's segments, manifest and signer, as
 * text or as JSON shaped like the build spec (file paths become cap
 * hashes); --extract writes each payload as DIR/<cap hash>. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hex.h"
#include "load.h"
#include "pack.h"
#include "sign.h"
#include "spec.h"

static json_t *names_of_set(const struct rvf_manifest *m, uint32_t first, uint32_t n)
{
    json_t *a = json_array();
    for (uint32_t k = 0; k < n; k++) {
        struct rvf_component c;
        rvf_manifest_component(m, rvf_manifest_list_item(m, first + k), &c);
        json_array_append_new(a, json_string(c.name));
    }
    return a;
}

static const char *comp_name(const struct rvf_manifest *m, uint32_t i)
{
    struct rvf_component c;
    rvf_manifest_component(m, i, &c);
    return c.name;
}

static void endpoint(char *out, size_t n, const struct rvf_manifest *m, uint32_t comp,
                     const char *port)
{
    snprintf(out, n, "%s.%s", comp_name(m, comp), port);
}

static void object_ref(char *out, size_t n, const struct rvf_manifest *m,
                       const struct rvf_grant *g)
{
    if (g->kind == RVF_OBJ_REGION) {
        struct rvf_region r;
        rvf_manifest_region(m, g->object, &r);
        snprintf(out, n, "region:%s", r.name);
    } else if (g->kind == RVF_OBJ_QUEUE) {
        snprintf(out, n, "queue:%u", g->object);
    } else {
        snprintf(out, n, "component:%s", comp_name(m, g->object));
    }
}

/* The spec-shaped part of the JSON. */
static json_t *manifest_json(const struct rvf_manifest *m)
{
    char hex[33], buf[160];
    json_t *root = json_object();
    json_object_set_new(root, "name", json_string(m->name));
    json_object_set_new(root, "version", json_string(m->pkg_version));

    json_t *comps = json_array();
    for (uint32_t i = 0; i < m->ncomponents; i++) {
        struct rvf_component c;
        rvf_manifest_component(m, i, &c);
        json_t *o = json_object(), *e = json_array();
        json_object_set_new(o, "name", json_string(c.name));
        nub_hash_to_hex(c.wasm_hash, hex);
        json_object_set_new(o, "wasm", json_string(hex));
        for (uint32_t j = 0; j < c.nentries; j++)
            json_array_append_new(e, json_string(rvf_manifest_entry(m, &c, j)));
        json_object_set_new(o, "entry", e);
        json_object_set_new(o, "priority", json_integer(c.priority));
        json_array_append_new(comps, o);
    }
    json_object_set_new(root, "components", comps);

    json_t *regions = json_array();
    for (uint32_t i = 0; i < m->nregions; i++) {
        struct rvf_region r;
        rvf_manifest_region(m, i, &r);
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(r.name));
        json_object_set_new(o, "policy", json_string(pack_policy_names[r.policy]));
        json_object_set_new(o, "owner", json_string(comp_name(m, r.owner)));
        json_object_set_new(o, "read", names_of_set(m, r.readers_first, r.nreaders));
        json_object_set_new(o, "write", names_of_set(m, r.writers_first, r.nwriters));
        if (r.policy == RVF_REGION_IMMUTABLE) {
            nub_hash_to_hex(r.init_hash, hex);
            json_object_set_new(o, "data", json_string(hex));
        } else if (r.policy == RVF_REGION_APPEND_ONLY) {
            json_object_set_new(o, "max_size", json_integer((json_int_t)r.max_size));
        } else {
            json_object_set_new(o, "slot_size", json_integer((json_int_t)r.slot_size));
            json_object_set_new(o, "slot_count", json_integer((json_int_t)r.slot_count));
        }
        json_array_append_new(regions, o);
    }
    json_object_set_new(root, "regions", regions);

    json_t *queues = json_array();
    for (uint32_t i = 0; i < m->nqueues; i++) {
        struct rvf_queue q;
        rvf_manifest_queue(m, i, &q);
        json_t *o = json_object();
        endpoint(buf, sizeof buf, m, q.src, q.src_port);
        json_object_set_new(o, "from", json_string(buf));
        endpoint(buf, sizeof buf, m, q.dst, q.dst_port);
        json_object_set_new(o, "to", json_string(buf));
        json_object_set_new(o, "capacity", json_integer(q.capacity));
        json_object_set_new(o, "max_message", json_integer(q.max_msg));
        json_array_append_new(queues, o);
    }
    json_object_set_new(root, "queues", queues);

    json_t *grants = json_array();
    for (uint32_t i = 0; i < m->ngrants; i++) {
        struct rvf_grant g;
        rvf_manifest_grant(m, i, &g);
        json_t *o = json_object(), *rights = json_array();
        json_object_set_new(o, "component", json_string(comp_name(m, g.component)));
        object_ref(buf, sizeof buf, m, &g);
        json_object_set_new(o, "object", json_string(buf));
        for (uint32_t b = 0; b < 5; b++)
            if (g.rights & (1u << b))
                json_array_append_new(rights, json_string(pack_right_names[b]));
        json_object_set_new(o, "rights", rights);
        json_array_append_new(grants, o);
    }
    json_object_set_new(root, "grants", grants);
    return root;
}

/* --json: the spec-shaped manifest plus file, segment and signer facts. */
static void print_json(const char *path, const struct pack_pkg *p, const bool *hash_ok)
{
    json_t *root = manifest_json(&p->m);
    json_object_set_new(root, "file", json_string(path));
    json_object_set_new(root, "file_size", json_integer((json_int_t)p->len));
    json_t *segs = json_array();
    char hex[33];
    for (uint32_t i = 0; i < p->pkg.nsegs; i++) {
        const struct rvf_segment *s = &p->segs[i];
        json_t *o = json_object();
        json_object_set_new(o, "index", json_integer(i));
        json_object_set_new(o, "offset", json_integer((json_int_t)s->offset));
        json_object_set_new(o, "type", json_string(pack_seg_type_name(s->type)));
        json_object_set_new(o, "length", json_integer((json_int_t)s->payload_len));
        nub_hash_to_hex(s->hash, hex);
        json_object_set_new(o, "hash", json_string(hex));
        json_object_set_new(o, "hash_ok", json_boolean(hash_ok[i]));
        json_array_append_new(segs, o);
    }
    json_object_set_new(root, "segments", segs);
    if (p->pkg.signed_pkg) {
        json_t *sig = json_object();
        uint8_t id[NUB_KEYID_BYTES];
        char kid[NUB_KEYID_HEX], pk[2 * RVF_PUBKEY_LEN + 1];
        nub_key_id(p->pkg.pubkey, id);
        nub_key_id_hex(id, kid);
        nub_hex_encode(pk, sizeof pk, p->pkg.pubkey, RVF_PUBKEY_LEN);
        json_object_set_new(sig, "algorithm", json_string("ed25519"));
        json_object_set_new(sig, "key_id", json_string(kid));
        json_object_set_new(sig, "public_key", json_string(pk));
        json_object_set_new(sig, "signed_bytes", json_integer((json_int_t)p->pkg.signed_len));
        json_object_set_new(root, "signature", sig);
    } else {
        json_object_set_new(root, "signature", json_null());
    }
    json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(root);
}

static void print_set(const struct rvf_manifest *m, uint32_t first, uint32_t n)
{
    if (n == 0)
        fputs("-", stdout);
    for (uint32_t k = 0; k < n; k++)
        printf("%s%s", k ? "," : "", comp_name(m, rvf_manifest_list_item(m, first + k)));
}

/* The container part of the text output: one line per segment, with
 * MISMATCH where the payload does not hash to its header's cap hash. */
static void print_segments(const char *path, const struct pack_pkg *p, const bool *hash_ok)
{
    char hex[33];
    printf("file:       %s (%zu bytes)\n", path, p->len);
    printf("segments:   %u\n", p->pkg.nsegs);
    printf("  %-5s %-10s %-8s %-10s %s\n", "index", "offset", "type", "length", "cap hash");
    for (uint32_t i = 0; i < p->pkg.nsegs; i++) {
        const struct rvf_segment *s = &p->segs[i];
        nub_hash_to_hex(s->hash, hex);
        printf("  %-5u 0x%08llx %-8s %-10llu %s%s\n", i, (unsigned long long)s->offset,
               pack_seg_type_name(s->type), (unsigned long long)s->payload_len, hex,
               hash_ok[i] ? "" : "  MISMATCH");
    }
    if (p->pkg.signed_pkg) {
        uint8_t id[NUB_KEYID_BYTES];
        char kid[NUB_KEYID_HEX];
        nub_key_id(p->pkg.pubkey, id);
        nub_key_id_hex(id, kid);
        printf("signer:     ed25519 key id %s (signature not checked; use verify)\n", kid);
    } else {
        printf("signer:     none (unsigned)\n");
    }
}

/* The manifest part of the text output, in the spec's vocabulary. */
static void print_manifest(const struct rvf_manifest *m)
{
    char hex[33], a[160], b[160];
    printf("package:    %s %s\n", m->name, m->pkg_version);
    printf("components: %u\n", m->ncomponents);
    for (uint32_t i = 0; i < m->ncomponents; i++) {
        struct rvf_component c;
        rvf_manifest_component(m, i, &c);
        nub_hash_to_hex(c.wasm_hash, hex);
        printf("  %s  priority %u  wasm %s  entry ", c.name, c.priority, hex);
        if (c.nentries == 0)
            fputs("-", stdout);
        for (uint32_t j = 0; j < c.nentries; j++)
            printf("%s%s", j ? "," : "", rvf_manifest_entry(m, &c, j));
        fputc('\n', stdout);
    }
    printf("regions:    %u\n", m->nregions);
    for (uint32_t i = 0; i < m->nregions; i++) {
        struct rvf_region r;
        rvf_manifest_region(m, i, &r);
        printf("  %s  %s", r.name, pack_policy_names[r.policy]);
        if (r.policy == RVF_REGION_IMMUTABLE) {
            nub_hash_to_hex(r.init_hash, hex);
            printf("  data %s", hex);
        } else if (r.policy == RVF_REGION_APPEND_ONLY) {
            printf("  max_size %llu", (unsigned long long)r.max_size);
        } else {
            printf("  %llu slots x %llu bytes", (unsigned long long)r.slot_count,
                   (unsigned long long)r.slot_size);
        }
        printf("  owner %s  read ", comp_name(m, r.owner));
        print_set(m, r.readers_first, r.nreaders);
        fputs("  write ", stdout);
        print_set(m, r.writers_first, r.nwriters);
        fputc('\n', stdout);
    }
    printf("queues:     %u\n", m->nqueues);
    for (uint32_t i = 0; i < m->nqueues; i++) {
        struct rvf_queue q;
        rvf_manifest_queue(m, i, &q);
        endpoint(a, sizeof a, m, q.src, q.src_port);
        endpoint(b, sizeof b, m, q.dst, q.dst_port);
        printf("  %u  %s -> %s  capacity %u  max_message %u\n", i, a, b, q.capacity, q.max_msg);
    }
    printf("grants:     %u\n", m->ngrants);
    for (uint32_t i = 0; i < m->ngrants; i++) {
        struct rvf_grant g;
        rvf_manifest_grant(m, i, &g);
        object_ref(a, sizeof a, m, &g);
        printf("  %s  %s  ", comp_name(m, g.component), a);
        bool first = true;
        for (uint32_t k = 0; k < 5; k++)
            if (g.rights & (1u << k)) {
                printf("%s%s", first ? "" : ",", pack_right_names[k]);
                first = false;
            }
        fputc('\n', stdout);
    }
}

/* Each payload whose hash checks out becomes DIR/<hash>. */
static int extract(const char *dir, const struct pack_pkg *p, const bool *hash_ok)
{
    if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
        pack_err("%s: %s", dir, strerror(errno));
        return -1;
    }
    int r = 0;
    for (uint32_t i = 0; i < p->pkg.nsegs; i++) {
        const struct rvf_segment *s = &p->segs[i];
        char hex[33], path[PATH_MAX], err[PACK_ERR_MAX];
        nub_hash_to_hex(s->hash, hex);
        if (!hash_ok[i]) {
            pack_err("segment %u: payload does not match its hash %s, not extracted", i, hex);
            r = -1;
            continue;
        }
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, hex) >= sizeof path) {
            pack_err("%s: path too long", dir);
            return -1;
        }
        if (pack_write_atomic(path, rvf_payload(&p->pkg, s), (size_t)s->payload_len, err,
                              sizeof err) < 0) {
            pack_err("%s", err);
            return -1;
        }
    }
    return r;
}

int pack_cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"extract", required_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false;
    const char *xdir = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'x': xdir = optarg; break;
        case 'h':
            puts("Usage: " PACK_PROG " inspect PKG.rvf [--json] [--extract DIR]\n"
                 "Prints segments, manifest and signer key id; --extract writes every\n"
                 "payload as DIR/<cap hash>.");
            return PACK_EXIT_OK;
        default:
            return pack_usage_err("inspect: unknown option or missing argument '%s'",
                                  argv[optind - 1]);
        }
    }
    if (optind + 1 != argc)
        return pack_usage_err("inspect: expected exactly one PKG.rvf");
    const char *path = argv[optind];

    struct rvf_limits lim;
    rvf_limits_default(&lim);
    struct pack_pkg p;
    if (pack_pkg_load(path, &lim, &p) < 0) {
        pack_pkg_free(&p);
        return PACK_EXIT_FAIL;
    }
    int ret = PACK_EXIT_FAIL;
    bool *hash_ok = NULL;
    if (!p.parsed) {
        pack_err("%s: not a valid package: %s", path, p.res.msg);
        goto out;
    }
    hash_ok = calloc(p.pkg.nsegs ? p.pkg.nsegs : 1, sizeof *hash_ok);
    if (!hash_ok) {
        pack_err("out of memory");
        goto out;
    }
    bool all_ok = true;
    for (uint32_t i = 0; i < p.pkg.nsegs; i++) {
        uint8_t h[RVF_HASH_LEN];
        const struct rvf_segment *s = &p.segs[i];
        rvf_hash128(rvf_payload(&p.pkg, s), (size_t)s->payload_len, h);
        hash_ok[i] = memcmp(h, s->hash, RVF_HASH_LEN) == 0;
        all_ok &= hash_ok[i];
    }
    pack_pkg_manifest(&p, &lim);
    if (json && p.manifest_ok)
        print_json(path, &p, hash_ok);
    if (!json) {
        print_segments(path, &p, hash_ok);
        if (p.manifest_ok)
            print_manifest(&p.m);
    }
    if (!p.manifest_ok) {
        pack_err("%s: bad manifest: %s", path, p.res.msg);
        goto out;
    }
    if (!all_ok) {
        pack_err("%s: some segments do not match their hash", path);
        if (xdir)
            extract(xdir, &p, hash_ok);
        goto out;
    }
    if (xdir && extract(xdir, &p, hash_ok) < 0)
        goto out;
    ret = PACK_EXIT_OK;
out:
    free(hash_ok);
    pack_pkg_free(&p);
    return ret;
}
