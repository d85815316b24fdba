#!/bin/bash
# Listings of caps/ stay complete and correct while the kernel forgets
# and re-learns its inodes (issue 11): preloads NUBFS_TEST_FILES (default
# 5000) small files, then checks `ls`, `ls -f`, `ls -l` (every name, every
# size; `ls -l` after `ls` without a LOOKUP per cap) and `ls -i` (every
# inode) against the files, after dropping the
# kernel's dentries and inodes (FORGET and FORGET_MULTI), and while they
# are dropped again and again under a running `ls -l`; the daemon's count
# of kernel-held inodes follows (all of them after `ls -l`, none once the
# kernel forgot them all: no reference leaked or dropped twice). The drop
# parts need root (/proc/sys/vm/drop_caches) and are skipped, saying so,
# without. Exits 77 if KVM or FUSE is unusable.
# usage: listing.sh PATH/TO/nubfs
set -u
NUBFS=${1:?usage: listing.sh PATH/TO/nubfs}
. "$(dirname "$0")/lib.sh"
need_tools fusermount3 mountpoint python3 xxhsum awk sort
N=${NUBFS_TEST_FILES:-5000}

test_dirs listing
SRC=$TMP/src
mkdir -p "$SRC"
python3 - "$SRC" "$N" <<'EOF'
import os, random, sys
d, n = sys.argv[1], int(sys.argv[2])
r = random.Random(11)
for i in range(n):
    with open(os.path.join(d, "f%06d" % i), "wb") as f:
        f.write(r.randbytes(r.randint(1, 700)))
EOF
# want: "hash size" per distinct content, sorted by hash (ls's order).
(cd "$SRC" && ls | xargs xxhsum -H2 -- | while read -r h f; do echo "$h $(stat -c %s "$f")"; done) |
    sort -u -k1,1 > "$TMP/want"
NC=$(wc -l < "$TMP/want")
cut -d' ' -f1 "$TMP/want" > "$TMP/names"

start_nubfs "$NUBFS" "$MNT" "preload=$SRC,guest_mem=256M"
C=$MNT/caps
inodes() { json "$MNT/stats" 'd["kernel_inodes"]'; }
reqs() { json "$MNT/stats" 'd["fuse_requests"]'; }

# check WHEN: ls, ls -f, ls -l and ls -i against the files.
check() {
    ls "$C" > "$TMP/ls" || fail "$1: ls caps"
    cmp -s "$TMP/ls" "$TMP/names" || fail "$1: ls caps differs: $(diff "$TMP/ls" "$TMP/names" | head -5)"
    # Unsorted, raw from the listing: every cap once, plus . and ..
    ls -f "$C" | grep -v '^\.\.\?$' | sort > "$TMP/lsf"
    cmp -s "$TMP/lsf" "$TMP/names" || fail "$1: ls -f caps: $(wc -l < "$TMP/lsf") names, $NC wanted (or different ones)"
    ls -l "$C" | awk 'NF >= 9 {print $9, $5}' > "$TMP/lsl" || fail "$1: ls -l caps"
    cmp -s "$TMP/lsl" "$TMP/want" || fail "$1: ls -l sizes differ: $(diff "$TMP/lsl" "$TMP/want" | head -5)"
    ls -i "$C" | awk '{print $2, $1}' > "$TMP/lsi.$2"
}

lookups() { json "$MNT/stats" 'd["fuse_requests"]["lookup"]'; }
l0=$(lookups)
check "fresh mount" 0
l1=$(lookups)
# ls first, ls -l after it: the listing named every entry (READDIRPLUS),
# so ls -l asks nothing per cap (not one LOOKUP each).
[ $((l1 - l0)) -lt $((NC / 10)) ] || fail "ls -l after ls cost $((l1 - l0)) lookups for $NC caps"
ok "ls, ls -f, ls -l: $NC caps, every name and size, $((l1 - l0)) lookups (requests: $(reqs))"
k=$(inodes)
[ "$k" = "$NC" ] || fail "after ls -l the daemon counts $k kernel inodes, the kernel holds $NC"
ok "after ls -l the daemon counts $k kernel inodes"

[ -w /proc/sys/vm/drop_caches ] || skip "not root: cannot make the kernel forget (drop_caches); the fresh listing was right"

# The kernel forgets every cap inode (FORGET/FORGET_MULTI); the count
# follows to zero, and everything lists as before with the same inodes.
drop() { echo 2 > /proc/sys/vm/drop_caches; }
drop
wait_until 30 "the daemon to hear every forget (kernel_inodes to 0)" '[ "$(inodes)" = 0 ]'
ok "after drop_caches the daemon counts 0 kernel inodes"
check "after the kernel forgot" 1
cmp -s "$TMP/lsi.0" "$TMP/lsi.1" || fail "inode numbers changed across forgets: $(diff "$TMP/lsi.0" "$TMP/lsi.1" | head -4)"
[ "$(inodes)" = "$NC" ] || fail "after re-listing the daemon counts $(inodes) kernel inodes, not $NC"
ok "after forgets: same listing, sizes and inode numbers; $NC kernel inodes again (requests: $(reqs))"

# Forgets racing listings: drops every 50 ms while ls -l runs.
touch "$TMP/dropping"
( while [ -e "$TMP/dropping" ]; do drop; sleep 0.05; done ) &
DROPPER=$!
for i in 2 3 4; do check "drops under ls -l, round $i" "$i"; done
rm -f "$TMP/dropping"
wait "$DROPPER"
cmp -s "$TMP/lsi.0" "$TMP/lsi.4" || fail "inode numbers changed under racing forgets"
ok "3 rounds of ls/ls -f/ls -l/ls -i with drops every 50 ms: complete and correct"
drop
wait_until 30 "the daemon to hear every forget after the races (kernel_inodes to 0)" '[ "$(inodes)" = 0 ]'
ok "after the races the kernel forgot all and the daemon counts 0"
stop_nubfs "$MNT"
ok "listing"
