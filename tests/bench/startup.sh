#!/usr/bin/env bash
# Benchmark (not a test): time from starting nubfs to guest READY (from the
# daemon's stats) and to a usable mount (the foreground parent exits only
# once the mount is up), median of N runs; plus guest instructions for boot
# + INIT where the KVM exposes the count (kvm-pvm emulates every guest
# instruction, so there it is exact).
# Usage: tests/bench/startup.sh [BUILD_DIR] [RUNS]
set -euo pipefail
build=$(realpath "${1:-build}")
runs=${2:-11}
nubfs="$build/fs/nubfs"
[ -x "$nubfs" ] || { echo "no $nubfs: build first" >&2; exit 1; }
command -v bc >/dev/null || { echo "need bc (apt-get install bc)" >&2; exit 1; }
mnt=$(mktemp -d /tmp/nubfs-startup.XXXXXX)
trap 'fusermount3 -u "$mnt" 2>/dev/null || true; rmdir "$mnt"' EXIT

json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
mount_ms=() ready_ms=() init_ms=()
for ((i = 0; i < runs; i++)); do
  t0=$(date +%s%N)
  "$nubfs" "$mnt" -o ephemeral
  t1=$(date +%s%N)
  mount_ms+=("$(echo "scale=2; ($t1 - $t0) / 1000000" | bc -l)")
  ready_ms+=("$(json "$mnt/stats" 'd["boot"]["ready_ms"]')")
  init_ms+=("$(json "$mnt/stats" 'd["boot"]["init_ms"]')")
  insns=$(json "$mnt/stats" 'd.get("guest_emulated_instructions", "n/a")')
  fusermount3 -u "$mnt"
  sleep 0.2
done
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
kind="hardware KVM"
case "$(dmesg 2>/dev/null || true)" in *kvm-pvm*) kind="kvm-pvm (emulated guest)" ;; esac
echo "runs: $runs on $kind"
echo "start -> guest READY:        $(median "${ready_ms[@]}") ms (median)"
echo "start -> INIT done:          $(median "${init_ms[@]}") ms (median)"
echo "start -> mount ready (exit): $(median "${mount_ms[@]}") ms (median)"
echo "guest instructions at mount: $insns (emulated count; boot + INIT)"
