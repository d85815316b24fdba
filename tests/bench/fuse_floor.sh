#!/usr/bin/env bash
# Benchmark (not a test): how far nubfs's cold stat and small reads are
# above the floor of FUSE on this machine. The same 1,000 small files in
# tmpfs, through fuse_floor (tests/bench/fuse_floor.c: a FUSE file system
# that only answers from a table in memory, with nubfs's caching
# answers), mounted read-write as nubfs is and read-only (-r), through
# squashfuse_ll, and through nubfs read-write (the default) and with
# -o ro; one run, the peers interleaved each round. Rows: stat of 1,000
# absent and existing names, cold (dentries and inodes dropped);
# xxhsum -H2 over the 1,000 files right after a first read of them (on a
# read-write FUSE mount the kernel then asks for each file's attributes
# again: nubfs(8) NOTES), and warm (the pass after that). Each figure is
# the median of RUNS rounds, in ms; "above tmpfs" is (peer - tmpfs) /
# 1,000 files, in us: what the FUSE requests of one file cost (a cold
# stat is one LOOKUP, a warm read one OPEN and one RELEASE).
# Usage: tests/bench/fuse_floor.sh [BUILD_DIR]   Env: RUNS (default 7); root.
set -euo pipefail
build=$(realpath "${1:-build}")
runs=${RUNS:-7}
nubfs=$build/fs/nubfs floor=$build/tests/fuse_floor
for b in "$nubfs" "$floor"; do [ -x "$b" ] || { echo "no $b: build first" >&2; exit 1; }; done
for t in squashfuse_ll mksquashfs xxhsum python3 fusermount3 bc; do
  command -v "$t" >/dev/null ||
    { echo "need $t (apt-get install squashfuse squashfs-tools xxhash python3 fuse3 bc)" >&2; exit 1; }
done
[ -w /proc/sys/vm/drop_caches ] || { echo "needs root: cold rows drop the kernel's dentries" >&2; exit 1; }

work=$(mktemp -d /dev/shm/nubfs-floor.XXXXXX)
mnts=()
cleanup() {
  for m in "${mnts[@]}"; do fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
wait_mount() { for _ in $(seq 1 600); do mountpoint -q "$1" && return 0; sleep 0.1; done; echo "no mount at $1" >&2; exit 1; }

src=$work/src
"$(dirname "$(realpath "$0")")/make_files.sh" "$src" 1000 4096
ls "$src" > "$work/exist"
python3 -c 'import random; r=random.Random(7); [print("%032x" % r.getrandbits(128)) for _ in range(1000)]' > "$work/absent"
mkdir -p "$work/floor" "$work/floor_ro" "$work/sqll" "$work/nub" "$work/nub_ro"
"$floor" "$src" "$work/floor" & mnts+=("$work/floor")
"$floor" -r "$src" "$work/floor_ro" & mnts+=("$work/floor_ro")
mksquashfs "$src" "$work/img.sqfs" -noappend -no-progress -quiet >/dev/null 2>&1
squashfuse_ll "$work/img.sqfs" "$work/sqll"; mnts+=("$work/sqll")
"$nubfs" "$work/nub" -o "preload=$src,ephemeral" 2>/dev/null; mnts+=("$work/nub")
"$nubfs" "$work/nub_ro" -o "preload=$src,ephemeral,ro" 2>/dev/null; mnts+=("$work/nub_ro")
wait_mount "$work/floor"; wait_mount "$work/floor_ro"; wait_mount "$work/sqll"
peers=(tmpfs floor floor_ro sqfs_ll nubfs nubfs_ro)
dirs=("$src" "$work/floor" "$work/floor_ro" "$work/sqll" "$work/nub/caps" "$work/nub_ro/caps")
for m in nub nub_ro; do
  [ "$(ls "$work/$m/caps" | wc -l)" = "$(wc -l < "$work/exist")" ] || { echo "nubfs ($m) shows the wrong caps" >&2; exit 1; }
done
for i in "${!peers[@]}"; do
  sed "s|^|${dirs[$i]}/|" "$work/exist" > "$work/e$i"
  sed "s|^|${dirs[$i]}/|" "$work/absent" > "$work/a$i"
done

now() { date +%s%N; }
ms() { local t0 t1; t0=$(now); "$@" >/dev/null 2>&1 || true; t1=$(now); echo "scale=2; ($t1 - $t0) / 1000000" | bc -l; }
drop() { echo 2 > /proc/sys/vm/drop_caches; sleep 0.5; }
statl() { xargs -a "$1" stat -c %s --; }
xx() { xargs -a "$1" xxhsum -H2 --; }
rows=("stat 1000 absent, cold" "stat 1000 existing, cold" "xxhsum -H2, after a first read" "xxhsum -H2 1000 files, warm")
declare -A T
for ((r = 0; r < runs; r++)); do
  for i in "${!peers[@]}"; do
    drop; T[0,$i]+="$(ms statl "$work/a$i") "
    drop; T[1,$i]+="$(ms statl "$work/e$i") "
    xx "$work/e$i" >/dev/null 2>&1 || true
    T[2,$i]+="$(ms xx "$work/e$i") "
    T[3,$i]+="$(ms xx "$work/e$i") "
  done
done
median() { tr ' ' '\n' | grep . | sort -g | sed -n "$(( (runs + 1) / 2 ))p"; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }
above() { echo "scale=1; ($1 - $2) / 1" | bc -l; } # ms per 1,000 files = us a file

kind="hardware KVM"
case "$(dmesg 2>/dev/null || true)" in *kvm-pvm*) kind="kvm-pvm (emulated guest)" ;; esac
hp=/sys/module/haltpoll/parameters/guest_halt_poll_ns
[ -r "$hp" ] && kind="$kind, guest_halt_poll_ns=$(cat "$hp")"
echo "FUSE floor benchmark: $(uname -r), $kind, $(nproc) cores, median of $runs rounds, ms"
printf '%-32s' operation; printf ' %8s' "${peers[@]}" nub/tmp nub/flr; echo
for k in 0 1 2 3; do
  v=()
  for i in "${!peers[@]}"; do v+=("$(echo "${T[$k,$i]}" | median)"); done
  printf '%-32s' "${rows[$k]}"; printf ' %8s' "${v[@]}" "$(ratio "${v[4]}" "${v[0]}")" "$(ratio "${v[4]}" "${v[1]}")"; echo
  a="  above tmpfs, us a file:"
  for i in 1 2 3 4 5; do a="$a ${peers[$i]} $(above "${v[$i]}" "${v[0]}")"; done
  echo "$a"
done
