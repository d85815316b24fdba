/* libFuzzer target: the JSON package spec reader of nubfs-pack
 * (src/pack/spec.c) on arbitrary bytes, parsed as pack_spec_load does
 * (jansson, duplicate keys refused). Files the spec names resolve against
 * NUB_FUZZ_PACK_DIR (the example modules and data, copied at build time;
 * the environment variable of that name overrides it); missing files are
 * just errors. A spec the reader accepts must encode to a manifest that
 * parses back against its own blobs, as `nubfs-pack build` needs. Leaks
 * show up through LeakSanitizer.
 *
 * The harness keeps the fuzzer inside that directory and its parent:
 * specs with an absolute path or a ".." that climbs higher are skipped
 * (a FIFO or device elsewhere would block the open). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rvf.h"
#include "spec.h"

#ifndef NUB_FUZZ_PACK_DIR
#define NUB_FUZZ_PACK_DIR "."
#endif

#define FUZZ_CHECK(cond)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,    \
                    #cond);                                                     \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* A relative path that never climbs above basedir/.. */
static bool path_ok(const char *s, size_t len)
{
    if (len > 0 && s[0] == '/')
        return false;
    long depth = 0;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != '/')
            j++;
        size_t n = j - i;
        if (n == 2 && s[i] == '.' && s[i + 1] == '.')
            depth--;
        else if (n > 0 && !(n == 1 && s[i] == '.'))
            depth++;
        if (depth < -1)
            return false;
        i = j + 1;
    }
    return true;
}

/* Every string value in the document is a path the reader might open. */
static bool strings_ok(json_t *v, int depth)
{
    if (depth > 64)
        return false;
    if (json_is_string(v))
        return path_ok(json_string_value(v), json_string_length(v));
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (!strings_ok(json_array_get(v, i), depth + 1))
                return false;
    } else if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach(v, k, e) {
            if (!strings_ok(e, depth + 1))
                return false;
        }
    }
    return true;
}

/* What `nubfs-pack build` does next: encode, then parse against the
 * segments the blobs become. */
static void check_encodes(const struct pack_spec *s, const struct rvf_limits *lim)
{
    size_t need = 0;
    struct rvf_result res;
    enum rvf_status st = rvf_manifest_encode(&s->desc, lim, NULL, 0, &need, &res);
    if (st != RVF_E_NOSPACE) {
        fprintf(stderr, "spec accepted, manifest refused: %s\n", res.msg);
        FUZZ_CHECK(st == RVF_E_NOSPACE);
    }
    uint8_t *mf = malloc(need);
    FUZZ_CHECK(mf != NULL);
    st = rvf_manifest_encode(&s->desc, lim, mf, need, &need, &res);
    if (st != RVF_OK)
        fprintf(stderr, "spec accepted, manifest refused: %s\n", res.msg);
    FUZZ_CHECK(st == RVF_OK);
    struct rvf_segment *segs = calloc(s->nblobs + 1, sizeof(*segs));
    FUZZ_CHECK(segs != NULL);
    segs[0].type = RVF_SEG_MANIFEST;
    segs[0].payload_len = need;
    for (size_t i = 0; i < s->nblobs; i++) {
        segs[i + 1].type = s->blobs[i].type;
        segs[i + 1].payload_len = s->blobs[i].len;
        memcpy(segs[i + 1].hash, s->blobs[i].hash, RVF_HASH_LEN);
    }
    struct rvf_manifest m;
    st = rvf_manifest_parse(mf, need, segs, (uint32_t)(s->nblobs + 1), lim, &m, &res);
    if (st != RVF_OK)
        fprintf(stderr, "spec accepted, manifest does not parse back: %s\n", res.msg);
    FUZZ_CHECK(st == RVF_OK);
    FUZZ_CHECK(m.ncomponents == s->desc.ncomponents && m.nregions == s->desc.nregions &&
               m.nqueues == s->desc.nqueues && m.ngrants == s->desc.ngrants);
    free(segs);
    free(mf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *dir;
    if (!dir) {
        dir = getenv("NUB_FUZZ_PACK_DIR");
        if (!dir || !*dir)
            dir = NUB_FUZZ_PACK_DIR;
    }
    json_error_t je;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return 0;
    if (!strings_ok(root, 0)) {
        json_decref(root);
        return 0;
    }
    struct rvf_limits lim;
    rvf_limits_default(&lim);
    struct pack_spec s;
    char err[PACK_ERR_MAX];
    err[0] = '\0';
    int r = pack_spec_from_json(root, "fuzz.json", dir, &lim, &s, err, sizeof(err));
    json_decref(root); /* the spec holds its own reference */
    FUZZ_CHECK(r == 0 || r == -1);
    FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
    if (r != 0)
        FUZZ_CHECK(strncmp(err, "fuzz.json", 9) == 0);
    else
        check_encodes(&s, &lim);
    pack_spec_free(&s);
    return 0;
}
