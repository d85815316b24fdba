#!/usr/bin/env bash
# Benchmark (not a test): metadata and small reads through nubfs next to
# the same files in tmpfs and through squashfuse and squashfuse_ll, in the
# same run (issue 11's table): stat of 1,000 absent and existing names
# (cold = after dropping the kernel's dentries and inodes, repeat = the
# same names again), ls and ls -l of the whole directory, xxhsum -H2 over
# 1,000 small files, FUSE requests per `cat` of a small cap, and start ->
# first ls answered. Every figure is the median of RUNS runs, in ms.
# Usage: tests/bench/meta_bench.sh [BUILD_DIR] [N...]   (default N: 1000 10000 100000)
#   N = 1000000 works too (about 10 minutes of preload on kvm-pvm, ~5 GB of
#   /dev/shm with FILE_MAX=4096; FILE_MAX=512 needs a fifth of that).
# Env: RUNS (default 5); DROP_SETTLE (seconds after each drop, default 1); FILE_MAX (default 4096): files are 1..FILE_MAX
# bytes; NUBFS_BEFORE=PATH/TO/nubfs adds a column for an
# older nubfs in the same run (before/after). Cold rows need root
# (drop_caches); else "n/a".
set -euo pipefail
build=$(realpath "${1:-build}")
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 100000)
runs=${RUNS:-5}
file_max=${FILE_MAX:-4096}
nubfs="$build/fs/nubfs"
[ -x "$nubfs" ] || { echo "no $nubfs: build first" >&2; exit 1; }
before=${NUBFS_BEFORE:-}
[ -z "$before" ] || [ -x "$before" ] || { echo "NUBFS_BEFORE=$before: not an executable" >&2; exit 1; }
ncol=4
[ -n "$before" ] && ncol=5
# A nubfs with a state directory keeps none for a benchmark (and none
# locks the mountpoint's state against the next run).
eph() { "$1" --help 2>/dev/null | grep -q ephemeral && echo ",ephemeral" || true; }
eph_new=$(eph "$nubfs")
eph_old=
[ -n "$before" ] && eph_old=$(eph "$before")
for t in squashfuse squashfuse_ll mksquashfs xxhsum python3 fusermount3; do
  command -v "$t" >/dev/null ||
    { echo "need $t (apt-get install squashfuse squashfs-tools xxhash python3 fuse3)" >&2; exit 1; }
done

work=$(mktemp -d /dev/shm/nubfs-meta.XXXXXX)
mnts=()
cleanup() {
  for m in "${mnts[@]}"; do fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s%N; }
# ms CMD...: wall time of one run of CMD (output discarded), in ms.
ms() {
  local t0 t1
  t0=$(now)
  "$@" >/dev/null 2>&1 || true
  t1=$(now)
  echo "scale=2; ($t1 - $t0) / 1000000" | bc -l
}
median() { sort -g | sed -n "$(( (runs + 1) / 2 ))p"; }
can_drop=0
[ -w /proc/sys/vm/drop_caches ] && can_drop=1
# drop: dentries and inodes, not pages; then a pause, so the FORGETs the
# drop sends (100k of them at N = 100k) are not timed with the probes.
drop() { echo 2 > /proc/sys/vm/drop_caches; sleep "${DROP_SETTLE:-1}"; }
# med_warm CMD...: prime once, then the median of runs.
med_warm() { "$@" >/dev/null 2>&1 || true; for ((r = 0; r < runs; r++)); do ms "$@"; done | median; }
# med_cold CMD...: the median of runs, each after dropping dentries and inodes.
med_cold() {
  [ $can_drop = 1 ] || { echo n/a; return; }
  for ((r = 0; r < runs; r++)); do drop; ms "$@"; done | median
}
# med_repeat CMD...: like med_cold, but the time is of a second run right
# after the first (a repeat probe: negative entries may have formed).
med_repeat() { for ((r = 0; r < runs; r++)); do [ $can_drop = 1 ] && drop; "$@" >/dev/null 2>&1 || true; ms "$@"; done | median; }
ratio() { if [[ $1 = n/a || $2 = n/a ]] || [ "$(echo "$2 == 0" | bc -l)" = 1 ]; then echo n/a; else echo "scale=2; $1 / $2" | bc -l; fi; }

