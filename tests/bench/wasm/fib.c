/* Benchmark program (tests/bench/wasm_bench.sh): naive recursive fib. */
volatile int fib_n = 27;

static int fib(int n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int run(void)
{
    return fib(fib_n);
}
