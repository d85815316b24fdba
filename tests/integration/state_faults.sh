#!/bin/bash
# Disk faults of the state directory (DESIGN §10, nubfs(8) STATE
# DIRECTORY): a backing file corrupted behind nubfs's back (without
# verify nubfs still starts and serves it; with verify the read gets EIO,
# the log names the cap and stats counts it, other caps read on), and a
# full state file system (a 1 MiB tmpfs): cp gets ENOSPC and nothing
# changes, in the mount or in the state directory, also after a restart.
# (Read-only and forbidden state directories, a newer format and two
# daemons on one directory: state.sh.)
# usage: state_faults.sh NUBFS NUBFS-PACK EXAMPLES   (77 without KVM/FUSE)
set -u
. "$(dirname "$0")/lib.sh"
NUBFS=$(realpath "${1:?usage}") PACK=$(realpath "${2:?usage}") EX=$(realpath "${3:?usage}")
need_tools fusermount3 mountpoint xxhsum cmp python3

test_dirs faults 'mountpoint -q "$TMP/small" 2>/dev/null && umount "$TMP/small"'
ST=$TMP/state
EXP=$TMP/exp
mkdir -p "$EXP"

# blob NAME KIB: a signed package with an immutable region "data" of KIB KiB.
blob() {
    head -c $(($2 * 1024)) /dev/urandom > "$PK/$1.bin"
    blob_pkg "$1" "data=$1.bin"
}

WASM=$(hash_of "$EX/hello/hello.wasm")
# ---- a corrupted backing file -------------------------------------------------
blob big 200
blob small 2
OPTS="guest_mem=128M,trust=$EX/keys,state=$ST"
start_nubfs "$NUBFS" "$MNT" "$OPTS"
cp "$PK/big.rvf" "$PK/small.rvf" "$MNT/ctl/" || fail "cp"
stop_nubfs "$MNT"
BIG=$(hash_of "$PK/big.bin")
SMALL=$(hash_of "$PK/small.bin")
[ -f "$ST/caps/$BIG" ] && [ -f "$ST/caps/$SMALL" ] || fail "the regions' caps have no files in $ST/caps"
# One byte changed in place in each, sizes kept.
flip() { python3 -c 'import sys; f=open(sys.argv[1],"r+b"); f.seek(int(sys.argv[2])); b=f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0]^0xff]))' "$1" "$2"; }
flip "$ST/caps/$BIG" 100000
flip "$ST/caps/$SMALL" 1000

start_nubfs "$NUBFS" "$MNT" "$OPTS"
[ "$(ls "$MNT/ctl" | tr '\n' ' ')" = "big.rvf small.rvf " ] || fail "without verify: ctl/ is $(ls "$MNT/ctl")"
[ "$(xxhsum -H2 "$MNT/caps/$BIG" 2>/dev/null | awk '{print $1}')" != "$BIG" ] ||
    fail "without verify: caps/$BIG reads as its name (was the file not corrupted?)"
ok "without verify: starts, both packages mounted, the corrupt bytes served as they are"
stop_nubfs "$MNT"

start_nubfs "$NUBFS" "$MNT" "$OPTS,verify"
# Every read path that serves the files' bytes: a region under mounts/,
# the package's own bytes in ctl/, and caps/.
eio() {
    local err
    err=$(cat "$1" 2>&1 >/dev/null)
    case "$err" in *"Input/output error"*) ;; *) fail "$2: cat $1: '$err', want EIO" ;; esac
}
eio "$MNT/mounts/big/regions/data" verify
grep -q "verify: cap $BIG: .* (a region under mounts/): EIO" "$MNT/log" ||
    fail "verify: the region read is not logged with the cap's name"
eio "$MNT/ctl/small.rvf" verify
grep -q "verify: cap $SMALL: .* (the package in ctl/): EIO" "$MNT/log" ||
    fail "verify: the ctl/ read is not logged with the cap's name"
ok "verify: a region under mounts/ and a package in ctl/ served from corrupt files get EIO too"
for h in "$BIG" "$SMALL"; do
    err=$(cat "$MNT/caps/$h" 2>&1 >/dev/null)
    case "$err" in *"Input/output error"*) ;; *) fail "verify: cat caps/$h: '$err', want EIO" ;; esac
    grep -q "verify: cap $h: its file in the state directory no longer hashes to its name" "$MNT/log" ||
        fail "verify: the log does not name cap $h"
done
[ "$(json "$MNT/stats" 'd["verify_failures"]')" -ge 2 ] || fail "stats verify_failures: $(json "$MNT/stats" 'd["verify_failures"]')"
cmp -s "$MNT/caps/$WASM" "$EX/hello/hello.wasm" || fail "verify: an intact cap does not read"
ok "verify: EIO for both corrupt caps (own file and packed), logged by name, counted; intact caps read"
stop_nubfs "$MNT"
rm -rf "$ST"

