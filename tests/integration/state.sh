#!/bin/bash
# The state directory (nubfs(8) STATE DIRECTORY): the default per
# mountpoint (systemd-escape --path of it under /var/lib/nubfs for root,
# $XDG_STATE_HOME/nubfs otherwise), state=~/DIR expanded by nubfs, created
# 0700 with its format file; two daemons on one state directory (the
# second exits 1 with one line naming the first's pid); a read-only one,
# a newer format version (refused, the file not rewritten), a directory
# that is not a state directory; ephemeral keeps none; state= with
# ephemeral is a usage error.
# usage: state.sh NUBFS   (77 without KVM/FUSE)
set -u
NUBFS=$(realpath "${1:?usage}")
. "$(dirname "$0")/lib.sh"
need_tools fusermount3 mountpoint systemd-escape stat cmp timeout flock

TMP=$(mktemp -d /tmp/nubfs-state-XXXXXX) || fail mktemp
MNT=$TMP/mnt
MNT2=$TMP/mnt2
mkdir -p "$MNT" "$MNT2"
PID=
DEFAULT=
cleanup() {
    cleanup_nubfs "$MNT2"
    cleanup_nubfs "$MNT"
    mountpoint -q "$TMP/ro" 2>/dev/null && umount "$TMP/ro"
    [ -n "$DEFAULT" ] && rm -rf "$DEFAULT"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
export HOME=$TMP/home
mkdir -p "$HOME"
export XDG_STATE_HOME=$TMP/xdg

# start OPTS: like start_nubfs, but OPTS exactly as given (no ephemeral).
start() {
    "$NUBFS" "$MNT" -f -o "$1" > "$MNT.log" 2>&1 &
    PID=$!
    for _ in $(seq 1 300); do
        mountpoint -q "$MNT" && return 0
        if ! kill -0 "$PID" 2>/dev/null; then
            wait "$PID"
            local rc=$?
            PID=
            [ $rc = 69 ] && skip "nubfs cannot use KVM or FUSE here: $(head -n1 "$MNT.log")"
            cat "$MNT.log" >&2
            fail "nubfs exited with status $rc before mounting"
        fi
        sleep 0.1
    done
    fail "not mounted after 30 s"
}
# refuse DESC WANT_RC PATTERN OPTS: nubfs -f on $MNT2 exits WANT_RC,
# unmounted, and its stderr has one line matching PATTERN.
refuse() {
    local desc=$1 want=$2 pat=$3 opts=$4 out rc
    out=$(timeout 30 "$NUBFS" "$MNT2" -f -o "$opts" 2>&1 >/dev/null)
    rc=$?
    [ $rc = 69 ] && skip "nubfs cannot use KVM or FUSE here: $(echo "$out" | head -n1)"
    mountpoint -q "$MNT2" && fail "$desc: mounted"
    [ "$rc" = "$want" ] || fail "$desc: exit $rc, want $want: $out"
    local line
    line=$(echo "$out" | grep -E -- "$pat")
    [ -n "$line" ] || fail "$desc: no line matching '$pat' in: $out"
    [ "$(echo "$line" | wc -l)" = 1 ] || fail "$desc: more than one line: $line"
    ok "$desc: exit $rc: $line"
}
# is_state DIR: a fresh state directory: 0700, format version 2, lock,
# caps/ and pkgs/.
is_state() {
    [ -d "$1" ] || fail "$1 was not created"
    [ "$(stat -c %a "$1")" = 700 ] || fail "$1 has mode $(stat -c %a "$1"), want 700"
    [ "$(cat "$1/format")" = "nubfs-state 2" ] || fail "$1/format: $(cat "$1/format")"
    [ -f "$1/lock" ] || fail "$1/lock missing"
    [ -d "$1/caps" ] && [ -d "$1/pkgs" ] || fail "$1 has no caps/ or pkgs/"
}

# ---- the default: the escaped mountpoint -----------------------------------
ESC=$(systemd-escape --path "$MNT")
if [ "$(id -u)" = 0 ]; then DEFAULT=/var/lib/nubfs/$ESC; else DEFAULT=$XDG_STATE_HOME/nubfs/$ESC; fi
[ -e "$DEFAULT" ] && fail "$DEFAULT exists before the test"
start "guest_mem=64M"
is_state "$DEFAULT"
[ "$(cat "$DEFAULT/lock")" = "$PID" ] || fail "lock holds '$(cat "$DEFAULT/lock")', want pid $PID"
grep -qF "state: $DEFAULT (format 2)" "$MNT/log" || fail "the log does not name the state directory"
ok "default state directory $DEFAULT: 0700, format 2, locked by pid $PID"

# ---- two daemons on one state directory ------------------------------------
# -o takes a backslash as an escape: \\ is one.
refuse "a second daemon on the same state directory" 1 "in use by another nubfs \\(pid $PID\\)" \
    "guest_mem=64M,state=${DEFAULT//\\/\\\\}"
stop_nubfs "$MNT"
rm -rf "$DEFAULT"
DEFAULT=

# ---- state=~/DIR, expanded by nubfs; restart on it --------------------------
start "guest_mem=64M,state=~/st/a"
is_state "$HOME/st/a"
stop_nubfs "$MNT"
cp "$HOME/st/a/format" "$TMP/format.1"
start "guest_mem=64M,state=~/st/a"
cmp -s "$TMP/format.1" "$HOME/st/a/format" || fail "format rewritten on restart"
stop_nubfs "$MNT"
ok "state=~/st/a: expanded, created 0700, reused after a restart"
# Detached, unmounted, started again at once: the new daemon waits for
# the old one to let go of the lock.
for i in 1 2 3; do
    out=$("$NUBFS" "$MNT" -o "guest_mem=64M,state=~/st/a" 2>&1) || fail "restart $i right after fusermount3 -u: $out"
    fusermount3 -u "$MNT" || fail "fusermount3 -u"
done
for _ in $(seq 1 100); do flock -n "$HOME/st/a/lock" true && break; sleep 0.05; done
flock -n "$HOME/st/a/lock" true || fail "the lock is still held 5 s after the last unmount"
ok "start right after fusermount3 -u of a detached daemon on the same state directory"

# ---- refusals ---------------------------------------------------------------
mkdir -p "$TMP/newer" && chmod 700 "$TMP/newer"
printf 'nubfs-state 3\nsomething a later nubfs wrote\n' > "$TMP/newer/format"
cp "$TMP/newer/format" "$TMP/format.3"
refuse "a newer format version" 1 "format version 3, newer than this nubfs reads \\(2\\)" \
    "guest_mem=64M,state=$TMP/newer"
cmp -s "$TMP/format.3" "$TMP/newer/format" || fail "the newer format file was rewritten"
[ "$(ls -A "$TMP/newer" | tr "\n" " ")" = "format lock " ] || fail "a newer state directory was changed: $(ls -A "$TMP/newer" | tr '\n' ' ')"
ok "the newer format file is unchanged, nothing added"

# ---- version 1 (format and lock only) is upgraded in place -------------------
mkdir -p "$TMP/v1" && chmod 700 "$TMP/v1"
printf 'nubfs-state 1\n' > "$TMP/v1/format"
: > "$TMP/v1/lock"
start "guest_mem=64M,state=$TMP/v1"
is_state "$TMP/v1"
grep -q "upgraded from format 1 to 2" "$MNT/log" || fail "the upgrade is not logged"
stop_nubfs "$MNT"
ok "a version 1 state directory is upgraded to version 2"

mkdir -p "$TMP/home/docs" && echo mine > "$TMP/home/docs/notes.txt"
refuse "a directory that is not a state directory" 1 "not a nubfs state directory" \
    "guest_mem=64M,state=$TMP/home/docs"
[ "$(ls -A "$TMP/home/docs")" = "notes.txt" ] ||
    fail "not a state directory, but changed: $(ls -A "$TMP/home/docs" | tr '\n' ' ')"
ok "... and left as it was"

echo garbage > "$TMP/newer/format"
refuse "a malformed format file" 1 "not a nubfs state format" "guest_mem=64M,state=$TMP/newer"

mkdir -p "$TMP/ro"
if mount -t tmpfs -o ro,size=1m tmpfs "$TMP/ro" 2>/dev/null; then
    refuse "a read-only state directory" 1 "state directory $TMP/ro is not writable: Read-only file system" \
        "guest_mem=64M,state=$TMP/ro"
    refuse "a state directory below a read-only one" 1 "cannot create it: Read-only file system" \
        "guest_mem=64M,state=$TMP/ro/sub"
    umount "$TMP/ro"
else
    echo "note: cannot mount a read-only tmpfs here (not root?): read-only case not run"
fi
if [ "$(id -u)" != 0 ]; then
    mkdir -p "$TMP/noperm" && chmod 500 "$TMP/noperm"
    refuse "a state directory without write permission" 1 "not writable: Permission denied" \
        "guest_mem=64M,state=$TMP/noperm"
else
    echo "note: root ignores permission bits: the permission case is for ordinary users"
fi

out=$("$NUBFS" "$MNT2" -f -o "state=$TMP/x,ephemeral" 2>&1); rc=$?
[ $rc = 2 ] || fail "state= with ephemeral: exit $rc, want 2: $out"
[ -e "$TMP/x" ] && fail "state= with ephemeral created $TMP/x"
ok "state= with ephemeral: usage error, exit 2"

# ---- ephemeral: no state directory at all ----------------------------------
ESC2=$(systemd-escape --path "$MNT")
start "guest_mem=64M,ephemeral"
[ -e "/var/lib/nubfs/$ESC2" ] || [ -e "$XDG_STATE_HOME/nubfs/$ESC2" ] && fail "ephemeral made a state directory"
grep -q "state: ephemeral" "$MNT/log" || fail "the log does not say ephemeral"
stop_nubfs "$MNT"
ok "ephemeral: no state directory"
