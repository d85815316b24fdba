#!/bin/bash
# nubfs as a service (nubfs(8) SERVICE, FSTAB): `cmake --install` into a
# scratch prefix puts nubfs and nubfs@.service there; the unit passes
# `systemd-analyze verify`; nubfs speaks the sd_notify protocol to
# $NOTIFY_SOCKET (READY=1 once mounted, RELOADING=1 and READY=1 around a
# SIGHUP, STOPPING=1 on unmount); and `mount -T FSTAB` mounts a
# fuse.nubfs line with the installed nubfs found on mount's PATH.
# usage: service.sh SOURCE_DIR BUILD_DIR EXAMPLES_DIR   (77 without KVM/FUSE)
set -u
SRC=$(realpath "${1:?usage}")
BUILD=$(realpath "${2:?usage}")
EX=$(realpath "${3:?usage}")
. "$(dirname "$0")/lib.sh"
need_tools cmake fusermount3 mountpoint systemd-analyze systemd-escape python3 mount umount cmp

TMP=$(mktemp -d /tmp/nubfs-svc-XXXXXX) || fail mktemp
MNT=$TMP/mnt
mkdir -p "$MNT"
PID=
LINKED=
trap 'cleanup_nubfs "$MNT"; [ -n "${LISTENER:-}" ] && kill "$LISTENER" 2>/dev/null; [ -n "$LINKED" ] && rm -f "$LINKED"; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM

# ---- install into a scratch prefix -----------------------------------------
P=$TMP/prefix
cmake --install "$BUILD" --prefix "$P" > "$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; fail "cmake --install"; }
UNIT=$P/lib/systemd/system/nubfs@.service
[ -x "$P/bin/nubfs" ] || fail "no $P/bin/nubfs"
[ -f "$UNIT" ] || fail "no $UNIT"
grep -qx "ExecStart=$P/bin/nubfs %f -f \$NUBFS_ARGS" "$UNIT" || fail "ExecStart: $(grep ExecStart "$UNIT")"
grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$UNIT" || fail "no ExecReload=SIGHUP"
grep -qx 'Type=notify' "$UNIT" || fail "not Type=notify"
ok "cmake --install: $P/bin/nubfs and nubfs@.service naming it"

# ---- systemd-analyze verify on an instance ---------------------------------
INST=nubfs@$(systemd-escape --path "$MNT").service
mkdir -p "$TMP/units"
cp "$UNIT" "$TMP/units/$INST"
out=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$TMP/units/$INST" 2>&1)
rc=$?
if [ $rc != 0 ] && echo "$out" | grep -qiE 'Failed to (initialize|connect|create)|No such file or directory.*(bus|/run/systemd)'; then
    echo "note: systemd-analyze cannot run here: $out"
    echo "SKIP-PART: systemd-analyze verify"
else
    [ $rc = 0 ] || fail "systemd-analyze verify $INST: $out"
    # It says nothing about a good unit; anything it says about ours is a defect.
    if echo "$out" | grep -F "$INST" | grep -v 'ConditionPathIsDirectory'; then
        fail "systemd-analyze verify complains: $out"
    fi
    ok "systemd-analyze verify $INST"
fi

# ---- sd_notify ---------------------------------------------------------------
# A stand-in for systemd's notify socket: prints each datagram on a line.
python3 - "$TMP/notify" > "$TMP/notes" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    msg = s.recv(4096).decode()
    print(msg.replace("\n", " "), flush=True)
