#!/bin/bash
# What another user may do on a mount made with allow_other (nubfs(8),
# THE CONTROL DIRECTORY): the test knobs on ctl/ answer to the mounting
# user only. Runs as root and acts as a throwaway uid with setpriv.
# Exits 77 if KVM or FUSE is unusable here or this is not root.
# usage: other_users.sh PATH/TO/nubfs PATH/TO/nubfs-pack EXAMPLES_DIR
set -u
NUBFS=${1:?usage}
PACK=${2:?usage}
EX=${3:?usage}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
need_tools fusermount3 mountpoint setpriv python3
[ "$(id -u)" = 0 ] || skip "needs root to act as a second user"
OTHER=64999 # a uid and gid no one has
PY=$(command -v /usr/bin/python3 || command -v python3) # not a shim under /root

TMP=$(mktemp -d /tmp/nubfs-users-XXXXXX) || fail mktemp
chmod 0755 "$TMP"
MNT=$TMP/mnt
mkdir -p "$MNT"
PID=
trap 'cleanup_nubfs "$MNT"; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM
as_other() { setpriv --reuid=$OTHER --regid=$OTHER --clear-groups "$@"; }
# setx WHO KNOB VALUE: prints the errno name, or OK.
setx() {
    local who=$1
    shift
    $who "$PY" -c '
import errno, os, sys
try:
    os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode()); print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])' "$@"
}
me() { "$@"; }

start_nubfs "$NUBFS" "$MNT" "allow_other,test_ops,trust=$EX/keys"

# ---- test knobs: the mounting user only ------------------------------------------
for k in test_crash_mount test_fail_step; do
    r=$(setx as_other "$MNT/ctl" "user.nubfs.$k" 2)
    [ "$r" = EACCES ] || fail "another user set $k on ctl/: $r, want EACCES"
done
cp "$EX/hello.rvf" "$MNT/ctl/" || fail "the owner's next mount failed after another user's knobs"
grep -q 'guest poisoned\|rebooting' "$MNT/log" && fail "another user's knob crashed the guest"
r=$(setx me "$MNT/ctl" user.nubfs.test_fail_step 3)
[ "$r" = OK ] || fail "the owner cannot set test_fail_step: $r"
r=$(setx me "$MNT/ctl" user.nubfs.test_fail_step 0)
ok "test knobs: another user gets EACCES, the owner sets them"

stop_nubfs "$MNT"
echo PASS
