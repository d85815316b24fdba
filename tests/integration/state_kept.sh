#!/bin/bash
# Kept packages (nubfs(8) STATE DIRECTORY, "Kept packages"): a package
# whose signer is no longer in trust= at a restart is not mounted and
# not deleted: its frame and its caps' files stay (also when a mounted
# package that shared its caps goes), the log names it with the reason,
# stats lists it under "kept"; once its key is trusted again a SIGHUP
# mounts it (byte for byte), and so does a restart. A newer package of
# the same name supersedes a kept one (its frame and the cap files only
# it named go at once). A package that does not re-mount after a guest
# crash (its cap file truncated behind the daemon's back) is kept too:
# frame and cap file stay, logged, in stats; repaired, SIGHUP and a
# restart mount it again.
# usage: state_kept.sh NUBFS NUBFS-PACK EXAMPLES   (77 without KVM/FUSE)
set -u
. "$(dirname "$0")/lib.sh"
NUBFS=$(realpath "${1:?usage}") PACK=$(realpath "${2:?usage}") EX=$(realpath "${3:?usage}")
need_tools fusermount3 mountpoint xxhsum cmp python3

test_dirs kept
ST=$TMP/state
EXP=$TMP/exp
mkdir -p "$EXP" "$TMP/trust"
OPTS="guest_mem=128M,trust=$TMP/trust,state=$ST"

cp "$EX/keys/example.pub" "$TMP/trust/"
"$PACK" keygen "$TMP/second" > /dev/null || fail "keygen"
# The hello package again, signed by the second key: the same caps.
"$PACK" build "$EX/hello/hello.json" -o "$TMP/second.rvf" --key "$TMP/second.key" > /dev/null ||
    fail "build with the second key"
cp "$TMP/second.pub" "$TMP/trust/"

kept() { json "$MNT/stats" 'd["kept_packages"]'; }
# hup N: SIGHUP, then wait for the Nth "kept packages mounted again" line.
hup() {
    kill -HUP "$PID" || fail "kill -HUP"
    for _ in $(seq 1 100); do
        [ "$(grep -c 'kept packages mounted again' "$MNT/log")" -ge "$1" ] && return 0
        sleep 0.05
    done
    fail "no retry of the kept packages logged after SIGHUP $1: $(grep -a 'state:\|trust:' "$MNT/log")"
}

start_nubfs "$NUBFS" "$MNT" "$OPTS"
cp "$EX/hello.rvf" "$EX/pipeline.rvf" "$TMP/second.rvf" "$MNT/ctl/" || fail "cp"
cp "$EX/hello.rvf" "$EX/pipeline.rvf" "$TMP/second.rvf" "$EXP/"
check_state "$PACK" "$MNT" "$ST" "$EXP"
stop_nubfs "$MNT"

# ---- the second key removed, then a restart ---------------------------------------
rm "$TMP/trust/second.pub"
start_nubfs "$NUBFS" "$MNT" "$OPTS"
[ "$(ls "$MNT/ctl" | tr '\n' ' ')" = "hello.rvf pipeline.rvf " ] || fail "ctl/: $(ls "$MNT/ctl")"
FRAME=$(ls "$ST/pkgs" | grep '\.second\.frame$') || fail "the frame of second.rvf was deleted"
grep -q "state: package second.rvf (pkgs/$FRAME) kept, not mounted: .*signed by untrusted key" "$MNT/log" ||
    fail "no log line names the kept package: $(grep -a state: "$MNT/log")"
[ "$(kept)" = 1 ] || fail "stats kept_packages $(kept), want 1"
[ "$(json "$MNT/stats" 'd["kept"][0]["name"]')" = second.rvf ] || fail "stats kept: $(json "$MNT/stats" 'd["kept"]')"
ok "signer no longer trusted at start: not mounted, frame kept, logged, in stats"

# Its caps are hello.rvf's: removing hello.rvf must not take their files.
rm "$MNT/ctl/hello.rvf" || fail "rm hello.rvf"
rm "$EXP/hello.rvf"
for h in $(pkg_caps "$PACK" "$TMP/second.rvf"); do
    [ -f "$ST/caps/$h" ] || fail "caps/$h of the kept package went with hello.rvf"
done
caps_ok "$ST/caps" || fail "a cap file does not hash to its name"
ok "the kept package's cap files stay when the mounted package sharing them goes"

