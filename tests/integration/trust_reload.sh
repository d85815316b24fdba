#!/bin/bash
# SIGHUP re-reads trust= (nubfs(8) SIGNALS): a key added to the directory
# is trusted for the next mount, a key removed is refused for the next
# mount (EKEYREJECTED) while the packages it signed stay mounted, also
# through a guest crash and recovery; an unreadable directory keeps the
# old set; the daemon never exits on SIGHUP. trust= is given as ~/trust
# with HOME set here, so nubfs's own `~` expansion is what finds it.
# usage: trust_reload.sh NUBFS NUBFS_PACK EXAMPLES_DIR   (77 without KVM/FUSE)
set -u
. "$(dirname "$0")/lib.sh"
NUBFS=$(realpath "${1:?usage}") PACK=$(realpath "${2:?usage}") EX=$(realpath "${3:?usage}")
need_tools fusermount3 mountpoint python3 cmp
[ -f "$EX/hello.rvf" ] && [ -f "$EX/hello/hello.json" ] || fail "examples not built"

TMP=$(mktemp -d /tmp/nubfs-hup-XXXXXX) || fail mktemp
MNT=$TMP/mnt
mkdir -p "$MNT" "$TMP/trust"
PID=
trap 'cleanup_nubfs "$MNT"; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM
export HOME=$TMP

cp "$EX/keys/example.pub" "$TMP/trust/"
"$PACK" keygen "$TMP/second" > /dev/null || fail "keygen"
"$PACK" build "$EX/hello/hello.json" -o "$TMP/second.rvf" --key "$TMP/second.key" > /dev/null ||
    fail "build with the second key"

start_nubfs "$NUBFS" "$MNT" "trust=~/trust,test_ops"
trusted() { json "$MNT/stats" 'd["trusted_keys"]'; }
# hup N: send SIGHUP and wait for the Nth reload in the log.
hup() {
    kill -HUP "$PID" || fail "kill -HUP"
    for _ in $(seq 1 100); do
        [ "$(grep -c 'trust: SIGHUP' "$MNT/log")" -ge "$1" ] && break
        sleep 0.05
    done
    [ "$(grep -c 'trust: SIGHUP' "$MNT/log")" -ge "$1" ] || fail "no reload logged after SIGHUP $1"
    kill -0 "$PID" 2>/dev/null || fail "nubfs exited on SIGHUP"
    mountpoint -q "$MNT" || fail "not mounted after SIGHUP"
}
# refused FILE NAME: cp fails with EKEYREJECTED.
refused() {
    local out
    out=$(cp "$1" "$MNT/ctl/$2" 2>&1) && fail "cp $1 to ctl/$2 was accepted"
    echo "$out" | grep -q 'Key was rejected' || fail "cp $1: $out"
}

cp "$EX/hello.rvf" "$MNT/ctl/" || fail "cp hello.rvf signed by the trusted key"
refused "$TMP/second.rvf" second.rvf
[ "$(trusted)" = 1 ] || fail "trusted_keys $(trusted), want 1"
ok "~/trust expanded by nubfs; one key trusted, the other signer refused"

cp "$TMP/second.pub" "$TMP/trust/"
hup 1
cp "$TMP/second.rvf" "$MNT/ctl/" || fail "cp second.rvf after its key was added and SIGHUP"
[ "$(trusted)" = 2 ] || fail "trusted_keys $(trusted) after adding, want 2"
grep -q 'trust: added key' "$MNT/log" || fail "the added key is not logged"
ok "add a key + SIGHUP: a package it signed mounts"

rm "$TMP/trust/example.pub"
hup 2
refused "$EX/hello.rvf" again.rvf
[ -d "$MNT/mounts/hello" ] || fail "hello unmounted by the reload"
cmp -s "$EX/hello.rvf" "$MNT/ctl/hello.rvf" || fail "ctl/hello.rvf changed"
grep -q 'trust: removed key' "$MNT/log" || fail "the removed key is not logged"
[ "$(trusted)" = 1 ] || fail "trusted_keys $(trusted) after removing, want 1"
ok "remove a key + SIGHUP: EKEYREJECTED for new mounts, hello stays mounted"

# A guest crash: recovery re-mounts hello though its key is gone now.
python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.nubfs.test_crash_mount", b"1")' "$MNT/ctl" ||
    fail "setxattr test_crash_mount"
out=$(cp "$TMP/second.rvf" "$MNT/ctl/crash.rvf" 2>&1) && fail "the crashing mount succeeded"
echo "$out" | grep -q 'Input/output error' || fail "crashing mount: $out"
[ -d "$MNT/mounts/hello" ] && [ -d "$MNT/mounts/second" ] ||
    fail "recovery dropped a mounted package: $(ls "$MNT/mounts" | tr '\n' ' ')"
ok "recovery re-mounts a package whose key was removed since"

# A directory that cannot be read: the old set stays.
mv "$TMP/trust" "$TMP/trust.away"
hup 3
grep -q 'keeping the 1 key' "$MNT/log" || fail "an unreadable trust= is not logged"
mv "$TMP/trust.away" "$TMP/trust"
cp "$TMP/second.rvf" "$MNT/ctl/second2.rvf" || fail "the old set was not kept"
ok "unreadable trust= on SIGHUP: logged, the keys trusted before stay"

stop_nubfs "$MNT"

# A SIGHUP the moment a detached nubfs has returned (its helper threads,
# the SIGHUP one among them, start after the parent is told): a reload,
# not a stop.
"$NUBFS" "$MNT" -o "trust=~/trust,ephemeral" || fail "nubfs (detached) exited $?"
PID=$(pgrep -n -f -- "$MNT") || fail "no daemon for $MNT"
hup 1
fusermount3 -u "$MNT" || fail "fusermount3 -u"
PID=
ok "SIGHUP right after a detached start: reloaded, still mounted"
ok "SIGHUP"