# ---- a truncated backing file: EIO, never a signal ----------------------------------
start_nubfs "$NUBFS" "$MNT" "$OPTS"
cp "$PK/big.rvf" "$PK/small.rvf" "$MNT/ctl/" || fail "cp"
stop_nubfs "$MNT"
truncate -s 1000 "$ST/caps/$BIG"
truncate -s 100 "$ST/caps/$SMALL"
start_nubfs "$NUBFS" "$MNT" "$OPTS"
[ "$(ls "$MNT/ctl" | tr '\n' ' ')" = "big.rvf small.rvf " ] || fail "truncated: ctl/ is $(ls "$MNT/ctl")"
grep -q "state: caps/$BIG is damaged" "$MNT/log" || fail "the truncated file is not logged at start"
for h in "$BIG" "$SMALL"; do
    eio "$MNT/caps/$h" truncated
    grep -q "cap $h (caps/): its file in .* is damaged" "$MNT/log" || fail "the refused read of $h is not logged"
done
eio "$MNT/mounts/big/regions/data" truncated
eio "$MNT/ctl/big.rvf" truncated
[ "$(json "$MNT/stats" 'd["store"]["damaged_caps"]')" = 2 ] ||
    fail "stats store.damaged_caps: $(json "$MNT/stats" 'd["store"]["damaged_caps"]'), want 2"
kill -0 "$PID" 2>/dev/null || fail "the daemon died reading a truncated cap"
cmp -s "$MNT/caps/$WASM" "$EX/hello/hello.wasm" || fail "truncated: an intact cap does not read"
ok "truncated cap files at start: their reads get EIO (caps/, the region, ctl/), logged, counted; the daemon lives, other caps read"
stop_nubfs "$MNT"
rm -rf "$ST"

# Truncated while mounted: the mapping would fault; the open is refused.
start_nubfs "$NUBFS" "$MNT" "$OPTS,verify"
cp "$PK/big.rvf" "$MNT/ctl/" || fail "cp"
truncate -s 4096 "$ST/caps/$BIG"
eio "$MNT/caps/$BIG" "truncated while mounted"
grep -q "cap $BIG (caps/): its file in .* is damaged .*, found now: EIO" "$MNT/log" ||
    fail "the truncation found at open is not logged: $(grep -a "$BIG" "$MNT/log")"
# A package bringing the same cap cannot be compared with a short file.
cp "$PK/big.rvf" "$MNT/ctl/again.rvf" 2>/dev/null && fail "a package sharing a truncated cap mounted"
kill -0 "$PID" 2>/dev/null || fail "the daemon died on a cap truncated under it"
cmp -s "$MNT/caps/$WASM" "$EX/hello/hello.wasm" || fail "an intact cap does not read"
ok "a cap file truncated while mounted: EIO at open (verify or not), a package sharing it refused, the daemon lives"
stop_nubfs "$MNT"
rm -rf "$ST"

# ---- a full state file system ---------------------------------------------------
mkdir -p "$TMP/small"
if ! mount -t tmpfs -o size=1m tmpfs "$TMP/small" 2>/dev/null; then
    echo "note: cannot mount a small tmpfs here (not root?): ENOSPC case not run"
    exit 0
fi
ST=$TMP/small/st
OPTS="guest_mem=128M,trust=$EX/keys,state=$ST"
start_nubfs "$NUBFS" "$MNT" "$OPTS"
cp "$EX/hello.rvf" "$MNT/ctl/" || fail "cp hello.rvf onto a small state file system"
cp "$EX/hello.rvf" "$EXP/"
blob huge 1500
BEFORE=$(state "$MNT")
err=$(cp "$PK/huge.rvf" "$MNT/ctl/" 2>&1) && fail "cp of 1.5 MiB onto a 1 MiB state file system succeeded"
case "$err" in *"No space left on device"*) ;; *) fail "cp: '$err', want ENOSPC" ;; esac
grep -q "huge.rvf: segment [0-9]*: no space for cap .* the state directory's file system is full" "$MNT/log" ||
    fail "the log does not say the state file system is full: $(grep huge "$MNT/log")"
[ "$(state "$MNT")" = "$BEFORE" ] || fail "a refused mount changed the tree: $(state "$MNT")"
check_state "$PACK" "$MNT" "$ST" "$EXP"
ok "full state file system: cp gets ENOSPC, the tree and the state directory unchanged"
# A replace that does not fit keeps the old package.
err=$(cp "$PK/huge.rvf" "$MNT/ctl/hello.rvf" 2>&1) && fail "a replace that does not fit succeeded"
check_state "$PACK" "$MNT" "$ST" "$EXP"
ok "a replace that does not fit: ENOSPC, the old package stays"
stop_nubfs "$MNT"
start_nubfs "$NUBFS" "$MNT" "$OPTS"
check_state "$PACK" "$MNT" "$ST" "$EXP"
ok "... and after a restart"
stop_nubfs "$MNT"