# ---- trusted again: SIGHUP mounts it ---------------------------------------------------
cp "$TMP/second.pub" "$TMP/trust/"
hup 1
cmp -s "$MNT/ctl/second.rvf" "$TMP/second.rvf" || fail "ctl/second.rvf after SIGHUP: not byte for byte"
[ "$(kept)" = 0 ] || fail "stats kept_packages $(kept) after SIGHUP, want 0"
[ -d "$MNT/mounts/second" ] || fail "mounts/second missing after SIGHUP"
grep -q "state: kept package second.rvf (pkgs/$FRAME) mounted again" "$MNT/log" || fail "not logged"
check_state "$PACK" "$MNT" "$ST" "$EXP"
ok "key trusted again + SIGHUP: mounted, byte for byte"
stop_nubfs "$MNT"
start_nubfs "$NUBFS" "$MNT" "$OPTS"
check_state "$PACK" "$MNT" "$ST" "$EXP"
ok "... and after a restart"
stop_nubfs "$MNT"

# ---- a restart with the key back mounts a kept package too ------------------------------
rm "$TMP/trust/second.pub"
start_nubfs "$NUBFS" "$MNT" "$OPTS"
[ "$(kept)" = 1 ] || fail "stats kept_packages $(kept), want 1"
stop_nubfs "$MNT"
cp "$TMP/second.pub" "$TMP/trust/"
start_nubfs "$NUBFS" "$MNT" "$OPTS"
[ "$(kept)" = 0 ] || fail "stats kept_packages $(kept) after a trusted restart, want 0"
check_state "$PACK" "$MNT" "$ST" "$EXP"
ok "key trusted again + restart: mounted"
stop_nubfs "$MNT"

# ---- superseded: a newer second.rvf replaces the kept one ---------------------------------
rm "$TMP/trust/second.pub"
start_nubfs "$NUBFS" "$MNT" "$OPTS"
[ "$(kept)" = 1 ] || fail "stats kept_packages $(kept), want 1"
cp "$EX/hello.rvf" "$MNT/ctl/second.rvf" || fail "cp hello.rvf as second.rvf"
cp "$EX/hello.rvf" "$EXP/second.rvf"
[ "$(kept)" = 0 ] || fail "a newer second.rvf did not supersede the kept one"
grep -q "kept package second.rvf (pkgs/.*) superseded" "$MNT/log" || fail "superseding not logged"
cp "$TMP/second.pub" "$TMP/trust/"
kill -HUP "$PID"
sleep 1
cmp -s "$MNT/ctl/second.rvf" "$EX/hello.rvf" || fail "SIGHUP brought the superseded package back"
stop_nubfs "$MNT"
start_nubfs "$NUBFS" "$MNT" "$OPTS"
check_state "$PACK" "$MNT" "$ST" "$EXP"
ok "a newer package of the same name supersedes a kept one (its frame goes)"
stop_nubfs "$MNT"

# ---- superseded: the caps only the kept package named go at once -------------------
cp "$EX/hello/hello.wasm" "$TMP/"
head -c 3000 /dev/urandom > "$TMP/uniq.bin"
cat > "$TMP/uniq.json" <<EOJ
{"name": "uniq", "version": "1",
 "components": [{"name": "c", "wasm": "hello.wasm", "entry": ["run"]}],
 "regions": [{"name": "data", "policy": "immutable", "data": "uniq.bin", "owner": "c", "read": ["c"]}]}
EOJ
"$PACK" build "$TMP/uniq.json" -o "$TMP/uniq.rvf" --key "$TMP/second.key" > /dev/null || fail "build uniq"
U=$(hash_of "$TMP/uniq.bin")
start_nubfs "$NUBFS" "$MNT" "$OPTS"
cp "$TMP/uniq.rvf" "$MNT/ctl/u.rvf" || fail "cp uniq.rvf"
stop_nubfs "$MNT"
rm "$TMP/trust/second.pub"
start_nubfs "$NUBFS" "$MNT" "$OPTS"
[ "$(kept)" = 1 ] || fail "stats kept_packages $(kept), want 1"
[ -f "$ST/caps/$U" ] || fail "the kept package's own cap file went at start"
cp "$EX/pipeline.rvf" "$MNT/ctl/u.rvf" || fail "cp pipeline.rvf as u.rvf"
cp "$EX/pipeline.rvf" "$EXP/u.rvf"
[ -e "$ST/caps/$U" ] && fail "caps/$U, named only by the superseded kept package, is still there"
check_state "$PACK" "$MNT" "$ST" "$EXP"
ok "superseded: the kept package's frame and the cap files only it named go at once"
stop_nubfs "$MNT"

