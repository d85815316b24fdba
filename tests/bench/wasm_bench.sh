#!/usr/bin/env bash
# Interpreter speed, host build: nubwasm (build/tests/nubwasm_run) against
# wabt's wasm-interp in the same run, on compute-bound C programs
# (tests/bench/wasm/*.c) compiled with clang --target=wasm32 and wasm-ld.
# Usage: tests/bench/wasm_bench.sh [BUILD_DIR]   (not a test: prints times)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
runner=$build/tests/nubwasm_run
[ -x "$runner" ] || { echo "build $runner first (cmake --build $build --target nubwasm_run)" >&2; exit 1; }
command -v wasm-interp >/dev/null || { echo "wasm-interp (wabt) not found" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# best of N wall-clock runs of a command, in seconds
best() {
    local n=$1; shift
    local best=
    for _ in $(seq "$n"); do
        local a b
        a=$(date +%s.%N)
        "$@" > "$out/last" 2>/dev/null
        b=$(date +%s.%N)
        local t; t=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", b - a }')
        if [ -z "$best" ] || awk -v t="$t" -v m="$best" 'BEGIN { exit !(t < m) }'; then best=$t; fi
    done
    echo "$best"
}

printf '%-8s %12s %12s %8s  %s\n' program nubwasm_s wasm-interp_s ratio result
for src in "$here"/wasm/*.c; do
    p=$(basename "$src" .c)
    clang --target=wasm32 -nostdlib -O2 -fno-builtin -Wl,--no-entry -Wl,--export=run \
        -o "$out/$p.wasm" "$src"
    tn=$(best 3 "$runner" "$out/$p.wasm" run)
    rn=$(cat "$out/last")
    ti=$(best 1 wasm-interp "$out/$p.wasm" --run-all-exports)
    ri=$(cat "$out/last")
    [ "$rn" = "$ri" ] || { echo "$p: results differ: '$rn' vs '$ri'" >&2; exit 1; }
    printf '%-8s %12.3f %12.3f %7.1fx  %s\n' "$p" "$tn" "$ti" "$(awk -v i="$ti" -v n="$tn" 'BEGIN { print i / n }')" "$rn"
done