wait_mount() { for _ in $(seq 1 600); do mountpoint -q "$1" && return 0; sleep 0.1; done; echo "no mount at $1" >&2; exit 1; }
umount_one() { fusermount3 -u "$1"; sleep 0.2; }

# make_files DIR N: N files of 1..FILE_MAX bytes named by their XXH3-128
# (tests/bench/make_files.sh); prints nothing.
make_files() { "$(dirname "$(realpath "$0")")/make_files.sh" "$1" "$2" "$file_max"; }

kind="hardware KVM"
case "$(dmesg 2>/dev/null || true)" in *kvm-pvm*) kind="kvm-pvm (emulated guest)" ;; esac
# Idle vCPUs that poll before they halt wake up far sooner: small reads
# take about half the time (nubfs(8) NOTES), so say which this run had.
hp=/sys/module/haltpoll/parameters/guest_halt_poll_ns
[ -r "$hp" ] && kind="$kind, guest_halt_poll_ns=$(cat "$hp")"
echo "nubfs metadata benchmark: $(uname -r), $kind, $(nproc) cores, median of $runs runs, ms"
[ $can_drop = 1 ] || echo "(not root: cold rows are n/a)"

peers=(tmpfs squashfuse squashfuse_ll nubfs)
row() { # row LABEL VALUES(tmpfs sq sqll nub [nub-before])
  local label=$1 t=$2 s=$3 l=$4 n=$5 b=${6:-}
  printf '%-34s %9s %9s %9s %9s %7s %7s' "$label" "$t" "$s" "$l" "$n" "$(ratio "$n" "$t")" "$(ratio "$n" "$l")"
  [ -n "$before" ] && printf ' %9s %7s' "$b" "$(ratio "$b" "$t")"
  echo
}
header() {
  printf '%-34s %9s %9s %9s %9s %7s %7s' "$1" tmpfs squashfuse sqfuse_ll nubfs nub/tmp nub/sll
  [ -n "$before" ] && printf ' %9s %7s' before bef/tmp
  echo
}

# fuse_total MNT: the daemon's FUSE request counters, as "op=n ..." (stats).
fuse_counts() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])).get("fuse_requests"); print(json.dumps(d) if d else "{}")' "$1/stats"; }
# requests_per_cat MNT NAMES_FILE: FUSE requests per cat of each listed cap,
# from the stats counters (the cost of reading stats itself is subtracted).
requests_per_cat() {
  local m=$1 list=$2 a b c
  a=$(fuse_counts "$m"); b=$(fuse_counts "$m")
  (cd "$m/caps" && xargs -a "$list" -n 1 cat >/dev/null)
  c=$(fuse_counts "$m")
  python3 - "$a" "$b" "$c" "$(wc -l < "$list")" <<'EOF'
import json, sys
a, b, c = (json.loads(x) for x in sys.argv[1:4]); n = int(sys.argv[4])
if not c: print("n/a (no fuse_requests in stats)"); sys.exit()
base = {k: b.get(k, 0) - a.get(k, 0) for k in c}
d = {k: c.get(k, 0) - b.get(k, 0) - base.get(k, 0) for k in c}
tot = sum(d.values())
print("%.2f per cat (%s)" % (tot / n, ", ".join("%s %.2f" % (k, v / n) for k, v in sorted(d.items()) if v)))
EOF
}

