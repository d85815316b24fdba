/* Benchmark program (tests/bench/wasm_bench.sh): naive recursive fib(34)
 * (millions of calls; clang turns one of the two into a loop). */
volatile int fib_n = 34;

static int fib(int n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int run(void)
{
    return fib(fib_n);
}
