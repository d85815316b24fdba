/* Benchmark program (tests/bench/wasm_bench.sh): sieve of Eratosthenes
 * over 1 Mi numbers, 8 times; returns the count of primes. */
#define N (1 << 20)
static unsigned char composite[N];
volatile int rounds = 8;

int run(void)
{
    int count = 0;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < N; i++)
            composite[i] = 0;
        count = 0;
        for (int i = 2; i < N; i++) {
            if (composite[i])
                continue;
            count++;
            for (int j = i + i; j < N; j += i)
                composite[j] = 1;
        }
    }
    return count;
}
