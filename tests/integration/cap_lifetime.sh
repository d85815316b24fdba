#!/bin/bash
# Issue 8 item 5: an open caps/ file, and an mmap of it, keep reading the
# same bytes after its cap left the directory (rm of the only package
# holding it), as an unlinked file does: cat, dd and cmp on descriptors
# opened before the rm, python mmap and fstat across it, for a cap with a
# file of its own (8 MiB) and one in a pack (3000 bytes). stats shows the
# bytes only open files hold, and they go when the last file closes.
# Both read paths (item 4): -o read_path=splice, and passthrough (the
# default where the kernel and privileges allow it: then no READ request
# reaches the daemon for the big cap; skipped with the reason otherwise),
# and unprivileged in a user namespace (refused: spliced, and why).
# Item 9: a guest store into a cap's bytes poisons the sandbox, which is
# recovered; the bytes stay as they were.
# Exits 77 if KVM or FUSE is unusable here.
# usage: cap_lifetime.sh PATH/TO/nubfs PATH/TO/nubfs-pack EXAMPLES_DIR
set -u
. "$(dirname "$0")/lib.sh"
NUBFS=${1:?usage} PACK=${2:?usage} EX=${3:?usage}
need_tools fusermount3 mountpoint xxhsum python3 dd cmp
test_dirs life 'exec 3<&- 4<&- 5<&- 2>/dev/null'

head -c $((8 << 20)) /dev/urandom > "$PK/big.bin"
head -c 3000 /dev/urandom > "$PK/small.bin"
blob_pkg life big=big.bin small=small.bin
BIG=$(hash_of "$PK/big.bin")
SMALL=$(hash_of "$PK/small.bin")

store() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["store"][sys.argv[2]])' "$MNT/stats" "$1"; }

reads() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["fuse_requests"]["read"])' "$MNT/stats"; }