declare -A R
for n in "${sizes[@]}"; do
  src=$work/files-$n
  make_files "$src" "$n"
  ncaps=$(ls "$src" | wc -l)
  ls "$src" | shuf -n 1000 --random-source=<(yes) > "$work/exist-$n"
  python3 -c 'import random; r=random.Random(7); [print("%032x" % r.getrandbits(128)) for _ in range(1000)]' > "$work/absent-$n"
  mksquashfs "$src" "$work/img-$n.sqfs" -noappend -no-progress -quiet >/dev/null 2>&1
  sq=$work/sq-$n sqll=$work/sqll-$n nub=$work/nub-$n old=$work/old-$n
  mkdir -p "$sq" "$sqll" "$nub" "$old"
  squashfuse "$work/img-$n.sqfs" "$sq"; mnts+=("$sq")
  squashfuse_ll "$work/img-$n.sqfs" "$sqll"; mnts+=("$sqll")
  wait_mount "$sq"; wait_mount "$sqll"
  # Guest RAM holds the directory only (caps are in the store): 40 bytes
  # a slot, load <= 3/4, old and new table during a growth.
  mem=$(( (n * 128 >> 20) + 256 ))
  t0=$(now)
  "$nubfs" "$nub" -o "preload=$src,guest_mem=${mem}M$eph_new" 2>/dev/null; mnts+=("$nub")
  t1=$(now)
  preload_ms=$(( (t1 - t0) / 1000000 ))
  dirs=("$src" "$sq" "$sqll" "$nub/caps")
  if [ -n "$before" ]; then
    t0=$(now)
    "$before" "$old" -o "preload=$src,guest_mem=${mem}M$eph_old" 2>/dev/null; mnts+=("$old")
    t1=$(now)
    preload_ms="$preload_ms (before: $(( (t1 - t0) / 1000000 )))"
    dirs+=("$old/caps")
  fi
  [ "$(ls "$nub/caps" | wc -l)" = "$ncaps" ] || { echo "nubfs shows the wrong number of caps" >&2; exit 1; }

  echo
  echo "== N = $n caps (small files, 1..$file_max bytes); nubfs preload took $preload_ms ms (guest_mem=${mem}M)"
  t0=$(now); lsn=$(ls "$nub/caps" | wc -l); t1=$(now)
  echo "ls caps | wc -l: $lsn in $(( (t1 - t0) / 1000000 )) ms"
  header "operation"
  # Probe lists as absolute paths per peer.
  for ((i = 0; i < ncol; i++)); do
    sed "s|^|${dirs[$i]}/|" "$work/exist-$n" > "$work/e$i"
    sed "s|^|${dirs[$i]}/|" "$work/absent-$n" > "$work/a$i"
  done
  statl() { xargs -a "$1" stat -c %s --; }
  lsl() { ls -l "$1"; }
  xx() { xargs -a "$1" xxhsum -H2 --; }
  for op in "stat 1000 absent, cold" "stat 1000 absent, repeat" "stat 1000 existing, cold" \
            "stat 1000 existing, warm" "ls" "ls -l, cold" "ls -l, warm" "xxhsum -H2 1000 caps, warm"; do
    v=()
    for ((i = 0; i < ncol; i++)); do
      case $op in
        "stat 1000 absent, cold") v+=("$(med_cold statl "$work/a$i")") ;;
        "stat 1000 absent, repeat") v+=("$(med_repeat statl "$work/a$i")") ;;
        "stat 1000 existing, cold") v+=("$(med_cold statl "$work/e$i")") ;;
        "stat 1000 existing, warm") v+=("$(med_warm statl "$work/e$i")") ;;
        "ls") v+=("$(med_warm ls "${dirs[$i]}")") ;;
        "ls -l, cold") v+=("$(med_cold lsl "${dirs[$i]}")") ;;
        "ls -l, warm") v+=("$(med_warm lsl "${dirs[$i]}")") ;;
        "xxhsum -H2 1000 caps, warm") v+=("$(med_warm xx "$work/e$i")") ;;
      esac
    done
    row "$op" "${v[@]}"
    R["$n:$op"]="${v[3]}"
    R["$n:$op:before"]="${v[4]:-}"
  done
  [ $can_drop = 1 ] && drop
  head -n 100 "$work/exist-$n" > "$work/cat100"
  echo "FUSE requests, cat of a small cap, cold: $(requests_per_cat "$nub" "$work/cat100")"
  # The first fstat after a read that filled the page cache asks again
  # (the kernel marks atime stale on a writable FUSE mount): prime once.
  (cd "$nub/caps" && xargs -a "$work/cat100" cat >/dev/null)
  echo "FUSE requests, cat of a small cap, warm: $(requests_per_cat "$nub" "$work/cat100")"
  if [ -n "$before" ]; then
    [ $can_drop = 1 ] && drop
    echo "  before: cold: $(requests_per_cat "$old" "$work/cat100")"
    (cd "$old/caps" && xargs -a "$work/cat100" cat >/dev/null)
    echo "  before: warm: $(requests_per_cat "$old" "$work/cat100")"
    umount_one "$old"
  fi
  for m in "$sq" "$sqll" "$nub"; do umount_one "$m"; done
  mnts=()
  rm -rf "$src" "$work/img-$n.sqfs"
