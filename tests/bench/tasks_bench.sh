#!/usr/bin/env bash
# The task scheduler on this machine's KVM (issue 10 item 4; not a test:
# prints numbers). On a real mount with the example key:
#   1. emulated guest instructions per WebAssembly instruction: a loop of
#      14 instructions run 200000 times against the same module run 2000
#      times, in the same daemon (the difference cancels instantiation and
#      the slices' fixed cost);
#   2. how long one slice of task_fuel is: the long run's slices (time and
#      emulated instructions each), and the estimate for hardware KVM from
#      the instruction count (NUBFS_BENCH_HW_IPS, default 2e9 instructions
#      a second: the guest runs natively there);
#   3. the pipeline example moving 1000 messages against the same package
#      moving 10, from `cp` until the journal holds them all.
# Usage: tests/bench/tasks_bench.sh [BUILD_DIR]   (task_cpu=100: no rests)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "${1:-build}" && pwd)
. "$src/tests/integration/lib.sh"
NUBFS=$build/fs/nubfs
PACK=$build/src/nubfs-pack
EX=$build/examples
for f in "$NUBFS" "$PACK" "$EX/keys/example.key"; do
    [ -e "$f" ] || { echo "build $f first (cmake --build $build)" >&2; exit 1; }
done
need_tools wat2wasm python3 fusermount3 mountpoint
hw_ips=${NUBFS_BENCH_HW_IPS:-2e9}

test_dirs tbench

# ---- the packages -----------------------------------------------------------
# loop N: one task, 14 instructions an iteration, N iterations.
loop_pkg() {
    local n=$1 d=$TMP/loop$1
    mkdir -p "$d"
    cat > "$d/loop.wat" <<EOF
(module
  (func (export "run") (local \$i i32) (local \$s i32)
    (loop \$l
      local.get \$i i32.const 1 i32.add local.set \$i
      local.get \$s local.get \$i i32.xor i32.const 16777619 i32.mul local.set \$s
      local.get \$i i32.const $n i32.lt_u br_if \$l)))
EOF
    wat2wasm "$d/loop.wat" -o "$d/loop.wasm"
    cat > "$d/loop$n.json" <<EOF
{ "name": "loop$n", "version": "1",
  "components": [ { "name": "loop", "wasm": "loop.wasm", "entry": ["run"] } ] }
EOF
    "$PACK" build "$d/loop$n.json" -o "$TMP/loop$n.rvf" --key "$EX/keys/example.key" > /dev/null
}
# pipe N: the pipeline example with the producer sending N messages.
pipe_pkg() {
    local n=$1 d=$TMP/pipe$1
    mkdir -p "$d"
    cp "$src/contrib/examples/pipeline/banner.txt" "$d/"
    sed "s/(global \$count i32 (i32.const 10))/(global \$count i32 (i32.const $n))/" \
        "$src/contrib/examples/pipeline/producer.wat" > "$d/producer.wat"
    grep -q "i32.const $n))" "$d/producer.wat"
    wat2wasm "$d/producer.wat" -o "$d/producer.wasm"
    wat2wasm "$src/contrib/examples/pipeline/consumer.wat" -o "$d/consumer.wasm"
    sed 's/"name": "pipeline"/"name": "pipe'"$n"'"/' "$src/contrib/examples/pipeline/pipeline.json" \
        > "$d/pipe$n.json"
    "$PACK" build "$d/pipe$n.json" -o "$TMP/pipe$n.rvf" --key "$EX/keys/example.key" > /dev/null
}
loop_pkg 2000
loop_pkg 200000
pipe_pkg 10
pipe_pkg 1000

start_nubfs "$NUBFS" "$MNT" "trust=$EX/keys,task_cpu=100"
t() { json "$MNT/stats" "d['tasks']['$1']"; }
settle() { wait_until 600 "the tasks settle" '[ "$(t sleeping)" = True ]'; }
# run PKG: cp it, wait until no task can run; prints "insns fuel slices run_ms"
run() {
    settle
    local i0 f0 s0 r0
    i0=$(t emulated_instructions); f0=$(t fuel_used); s0=$(t slices); r0=$(t run_ms)
    cp "$TMP/$1.rvf" "$MNT/ctl/"
    settle
    echo "$(( $(t emulated_instructions) - i0 )) $(( $(t fuel_used) - f0 )) $(( $(t slices) - s0 ))" \
         "$(awk -v a="$(t run_ms)" -v b="$r0" 'BEGIN { printf "%.1f", a - b }')"
}

read -r i_small f_small s_small r_small < <(run loop2000)
read -r i_big f_big s_big r_big < <(run loop200000)
fuel=$(t slice_fuel)
awk -v ib="$i_big" -v is="$i_small" -v fb="$f_big" -v fs="$f_small" -v sb="$s_big" -v rb="$r_big" \
    -v fuel="$fuel" -v hw="$hw_ips" 'BEGIN {
    wasm = (200000 - 2000) * 14
    printf "emulated instructions per WASM instruction: %.1f  (%d insns for %d WASM instructions more; fuel %d, %.2f fuel per WASM instruction)\n",
        (ib - is) / wasm, ib - is, wasm, fb - fs, (fb - fs) / wasm
    printf "slice of %d fuel on this KVM: %.1f ms, %.0f emulated instructions (%d slices, %.1f ms)\n",
        fuel, rb / sb, ib / sb, sb, rb
    printf "  estimate on hardware KVM at %.1e instructions/s: %.3f ms\n", hw, ib / sb / hw * 1000
}'
echo "last slice $(t last_slice_ms) ms, longest $(t max_slice_ms) ms (includes instantiations)"

# The pipeline: cp to 1000 messages in the journal, against 10.
for n in 10 1000; do
    settle
    a=$(date +%s%N)
    cp "$TMP/pipe$n.rvf" "$MNT/ctl/"
    wait_until 600 "pipe$n's journal" '[ "$(wc -l < "$MNT/mounts/pipe$n/regions/journal")" = "$n" ]'
    b=$(date +%s%N)
    echo "pipeline, $n messages: $(( (b - a) / 1000000 )) ms from cp to the last line in the journal"
done
stop_nubfs "$MNT"
