/* Benchmark program (tests/bench/wasm_bench.sh): heapsort of 200000
 * pseudo-random words, twice; returns a checksum of the order. */
#define N 200000
static unsigned a[N];
volatile int rounds = 2;

static void sift(unsigned *v, int start, int end)
{
    int root = start;
    while (2 * root + 1 <= end) {
        int child = 2 * root + 1;
        if (child + 1 <= end && v[child] < v[child + 1])
            child++;
        if (v[root] >= v[child])
            return;
        unsigned t = v[root];
        v[root] = v[child];
        v[child] = t;
        root = child;
    }
}

int run(void)
{
    unsigned sum = 0;
    for (int r = 0; r < rounds; r++) {
        unsigned x = 12345u + (unsigned)r;
        for (int i = 0; i < N; i++) {
            x = x * 1103515245u + 12345u;
            a[i] = x >> 8;
        }
        for (int s = (N - 2) / 2; s >= 0; s--)
            sift(a, s, N - 1);
        for (int end = N - 1; end > 0; end--) {
            unsigned t = a[0];
            a[0] = a[end];
            a[end] = t;
            sift(a, 0, end - 1);
        }
        for (int i = 0; i < N; i += 997)
            sum = sum * 31u + a[i];
    }
    return (int)sum;
}
