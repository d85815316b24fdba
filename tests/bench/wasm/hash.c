/* Benchmark program (tests/bench/wasm_bench.sh): a 64-bit multiply-xor
 * hash over a 1 MiB buffer, 120 times; returns the folded hash. */
#define N (1 << 20)
static unsigned long long buf[N / 8];
volatile int rounds = 120;

int run(void)
{
    unsigned long long x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < N / 8; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = x;
    }
    unsigned long long h = 0;
    for (int r = 0; r < rounds; r++) {
        h ^= (unsigned long long)r;
        for (int i = 0; i < N / 8; i++) {
            h ^= buf[i];
            h *= 0xff51afd7ed558ccdull;
            h ^= h >> 33;
        }
    }
    return (int)(h ^ (h >> 32));
}