done

if [ ${#sizes[@]} -gt 1 ]; then
  echo
  echo "== nubfs, flat per entry? (ms at each N)"
  for op in "stat 1000 absent, repeat" "stat 1000 existing, cold" "ls" "ls -l, warm"; do
    line=$(printf '%-34s' "$op")
    for n in "${sizes[@]}"; do line+=$(printf ' %9s' "${R[$n:$op]}"); done
    echo "$line   (N = ${sizes[*]})"
    if [ -n "$before" ]; then
      line=$(printf '%-34s' "  before")
      for n in "${sizes[@]}"; do line+=$(printf ' %9s' "${R[$n:$op:before]}"); done
      echo "$line"
    fi
  done
fi

echo
echo "== start -> first ls answered (empty), and a mount of 1,000 files"
mkdir -p "$work/empty" "$work/s" "$work/s1k"
make_files "$work/s1k" 1000
mksquashfs "$work/empty" "$work/empty.sqfs" -noappend -no-progress -quiet >/dev/null 2>&1
start_ls() { # start_ls CMD...: runs CMD (it mounts $work/s), then ls; unmounts
  local t0 t1
  t0=$(now)
  "$@" >/dev/null 2>&1
  ls "$work/s" >/dev/null
  t1=$(now)
  fusermount3 -u "$work/s"
  echo "scale=2; ($t1 - $t0) / 1000000" | bc -l
}
sq_1k() { mksquashfs "$work/s1k" "$work/s1k.sqfs" -noappend -no-progress -quiet >/dev/null 2>&1 && squashfuse_ll "$work/s1k.sqfs" "$work/s"; }
whats=("nubfs")
[ -n "$before" ] && whats+=("nubfs before")
whats+=("squashfuse" "squashfuse_ll" "nubfs -o preload (1,000 files)")
[ -n "$before" ] && whats+=("nubfs before -o preload (1,000 files)")
whats+=("mksquashfs + squashfuse_ll (1,000 files)")
for what in "${whats[@]}"; do
  vals=$(for ((r = 0; r < runs; r++)); do
    case $what in
      nubfs) start_ls "$nubfs" "$work/s" -o "guest_mem=256M$eph_new" ;;
      "nubfs before") start_ls "$before" "$work/s" -o "guest_mem=256M$eph_old" ;;
      "nubfs before -o preload (1,000 files)") start_ls "$before" "$work/s" -o "preload=$work/s1k$eph_old" ;;
      squashfuse) start_ls squashfuse "$work/empty.sqfs" "$work/s" ;;
      squashfuse_ll) start_ls squashfuse_ll "$work/empty.sqfs" "$work/s" ;;
      "nubfs -o preload (1,000 files)") start_ls "$nubfs" "$work/s" -o "preload=$work/s1k$eph_new" ;;
      "mksquashfs + squashfuse_ll (1,000 files)") start_ls sq_1k ;;
    esac
    sleep 0.1
  done | median)
  printf '%-42s %9s ms\n' "$what" "$vals"
done