PY
LISTENER=$!
for _ in $(seq 1 50); do [ -S "$TMP/notify" ] && break; sleep 0.1; done
[ -S "$TMP/notify" ] || fail "the notify listener did not start"
NOTIFY_SOCKET=$TMP/notify start_nubfs "$P/bin/nubfs" "$MNT" "trust=$EX/keys"
# note PATTERN: wait until a datagram matches.
note() {
    for _ in $(seq 1 100); do grep -q -- "$1" "$TMP/notes" && return 0; sleep 0.05; done
    fail "no '$1' from nubfs on NOTIFY_SOCKET; got: $(cat "$TMP/notes")"
}
note "^READY=1 STATUS=serving $MNT\$"
kill -HUP "$PID"
note '^RELOADING=1$'
[ "$(grep -c '^READY=1' "$TMP/notes")" -ge 1 ] || fail "READY=1"
for _ in $(seq 1 100); do [ "$(grep -c '^READY=1' "$TMP/notes")" -ge 2 ] && break; sleep 0.05; done
[ "$(grep -c '^READY=1' "$TMP/notes")" -ge 2 ] || fail "no READY=1 after the reload: $(cat "$TMP/notes")"
stop_nubfs "$MNT"
note '^STOPPING=1$'
kill "$LISTENER" 2>/dev/null
LISTENER=
ok "sd_notify: READY=1 when mounted, RELOADING=1 + READY=1 on SIGHUP, STOPPING=1"

# ---- fstab: mount -T -----------------------------------------------------------
# libmount runs the helper without PATH, so mount.fuse3's `sh -c nubfs`
# searches sh's default PATH: nubfs must be installed there (nubfs(8) FSTAB).
SYS=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# fstab_mount DESC LINE: mount -T a scratch fstab holding LINE, use the
# mount, umount it, and see the daemon go.
fstab_mount() {
    local desc=$1 src
    printf '# a scratch fstab\n%s\n' "$2" > "$TMP/fstab"
    src=$(echo "$2" | awk '{print $1}')
    rm -rf "$TMP/state"
    out=$(mount -T "$TMP/fstab" "$MNT" 2>&1) || {
        [ $? = 69 ] && skip "nubfs cannot use KVM or FUSE here: $out"
        fail "$desc: mount -T $TMP/fstab $MNT: $out"
    }
    mountpoint -q "$MNT" || fail "$desc: mount -T returned but $MNT is not mounted"
    grep -q "^${src##*#} $MNT fuse.nubfs " /proc/mounts || fail "$desc: /proc/mounts: $(grep "$MNT" /proc/mounts)"
    cp "$EX/hello.rvf" "$MNT/ctl/" || fail "$desc: cp hello.rvf into the fstab mount"
    cmp -s "$EX/hello.rvf" "$MNT/ctl/hello.rvf" || fail "$desc: ctl/hello.rvf differs"
    [ "$(cat "$TMP/state/format")" = "nubfs-state 2" ] || fail "$desc: state= from fstab not used"
    umount "$MNT" || fail "$desc: umount"
    for _ in $(seq 1 50); do pgrep -f "nubfs ${src##*#} $MNT" > /dev/null || break; sleep 0.1; done
    pgrep -f "nubfs ${src##*#} $MNT" > /dev/null && fail "$desc: the daemon did not exit after umount"
    ok "$desc: mount -T, cp into ctl/, umount stops the daemon"
}
OPTS="trust=$EX/keys,state=$TMP/state,noauto"
# The full path in the source field needs nothing on PATH.
fstab_mount "fstab line 'PATH#SOURCE ... fuse'" "$P/bin/nubfs#nubfs-fstab  $MNT  fuse  $OPTS  0  0"
LINE="nubfs-fstab  $MNT  fuse.nubfs  $OPTS  0  0"
if ! PATH=$SYS command -v nubfs > /dev/null; then
    printf '%s\n' "$LINE" > "$TMP/fstab"
    out=$(mount -T "$TMP/fstab" "$MNT" 2>&1) && fail "fuse.nubfs mounted without nubfs on mount's PATH"
    mountpoint -q "$MNT" && fail "mounted without nubfs on mount's PATH"
    echo "$out" | grep -q 'nubfs: not found' || fail "without nubfs on PATH: $out"
    ok "fuse.nubfs without nubfs on mount's PATH fails: $out"
    # Installed where mount looks, for this test only.
    ln -s "$P/bin/nubfs" /usr/local/sbin/nubfs || fail "ln -s into /usr/local/sbin"
    LINKED=/usr/local/sbin/nubfs
fi
[ "$(PATH=$SYS command -v nubfs)" = "${LINKED:-$(PATH=$SYS command -v nubfs)}" ] || fail "PATH lookup"
fstab_mount "fstab line 'fuse.nubfs'" "$LINE"
