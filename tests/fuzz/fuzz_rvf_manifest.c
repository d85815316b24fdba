/* libFuzzer target: the manifest validator on arbitrary bytes, against
 * the segment list of the sample package (so hash references can
 * resolve), then every accessor and an encode/parse round trip. */
#include "fuzz_rvf_common.h"
#include "rvf_build.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct rvf_segment segs[4];
    static bool ready;
    if (!ready) {
        /* The segments the seed manifests name: sample WASM "run" and
         * "main" and the sample data blob. */
        uint8_t w[64];
        size_t n = sample_wasm(w, "run");
        segs[0].type = RVF_SEG_WASM;
        rvf_hash128(w, n, segs[0].hash);
        n = sample_wasm(w, "main");
        segs[1].type = RVF_SEG_WASM;
        rvf_hash128(w, n, segs[1].hash);
        segs[2].type = RVF_SEG_DATA;
        segs[2].payload_len = sizeof(sample_data);
        rvf_hash128(sample_data, sizeof(sample_data), segs[2].hash);
        ready = true;
    }
    struct rvf_manifest m;
    struct rvf_result res;
    /* Parse a private copy of exactly size bytes: the view points into it. */
    uint8_t *copy = malloc(size ? size : 1);
    FUZZ_CHECK(copy);
    memcpy(copy, data, size);
    enum rvf_status st = rvf_manifest_parse(copy, size, segs, 3, NULL, &m, &res);
    fuzz_check_result(&res);
    if (st == RVF_OK)
        fuzz_walk_manifest(&m);
    /* Without a segment list only the references are skipped. */
    enum rvf_status st2 = rvf_manifest_parse(copy, size, NULL, 0, NULL, &m, &res);
    fuzz_check_result(&res);
    FUZZ_CHECK(st != RVF_OK ? (st2 == RVF_OK ? (st == RVF_E_REF || st == RVF_E_LIMIT) : 1)
                            : st2 == RVF_OK);
    free(copy);
    return 0;
}
