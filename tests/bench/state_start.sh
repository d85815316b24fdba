#!/usr/bin/env bash
# Benchmark (not a test): what the state directory costs, next to its peer
# `-o ephemeral` in the same run.
#  1. start -> mount ready (the detaching parent exits once mounted, which
#     is after the replay) with 0, 1, 10 and 100 packages in the state
#     directory, against an ephemeral start (nothing to replay); the
#     daemon's own replay time (stats replay_ms) next to it;
#  2. `cp hello.rvf` -> its caps listed, persistent (fsyncs of the cap
#     files, caps/, the frame and pkgs/) against ephemeral.
# Median of RUNS runs each, interleaved. Packages: p001..p100, each a
# hello component and an immutable region of 1 KiB (every 10th: 96 KiB,
# a cap file of its own); and ten of 16 MiB, which should start as fast
# as ten of 1 KiB.
# Usage: tests/bench/state_start.sh [BUILD_DIR] [RUNS]
set -euo pipefail
build=$(realpath "${1:-build}")
runs=${2:-7}
nubfs="$build/fs/nubfs"
pack="$build/src/nubfs-pack"
ex="$build/examples"
[ -x "$nubfs" ] && [ -f "$ex/hello.rvf" ] || { echo "build first" >&2; exit 1; }
tmp=$(mktemp -d /tmp/nubfs-state-bench.XXXXXX)
mnt=$tmp/mnt
mkdir -p "$mnt" "$tmp/pk"
trap 'fusermount3 -u "$mnt" 2>/dev/null || true; rm -rf "$tmp"' EXIT
now() { date +%s%N; }
opts="trust=$ex/keys,guest_mem=256M"
stop() { fusermount3 -u "$mnt"; for _ in $(seq 1 100); do flock -n "$1/lock" true 2>/dev/null && return; sleep 0.02; done; }

cp "$ex/hello/hello.wasm" "$tmp/pk/"
for i in $(seq -w 1 100); do
  if [ $((10#$i % 10)) = 0 ]; then n=96; else n=1; fi
  head -c $((n * 1024)) /dev/urandom > "$tmp/pk/d$i.bin"
  printf '{"name": "p%s", "version": "1", "components": [{"name": "c", "wasm": "hello.wasm", "entry": ["run"]}], "regions": [{"name": "data", "policy": "immutable", "data": "d%s.bin", "owner": "c", "read": ["c"]}]}\n' "$i" "$i" > "$tmp/pk/p$i.json"
  "$pack" build "$tmp/pk/p$i.json" -o "$tmp/pk/p$i.rvf" --key "$ex/keys/example.key" >/dev/null
done
# Ten packages of 16 MiB each (a 16 MiB region): the start must cost
# what ten of 1 KiB cost (metadata, not bytes).
for i in $(seq 1 10); do
  head -c $((16 << 20)) /dev/urandom > "$tmp/pk/big$i.bin"
  printf '{"name": "big%s", "version": "1", "components": [{"name": "c", "wasm": "hello.wasm", "entry": ["run"]}], "regions": [{"name": "data", "policy": "immutable", "data": "big%s.bin", "owner": "c", "read": ["c"]}]}\n' "$i" "$i" > "$tmp/pk/big$i.json"
  "$pack" build "$tmp/pk/big$i.json" -o "$tmp/pk/big$i.rvf" --key "$ex/keys/example.key" >/dev/null
done
"$nubfs" "$mnt" -o "$opts,state=$tmp/stbig"
cp "$tmp"/pk/big*.rvf "$mnt/ctl/"
stop "$tmp/stbig"
# One state directory per size, filled once.
for n in 0 1 10 100; do
  "$nubfs" "$mnt" -o "$opts,state=$tmp/st$n"
  if [ "$n" -gt 0 ]; then cp $(ls "$tmp"/pk/p*.rvf | head -n "$n") "$mnt/ctl/"; fi
  stop "$tmp/st$n"
done

declare -A start replay
for ((r = 0; r < runs; r++)); do
  t0=$(now); "$nubfs" "$mnt" -o "$opts,ephemeral"; t1=$(now)
  start[ephemeral]+="$(( (t1 - t0) / 1000 )) "
  fusermount3 -u "$mnt"; sleep 0.1
  for n in 0 1 10 100; do
    t0=$(now); "$nubfs" "$mnt" -o "$opts,state=$tmp/st$n"; t1=$(now)
    start[$n]+="$(( (t1 - t0) / 1000 )) "
    replay[$n]+="$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["replay_ms"] * 1000))' "$mnt/stats") "
    [ "$(ls "$mnt/ctl" | wc -l)" = "$n" ] || { echo "st$n: $(ls "$mnt/ctl" | wc -l) packages back" >&2; exit 1; }
    stop "$tmp/st$n"
  done
  t0=$(now); "$nubfs" "$mnt" -o "$opts,state=$tmp/stbig"; t1=$(now)
  start[big]+="$(( (t1 - t0) / 1000 )) "
  replay[big]+="$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["replay_ms"] * 1000))' "$mnt/stats") "
  stop "$tmp/stbig"
done
median_ms() { printf '%s\n' $1 | sort -n | sed -n "$(( ($(wc -w <<< "$1") + 1) / 2 ))p" | awk '{printf "%.1f", $1 / 1000}'; }
echo "runs: $runs each, interleaved; $(nproc) cores; $(df -T "$tmp" | awk 'NR==2 {print $2}') under $tmp"
printf '%-22s start -> mounted %8s ms\n' "ephemeral" "$(median_ms "${start[ephemeral]}")"
for n in 0 1 10 100; do
  printf '%-22s start -> mounted %8s ms   (replay %s ms)\n' "state, $n packages" \
    "$(median_ms "${start[$n]}")" "$(median_ms "${replay[$n]}")"
done
printf '%-22s start -> mounted %8s ms   (replay %s ms)\n' "state, 10 x 16 MiB" \
  "$(median_ms "${start[big]}")" "$(median_ms "${replay[big]}")"

cap=$("$pack" inspect --json "$ex/hello.rvf" |
      python3 -c 'import json,sys; print([s["hash"] for s in json.load(sys.stdin)["segments"] if s["type"] != "crypto"][0])')
declare -A cpt
for ((r = 0; r < runs; r++)); do
  for k in ephemeral state; do
    if [ $k = ephemeral ]; then o=ephemeral; else rm -rf "$tmp/cp"; o="state=$tmp/cp"; fi
    "$nubfs" "$mnt" -o "$opts,$o"
    t0=$(now)
    cp "$ex/hello.rvf" "$mnt/ctl/"
    until [ -e "$mnt/caps/$cap" ]; do :; done
    t1=$(now)
    cpt[$k]+="$(( (t1 - t0) / 1000 )) "
    if [ $k = state ]; then stop "$tmp/cp"; else fusermount3 -u "$mnt"; sleep 0.1; fi
  done
done
for k in ephemeral state; do
  printf '%-22s cp hello.rvf -> caps listed %6s ms\n' "$k" "$(median_ms "${cpt[$k]}")"
done
