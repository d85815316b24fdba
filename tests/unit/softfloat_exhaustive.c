/* Every 32-bit input through each one-operand softfloat operation on
 * binary32 or 32-bit integers (sqrt, ceil, floor, trunc, nearest,
 * promote, every truncation to an integer, int32/uint32 to float),
 * against the host CPU (softfloat_ref.h). Not run by ctest: about a
 * minute and a half per operation. Usage: softfloat_exhaustive [NAME-PART]
 * (e.g. "sqrt" for f32.sqrt only). Exit status 1 if any result is wrong. */
#include <stdlib.h>

#include "softfloat_ref.h"

int main(int argc, char **argv)
{
    unsigned long long total_bad = 0;
    for (size_t o = 0; o < REF_NOPS; o++) {
        const struct ref_op *op = &ref_ops[o];
        if (op->arity != 1 || (op->in != REF_F32 && op->in != REF_INT32))
            continue;
        if (argc > 1 && !strstr(op->name, argv[1]))
            continue;
        int budget = 5;
        unsigned long long bad = 0;
        uint32_t a = 0;
        do
            bad += !ref_check(op, a, 0, &budget);
        while (++a != 0);
        printf("%s: %llu wrong of 2^32\n", op->name, bad);
        fflush(stdout);
        total_bad += bad;
    }
    return total_bad ? 1 : 0;
}
