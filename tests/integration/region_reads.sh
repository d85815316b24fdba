#!/bin/bash
# Issue 8 item 4 for mounts/: an immutable region whose cap has a file of
# its own (8 MiB) is read by FUSE passthrough like caps/ (no READ request
# reaches the daemon; stats store.region_passthrough_opens), one in a
# pack (3000 bytes) is spliced (region_spliced_opens); dd and python
# mmap/pread on descriptors opened before an rm read the same bytes after
# it, and python's os.fstat of them gives their sizes (both read paths). A replace with another 8 MiB region while a file of the first
# version is open: that file and its mmap go on reading the first
# version, a new open reads the second (served by the daemon while the
# inode holds the first version's backing: region_served_opens), and once
# the old file is closed, opens are passthrough of the second. With
# -o read_path=splice every region open is spliced. Skips the passthrough
# part, with the reason, where the kernel or privileges refuse it. Exits
# 77 if KVM or FUSE is unusable here.
# usage: region_reads.sh PATH/TO/nubfs PATH/TO/nubfs-pack EXAMPLES_DIR
set -u
. "$(dirname "$0")/lib.sh"
NUBFS=${1:?usage} PACK=${2:?usage} EX=${3:?usage}
need_tools fusermount3 mountpoint xxhsum python3 dd cmp
test_dirs regions 'exec 3<&- 4<&- 2>/dev/null'

head -c $((8 << 20)) /dev/urandom > "$PK/big2.bin"
head -c 3000 /dev/urandom > "$PK/small.bin"
blob_pkg life big=big2.bin small=small.bin
mv "$PK/life.rvf" "$PK/life2.rvf"
head -c $((8 << 20)) /dev/urandom > "$PK/big.bin"
blob_pkg life big=big.bin small=small.bin

store() { json "$MNT/stats" "d['store']['$1']"; }
reads() { json "$MNT/stats" "d['fuse_requests']['read']"; }
R=$MNT/mounts/life/regions

# Splice: every region open is read by the daemon.
start_nubfs "$NUBFS" "$MNT" "trust=$EX/keys,guest_mem=64M,read_path=splice"
cp "$PK/life.rvf" "$MNT/ctl/" || fail "cp life.rvf"
cmp -s "$R/big" "$PK/big.bin" || fail "read_path=splice: regions/big"
cmp -s "$R/small" "$PK/small.bin" || fail "read_path=splice: regions/small"
[ "$(store region_passthrough_opens)" = 0 ] || fail "read_path=splice: passthrough region opens"
[ "$(store region_spliced_opens)" -ge 2 ] || fail "read_path=splice: region_spliced_opens $(store region_spliced_opens)"
ok "read_path=splice: regions spliced (stats region_spliced_opens)"

# after_rm WHAT [mmap]: python opens both regions (and maps big), the
# package is removed, then os.fstat of each open descriptor gives its
# size (an unlinked file's attributes), pread (and the map) read the same
# bytes, and so do the shell's descriptors 3 (big) and 4 (small), opened
# before the call.
after_rm() {
    rm -f "$TMP/go"; mkfifo "$TMP/go"
    python3 - "$R" "$PK/big.bin" "$PK/small.bin" "$TMP/go" "${2:-}" > "$TMP/py.out" 2>&1 <<'PY' &
import mmap, os, stat, sys
r, big, small, go, want_map = sys.argv[1:6]
fds = {n: os.open(os.path.join(r, n), os.O_RDONLY) for n in ("big", "small")}
want = {"big": open(big, "rb").read(), "small": open(small, "rb").read()}
m = mmap.mmap(fds["big"], 0, prot=mmap.PROT_READ) if want_map else None
assert m is None or m[:4096] == want["big"][:4096], "mmap before the rm"
print("ready", flush=True)
open(go).read()
for n, fd in fds.items():
    st = os.fstat(fd)
    assert st.st_size == len(want[n]), "fstat %s: size %d, want %d" % (n, st.st_size, len(want[n]))
    assert stat.S_ISREG(st.st_mode) and st.st_mode & 0o222 == 0, "fstat %s: mode %o" % (n, st.st_mode)
    assert os.pread(fd, len(want[n]) + 1, 0) == want[n], "pread %s after the rm" % n
assert m is None or m[:] == want["big"], "mmap after the rm"
print("python ok", flush=True)
PY
    PYPID=$!
    wait_until 10 "python reader ready" 'grep -q ready "$TMP/py.out"'
    rm "$MNT/ctl/life.rvf" || fail "$1: rm life.rvf"
    [ -e "$R/big" ] && fail "$1: regions/big still there after the rm"
    echo > "$TMP/go"
    wait "$PYPID" || fail "$1: python after the rm: $(cat "$TMP/py.out")"
    cmp -s - "$PK/big.bin" <&3 || fail "$1: cmp on a descriptor opened before the rm (big)"
    cmp -s - "$PK/small.bin" <&4 || fail "$1: cmp on a descriptor opened before the rm (small)"
    exec 3<&- 4<&-
    ok "$1: after rm, os.fstat of open region files gives their sizes; pread${2:+, mmap} and cmp read the same bytes"
}
exec 3< "$R/big" 4< "$R/small"
after_rm "read_path=splice"
stop_nubfs "$MNT"

