#!/bin/bash
# The daemon's life: started without -f it detaches only once mounted
# (nubfs returns 0 and the tree is there), SIGTERM unmounts and exits
# cleanly, and a mountpoint given with a source first (as mount.fuse3
# does for fstab entries) works. Exits 77 if KVM or FUSE is unusable.
# usage: lifecycle.sh PATH/TO/nubfs
set -u
NUBFS=${1:?usage}
. "$(dirname "$0")/lib.sh"
need_tools fusermount3 mountpoint pgrep

TMP=$(mktemp -d /tmp/nubfs-fs-XXXXXX) || fail mktemp
MNT=$TMP/mnt
mkdir -p "$MNT" "$TMP/blobs"
echo hello > "$TMP/blobs/hello"
cleanup() {
    mountpoint -q "$MNT" && { fusermount3 -u "$MNT" || fusermount3 -u -z "$MNT"; }
    rm -rf "$TMP"
}
trap cleanup EXIT

# Detached start, with a source argument first (fstab style).
"$NUBFS" nubfs-test "$MNT" -o "preload=$TMP/blobs,guest_mem=64M,state=$TMP/state" > "$TMP/out" 2>&1
rc=$?
[ $rc = 69 ] && skip "nubfs cannot use KVM or FUSE here: $(head -n1 "$TMP/out")"
[ $rc = 0 ] || fail "nubfs exited $rc: $(cat "$TMP/out")"
mountpoint -q "$MNT" || fail "nubfs returned before the mount was there"
h=$(xxhsum -q -H2 "$TMP/blobs/hello" | awk '{print $1}')
[ "$(cat "$MNT/caps/$h")" = hello ] || fail "caps/$h"
grep -q "nubfs-test $MNT fuse.nubfs" /proc/mounts || fail "fsname/type in /proc/mounts: $(grep "$MNT" /proc/mounts)"
ok "detached: mounted when nubfs returned; /proc/mounts shows fuse.nubfs"

# SIGTERM: unmount and exit.
pid=$(pgrep -f -x "$NUBFS nubfs-test $MNT -o preload=$TMP/blobs,guest_mem=64M,state=$TMP/state")
[ -n "$pid" ] || fail "cannot find the daemon"
kill -TERM "$pid"
for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "daemon still running 10 s after SIGTERM"
mountpoint -q "$MNT" && fail "still mounted after SIGTERM"
ok "SIGTERM: unmounted and exited"
echo PASS
