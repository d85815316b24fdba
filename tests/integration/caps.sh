#!/bin/bash
# Integration test of the caps/ tree on a real mount: publishes ~1000
# random blobs with -o preload=, then checks them the way a user would
# (ls, cat, cmp, xxhsum -q -H2, stat, dd, concurrent readers, malformed
# names, refused writes, log, stats, unmount). Exits 77 (skipped) when
# KVM or FUSE cannot be used here, with the reason.
# usage: caps.sh PATH/TO/nubfs
set -u
NUBFS=${1:?usage: caps.sh PATH/TO/nubfs}
. "$(dirname "$0")/lib.sh"

need_tools fusermount3 mountpoint xxhsum cmp dd stat head sort xargs awk
[ -x "$NUBFS" ] || fail "$NUBFS is not an executable"
NBLOBS=${NUBFS_TEST_BLOBS:-1000}
GUEST_MEM=${NUBFS_TEST_GUEST_MEM:-512M}

TMP=$(mktemp -d /tmp/nubfs-fs-XXXXXX) || fail "mktemp"
BLOBS=$TMP/blobs
MNT=$TMP/mnt
mkdir -p "$BLOBS" "$MNT"
PID=
cleanup() {
    if mountpoint -q "$MNT" 2>/dev/null; then
        fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -u -z "$MNT" 2>/dev/null
    fi
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill "$PID" 2>/dev/null
        sleep 0.5
        kill -9 "$PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- blobs: fixed edge sizes, then random ones (total ~150 MB) ----------
i=0
blob() { # blob SIZE: a new random file of SIZE bytes
    head -c "$1" /dev/urandom > "$BLOBS/b$(printf %05d $i)"
    i=$((i + 1))
}
for s in 0 1 2 7 511 4095 4096 4097 8191 8192 8193 12288 65535 65536 65537 \
         131072 1048575 1048576 1048577 2097152 3145735 4194304 6291456; do
    blob $s
done
RANDOM=4242 # reproducible sizes
while [ $i -lt "$NBLOBS" ]; do
    r=$((RANDOM % 100))
    if [ $r -lt 88 ]; then
        blob $(( (RANDOM * 32768 + RANDOM) % 131072 ))
    elif [ $r -lt 99 ]; then
        blob $(( 131072 + (RANDOM * 32768 + RANDOM) % 917504 ))
    else
        blob $(( 1048576 + (RANDOM * 32768 + RANDOM) % 5242880 ))
    fi
done
# Duplicates: equal content is one cap (and another empty file).
cp "$BLOBS/b00010" "$BLOBS/dup-of-b00010"
: > "$BLOBS/empty-again"

( cd "$BLOBS" && xxhsum -q -H2 -- * ) > "$TMP/expected" || fail "xxhsum of the blobs"
awk '{print $1}' "$TMP/expected" | sort -u > "$TMP/names"
NCAPS=$(wc -l < "$TMP/names")
TOTAL=$(du -sb "$BLOBS" | awk '{print $1}')
echo "generated $(ls "$BLOBS" | wc -l) files, $NCAPS distinct caps, $TOTAL bytes"

# ---- start the daemon ------------------------------------------------------
OPTS="preload=$BLOBS,guest_mem=$GUEST_MEM,ephemeral"
[ "$(id -u)" = 0 ] && OPTS="$OPTS,allow_other"
T0=$(date +%s.%N)
"$NUBFS" "$MNT" -f -o "$OPTS" > "$TMP/daemon.log" 2>&1 &
PID=$!
for _ in $(seq 1 1200); do # 120 s
    mountpoint -q "$MNT" && break
    if ! kill -0 "$PID" 2>/dev/null; then
        wait "$PID"
        rc=$?
        PID=
        if [ $rc = 69 ]; then
            skip "nubfs cannot use KVM or FUSE here: $(head -n1 "$TMP/daemon.log")"
        fi
        cat "$TMP/daemon.log" >&2
        fail "nubfs exited with status $rc before mounting"
    fi
    sleep 0.1
done
mountpoint -q "$MNT" || { cat "$TMP/daemon.log" >&2; fail "not mounted after 120 s"; }
T1=$(date +%s.%N)
ok "mounted in $(awk -v a="$T0" -v b="$T1" 'BEGIN{printf "%.2f", b-a}') s (boot + preload of $TOTAL bytes)"
C=$MNT/caps

# ---- ls ------------------------------------------------------------------
ls "$MNT" | sort | tr '\n' ' ' | grep -qx 'caps ctl log mounts stats ' || fail "root lists $(ls "$MNT")"
n=$(ls "$C" | wc -l)
[ "$n" = "$NCAPS" ] || fail "ls caps shows $n entries, want $NCAPS"
ls "$C" | sort | cmp -s - "$TMP/names" || fail "ls caps names differ from the blobs' hashes"
ls -la "$C" > /dev/null || fail "ls -la caps"
ok "ls caps: $n caps, names are the blobs' XXH3-128"

# ---- cat / cmp every blob ------------------------------------------------
bad=0
while read -r h f; do
    cmp -s "$BLOBS/$f" "$C/$h" || { echo "differs: $f -> $h" >&2; bad=$((bad + 1)); }
done < "$TMP/expected"
[ $bad = 0 ] || fail "$bad caps differ from their blob"
ok "cmp: every cap equals its blob"

# ---- xxhsum -q -H2 prints each file's own name ------------------------------
( cd "$C" && ls | xargs -n 256 xxhsum -q -H2 -- ) > "$TMP/check" || fail "xxhsum over caps"
awk '$1 != $2 {bad++} END {exit bad > 0}' "$TMP/check" || fail "xxhsum: a cap's content does not hash to its name"
[ "$(wc -l < "$TMP/check")" = "$NCAPS" ] || fail "xxhsum checked $(wc -l < "$TMP/check") caps"
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
    chmod 755 "$TMP"
    ( cd "$C" && ls | head -n 100 | setpriv --reuid=65534 --regid=65534 --clear-groups \
        xargs xxhsum -q -H2 -- ) > "$TMP/check-nobody" || fail "xxhsum as an unprivileged user"
    want=$((NCAPS < 100 ? NCAPS : 100))
    awk -v n="$want" '$1 != $2 {bad++} END {exit bad > 0 || NR != n}' "$TMP/check-nobody" ||
        fail "xxhsum as nobody"
    ok "xxhsum -H2 caps/*: every name checks out (also as user nobody)"
else
    ok "xxhsum -H2 caps/*: every name checks out"
fi

# ---- stat sizes and modes ----------------------------------------------------
while read -r h f; do
    want=$(stat -c %s "$BLOBS/$f")
    got=$(stat -c '%s %a %F %h' "$C/$h")
    [ "$got" = "$want 444 regular file 1" ] || [ "$got" = "$want 444 regular empty file 1" ] ||
        fail "stat $h: '$got', want size $want mode 444 regular, 1 link"
done < "$TMP/expected"
[ "$(stat -c '%a %F' "$C")" = "555 directory" ] || fail "caps/ mode: $(stat -c '%a %F' "$C")"
ok "stat: sizes, modes 0444, one link"

# ---- reads at odd offsets and lengths ---------------------------------------
range() { dd if="$1" iflag=skip_bytes,count_bytes bs=65536 skip="$2" count="$3" status=none; }
checked=0
while read -r h f; do
    size=$(stat -c %s "$BLOBS/$f")
    [ "$size" -ge 4096 ] || continue
    for off in 0 1 4095 4096 4097 $((size / 3)) $((size - 1)) "$size" $((size + 100)); do
        for len in 1 511 4096 4097 65537 1048579; do
            a=$(range "$BLOBS/$f" "$off" "$len" | xxhsum -q -H2 | awk '{print $1}')
            b=$(range "$C/$h" "$off" "$len" | xxhsum -q -H2 | awk '{print $1}')
            [ "$a" = "$b" ] || fail "dd $h skip=$off count=$len differs"
            checked=$((checked + 1))
        done
    done
done < <(grep -E ' (b0000[0-9]|b0001[0-9]|b0002[0-2])$' "$TMP/expected")
ok "dd: $checked reads at odd offsets/lengths match"

# ---- 8 concurrent readers -------------------------------------------------
pids=()
for r in 1 2 3 4 5 6 7 8; do
    (
        # Each reader walks the caps in its own order and verifies hashes.
        awk -v r="$r" 'BEGIN{srand(r)} {print rand() "\t" $1}' "$TMP/names" | sort | cut -f2 |
            head -n 300 | while read -r h; do
                got=$(cat "$C/$h" | xxhsum -q -H2 | awk '{print $1}')
                [ "$got" = "$h" ] || { echo "reader $r: $h hashed to $got" >&2; exit 1; }
            done
    ) &
    pids+=($!)
done
for p in "${pids[@]}"; do
    wait "$p" || fail "a concurrent reader saw wrong bytes"
done
ok "8 concurrent readers verified their caps"

# ---- malformed and absent names: ENOENT -----------------------------------
h=$(head -n1 "$TMP/names")
upper=$(echo "$h" | tr a-f A-F)
for name in xyz "${h:0:31}" "${h}0" "$upper" 00000000000000000000000000000000 "$h.x" ".$h"; do
    out=$(stat "$C/$name" 2>&1) && fail "caps/$name exists"
    echo "$out" | grep -q 'No such file or directory' || fail "caps/$name: $out"
done
ok "malformed and absent names: No such file or directory"

# ---- writes are refused ---------------------------------------------------
refused() { # refused DESCRIPTION CMD...: must fail with EROFS or EACCES
    local what=$1
    shift
    local out
    out=$("$@" 2>&1) && fail "$what succeeded"
    echo "$out" | grep -Eq 'Read-only file system|Permission denied' || fail "$what: $out"
}
refused "touch caps/new" touch "$C/new"
refused "touch an existing cap" touch "$C/$h"
refused "cp into caps/" cp "$BLOBS/b00005" "$C/"
refused "write over a cap" sh -c "echo x > '$C/$h'"
refused "append to a cap" sh -c "echo x >> '$C/$h'"
refused "rm a cap" rm -f "$C/$h"
refused "mv a cap" mv "$C/$h" "$C/renamed"
refused "mkdir caps/d" mkdir "$C/d"
refused "chmod a cap" chmod 644 "$C/$h"
refused "touch at the root" touch "$MNT/newfile"
refused "rm stats" rm -f "$MNT/stats"
[ "$(ls "$C" | wc -l)" = "$NCAPS" ] || fail "a refused write changed caps/"
f=$(awk -v h="$h" '$1 == h {print $2; exit}' "$TMP/expected")
cmp -s "$BLOBS/$f" "$C/$h" || fail "a refused write changed a cap"
ok "writes, removals, renames, mkdir, chmod: refused"

# ---- log and stats ----------------------------------------------------------
cat "$MNT/log" > "$TMP/log" || fail "cat log"
grep -q 'preloaded' "$TMP/log" || fail "log does not mention the preload: $(cat "$TMP/log")"
grep -q 'booted' "$TMP/log" || fail "log does not mention the boot"
cat "$MNT/stats" > "$TMP/stats" || fail "cat stats"
if command -v jq > /dev/null; then
    jq . "$TMP/stats" > /dev/null || fail "stats is not JSON: $(cat "$TMP/stats")"
    caps=$(jq .caps "$TMP/stats")
    bytes=$(jq .cap_bytes "$TMP/stats")
else
    python3 -m json.tool "$TMP/stats" > /dev/null || fail "stats is not JSON"
    caps=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["caps"])' "$TMP/stats")
    bytes=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cap_bytes"])' "$TMP/stats")
fi
[ "$caps" = "$NCAPS" ] || fail "stats says $caps caps, want $NCAPS"
want_bytes=$(while read -r h f; do echo "$h $(stat -c %s "$BLOBS/$f")"; done < "$TMP/expected" |
    sort -u | awk '{s += $2} END {print s + 0}')
[ "$bytes" = "$want_bytes" ] || fail "stats says $bytes bytes, want $want_bytes"
df "$MNT" > /dev/null || fail "statfs"
ok "log and stats readable; stats is JSON with caps=$caps bytes=$bytes"

# ---- unmount: the daemon exits 0 --------------------------------------------
fusermount3 -u "$MNT" || fail "fusermount3 -u"
for _ in $(seq 1 100); do
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$PID" 2>/dev/null && fail "nubfs still running 10 s after unmount"
wait "$PID"
rc=$?
PID=
[ $rc = 0 ] || { cat "$TMP/daemon.log" >&2; fail "nubfs exited with $rc after unmount"; }
ok "fusermount3 -u: unmounted, daemon exited 0"
echo "PASS"