# One round on one read path: splice, or auto (passthrough if allowed).
lifetime() {
    local mode=$1
    start_nubfs "$NUBFS" "$MNT" "trust=$EX/keys,guest_mem=64M,read_path=$mode"
    local path
    path=$(store read_path)
    if [ "$mode" = splice ]; then
        [ "$path" = splice ] || fail "read_path=splice: stats says $path"
        [ "$(store read_path_reason)" = "turned off (-o read_path=splice)" ] ||
            fail "read_path_reason: $(store read_path_reason)"
    elif [ "$path" != passthrough ]; then
        echo "skip passthrough: $(store read_path_reason)"
        grep -q "reads: spliced, not passthrough: $(store read_path_reason)" "$MNT/log" ||
            fail "the log does not say why reads are spliced"
        stop_nubfs "$MNT"
        return 0
    else
        grep -q 'reads: passthrough for caps with a file of their own' "$MNT/log" ||
            fail "the log does not say reads are passthrough"
    fi
    objects0=$(store objects)
    cp "$PK/life.rvf" "$MNT/ctl/" || fail "cp life.rvf"
    cmp -s "$MNT/caps/$BIG" "$PK/big.bin" || fail "caps/$BIG before the rm"
    cmp -s "$MNT/caps/$SMALL" "$PK/small.bin" || fail "caps/$SMALL before the rm"
    [ "$(store own_files)" -ge 1 ] || fail "the 8 MiB cap has no file of its own: $(cat "$MNT/stats")"
    [ "$(store packed_caps)" -ge 1 ] || fail "no cap in a pack"

    # Descriptors opened before the rm; a python reader with an mmap and a
    # read of half the file before, the rest after.
    exec 3< "$MNT/caps/$BIG" 4< "$MNT/caps/$SMALL" 5< "$MNT/caps/$BIG"
    rm -f "$TMP/go"; mkfifo "$TMP/go"
    python3 - "$MNT/caps/$BIG" "$MNT/caps/$SMALL" "$PK/big.bin" "$PK/small.bin" "$TMP/go" \
        > "$TMP/py.out" 2>&1 <<'PY' &
import mmap, os, sys
big, small, want_big, want_small, go = sys.argv[1:6]
fb, fs = os.open(big, os.O_RDONLY), os.open(small, os.O_RDONLY)
mb = mmap.mmap(fb, 0, prot=mmap.PROT_READ)
ms = mmap.mmap(fs, 0, prot=mmap.PROT_READ)
wb, ws = open(want_big, "rb").read(), open(want_small, "rb").read()
half = len(wb) // 2
assert mb[:half] == wb[:half], "mmap before the rm"
print("ready", flush=True)
open(go).read()  # the rm happened
os.posix_fadvise(fb, 0, 0, os.POSIX_FADV_DONTNEED)
assert os.fstat(fb).st_size == len(wb), "fstat of the big cap after the rm"
assert os.fstat(fs).st_size == len(ws), "fstat of the small cap after the rm"
assert mb[half:] == wb[half:], "mmap of the big cap after the rm (second half)"
assert mb[:] == wb, "mmap of the big cap after the rm (all)"
assert ms[:] == ws, "mmap of the small cap after the rm"
assert os.pread(fb, 1 << 20, 3 << 20) == wb[3 << 20:4 << 20], "pread after the rm"
assert os.pread(fs, 4096, 0) == ws, "pread of the small cap after the rm"
print("python ok", flush=True)
PY
    PYPID=$!
    for _ in $(seq 1 100); do grep -q ready "$TMP/py.out" 2>/dev/null && break; sleep 0.1; done
    grep -q ready "$TMP/py.out" || fail "python reader: $(cat "$TMP/py.out")"

    rm "$MNT/ctl/life.rvf" || fail "rm life.rvf"
    [ -e "$MNT/caps/$BIG" ] && fail "caps/$BIG is still listed after the rm"
    [ -e "$MNT/caps/$SMALL" ] && fail "caps/$SMALL is still listed after the rm"
    # Not from the page cache: the rm dropped it (and, as root, drop it all).
    [ "$(id -u)" = 0 ] && echo 1 > /proc/sys/vm/drop_caches
    [ "$(store open_only_caps)" = 2 ] || fail "stats open_only_caps $(store open_only_caps), want 2"
    [ "$(store open_only_bytes)" = $(((8 << 20) + 3000)) ] ||
        fail "stats open_only_bytes $(store open_only_bytes)"
    echo > "$TMP/go"
    wait "$PYPID" || fail "python reader: $(cat "$TMP/py.out")"
    grep -q "python ok" "$TMP/py.out" || fail "python reader: $(cat "$TMP/py.out")"
    cmp - "$PK/big.bin" <&3 || fail "cmp on a descriptor opened before the rm (big)"
    dd bs=1M status=none <&5 | cmp - "$PK/big.bin" || fail "dd bs=1M on a descriptor opened before the rm"
    cat <&4 | cmp - "$PK/small.bin" || fail "cat on a descriptor opened before the rm (small)"
    [ "$(stat -L -c %s /proc/self/fd/3 2>/dev/null || stat -c %s /dev/fd/3)" = $((8 << 20)) ] ||
        fail "fstat size of the open big cap"
    ok "after rm: cmp, dd bs=1M, cat on open descriptors, python mmap/pread/fstat read the same bytes (own file and pack); stats open_only_caps=2, open_only_bytes=$(((8 << 20) + 3000))"

    exec 3<&- 4<&- 5<&-
    for _ in $(seq 1 50); do [ "$(store open_only_caps)" = 0 ] && break; sleep 0.1; done
    [ "$(store open_only_caps)" = 0 ] || fail "open_only_caps $(store open_only_caps) after the last close"
    [ "$(store open_only_bytes)" = 0 ] || fail "open_only_bytes after the last close"
    [ "$(store objects)" = "$objects0" ] || fail "store objects $(store objects), want $objects0"
    ok "the last close frees the bytes (stats store back to $objects0 objects)"

    # The same package again: new objects, the same content.
    cp "$PK/life.rvf" "$MNT/ctl/" || fail "cp life.rvf again"
    cmp -s "$MNT/caps/$BIG" "$PK/big.bin" || fail "caps/$BIG after the re-mount"
    ok "mounted again: same bytes"

    if [ "$path" = passthrough ]; then
        # The kernel reads the big cap's file itself: no READ requests.
        local r0 r1
        r0=$(reads)
        [ "$(id -u)" = 0 ] && echo 3 > /proc/sys/vm/drop_caches
        cmp -s "$MNT/caps/$BIG" "$PK/big.bin" || fail "passthrough read of caps/$BIG"
        dd if="$MNT/caps/$BIG" bs=4k status=none | cmp -s - "$PK/big.bin" || fail "dd bs=4k"
        r1=$(reads)
        # each read of stats is two READs (data, then EOF)
        [ $((r1 - r0)) -le 2 ] || fail "passthrough: $((r1 - r0)) READ requests reached the daemon"
        [ "$(store passthrough_opens)" -ge 1 ] || fail "no passthrough opens counted"
        ok "passthrough: the big cap is read without READ requests to the daemon"
    fi
    stop_nubfs "$MNT"
    ok "read path $path: done"
}

