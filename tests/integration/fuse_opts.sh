#!/bin/bash
# The FUSE options nubfs(8) lists, on a real mount: each one mounts, the
# tree answers and a cap reads back right, and nubfs exits 0 only with a
# live mount. On the splice read path (-o read_path=splice: passthrough
# reads never reach the daemon), max_read= is honoured (no READ reply larger) and a value it
# cannot take is refused with exit status 2 before anything boots. Large
# reads are spliced whatever size the kernel asks for (the -o debug trace
# says "(splice)" for each reply), with readahead raised to 4 MiB where
# this host lets us. Exits 77 if KVM or FUSE is unusable here.
# usage: fuse_opts.sh PATH/TO/nubfs
set -u
NUBFS=${1:?usage: fuse_opts.sh PATH/TO/nubfs}
. "$(dirname "$0")/lib.sh"
need_tools fusermount3 mountpoint xxhsum cmp dd timeout

TMP=$(mktemp -d /tmp/nubfs-opts-XXXXXX) || fail mktemp
MNT=$TMP/mnt
mkdir -p "$MNT" "$TMP/blobs"
PID=
trap 'cleanup_nubfs "$MNT"; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM
head -c $((8 << 20)) /dev/urandom > "$TMP/blobs/big"
head -c 3000 /dev/urandom > "$TMP/blobs/small"
BIG=$(xxhsum -H2 "$TMP/blobs/big" | cut -d' ' -f1)
SMALL=$(xxhsum -H2 "$TMP/blobs/small" | cut -d' ' -f1)
BASE="preload=$TMP/blobs,guest_mem=128M,ephemeral"

# ---- bad max_read: refused before the guest boots, exit 2 -------------------
for v in abc 100 99999999999 ""; do
    out=$(timeout 20 "$NUBFS" "$MNT" -o "max_read=$v,ephemeral" 2>&1)
    rc=$?
    [ $rc = 69 ] && skip "nubfs cannot use KVM or FUSE here: $out"
    [ $rc = 2 ] || fail "max_read=$v: exit $rc, want 2 ($out)"
    mountpoint -q "$MNT" && fail "max_read=$v: mounted anyway"
    echo "$out" | grep -q "max_read" || fail "max_read=$v: the message does not say why: $out"
    echo "$out" | grep -q "guest booted" && fail "max_read=$v: the guest booted first"
done
ok "max_read= a bad value: exit 2 before boot, nothing mounted"

# ---- every listed option mounts and serves -----------------------------------
opts=(default_permissions fsname=nubtest subtype=nubtest max_read=131072 clone_fd
      max_threads=4 max_idle_threads=2 auto_unmount ro noatime nosuid nodev noexec)
# allow_other needs root or user_allow_other in /etc/fuse.conf.
if [ "$(id -u)" = 0 ] || grep -qs '^user_allow_other' /etc/fuse.conf; then opts+=(allow_other); fi
for o in "${opts[@]}"; do
    out=$(timeout 60 "$NUBFS" "$MNT" -o "$o,$BASE" 2>&1)
    rc=$?
    [ $rc = 69 ] && skip "nubfs cannot use KVM or FUSE here: $out"
    [ $rc = 0 ] || fail "-o $o: exit $rc ($out)"
    mountpoint -q "$MNT" || fail "-o $o: exit 0 but nothing mounted"
    [ "$(ls "$MNT" | tr '\n' ' ')" = "caps ctl log mounts stats " ] || fail "-o $o: ls / failed"
    cmp -s "$MNT/caps/$SMALL" "$TMP/blobs/small" || fail "-o $o: caps/ small cap reads wrong"
    cmp -s "$MNT/caps/$BIG" "$TMP/blobs/big" || fail "-o $o: caps/ big cap reads wrong"
    case $o in
        fsname=*) grep -q "^nubtest $MNT fuse.nubfs " /proc/mounts || fail "fsname= not in /proc/mounts" ;;
        subtype=*) grep -q " $MNT fuse.nubtest " /proc/mounts || fail "subtype= not in /proc/mounts" ;;
        ro) grep " $MNT " /proc/mounts | grep -q " ro[ ,]" || fail "ro: not a read-only mount" ;;
    esac
    fusermount3 -u "$MNT" || fail "-o $o: unmount"
    for _ in $(seq 1 50); do mountpoint -q "$MNT" || break; sleep 0.1; done
done
ok "FUSE options: ${opts[*]}: each mounts and serves"

# ---- max_read= bounds the replies; big reads are spliced ---------------------
# debug_read OPTS: mounts in the foreground with -o debug, reads the big cap
# with 4 MiB reads (readahead raised to 4 MiB where allowed), unmounts; the
# trace is in $MNT.log.
RA=no
debug_read() {
    start_nubfs "$NUBFS" "$MNT" "debug,$1,$BASE"
    local bdi=/sys/class/bdi/$(mountpoint -d "$MNT")/read_ahead_kb
    if [ -w "$bdi" ] && echo 4096 > "$bdi" 2>/dev/null; then RA=yes; fi
    dd if="$MNT/caps/$BIG" of="$TMP/out" bs=4M 2>/dev/null || fail "dd of the big cap"
    cmp -s "$TMP/out" "$TMP/blobs/big" || fail "big cap reads wrong with $1"
    stop_nubfs "$MNT"
}
# replies LOG: the sizes of the replies larger than 64 KiB, "N" or "N(splice)".
replies() { sed -n 's/.*success, outsize: \([0-9]*\)\( (splice)\)\{0,1\}.*/\1\2/p' "$1" | tr -d ' ' | awk -F'(' '$1 > 65536'; }

debug_read max_read=262144,read_path=splice
max=$(replies "$MNT.log" | sed 's/(splice)//' | sort -n | tail -n 1)
[ -n "$max" ] || fail "max_read=262144: no large READ reply in the trace"
[ "$max" -le $((262144 + 16)) ] || fail "max_read=262144: a reply of $max bytes"
ok "max_read=262144: the largest READ reply is $max bytes (header included)"

debug_read noatime,read_path=splice
replies "$MNT.log" > "$TMP/replies"
[ -s "$TMP/replies" ] || fail "no large READ reply in the trace"
grep -v 'splice' "$TMP/replies" | head -n 3 > "$TMP/copied"
[ -s "$TMP/copied" ] && fail "READ replies not spliced: $(tr '\n' ' ' < "$TMP/copied")"
biggest=$(sed 's/(splice)//' "$TMP/replies" | sort -n | tail -n 1)
if [ $RA = yes ]; then
    [ "$biggest" -gt $((512 << 10)) ] || fail "readahead 4 MiB, yet the largest READ was $biggest bytes"
    ok "every READ reply spliced, up to $biggest bytes (readahead 4 MiB)"
else
    ok "every READ reply spliced, up to $biggest bytes (readahead not raised: not allowed here)"
fi
grep -q "reads: up to .* KiB per request, spliced" "$MNT.log" || fail "the read size is not logged"
ok "fuse_opts: all checks passed"
