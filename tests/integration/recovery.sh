#!/bin/bash
# Poison recovery: the guest is made to triple-fault halfway through the
# preload (hidden test options); the daemon must log why, reboot a fresh
# guest, publish the files again and serve every one of them.
# Exits 77 if KVM or FUSE is unusable here.
# usage: recovery.sh PATH/TO/nubfs
set -u
NUBFS=${1:?usage}
. "$(dirname "$0")/lib.sh"
need_tools fusermount3 mountpoint xxhsum jq

TMP=$(mktemp -d /tmp/nubfs-fs-XXXXXX) || fail mktemp
MNT=$TMP/mnt
mkdir -p "$MNT" "$TMP/blobs"
PID=
cleanup() {
    mountpoint -q "$MNT" && { fusermount3 -u "$MNT" || fusermount3 -u -z "$MNT"; }
    [ -n "$PID" ] && kill "$PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
for i in $(seq 1 40); do head -c $((i * 3001)) /dev/urandom > "$TMP/blobs/f$i"; done

"$NUBFS" "$MNT" -f -o "preload=$TMP/blobs,guest_mem=64M,test_ops,test_crash_after=15,ephemeral" \
    > "$TMP/daemon.log" 2>&1 &
PID=$!
for _ in $(seq 1 300); do
    mountpoint -q "$MNT" && break
    if ! kill -0 "$PID" 2>/dev/null; then
        wait "$PID"; rc=$?; PID=
        [ $rc = 69 ] && skip "nubfs cannot use KVM or FUSE here: $(head -n1 "$TMP/daemon.log")"
        cat "$TMP/daemon.log" >&2
        fail "nubfs exited $rc before mounting"
    fi
    sleep 0.1
done
mountpoint -q "$MNT" || fail "not mounted"

grep -q 'guest poisoned: KVM_EXIT_SHUTDOWN' "$MNT/log" || fail "log does not say why: $(cat "$MNT/log")"
grep -q 'republished 15 of 15' "$MNT/log" || fail "log does not report the republish"
[ "$(jq .reboots "$MNT/stats")" = 1 ] || fail "stats reboots: $(jq .reboots "$MNT/stats")"
[ "$(ls "$MNT/caps" | wc -l)" = 40 ] || fail "caps after recovery: $(ls "$MNT/caps" | wc -l), want 40"
( cd "$TMP/blobs" && xxhsum -q -H2 -- * ) | while read -r h f; do
    cmp -s "$TMP/blobs/$f" "$MNT/caps/$h" || fail "caps/$h differs from $f after recovery"
done || exit 1
ok "guest crash during preload: logged, rebooted, all 40 files served"

fusermount3 -u "$MNT" || fail "unmount"
wait "$PID"; rc=$?; PID=
[ $rc = 0 ] || fail "daemon exit $rc"
echo PASS
