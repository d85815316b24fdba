#!/bin/bash
# Acknowledged packages survive (DESIGN §10, nubfs(8) STATE DIRECTORY):
# after a clean unmount, a SIGTERM, a SIGKILL, every package cp/mv/rm
# acknowledged is back, in order, before the mount is ready; ctl/ reads
# back byte for byte with its mode and times; the state directory holds
# nothing else (check_state in lib.sh). Also: rm, replace, rename and
# chmod survive; 100 packages; a frame whose cap file is gone and a cap
# file no frame holds are removed and logged; a corrupt backing file
# still starts without verify; preloaded files are not rewritten to caps/
# at every start.
# usage: state_restart.sh NUBFS NUBFS-PACK EXAMPLES   (77 without KVM/FUSE)
set -u
. "$(dirname "$0")/lib.sh"
NUBFS=$(realpath "${1:?usage}") PACK=$(realpath "${2:?usage}") EX=$(realpath "${3:?usage}")
need_tools fusermount3 mountpoint xxhsum cmp python3 stat

test_dirs restart
ST=$TMP/state
EXP=$TMP/exp
mkdir -p "$EXP"
OPTS="guest_mem=128M,trust=$EX/keys,state=$ST"

# killed SIG: the daemon gets SIG and goes; the dead mount is cleared.
killed() {
    kill "-$1" "$PID"
    wait "$PID" 2>/dev/null
    PID=
    fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -u -z "$MNT" 2>/dev/null
}
restart() {
    start_nubfs "$NUBFS" "$MNT" "$OPTS"
    # The daemon's own copy of its log ($MNT.log, -f): the packages' tasks
    # may log enough lines to push the replay out of the ring of `log`.
    grep -q "state: re-mounted" "$MNT.log" || fail "the log does not report the replay"
}