start_nubfs "$NUBFS" "$MNT" "trust=$EX/keys,guest_mem=64M"
if [ "$(store read_path)" != passthrough ]; then
    echo "skip passthrough: $(store read_path_reason)"
    stop_nubfs "$MNT"
    exit 0
fi
grep -q 'reads: passthrough for caps with a file of their own, under caps/ and as immutable regions under mounts/' "$MNT/log" ||
    fail "the log does not say regions are read by passthrough"
cp "$PK/life.rvf" "$MNT/ctl/" || fail "cp life.rvf"

# Passthrough: the kernel reads the 8 MiB cap's file, no READ requests.
r0=$(reads)
[ "$(id -u)" = 0 ] && echo 3 > /proc/sys/vm/drop_caches
cmp -s "$R/big" "$PK/big.bin" || fail "passthrough read of regions/big"
dd if="$R/big" bs=4k status=none | cmp -s - "$PK/big.bin" || fail "dd bs=4k of regions/big"
r1=$(reads)
# each read of stats is two READs (data, then EOF)
[ $((r1 - r0)) -le 2 ] || fail "passthrough: $((r1 - r0)) READ requests reached the daemon"
[ "$(store region_passthrough_opens)" -ge 2 ] ||
    fail "region_passthrough_opens $(store region_passthrough_opens)"
sp0=$(store region_spliced_opens)
cmp -s "$R/small" "$PK/small.bin" || fail "regions/small"
[ "$(store region_spliced_opens)" -gt "$sp0" ] || fail "the packed region was not spliced"
ok "regions/big read by passthrough ($((r1 - r0)) READs reached the daemon), regions/small spliced"

# Lifetime: descriptors and an mmap opened before the rm read on.
exec 3< "$R/big" 4< "$R/small"
after_rm passthrough mmap

# A replace while a file of the first version is open.
cp "$PK/life.rvf" "$MNT/ctl/" || fail "cp life.rvf again"
exec 3< "$R/big"
python3 - "$R/big" "$PK/big.bin" "$TMP/go" > "$TMP/py.out" 2>&1 <<'PY' &
import mmap, os, sys
path, want, go = sys.argv[1:4]
fd = os.open(path, os.O_RDONLY)
m = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
print("ready", flush=True)
open(go).read()
assert m[:] == open(want, "rb").read(), "mmap of the first version after the replace"
print("python ok", flush=True)
PY
PYPID=$!
wait_until 10 "python reader ready" 'grep -q ready "$TMP/py.out"'
sv0=$(store region_served_opens)
cp "$PK/life2.rvf" "$MNT/ctl/life.rvf" || fail "replace with life2.rvf"
cmp -s "$R/big" "$PK/big2.bin" || fail "a new open after the replace does not read the second version"
dd if="$R/big" bs=1M status=none | cmp -s - "$PK/big2.bin" || fail "dd bs=1M after the replace"
[ "$(store region_served_opens)" -ge $((sv0 + 2)) ] ||
    fail "region_served_opens $(store region_served_opens), want >= $((sv0 + 2))"
echo > "$TMP/go"
wait "$PYPID" || fail "python reader: $(cat "$TMP/py.out")"
dd bs=1M status=none <&3 | cmp -s - "$PK/big.bin" || fail "the descriptor opened before the replace"
exec 3<&-
ok "replace: the open file and its mmap read the first version, new opens the second (daemon-served)"
pt0=$(store region_passthrough_opens)
wait_until 10 "passthrough of the second version" \
    'cmp -s "$R/big" "$PK/big2.bin" && [ "$(store region_passthrough_opens)" -gt "$pt0" ]'
r0=$(reads)
cmp -s "$R/big" "$PK/big2.bin" || fail "regions/big (second version)"
r1=$(reads)
[ $((r1 - r0)) -le 2 ] || fail "second version: $((r1 - r0)) READ requests reached the daemon"
ok "after the old file closed: the second version by passthrough"
stop_nubfs "$MNT"
