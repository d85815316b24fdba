#!/usr/bin/env bash
# Benchmark (not a test): sequential read of one 256 MiB cap through nubfs,
# next to the same bytes from a tmpfs file and through squashfuse (the
# read-only FUSE peer to beat), in the same run. Cold = first read after
# mounting (and after dropping the page cache for tmpfs-independent peers);
# warm = second read (nubfs caps use keep_cache, so the kernel serves it).
# Usage: tests/bench/read_throughput.sh [BUILD_DIR] [SIZE_MIB]
set -euo pipefail
build=$(realpath "${1:-build}")
mib=${2:-256}
nubfs="$build/fs/nubfs"
[ -x "$nubfs" ] || { echo "no $nubfs: build first" >&2; exit 1; }
for t in squashfuse mksquashfs bc; do
  command -v "$t" >/dev/null ||
    { echo "need $t (apt-get install squashfuse squashfs-tools bc)" >&2; exit 1; }
done

work=$(mktemp -d /dev/shm/nubfs-bench.XXXXXX)
mnt=$work/nub sq=$work/sq
cleanup() {
  fusermount3 -u "$mnt" 2>/dev/null || true
  fusermount3 -u "$sq" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/blobs" "$mnt" "$sq"
head -c "$((mib << 20))" /dev/urandom > "$work/blobs/big"
hash=$(xxhsum -H2 "$work/blobs/big" | cut -d' ' -f1)

"$nubfs" -o preload="$work/blobs",guest_mem=$((mib * 2 + 64))M,ephemeral "$mnt"
mksquashfs "$work/blobs" "$work/img.sqfs" -noappend -no-progress -comp gzip -noI -noD -noF >/dev/null
squashfuse "$work/img.sqfs" "$sq"

# Seconds to stream a file to /dev/null with 1 MiB reads.
secs() { local t0 t1; t0=$(date +%s.%N); dd if="$1" of=/dev/null bs=1M status=none; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
rate() { echo "scale=0; $mib / $1" | bc -l; }

runs=${RUNS:-5}
# Median of $runs timings; cold rounds drop the page cache before each read.
median_secs() {
  local path=$1 drop=$2 i
  for ((i = 0; i < runs; i++)); do
    [ "$drop" = 1 ] && { echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null
    secs "$path"
  done | sort -g | sed -n "$(( (runs + 1) / 2 ))p"
}

printf '%-28s %10s %10s   (median of %d)\n' "source ($mib MiB)" "s" "MiB/s" "$runs"
for round in cold warm; do
  for src in "tmpfs:$work/blobs/big" "squashfuse:$sq/big" "nubfs:$mnt/caps/$hash"; do
    name=${src%%:*} path=${src#*:}
    drop=0
    [ "$round" = cold ] && [ "$name" != tmpfs ] && drop=1
    [ "$round" = warm ] && secs "$path" >/dev/null   # prime the cache
    s=$(median_secs "$path" "$drop")
    printf '%-28s %10.3f %10s\n' "$name ($round)" "$s" "$(rate "$s")"
    eval "t_${name}_${round}=$s"
  done
done
echo
echo "nubfs/tmpfs time ratio (cold): $(echo "scale=2; $t_nubfs_cold / $t_tmpfs_cold" | bc -l)"
echo "nubfs/squashfuse time ratio (cold): $(echo "scale=2; $t_nubfs_cold / $t_squashfuse_cold" | bc -l)"
echo "nubfs/squashfuse time ratio (warm): $(echo "scale=2; $t_nubfs_warm / $t_squashfuse_warm" | bc -l)"
# grep on a captured string: with pipefail, `dmesg | grep -q` fails on SIGPIPE.
kind="hardware KVM"
case "$(dmesg 2>/dev/null || true)" in *kvm-pvm*) kind="kvm-pvm (emulated guest)" ;; esac
echo "(lower is better for nubfs; run on $kind)"
