/* libFuzzer target: every softfloat operation (guest/wasm/softfloat.h) on
 * fuzzer-chosen operand bits, against the host CPU's IEEE arithmetic with
 * WebAssembly's NaN rule (tests/unit/softfloat_ref.h). Input: operand a
 * (8 bytes, little-endian), then operand b; short inputs are zero-padded. */
#include <stdlib.h>

#include "softfloat_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t buf[16] = {0};
    memcpy(buf, data, size < sizeof buf ? size : sizeof buf);
    uint64_t a = 0, b = 0;
    for (int i = 7; i >= 0; i--) {
        a = (a << 8) | buf[i];
        b = (b << 8) | buf[8 + i];
    }
    int budget = 1;
    for (size_t o = 0; o < REF_NOPS; o++)
        if (!ref_check(&ref_ops[o], a, b, &budget))
            abort();
    return 0;
}
