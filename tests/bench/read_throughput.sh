#!/usr/bin/env bash
# Benchmark (not a test): reads of one 256 MiB cap through nubfs on both
# read paths (FUSE passthrough, the default where allowed, and
# -o read_path=splice), next to the same bytes from a tmpfs file and
# through squashfuse (the read-only FUSE peer), in the same run. Each
# source is read with cat, dd bs=1M, dd bs=4k and 4 KiB preads at random
# offsets (as many as the file has blocks). Cold = after dropping the page
# cache (tmpfs and the memfds behind passthrough have no other copy to
# drop), warm = read again with the cache primed. The sources take turns
# within each run, so load from elsewhere hits them alike.
# Usage: tests/bench/read_throughput.sh [BUILD_DIR] [SIZE_MIB]   (RUNS=3)
set -euo pipefail
build=$(realpath "${1:-build}")
mib=${2:-256}
nubfs="$build/fs/nubfs"
[ -x "$nubfs" ] || { echo "no $nubfs: build first" >&2; exit 1; }
for t in squashfuse mksquashfs bc python3 jq; do
  command -v "$t" >/dev/null ||
    { echo "need $t (apt-get install squashfuse squashfs-tools bc python3 jq)" >&2; exit 1; }
done

work=$(mktemp -d /dev/shm/nubfs-bench.XXXXXX)
pt=$work/pt sp=$work/sp sq=$work/sq
cleanup() {
  for m in "$pt" "$sp" "$sq"; do fusermount3 -u "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/blobs" "$pt" "$sp" "$sq"
head -c "$((mib << 20))" /dev/urandom > "$work/blobs/big"
hash=$(xxhsum -H2 "$work/blobs/big" | cut -d' ' -f1)

o="preload=$work/blobs,guest_mem=$((mib * 2 + 64))M,ephemeral"
"$nubfs" -o "$o" "$pt"
"$nubfs" -o "$o,read_path=splice" "$sp"
mksquashfs "$work/blobs" "$work/img.sqfs" -noappend -no-progress -comp gzip -noI -noD -noF >/dev/null
squashfuse "$work/img.sqfs" "$sq"
echo "nubfs read path (default mount): $(jq -r .store.read_path "$pt/stats") ($(jq -r .store.read_path_reason "$pt/stats"))"
echo "nubfs read path (read_path=splice): $(jq -r .store.read_path "$sp/stats")"

cat > "$work/rand.py" <<'PY'
import os, random, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
blocks = os.fstat(fd).st_size // 4096
offs = [random.Random(1).randrange(blocks) * 4096 for _ in range(blocks)]
t0 = time.perf_counter()
for off in offs:
    os.pread(fd, 4096, off)
print(time.perf_counter() - t0)
PY

now() { date +%s.%N; }
# Seconds for one read of $2 with tool $1.
one() {
  local t0 t1
  case $1 in
    rand4k) python3 "$work/rand.py" "$2"; return ;;
    cat) t0=$(now); cat "$2" > /dev/null; t1=$(now) ;;
    dd1M) t0=$(now); dd if="$2" of=/dev/null bs=1M status=none; t1=$(now) ;;
    dd4k) t0=$(now); dd if="$2" of=/dev/null bs=4k status=none; t1=$(now) ;;
  esac
  echo "$t1 - $t0" | bc -l
}
runs=${RUNS:-3}
rate() { echo "scale=0; $mib / $1" | bc -l; }

tools="cat dd1M dd4k rand4k"
srcs="tmpfs:$work/blobs/big squashfuse:$sq/big nubfs-splice:$sp/caps/$hash nubfs-passthrough:$pt/caps/$hash"
# The sources take turns within every run, so a burst of load from
# elsewhere on the machine hits them alike; the median of $runs is kept.
# Cold rounds drop the page cache before each read; warm rounds prime
# each source once first.
for round in cold warm; do
  for t in $tools; do
    if [ "$round" = warm ]; then
      for src in $srcs; do one "$t" "${src#*:}" > /dev/null; done
    fi
    for ((i = 0; i < runs; i++)); do
      for src in $srcs; do
        [ "$round" = cold ] && { sync; echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null
        one "$t" "${src#*:}" >> "$work/t.${src%%:*}.$round.$t"
      done
    done
  done
done
printf '%-26s' "MiB/s ($mib MiB, median of $runs)"
for t in $tools; do printf '%10s' "$t"; done
echo
for round in cold warm; do
  for src in $srcs; do
    name=${src%%:*}
    printf '%-26s' "$name ($round)"
    for t in $tools; do
      s=$(sort -g "$work/t.$name.$round.$t" | sed -n "$(((runs + 1) / 2))p")
      key=$(echo "${name}_${round}_$t" | tr -- - _)
      eval "t_$key=$s"
      printf '%10s' "$(rate "$s")"
    done
    echo
  done
done
echo
echo "throughput relative to tmpfs (higher is better; goal passthrough cold >= 0.8, warm >= 0.95):"
for round in cold warm; do
  for name in nubfs_passthrough nubfs_splice squashfuse; do
    printf '  %-26s' "$name ($round)"
    for t in $tools; do
      eval "a=\$t_tmpfs_${round}_$t b=\$t_${name}_${round}_$t"
      printf '%10s' "$(echo "scale=2; $a / $b" | bc -l)"
    done
    echo
  done
done
kind="hardware KVM"
case "$(dmesg 2>/dev/null || true)" in *kvm-pvm*) kind="kvm-pvm (emulated guest)" ;; esac
echo "(run on $kind, $(uname -r))"