lifetime splice
lifetime auto

# Unprivileged: in a user namespace nubfs may mount FUSE, but
# CAP_SYS_ADMIN there is not the host's, so the kernel refuses backing
# files: reads are spliced, and stats and the log say why.
if command -v unshare > /dev/null && unshare -Urm true 2> /dev/null; then
    mkdir -p "$TMP/ns" "$TMP/nsblobs"
    cp "$PK/big.bin" "$TMP/nsblobs/"
    out=$(timeout 60 unshare -Urm bash -c '
        "$1" "$2" -o "preload=$3,ephemeral" > /dev/null 2>&1 || { echo "nubfs failed"; exit 1; }
        trap "umount \"$2\"" EXIT
        python3 -c "import json,sys; d=json.load(open(sys.argv[1]))[\"store\"]; print(d[\"read_path\"] + \"|\" + d[\"read_path_reason\"])" "$2/stats"
        cmp -s "$2/caps/$4" "$3/big.bin" && echo same
        grep -c "reads: spliced, not passthrough: not privileged" "$2/log"
    ' _ "$NUBFS" "$TMP/ns" "$TMP/nsblobs" "$BIG" 2>&1)
    [ "$out" = "splice|not privileged (backing files need CAP_SYS_ADMIN)
same
1" ] || fail "unprivileged (user namespace): $out"
    ok "unprivileged (user namespace): passthrough refused, reads spliced, stats and log say why"
else
    echo "skip the unprivileged round: no user namespaces here"
fi

# ---- item 9: caps are immutable by hardware -----------------------------------------------
# The guest stores into a cap's bytes (hidden test knob): a read-only KVM
# slot, so the store exits, the sandbox is poisoned and recovered like any
# crash; the cap's bytes are unchanged, and a file open across it reads on.
start_nubfs "$NUBFS" "$MNT" "trust=$EX/keys,guest_mem=64M,test_ops"
cp "$PK/life.rvf" "$EX/hello.rvf" "$MNT/ctl/" || fail "cp life.rvf hello.rvf"
exec 3< "$MNT/caps/$BIG"
n=0
for h in $BIG $SMALL; do
    n=$((n + 1))
    python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.nubfs.test_write_cap", sys.argv[2].encode())' \
        "$MNT/ctl" "$h" || fail "test_write_cap $h: the recovery failed"
    [ "$(json "$MNT/stats" 'd["reboots"]')" = $n ] || fail "stats reboots $(json "$MNT/stats" 'd["reboots"]'), want $n"
done
grep -q 'guest poisoned: KVM_EXIT_MMIO (write of 8 bytes at cap window address' "$MNT/log" ||
    fail "log: no MMIO exit for the write to a cap: $(grep -i poison "$MNT/log")"
grep -q 're-mounted 2 of 2 packages' "$MNT/log" || fail "log: no re-mount"
cmp -s "$MNT/caps/$BIG" "$PK/big.bin" || fail "caps/$BIG changed"
cmp -s "$MNT/caps/$SMALL" "$PK/small.bin" || fail "caps/$SMALL changed"
cmp - "$PK/big.bin" <&3 || fail "a descriptor open across the crash"
exec 3<&-
caps_ok "$MNT/caps" || fail "caps after the recoveries"
ok "a guest store into a cap (own file, pack) exits (KVM_EXIT_MMIO), poisons and is recovered; bytes unchanged, open files read on"
stop_nubfs "$MNT"
echo PASS
