/* libFuzzer target: the whole host-side package check on arbitrary
 * bytes: container parse, hash check, manifest parse against the
 * package's own segments, rvf_check_components (what the mount and
 * `nubfs-pack verify` check of modules and entry points), and each module
 * walked again on its own. */
#include "fuzz_rvf_common.h"

#define MAXSEG 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct rvf_segment segs[MAXSEG];
    struct rvf_package pkg;
    struct rvf_result res;
    struct rvf_limits lim;
    rvf_limits_default(&lim);
    lim.max_segments = MAXSEG;

    enum rvf_status st = rvf_parse(data, size, segs, MAXSEG, &lim, &pkg, &res);
    fuzz_check_result(&res);
    FUZZ_CHECK(st == res.status);
    if (st != RVF_OK)
        return 0;

    /* Invariants of an accepted container. */
    uint64_t expect = 0;
    for (uint32_t i = 0; i < pkg.nsegs; i++) {
        FUZZ_CHECK(segs[i].offset == expect);
        FUZZ_CHECK(segs[i].payload_offset == expect + RVF_SEG_HEADER_SIZE);
        FUZZ_CHECK(segs[i].payload_len <= size - segs[i].payload_offset);
        expect += rvf_segment_size(segs[i].payload_len);
    }
    FUZZ_CHECK(expect == size);
    FUZZ_CHECK(segs[0].type == RVF_SEG_MANIFEST);
    if (pkg.signed_pkg) {
        FUZZ_CHECK(pkg.crypto == pkg.nsegs - 1);
        FUZZ_CHECK(pkg.signed_len == segs[pkg.crypto].offset);
    }
    (void)rvf_check_hashes(&pkg, &res);
    fuzz_check_result(&res);

    struct rvf_manifest m;
    st = rvf_manifest_parse(rvf_payload(&pkg, &segs[0]), (size_t)segs[0].payload_len,
                            segs, pkg.nsegs, &lim, &m, &res);
    fuzz_check_result(&res);
    if (st == RVF_OK) {
        fuzz_walk_manifest(&m);
        /* The mount's (and verify's) module and entry-point check. */
        (void)rvf_check_components(&pkg, &m, &lim, &res);
        fuzz_check_result(&res);
    }

    for (uint32_t i = 0; i < pkg.nsegs; i++) {
        if (segs[i].type != RVF_SEG_WASM)
            continue;
        const uint8_t *w = rvf_payload(&pkg, &segs[i]);
        size_t wl = (size_t)segs[i].payload_len;
        struct rvf_wasm_info info;
        if (rvf_wasm_validate(w, wl, &lim, &info, &res) != RVF_OK || st != RVF_OK)
            continue;
        for (uint32_t c = 0; c < m.ncomponents; c++) {
            struct rvf_component comp;
            rvf_manifest_component(&m, c, &comp);
            if (memcmp(comp.wasm_hash, segs[i].hash, RVF_HASH_LEN) != 0)
                continue;
            for (uint32_t e = 0; e < comp.nentries; e++)
                (void)rvf_wasm_has_export(w, wl, rvf_manifest_entry(&m, &comp, e),
                                          RVF_WASM_EXPORT_FUNC);
        }
    }
    return 0;
}
