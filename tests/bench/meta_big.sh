#!/usr/bin/env bash
# Benchmark (not a test): lookups and listings of a very large caps/ (1M
# caps by default) next to the same files in tmpfs, in the same run: is
# lookup time flat in N (issue 11: at 1M within 1.5x of 1k)? squashfuse is
# left out here (its ls -l of 1M files takes minutes a run); meta_bench.sh
# has it for N up to 100k. Preload of 1M small caps takes ~6 minutes on
# kvm-pvm and ~1.5 GB of /dev/shm. Medians of 3 runs, ms; cold = after
# dropping dentries and inodes (root), then a pause for the FORGETs.
# Where the kernel reclaims cold page cache on its own (a DAMON pageout
# scheme: /sys/kernel/mm/damon), the listing it caches for caps/ can be
# paged out between runs, and a warm ls asks the daemon again.
# Usage: tests/bench/meta_big.sh [BUILD_DIR] [N]   Env: DROP_SETTLE (s, default 3)
set -euo pipefail
build=$(realpath "${1:-build}")
n=${2:-1000000}
nubfs="$build/fs/nubfs"
[ -x "$nubfs" ] || { echo "no $nubfs: build first" >&2; exit 1; }
[ -w /proc/sys/vm/drop_caches ] || { echo "needs root (drop_caches)" >&2; exit 1; }
work=$(mktemp -d /dev/shm/nubfs-big.XXXXXX)
mnt=$work/mnt src=$work/src
cleanup() { fusermount3 -u "$mnt" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$mnt" "$src"
# Named by their XXH3-128, as caps/ names them: ls sorts the same names
# on both sides (sorting 1M random names costs ls itself ~1 s more than
# sorting f0000000..f0999999).
"$(dirname "$(realpath "$0")")/make_files.sh" "$src" "$n" 512
t0=$(date +%s%N)
"$nubfs" "$mnt" -o "preload=$src,guest_mem=$(( (n * 128 >> 20) + 256 ))M,ephemeral" 2>/dev/null
t1=$(date +%s%N)
echo "N = $n files (1..512 bytes): preload $(( (t1 - t0) / 1000000 )) ms"
t0=$(date +%s%N); caps=$(ls "$mnt/caps" | wc -l); t1=$(date +%s%N)
echo "first ls caps | wc -l: $caps caps in $(( (t1 - t0) / 1000000 )) ms"
# 1,000 existing names of each, 1,000 absent ones.
ls "$mnt/caps" | shuf -n 1000 --random-source=<(yes) | sed "s|^|$mnt/caps/|" > "$work/e-nub"
ls -f "$src" | grep -v '^\.' | shuf -n 1000 --random-source=<(yes) | sed "s|^|$src/|" > "$work/e-tmp"
absent() { python3 -c 'import random,sys; r=random.Random(7); [print("%s/%032x" % (sys.argv[1], r.getrandbits(128))) for _ in range(1000)]' "$1"; }
absent "$mnt/caps" > "$work/a-nub"
absent "$src" > "$work/a-tmp"
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N); echo "scale=1; ($t1 - $t0) / 1000000" | bc; }
st() { xargs -a "$1" stat -c %s --; }
lsl() { ls -l "$1"; }
med() { sort -g | sed -n 2p; }
cold() { for _ in 1 2 3; do echo 2 > /proc/sys/vm/drop_caches; sleep "${DROP_SETTLE:-3}"; ms "$@"; done | med; }
warm() { "$@" >/dev/null 2>&1 || true; for _ in 1 2 3; do ms "$@"; done | med; }
printf '%-28s %10s %10s %8s\n' operation nubfs tmpfs nub/tmp
row() { printf '%-28s %10s %10s %8s\n' "$1" "$2" "$3" "$(echo "scale=2; $2 / $3" | bc)"; }
row "stat 1000 existing, cold" "$(cold st "$work/e-nub")" "$(cold st "$work/e-tmp")"
row "stat 1000 absent, cold" "$(cold st "$work/a-nub")" "$(cold st "$work/a-tmp")"
row "stat 1000 existing, warm" "$(warm st "$work/e-nub")" "$(warm st "$work/e-tmp")"
row "ls, warm" "$(warm ls "$mnt/caps")" "$(warm ls "$src")"
row "ls -f (unsorted), warm" "$(warm ls -f "$mnt/caps")" "$(warm ls -f "$src")"
row "ls -l, warm" "$(warm lsl "$mnt/caps")" "$(warm lsl "$src")"
