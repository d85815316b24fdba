#!/bin/bash
# Issue 8 items 1 and 6: the cap store's space. All caps' bytes are
# bounded by -o store_max (ENOSPC beyond it, whatever guest_mem is); equal
# content is stored once (a second package with the same 8 MiB blob takes
# no more space); space freed by rm is reusable at once; -o cap_file_min
# decides which caps get a file of their own. Bad values are usage errors.
# Exits 77 if KVM or FUSE is unusable here.
# usage: cap_space.sh PATH/TO/nubfs PATH/TO/nubfs-pack EXAMPLES_DIR
set -u
. "$(dirname "$0")/lib.sh"
NUBFS=${1:?usage} PACK=${2:?usage} EX=${3:?usage}
need_tools fusermount3 mountpoint xxhsum python3 cmp
test_dirs space

for bad in store_max=1 store_max=1T cap_file_min=0 cap_file_min=3M; do
    timeout 10 "$NUBFS" "$MNT" -f -o "$bad" > "$TMP/out" 2>&1
    [ $? = 2 ] || fail "-o $bad: want usage error 2: $(cat "$TMP/out")"
    grep -q "bad ${bad%%=*}=" "$TMP/out" || fail "-o $bad: $(cat "$TMP/out")"
done
ok "bad store_max= / cap_file_min= values: usage error 2 before the guest boots"

for n in a b; do
    head -c $((8 << 20)) /dev/urandom > "$PK/$n.bin"
    head -c 3000 /dev/urandom > "$PK/$n-small.bin"
    blob_pkg "$n" "big=$n.bin" "small=$n-small.bin"
done
store() { json "$MNT/stats" "d['store']['$1']"; }

# 12 MiB for all caps: one 8 MiB blob fits, two do not; guest_mem is not the bound.
start_nubfs "$NUBFS" "$MNT" "trust=$EX/keys,guest_mem=256M,store_max=12M"
[ "$(store limit)" = $((12 << 20)) ] || fail "stats store limit $(store limit)"
cp "$PK/a.rvf" "$MNT/ctl/" || fail "cp a.rvf"
used=$(store allocated_bytes)
cp "$PK/a.rvf" "$MNT/ctl/a-again.rvf" || fail "cp a.rvf a second time: its caps are not shared"
[ "$(store allocated_bytes)" = "$used" ] || fail "a second copy took space: $used -> $(store allocated_bytes)"
[ "$(store shared)" -ge 4 ] || fail "stats store shared $(store shared)"
ok "equal content is stored once: a second package with the same caps takes no space (shared $(store shared))"
out=$(cp "$PK/b.rvf" "$MNT/ctl/" 2>&1) && fail "b.rvf mounted over store_max"
echo "$out" | grep -q 'No space left on device' || fail "cp b.rvf printed '$out'"
grep -q 'refused b.rvf: .*cap store full' "$MNT/log" || fail "log: $(grep 'refused b.rvf' "$MNT/log")"
[ "$(store allocated_bytes)" = "$used" ] || fail "the refused mount left bytes behind"
ok "over store_max: ENOSPC, the log says the cap store is full, nothing left behind"
rm "$MNT/ctl/a.rvf" "$MNT/ctl/a-again.rvf" || fail "rm a"
cp "$PK/b.rvf" "$MNT/ctl/" || fail "cp b.rvf right after rm a.rvf: space not reusable at once"
BH=$(hash_of "$PK/b.bin")
cmp -s "$MNT/caps/$BH" "$PK/b.bin" || fail "caps/$BH"
ok "space freed by rm is reusable at once"
stop_nubfs "$MNT"

# cap_file_min=1K: the 3000-byte caps get files of their own too.
start_nubfs "$NUBFS" "$MNT" "trust=$EX/keys,cap_file_min=1K"
[ "$(store file_min)" = 1024 ] || fail "stats store file_min $(store file_min)"
cp "$PK/a.rvf" "$MNT/ctl/" || fail "cp a.rvf"
[ "$(store own_files)" -ge 2 ] || fail "own_files $(store own_files) with cap_file_min=1K"
SH=$(hash_of "$PK/a-small.bin")
cmp -s "$MNT/caps/$SH" "$PK/a-small.bin" || fail "caps/$SH"
ok "cap_file_min=1K: $(store own_files) caps with files of their own, $(store packed_caps) packed"
stop_nubfs "$MNT"
echo PASS
