#!/bin/bash
# Benchmark (not part of ctest): how long `cp PKG ctl/` takes until the
# package's caps are listed (median of N runs of a small example package),
# and cp throughput for a large package, with where the time goes (the
# daemon logs each mount's phases: receive = the FUSE writes, parse, hash,
# signature, compare, lock, alloc, copy into the guest, guest = the MOUNT
# call). Says whether the guest ran on hardware KVM or emulated (kvm-pvm).
# With perf (or strace) installed, the large cp runs twice more: once under
# `perf record -g` of the daemon (top symbols by self time) and once under
# `strace -c -f` of the daemon (system calls by time); both slow it down,
# so the throughput line above them is from the run without a tracer.
# usage: ctl_bench.sh PATH/TO/nubfs PATH/TO/nubfs-pack EXAMPLES_DIR [BIG_MIB]
# CTL_BENCH_OPTS=tasks=off (more -o options for the small-package daemon)
# shows the latency without hello's task: its first RUN slice holds the
# sandbox lock that the listing waits for.
set -u
NUBFS=${1:?usage}
PACK=${2:?usage}
EX=${3:?usage}
BIG_MIB=${4:-250}
RUNS=${NUBFS_BENCH_RUNS:-20}
. "$(dirname "$0")/../integration/lib.sh"
need_tools fusermount3 mountpoint python3

TMP=$(mktemp -d /tmp/nubfs-bench-XXXXXX) || fail mktemp
MNT=$TMP/mnt
mkdir -p "$MNT"
PID=
trap 'cleanup_nubfs "$MNT"; rm -rf "$TMP"' EXIT
if [ -d /sys/module/kvm_pvm ]; then
    echo "KVM: kvm-pvm (no hardware virtualization: the guest is emulated)"
elif [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; then
    echo "KVM: hardware virtualization"
else
    echo "KVM: unknown kind"
fi
ms() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f\n", (b - a) / 1e6}'; }

# ---- latency: cp of a small package until its caps are listed ------------------
start_nubfs "$NUBFS" "$MNT" "guest_mem=256M,trust=$EX/keys${CTL_BENCH_OPTS:+,$CTL_BENCH_OPTS}"
want=$("$PACK" inspect --json "$EX/hello.rvf" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["segments"][1]["hash"])')
: > "$TMP/lat"
for _ in $(seq 1 "$RUNS"); do
    t0=$(date +%s%N)
    cp "$EX/hello.rvf" "$MNT/ctl/" || fail cp
    ls "$MNT/caps" | grep -q "$want" || fail "cap not listed after cp returned"
    t1=$(date +%s%N)
    ms "$t0" "$t1" >> "$TMP/lat"
    rm "$MNT/ctl/hello.rvf" || fail rm
done
echo "latency of 'cp hello.rvf ctl/ && ls caps | grep HASH' ($(stat -c %s "$EX/hello.rvf") bytes, $RUNS runs):" \
    "median $(sort -n "$TMP/lat" | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}') ms," \
    "min $(sort -n "$TMP/lat" | head -n1) ms, max $(sort -n "$TMP/lat" | tail -n1) ms"
grep 'mounted hello.rvf: receive' "$MNT/log" | tail -n1 | cut -d' ' -f2-
stop_nubfs "$MNT"

# ---- throughput: one large package ------------------------------------------------
cp "$EX/hello/hello.wasm" "$TMP/"
python3 - "$TMP" "$BIG_MIB" <<'EOF'
import json, os, sys
d, mib = sys.argv[1], int(sys.argv[2])
w = open(os.path.join(d, "hello.wasm"), "rb").read()
def leb(n):
    out = bytearray()
    while True:
        b = n & 0x7f; n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n: return bytes(out)
body = leb(3) + b"pad" + os.urandom(mib << 20)
open(os.path.join(d, "big.wasm"), "wb").write(w + b"\x00" + leb(len(body)) + body)
json.dump({"name": "big", "version": "1", "components": [{"name": "big", "wasm": "big.wasm", "entry": ["run"]}]},
          open(os.path.join(d, "big.json"), "w"))
EOF
"$PACK" build "$TMP/big.json" -o "$TMP/big.rvf" --key "$EX/keys/example.key" > /dev/null || fail "build big.rvf"
size=$(stat -c %s "$TMP/big.rvf")
cat "$TMP/big.rvf" > /dev/null # in the page cache: measure nubfs, not the disk
start_nubfs "$NUBFS" "$MNT" "guest_mem=1G,max_package=300M,trust=$EX/keys"
t0=$(date +%s%N)
cp "$TMP/big.rvf" "$MNT/ctl/" || fail "cp big.rvf: $(grep refused "$MNT/log" | tail -n1)"
t1=$(date +%s%N)
echo "cp of a $((size >> 20)) MiB package ($size bytes): $(ms "$t0" "$t1" | tr -d '\n') ms," \
    "$(awk -v s="$size" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", s / ((b - a) / 1e9) / 1e6}') MB/s"
grep 'mounted big.rvf: receive' "$MNT/log" | tail -n1 | cut -d' ' -f2-
t0=$(date +%s%N)
cat "$MNT/ctl/big.rvf" > /dev/null
t1=$(date +%s%N)
echo "read back ctl/big.rvf: $(ms "$t0" "$t1") ms"
t0=$(date +%s%N)
rm "$MNT/ctl/big.rvf"
t1=$(date +%s%N)
echo "rm (unmount): $(ms "$t0" "$t1") ms"

# ---- where the time goes: the same cp under perf, then under strace -c ----------
# traced TOOL ARGS...: one cp of big.rvf while TOOL ARGS -p $PID records the daemon.
traced() {
    "$@" -p "$PID" > /dev/null 2>&1 &
    local t=$!
    sleep 0.5
    cp "$TMP/big.rvf" "$MNT/ctl/" || fail "cp big.rvf under $1"
    kill -INT "$t"
    wait "$t" 2> /dev/null
}
if command -v perf > /dev/null; then
    traced perf record -q -g -o "$TMP/perf.data"
    echo "perf (daemon, cp of big.rvf): top symbols by self time"
    perf report -q -i "$TMP/perf.data" --no-children --sort dso,symbol --percent-limit 1 \
        --stdio -g none 2> /dev/null | grep -v "^$" | head -n 20
    rm "$MNT/ctl/big.rvf"
else
    echo "perf: not installed (apt-get install linux-perf), no profile"
fi
if command -v strace > /dev/null; then
    traced strace -c -f -q -o "$TMP/strace.txt"
    echo "strace -c -f (daemon, cp of big.rvf): system calls by time"
    head -n 12 "$TMP/strace.txt"
    rm "$MNT/ctl/big.rvf"
else
    echo "strace: not installed, no system call profile"
fi
stop_nubfs "$MNT"
