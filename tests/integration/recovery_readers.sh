#!/bin/bash
# Issue 8 item 8, recovery without a gap: while the guest is made to
# crash again and again (the hidden test_write_cap knob: a guest store
# into a cap's read-only memory poisons it; the daemon reboots it and
# re-mounts every package), readers of caps/ (fresh opens: cat) and of
# mounts/ (info, a region, listings) wait or are served, and never get
# ENOENT, nor any other error. The cap files outlive every reboot:
# re-mounting maps the same store objects again, nothing is created or
# copied (stats store.created stays), and a descriptor open across the
# crashes reads the same bytes. NUBFS_GAP_SECS (default 10) is how long.
# Exits 77 if KVM or FUSE is unusable here.
# usage: recovery_readers.sh PATH/TO/nubfs PATH/TO/nubfs-pack EXAMPLES_DIR
set -u
. "$(dirname "$0")/lib.sh"
. "$HERE/readers.sh"
NUBFS=${1:?usage} PACK=${2:?usage} EX=${3:?usage}
need_tools fusermount3 mountpoint xxhsum python3 cmp
test_dirs gap 'exec 3<&- 2>/dev/null; [ -n "${READER_PIDS[*]}" ] && { : > "$TMP/rd/stop"; wait; }'

head -c $((1 << 20)) /dev/urandom > "$PK/big.bin"
head -c 3000 /dev/urandom > "$PK/small.bin"
blob_pkg life big=big.bin small=small.bin
BIG=$(hash_of "$PK/big.bin")
SMALL=$(hash_of "$PK/small.bin")
BANNER=$(hash_of "$EX/pipeline/banner.txt")
store() { json "$MNT/stats" "d['store']['$1']"; }

start_nubfs "$NUBFS" "$MNT" "trust=$EX/keys,guest_mem=64M,test_ops"
cp "$PK/life.rvf" "$EX/pipeline.rvf" "$EX/hello.rvf" "$MNT/ctl/" || fail "cp the packages"
cmp -s "$MNT/caps/$BIG" "$PK/big.bin" || fail "caps/$BIG"
created0=$(store created)
files0=$(store own_files)
exec 3< "$MNT/caps/$BIG"

readers_start "$TMP/rd" "$MNT/caps/$BIG" "$MNT/caps/$SMALL" "$MNT/caps/$BANNER" \
    "$MNT/mounts/life/regions/small" "$MNT/mounts/pipeline/regions/banner" \
    "$MNT/mounts/pipeline/info" "ls:$MNT/mounts/life/regions" "ls:$MNT/mounts"
secs=${NUBFS_GAP_SECS:-10}
end=$((SECONDS + secs))
crashes=0
while [ $SECONDS -lt $end ]; do
    # Alternately the big cap (own file) and the small one (a pack).
    h=$BIG
    [ $((crashes % 2)) = 1 ] && h=$SMALL
    python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.nubfs.test_write_cap", sys.argv[2].encode())' \
        "$MNT/ctl" "$h" || { readers_stop "$TMP/rd"; fail "test_write_cap: the recovery failed"; }
    crashes=$((crashes + 1))
    sleep 0.05
done
readers_stop "$TMP/rd"
reads=$(cat "$TMP/rd/reads")
[ "$(json "$MNT/stats" 'd["reboots"]')" = $crashes ] ||
    fail "stats reboots $(json "$MNT/stats" 'd["reboots"]'), want $crashes"
grep -q 're-mounted 3 of 3 packages' "$MNT/log" || fail "log: no re-mount of the 3 packages"
[ -s "$TMP/rd/enoent" ] && fail "$(wc -l < "$TMP/rd/enoent") of $reads reads got ENOENT across $crashes crashes: $(head -n 3 "$TMP/rd/enoent")"
[ -s "$TMP/rd/errors" ] && fail "$(wc -l < "$TMP/rd/errors") of $reads reads failed across $crashes crashes: $(head -n 3 "$TMP/rd/errors")"
[ "$reads" -gt $((crashes * 2)) ] || fail "only $reads reads across $crashes crashes"
ok "$crashes guest crashes and recoveries in ${secs} s, $reads reads of caps/ and mounts/ by 8 readers: none failed, no ENOENT"

[ "$(store created)" = "$created0" ] || fail "store created $(store created), want $created0: the re-mounts made new cap files"
[ "$(store own_files)" = "$files0" ] || fail "store own_files $(store own_files), want $files0"
cmp - "$PK/big.bin" <&3 || fail "a descriptor open across the crashes"
exec 3<&-
cmp -s "$MNT/caps/$BIG" "$PK/big.bin" || fail "caps/$BIG after the crashes"
cmp -s "$MNT/mounts/pipeline/regions/banner" "$EX/pipeline/banner.txt" || fail "banner after the crashes"
ok "the cap files outlived $crashes reboots: store created $created0, own_files $files0 unchanged; an open descriptor reads on"
stop_nubfs "$MNT"
echo PASS