# ---- a package that does not re-mount after a guest crash is kept ------------------
# Its cap file truncated behind the daemon's back: the start adopts the
# cap as damaged and mounts the package, but the re-mount after a guest
# crash (the hidden test_write_cap knob) cannot read the cap back.
head -c 5000 /dev/urandom > "$PK/dmg.bin"
blob_pkg dmg data=dmg.bin
D=$(hash_of "$PK/dmg.bin")
W=$(hash_of "$EX/hello/hello.wasm")
# crash_damaged: a start with caps/$D truncated, then a guest crash.
crash_damaged() {
    truncate -s 100 "$ST/caps/$D"
    start_nubfs "$NUBFS" "$MNT" "$OPTS,test_ops"
    [ -e "$MNT/ctl/dmg.rvf" ] || fail "dmg.rvf with a damaged cap not mounted at start"
    python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.nubfs.test_write_cap", sys.argv[2].encode())' \
        "$MNT/ctl" "$W" || fail "test_write_cap: the recovery failed"
    grep -q "guest rebooted" "$MNT/log" || fail "the guest did not crash and reboot"
    [ "$(kept)" = 1 ] || fail "stats kept_packages $(kept) after the recovery, want 1"
}
# restart_repaired: caps/$D repaired, a restart mounts dmg.rvf byte for byte.
restart_repaired() {
    cp "$PK/dmg.bin" "$ST/caps/$D"
    start_nubfs "$NUBFS" "$MNT" "$OPTS"
    [ "$(kept)" = 0 ] || fail "stats kept_packages $(kept) after a restart, want 0"
    cmp -s "$MNT/ctl/dmg.rvf" "$PK/dmg.rvf" || fail "ctl/dmg.rvf after a restart: not byte for byte"
    check_state "$PACK" "$MNT" "$ST" "$EXP"
    stop_nubfs "$MNT"
}
start_nubfs "$NUBFS" "$MNT" "$OPTS"
cp "$PK/dmg.rvf" "$MNT/ctl/" || fail "cp dmg.rvf"
stop_nubfs "$MNT"
FRAME=$(ls "$ST/pkgs" | grep '\.dmg\.frame$') || fail "no frame of dmg.rvf"
crash_damaged
[ -e "$MNT/ctl/dmg.rvf" ] && fail "dmg.rvf re-mounted with a damaged cap"
[ -f "$ST/pkgs/$FRAME" ] || fail "the frame of dmg.rvf was deleted by the recovery"
[ -f "$ST/caps/$D" ] || fail "the cap file of dmg.rvf was deleted by the recovery"
grep -q "state: package dmg.rvf (pkgs/$FRAME) kept, not mounted: re-mount after a guest crash failed" "$MNT/log" ||
    fail "no log line names the kept package: $(grep -a 'state:\|re-mount' "$MNT/log")"
[ "$(json "$MNT/stats" 'd["kept"][0]["name"]')" = dmg.rvf ] || fail "stats kept: $(json "$MNT/stats" 'd["kept"]')"
for f in $(ls "$EXP"); do
    cmp -s "$MNT/ctl/$f" "$EXP/$f" || fail "ctl/$f after the recovery: not byte for byte"
done
ok "a package that fails its re-mount after a guest crash: kept (frame, cap file), logged, in stats; the others re-mounted"

# The cause removed (the cap file's bytes back): SIGHUP mounts it, and a restart.
cp "$PK/dmg.bin" "$ST/caps/$D"
hup 1
cmp -s "$MNT/ctl/dmg.rvf" "$PK/dmg.rvf" || fail "ctl/dmg.rvf after SIGHUP: not byte for byte"
[ "$(kept)" = 0 ] || fail "stats kept_packages $(kept) after SIGHUP, want 0"
stop_nubfs "$MNT"
cp "$PK/dmg.rvf" "$EXP/"
restart_repaired
ok "the cap file repaired: SIGHUP mounts the kept package, a restart too, byte for byte"

# Kept across an unmount: the same crash, the daemon stopped, the file repaired.
crash_damaged
stop_nubfs "$MNT"
[ -f "$ST/pkgs/$FRAME" ] || fail "the kept frame of dmg.rvf did not survive the unmount"
restart_repaired
ok "... and kept across an unmount: the repaired cap file and a restart mount it, byte for byte"
