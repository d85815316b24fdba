/* nubfs-pack build: JSON spec -> manifest + segments (+ signature) ->
 * a package written atomically. Segment order: MANIFEST, the WASM
 * modules in component order, the data blobs in region order (each
 * distinct payload once), then CRYPTO when a key is given. Before a byte
 * is written the finished package goes through the same checks as a
 * mount: rvf_parse, rvf_manifest_parse, rvf_check_hashes, signature. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pack.h"
#include "sign.h"
#include "sign_pkg.h"
#include "spec.h"

/* SOURCE_DATE_EPOCH (reproducible builds) or now; informational only. */
static uint64_t build_timestamp(void)
{
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde) {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(sde, &end, 10);
        if (!*end && !errno && s < UINT64_MAX / 1000000000ull)
            return (uint64_t)s * 1000000000ull;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Appends one segment at *off; buf is zeroed, so padding already is. */
static void put_segment(uint8_t *buf, uint64_t *off, uint8_t type, uint64_t id,
                        const void *payload, size_t len, uint64_t ts)
{
    uint8_t hash[RVF_HASH_LEN];
    rvf_hash128(payload, len, hash);
    rvf_segment_header_encode(buf + *off, type, id, len, ts, hash);
    memcpy(buf + *off + RVF_SEG_HEADER_SIZE, payload, len);
    *off += rvf_segment_size(len);
}

/* Re-parses the finished bytes exactly as nubfs will. */
static int final_check(const uint8_t *buf, size_t len, const struct rvf_limits *lim,
                       const struct nub_seckey *key, uint32_t nsegs)
{
    struct rvf_segment *segs = calloc(nsegs, sizeof *segs);
    if (!segs) {
        pack_err("build: out of memory");
        return -1;
    }
    struct rvf_package pkg;
    struct rvf_manifest m;
    struct rvf_result res;
    int r = -1;
    if (rvf_parse(buf, len, segs, nsegs, lim, &pkg, &res) != RVF_OK ||
        rvf_manifest_parse(rvf_payload(&pkg, &segs[0]), (size_t)segs[0].payload_len, segs,
                           pkg.nsegs, lim, &m, &res) != RVF_OK ||
        rvf_check_hashes(&pkg, &res) != RVF_OK) {
        pack_err("build: internal error, the package does not parse back: %s", res.msg);
        goto out;
    }
    if (key) {
        struct nub_trust t;
        nub_trust_init(&t);
        enum nub_sig_status st = NUB_SIG_UNTRUSTED_KEY;
        if (nub_trust_add(&t, &key->pub) == 0)
            st = nub_sig_check_package(&t, &pkg, NULL);
        nub_trust_free(&t);
        if (st != NUB_SIG_OK) {
            pack_err("build: internal error, the signature does not verify: %s",
                     nub_sig_status_str(st));
            goto out;
        }
    }
    r = 0;
out:
    free(segs);
    return r;
}

/* spec -> package: load the spec, encode the manifest, lay out the
 * segments, sign if a key is given, re-parse the result as nubfs would
 * (final_check), write it atomically. An exit code; errors reported. */
static int build(const char *spec_path, const char *out_path, const struct nub_seckey *key)
{
    struct rvf_limits lim;
    rvf_limits_default(&lim);
    struct pack_spec spec;
    char err[PACK_ERR_MAX];
    uint8_t *mf = NULL, *buf = NULL;
    int ret = PACK_EXIT_FAIL;

    if (pack_spec_load(spec_path, &lim, &spec, err, sizeof err) < 0) {
        pack_err("%s", err);
        goto out;
    }
    size_t mflen = 0;
    struct rvf_result res;
    enum rvf_status st = rvf_manifest_encode(&spec.desc, &lim, NULL, 0, &mflen, &res);
    if (st == RVF_E_NOSPACE) {
        if (!(mf = malloc(mflen))) {
            pack_err("build: out of memory");
            goto out;
        }
        st = rvf_manifest_encode(&spec.desc, &lim, mf, mflen, &mflen, &res);
    }
    if (st != RVF_OK) {
        pack_err("%s: manifest: %s", spec_path, res.msg);
        goto out;
    }

    /* Size everything first, overflow-checked, against the mount limit. */
    uint64_t total = rvf_segment_size(mflen);
    uint32_t nsegs = 1 + (uint32_t)spec.nblobs + (key ? 1 : 0);
    for (size_t i = 0; i < spec.nblobs; i++) {
        uint64_t sz = rvf_segment_size(spec.blobs[i].len);
        if (sz == 0 || total > UINT64_MAX - sz) {
            total = UINT64_MAX;
            break;
        }
        total += sz;
    }
    if (key && total != UINT64_MAX)
        total += rvf_segment_size(RVF_CRYPTO_PAYLOAD_LEN);
    if (total > lim.max_package) {
        pack_err("%s: the package would be larger than %llu bytes, the limit nubfs "
                 "accepts by default",
                 spec_path, (unsigned long long)lim.max_package);
        goto out;
    }
    if (nsegs > lim.max_segments) {
        pack_err("%s: %u segments, at most %u allowed", spec_path, nsegs, lim.max_segments);
        goto out;
    }
    if (!(buf = calloc(1, (size_t)total))) {
        pack_err("build: out of memory for %llu bytes", (unsigned long long)total);
        goto out;
    }
    uint64_t ts = build_timestamp(), off = 0, id = 0;
    put_segment(buf, &off, RVF_SEG_MANIFEST, id++, mf, mflen, ts);
    for (size_t i = 0; i < spec.nblobs; i++)
        put_segment(buf, &off, spec.blobs[i].type, id++, spec.blobs[i].data, spec.blobs[i].len,
                    ts);
    if (key) {
        /* The signature covers every byte before the CRYPTO header. */
        uint8_t sig[NUB_SIGN_BYTES], payload[RVF_CRYPTO_PAYLOAD_LEN];
        nub_sign_detached(key, buf, (size_t)off, sig);
        rvf_crypto_payload_encode(payload, RVF_SIG_ED25519, key->pub.pk, sig);
        put_segment(buf, &off, RVF_SEG_CRYPTO, id++, payload, sizeof payload, ts);
    }
    if (off != total || final_check(buf, (size_t)total, &lim, key, nsegs) < 0) {
        if (off != total)
            pack_err("build: internal error, laid out %llu of %llu bytes",
                     (unsigned long long)off, (unsigned long long)total);
        goto out;
    }
    if (pack_write_atomic(out_path, buf, (size_t)total, err, sizeof err) < 0) {
        pack_err("%s", err);
        goto out;
    }
    if (key) {
        char kid[NUB_KEYID_HEX];
        nub_key_id_hex(key->pub.id, kid);
        printf("%s: %s %s, %u segments, %llu bytes, signed by %s\n", out_path, spec.desc.name,
               spec.desc.version, nsegs, (unsigned long long)total, kid);
    } else {
        printf("%s: %s %s, %u segments, %llu bytes, unsigned\n", out_path, spec.desc.name,
               spec.desc.version, nsegs, (unsigned long long)total);
    }
    ret = PACK_EXIT_OK;
out:
    free(buf);
    free(mf);
    pack_spec_free(&spec);
    return ret;
}

int pack_cmd_build(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"key", required_argument, NULL, 'k'},
        {"unsigned", no_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL, *keyfile = NULL;
    bool unsigned_ok = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'k': keyfile = optarg; break;
        case 'u': unsigned_ok = true; break;
        case 'h':
            puts("Usage: " PACK_PROG " build SPEC.json -o PKG.rvf [--key NAME.key | --unsigned]\n"
                 "Builds a package from a JSON description (see nubfs-pack(1)).");
            return PACK_EXIT_OK;
        default:
            if (optopt)
                return pack_usage_err("build: option '-%c' needs an argument or is unknown",
                                      optopt);
            return pack_usage_err("build: unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind + 1 != argc)
        return pack_usage_err("build: expected exactly one SPEC.json");
    if (!out)
        return pack_usage_err("build: missing -o PKG.rvf");
    if (keyfile && unsigned_ok)
        return pack_usage_err("build: --key and --unsigned exclude each other");

    struct nub_seckey key;
    char err[NUB_SIGN_ERR_MAX];
    if (keyfile) {
        if (nub_seckey_load(keyfile, &key, err, sizeof err) < 0) {
            pack_err("%s", err);
            return PACK_EXIT_FAIL;
        }
    } else if (!unsigned_ok) {
        pack_err("warning: no --key given, %s will be unsigned (nubfs mounts it only "
                 "with -o allow_unsigned)",
                 out);
    }
    int r = build(argv[optind], out, keyfile ? &key : NULL);
    if (keyfile)
        nub_seckey_wipe(&key);
    return r;
}
