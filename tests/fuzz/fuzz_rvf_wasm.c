/* libFuzzer target: the WASM structure validator and export lookup. */
#include "fuzz_rvf_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rvf_wasm_info info;
    struct rvf_result res;
    enum rvf_status st = rvf_wasm_validate(data, size, NULL, &info, &res);
    fuzz_check_result(&res);
    if (st != RVF_OK)
        return 0;
    FUZZ_CHECK(info.nsections <= 1024);
    FUZZ_CHECK((info.section_mask & 1u) == 0);
    (void)rvf_wasm_has_export(data, size, "run", RVF_WASM_EXPORT_FUNC);
    (void)rvf_wasm_has_export(data, size, "", 0);
    return 0;
}