start_nubfs "$NUBFS" "$MNT" "$OPTS"
cp "$EX/hello.rvf" "$EX/pipeline.rvf" "$EX/fanout.rvf" "$MNT/ctl/" || fail "cp"
cp "$EX/hello.rvf" "$EX/pipeline.rvf" "$EX/fanout.rvf" "$EXP/"
chmod 600 "$MNT/ctl/pipeline.rvf" || fail chmod
touch -d '2001-02-03 04:05:06.5' "$MNT/ctl/fanout.rvf" || fail touch
modes() { stat -c '%n %a %Y' "$MNT"/ctl/* | sed "s|$MNT/ctl/||"; }
M0=$(modes)
check_state "$PACK" "$MNT" "$ST" "$EXP"
ORDER0=$(ls "$ST/pkgs" | tr '\n' ' ')
ok "3 packages mounted: state directory as expected"

stop_nubfs "$MNT"
restart
check_state "$PACK" "$MNT" "$ST" "$EXP"
[ "$(modes)" = "$M0" ] || fail "mode/times after restart: $(modes), want $M0"
[ "$(ls "$ST/pkgs" | tr '\n' ' ')" = "$ORDER0" ] || fail "frames changed by a replay"
# In their original order: mounts/<name>/info says when each was mounted.
grep -o 're-mounted 3 of 3' "$MNT/log" >/dev/null || fail "not 3 of 3 re-mounted"
ok "after a clean unmount: ls ctl, cmp, ls caps, xxhsum, modes and times as before"

killed TERM
restart
check_state "$PACK" "$MNT" "$ST" "$EXP"
ok "after SIGTERM"

killed KILL
restart
check_state "$PACK" "$MNT" "$ST" "$EXP"
ok "after SIGKILL"

# rm, replace, rename: each survives a SIGKILL right after it returned.
rm "$MNT/ctl/hello.rvf" || fail rm
rm "$EXP/hello.rvf"
killed KILL
restart
check_state "$PACK" "$MNT" "$ST" "$EXP"
ok "rm survives SIGKILL; its caps' files went"

cp "$EX/hello.rvf" "$MNT/ctl/fanout.rvf" || fail "replace"
cp "$EX/hello.rvf" "$EXP/fanout.rvf"
mv "$MNT/ctl/pipeline.rvf" "$MNT/ctl/pipe2.rvf" || fail "rename"
mv "$EXP/pipeline.rvf" "$EXP/pipe2.rvf"
killed KILL
restart
check_state "$PACK" "$MNT" "$ST" "$EXP"
[ "$(stat -c %a "$MNT/ctl/pipe2.rvf")" = 600 ] || fail "a renamed package lost its mode"
ok "replace and rename survive SIGKILL"

# A replayed package (its payloads still in caps/ only) moved onto a
# dot-file keeps all its bytes, and moving it back mounts it again.
mv "$MNT/ctl/pipe2.rvf" "$MNT/ctl/.stash" || fail "mv a replayed package onto a dot-file"
cmp -s "$MNT/ctl/.stash" "$EXP/pipe2.rvf" || fail "the replayed package moved onto a dot-file lost bytes"
[ -d "$MNT/mounts/pipe2" ] && fail "mounts/pipe2 still there after the move onto a dot-file"
mv "$MNT/ctl/.stash" "$MNT/ctl/pipe2.rvf" || fail "mv the stash back"
[ -d "$MNT/mounts/pipe2" ] || fail "moved back: not mounted"
check_state "$PACK" "$MNT" "$ST" "$EXP"
ok "a replayed package moved onto a dot-file keeps every byte; moved back, it mounts again"
# A mounted package moved onto a dot-file is no longer a package.
mv "$MNT/ctl/pipe2.rvf" "$MNT/ctl/.stash" || fail "mv onto a dot-file"
rm "$EXP/pipe2.rvf"
stop_nubfs "$MNT"
restart
check_state "$PACK" "$MNT" "$ST" "$EXP"
ok "moved onto a dot-file: not re-mounted (a staged file does not survive)"

# ---- damage: a missing cap file, a stray file, a corrupt backing file ------
stop_nubfs "$MNT"
CAP=$(pkg_caps "$PACK" "$EX/hello.rvf" | tail -n1)
echo junk > "$ST/caps/0123456789abcdef0123456789abcdef"
echo junk > "$ST/caps/.new-77"
echo junk > "$ST/pkgs/.tmp-0000000000000099"
restart
check_state "$PACK" "$MNT" "$ST" "$EXP"
grep -q "removed caps/0123456789abcdef0123456789abcdef (no package holds it)" "$MNT/log" ||
    fail "the stray cap file is not logged"
grep -q "removed pkgs/.tmp-0000000000000099" "$MNT/log" || fail "the stray .tmp frame is not logged"
ok "cap files no frame holds and unfinished frames are removed and logged"
stop_nubfs "$MNT"
rm "$ST/caps/$CAP"
restart
grep -q "package fanout.rvf .* not re-mounted, its frame removed: cap $CAP (.*): missing" "$MNT/log" ||
    fail "a frame with a missing cap is not logged: $(grep state: "$MNT/log")"
rm "$EXP/fanout.rvf"
check_state "$PACK" "$MNT" "$ST" "$EXP"
ok "a frame whose cap file is missing is removed and logged, the rest mounted"
stop_nubfs "$MNT"

# ---- 100 packages -----------------------------------------------------------
rm -rf "$ST" "$EXP"
mkdir -p "$EXP"
for i in $(seq -w 1 100); do
    # Every 10th has a 96 KiB region (a file of its own), the rest 1 KiB (packed).
    if [ $((10#$i % 10)) = 0 ]; then n=96; else n=1; fi
    head -c $((n * 1024 - 8)) /dev/urandom > "$PK/d$i.bin"
    printf 'pkg %s\n' "$i" >> "$PK/d$i.bin"
    blob_pkg "p$i" "data=d$i.bin"
    mv "$PK/p$i.rvf" "$EXP/"
done
start_nubfs "$NUBFS" "$MNT" "$OPTS"
cp "$EXP"/p*.rvf "$MNT/ctl/" || fail "cp 100 packages"
killed KILL
restart
check_state "$PACK" "$MNT" "$ST" "$EXP"
grep -o 'state: re-mounted 100 of 100 packages in [0-9.]* ms' "$MNT.log" || fail "not 100 of 100"
ok "100 packages back after SIGKILL"
stop_nubfs "$MNT"

# ---- preloaded files are not written to caps/ again at every start -------------
rm -rf "$ST"
mkdir -p "$TMP/pre"
head -c 200000 /dev/urandom > "$TMP/pre/big"   # a file of its own
head -c 3000 /dev/urandom > "$TMP/pre/small"   # packed
B=$(hash_of "$TMP/pre/big")
S=$(hash_of "$TMP/pre/small")
PRE="$OPTS,preload=$TMP/pre"
start_nubfs "$NUBFS" "$MNT" "$PRE"
[ -f "$ST/caps/$B" ] && [ -f "$ST/caps/$S" ] || fail "preloaded caps have no files in $ST/caps"
stop_nubfs "$MNT"
files() { stat -c '%n %i %y' "$ST/caps/$B" "$ST/caps/$S"; }
BEFORE=$(files)
start_nubfs "$NUBFS" "$MNT" "$PRE"
[ "$(files)" = "$BEFORE" ] || fail "preloaded cap files were written again: $BEFORE -> $(files)"
[ "$(json "$MNT/stats" 'd["store"]["reused_files"]')" = 2 ] ||
    fail "stats store.reused_files $(json "$MNT/stats" 'd["store"]["reused_files"]'), want 2"
cmp -s "$MNT/caps/$B" "$TMP/pre/big" && cmp -s "$MNT/caps/$S" "$TMP/pre/small" || fail "preloaded caps read wrong"
[ "$(ls -A "$ST/caps" | sort | tr '\n' ' ')" = "$(printf '%s\n' "$B" "$S" | sort | tr '\n' ' ')" ] ||
    fail "caps/ holds $(ls -A "$ST/caps")"
ok "a restart with preload=: the cap files already there (same length, same bytes) are not rewritten"
stop_nubfs "$MNT"
# Same length, other bytes: compared, so written again.
python3 -c 'import sys; f=open(sys.argv[1],"r+b"); f.seek(5); b=f.read(1); f.seek(5); f.write(bytes([b[0]^1]))' "$ST/caps/$B"
start_nubfs "$NUBFS" "$MNT" "$PRE"
cmp -s "$ST/caps/$B" "$TMP/pre/big" || fail "a cap file with other bytes was not rewritten"
[ "$(json "$MNT/stats" 'd["store"]["reused_files"]')" = 1 ] || fail "reused_files, want 1"
ok "... one with the same length but other bytes is written again"
stop_nubfs "$MNT"
