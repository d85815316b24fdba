#!/bin/bash
# Issue 8 items 2 and 6 (ABI 2): guest RAM holds metadata only. In the
# smallest guest (guest_mem=16M) four 3 MiB packages mount (12 MiB of
# caps, more than the guest's heap could hold as copies); rm of the first
# one and cp of it back succeeds every time (no ENOSPC), its caps are
# listed again and read back intact, and the guest heap level comes back
# to where it was (no leak per cycle). Also: a package's caps are not in
# guest RAM at all (heap_used grows by far less than the package).
# Exits 77 if KVM or FUSE is unusable here.
# usage: full_guest.sh PATH/TO/nubfs PATH/TO/nubfs-pack EXAMPLES_DIR
set -u
. "$(dirname "$0")/lib.sh"
NUBFS=${1:?usage} PACK=${2:?usage} EX=${3:?usage}
need_tools fusermount3 mountpoint xxhsum python3 cmp
test_dirs full

for n in p1 p2 p3 p4; do
    head -c $((3 << 20)) /dev/urandom > "$PK/$n.bin"
    blob_pkg "$n" "blob=$n.bin"
done
P1=$(hash_of "$PK/p1.bin")

start_nubfs "$NUBFS" "$MNT" "trust=$EX/keys,guest_mem=16M"
heap() { tasks_settle "$MNT"; json "$MNT/stats" 'd["heap_used"]'; }
h0=$(heap)
cp "$PK/p1.rvf" "$MNT/ctl/" || fail "cp p1.rvf into an empty 16 MiB guest"
h1=$(heap)
[ $((h1 - h0)) -lt $((256 << 10)) ] ||
    fail "a 3 MiB package took $((h1 - h0)) bytes of guest heap: its bytes are in guest RAM"
ok "a 3 MiB package takes $((h1 - h0)) bytes of guest heap (metadata only)"
for n in p2 p3 p4; do
    cp "$PK/$n.rvf" "$MNT/ctl/" || fail "cp $n.rvf into the 16 MiB guest"
done
[ "$(ls "$MNT/mounts" | wc -l)" = 4 ] || fail "mounts: $(ls "$MNT/mounts")"
full=$(heap)
ok "four 3 MiB packages mounted in a 16 MiB guest (heap_used $full of $(json "$MNT/stats" 'd["heap_total"]'))"

for i in $(seq 1 10); do
    rm "$MNT/ctl/p1.rvf" || fail "cycle $i: rm p1.rvf"
    [ -e "$MNT/caps/$P1" ] && fail "cycle $i: cap $P1 still listed after rm"
    out=$(cp "$PK/p1.rvf" "$MNT/ctl/" 2>&1) || fail "cycle $i: cp p1.rvf back: $out"
    ls "$MNT/caps" | grep -qx "$P1" || fail "cycle $i: cap $P1 not listed after cp"
    cmp -s "$MNT/caps/$P1" "$PK/p1.bin" || fail "cycle $i: cap $P1 reads back different bytes"
    cmp -s "$MNT/mounts/p1/regions/blob" "$PK/p1.bin" || fail "cycle $i: region blob differs"
    [ "$(heap)" = "$full" ] || fail "cycle $i: heap_used $full -> $(heap): the cycle leaks"
done
ok "rm + cp of p1.rvf in the full guest, 10 times: no ENOSPC, caps listed and intact, heap_used steady"
[ "$(ls "$MNT/mounts" | wc -l)" = 4 ] || fail "mounts after the cycles: $(ls "$MNT/mounts")"
caps_ok "$MNT/caps" || fail "a cap's content does not hash to its name"
stop_nubfs "$MNT"
ok "clean unmount"
