#!/bin/bash
# What another user may do on a mount made with allow_other (nubfs(8),
# THE CONTROL DIRECTORY): the test knobs on ctl/ answer to the mounting
# user only; a ctl/ file's mode is honoured for its owner, group and
# others, and its mounts/<name>/ follows it; a second nubfs on the same
# mountpoint needs -o nonempty. Runs as root and acts as throwaway uids
# (64997..64999) with setpriv.
# Exits 77 if KVM or FUSE is unusable here or this is not root.
# usage: other_users.sh PATH/TO/nubfs PATH/TO/nubfs-pack EXAMPLES_DIR
set -u
. "$(dirname "$0")/lib.sh"
NUBFS=${1:?usage} PACK=${2:?usage} EX=${3:?usage}
need_tools fusermount3 mountpoint setpriv python3
[ "$(id -u)" = 0 ] || skip "needs root to act as a second user"
OTHER=64999 # a uid and gid no one has
PY=$(command -v /usr/bin/python3 || command -v python3) # not a shim under /root

test_dirs users
chmod 0755 "$TMP"
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

# ---- ctl/ file modes: owner, group and others, as on any file system --------------
# errno_as WHO CMD...: runs a file operation as another user, prints the
# errno name or OK (cat and ls through python for exact errnos).
rd() { # rd UID GID FILE|DIR
    setpriv --reuid="$1" --regid="$2" --clear-groups "$PY" -c '
import errno, os, sys
p = sys.argv[1]
try:
    if os.path.isdir(p): os.listdir(p)
    else: open(p, "rb").read()
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])' "$3"
}
C=$MNT/ctl
cp "$EX/hello.rvf" "$C/priv.rvf" || fail "cp priv.rvf"
chmod 0600 "$C/priv.rvf" && chown $OTHER:$OTHER "$C/priv.rvf" || fail "chmod/chown priv.rvf"
sleep 1.1 # mounts/ attributes are cached for a second
[ "$(rd $OTHER $OTHER "$C/priv.rvf")" = OK ] || fail "0600, owner $OTHER: the owner cannot read it"
[ "$(rd 64998 64998 "$C/priv.rvf")" = EACCES ] || fail "0600: another user reads it"
cmp -s <(setpriv --reuid=$OTHER --regid=$OTHER --clear-groups cat "$C/priv.rvf") "$EX/hello.rvf" ||
    fail "the owner reads other bytes"
chmod 0640 "$C/priv.rvf" && chgrp 64997 "$C/priv.rvf" || fail chgrp
sleep 1.1
[ "$(rd 64998 64997 "$C/priv.rvf")" = OK ] || fail "0640, group 64997: a member cannot read it"
r=$(setpriv --reuid=64998 --regid=64998 --groups=64997 "$PY" -c 'open(__import__("sys").argv[1],"rb").read(); print("OK")' "$C/priv.rvf" 2>/dev/null)
[ "$r" = OK ] || fail "0640, group 64997 as a supplementary group: cannot read"
[ "$(rd 64998 64998 "$C/priv.rvf")" = EACCES ] || fail "0640: a non-member reads it"
ok "ctl/ modes: a 0600 file chowned to a user is hers; 0640 is its group's (primary or supplementary); others get EACCES"

# ---- mounts/<name>/ follows ctl/<name>.rvf -------------------------------------------
chmod 0600 "$C/priv.rvf" && chown $OTHER:$OTHER "$C/priv.rvf" || fail chown
sleep 1.1
st=$(stat -c '%a %u %g' "$MNT/mounts/priv")
[ "$st" = "500 $OTHER $OTHER" ] || fail "mounts/priv: mode/owner $st, want 500 $OTHER $OTHER"
st=$(stat -c '%a %u' "$MNT/mounts/priv/info")
[ "$st" = "400 $OTHER" ] || fail "mounts/priv/info: $st, want 400 $OTHER"
for p in "$MNT/mounts/priv" "$MNT/mounts/priv/info" "$MNT/mounts/priv/components"; do
    [ "$(rd 64998 64998 "$p")" = EACCES ] || fail "0600: another user reads $p"
    [ "$(rd $OTHER $OTHER "$p")" = OK ] || fail "0600: the owner cannot read $p"
done
chmod 0644 "$C/priv.rvf" || fail chmod
sleep 1.1
[ "$(stat -c %a "$MNT/mounts/priv")" = 555 ] || fail "0644: mounts/priv is not 555"
[ "$(rd 64998 64998 "$MNT/mounts/priv/info")" = OK ] || fail "0644: others cannot read mounts/priv/info"
ok "mounts/<name>/ has the owner and read bits of ctl/<name>.rvf (0600: the owner only; 0644: all)"

# ---- a second nubfs on the same mountpoint: refused unless -o nonempty -------------
err=$(timeout 20 "$NUBFS" "$MNT" -f -o ephemeral 2>&1); rc=$?
[ $rc = 2 ] || fail "a second nubfs on $MNT: exit $rc, want 2: $err"
echo "$err" | grep -q 'already mounted here' || fail "a second nubfs: $err"
echo "$err" | grep -q 'nonempty' || fail "a second nubfs: the message does not name -o nonempty: $err"
[ -e "$C/priv.rvf" ] || fail "the first mount is hidden"
PID1=$PID
"$NUBFS" "$MNT" -f -o nonempty,ephemeral > "$TMP/second.log" 2>&1 &
PID=$!
for _ in $(seq 1 300); do [ -e "$C/priv.rvf" ] || break; kill -0 $PID 2>/dev/null || break; sleep 0.1; done
[ -e "$C/priv.rvf" ] && fail "-o nonempty: the second nubfs is not on top: $(cat "$TMP/second.log")"
fusermount3 -u "$MNT" || fail "unmount the second nubfs"
wait $PID || fail "the second nubfs exited $?"
PID=$PID1
[ -e "$C/priv.rvf" ] || fail "the first nubfs is gone after the second left"
ok "a second nubfs on a nubfs mountpoint: exit 2 naming -o nonempty; with it, stacked on top"

stop_nubfs "$MNT"
echo PASS
