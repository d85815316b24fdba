#!/usr/bin/env bash
# Benchmark (not a test): what the state directory costs at start, next to
# its peer `-o ephemeral` in the same run: start -> mount ready (the
# detaching parent exits once mounted) and `cp hello.rvf` -> its caps
# listed, for ephemeral, an existing state directory, and a new one (mkdir,
# lock, format written with fsync). Median of N runs each, interleaved.
# Usage: tests/bench/state_start.sh [BUILD_DIR] [RUNS]
set -euo pipefail
build=$(realpath "${1:-build}")
runs=${2:-11}
nubfs="$build/fs/nubfs"
ex="$build/examples"
[ -x "$nubfs" ] && [ -f "$ex/hello.rvf" ] || { echo "build first" >&2; exit 1; }
tmp=$(mktemp -d /tmp/nubfs-state-bench.XXXXXX)
mnt=$tmp/mnt
mkdir -p "$mnt"
trap 'fusermount3 -u "$mnt" 2>/dev/null || true; rm -rf "$tmp"' EXIT
cap=$("$build/src/nubfs-pack" inspect --json "$ex/hello.rvf" |
      python3 -c 'import json,sys; print([s["hash"] for s in json.load(sys.stdin)["segments"] if s["type"] != "crypto"][0])')

now() { date +%s%N; }
declare -A start cp
one() { # one KIND OPTS
  local t0 t1 t2
  t0=$(now)
  "$nubfs" "$mnt" -o "trust=$ex/keys,$2"
  t1=$(now)
  cp "$ex/hello.rvf" "$mnt/ctl/"
  until [ -e "$mnt/caps/$cap" ]; do :; done
  t2=$(now)
  start[$1]+="$(( (t1 - t0) / 1000 )) "
  cp[$1]+="$(( (t2 - t1) / 1000 )) "
  fusermount3 -u "$mnt"
  sleep 0.2
}
mkdir -p "$tmp/kept"
for ((i = 0; i < runs; i++)); do
  one ephemeral ephemeral
  one existing "state=$tmp/kept"
  rm -rf "$tmp/new"
  one new "state=$tmp/new"
done
median_ms() { printf '%s\n' $1 | sort -n | sed -n "$(( ($(wc -w <<< "$1") + 1) / 2 ))p" | awk '{printf "%.2f", $1 / 1000}'; }
echo "runs: $runs each, interleaved"
for k in ephemeral existing new; do
  printf '%-10s start -> mounted %8s ms   cp hello.rvf -> caps listed %6s ms (medians)\n' \
    "$k" "$(median_ms "${start[$k]}")" "$(median_ms "${cp[$k]}")"
done
