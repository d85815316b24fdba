#!/bin/bash
# Every row of the error table (nubfs(8) ERRORS, src/errors.c) produced by a real bad
# package, through cp (close() returns the errno; cp prints its text) and
# through rsync (rename() returns it). After each refusal caps/, mounts/,
# ctl/ and the guest heap level (stats heap_used) are exactly as before.
# Bad packages come from nubfs-pack (unsigned, an untrusted key, limits
# from generated specs, a module with a huge custom section) and byte
# edits (rvf_edit.py). The signature is checked first: unsigned or
# untrusted packages with corrupted bodies get ENOKEY / EKEYREJECTED, and
# only with allow_unsigned (daemon A2) do the parsers' EBADMSG / EUCLEAN
# show. Also: a guest crash during the mount (hidden test
# knob) -> EIO, reboot, the other packages re-mounted; fault injection
# after each guest mount step 2..7 -> rolled back. EEXIST needs two
# different blobs with one XXH3-128 hash, which cannot be made honestly:
# daemon C starts with the hidden test knob test_forge_cap=HASH (junk bytes
# published under the hash of hello.rvf's module, as a collision would
# leave them), then hello.rvf must be refused, also after a guest reboot
# (the forged cap is re-published, so the kernel's cached caps/ entry stays
# true). Exits 77 if KVM or FUSE is unusable here.
# usage: ctl_errors.sh PATH/TO/nubfs PATH/TO/nubfs-pack EXAMPLES_DIR
set -u
. "$(dirname "$0")/lib.sh"
NUBFS=${1:?usage} PACK=${2:?usage} EX=${3:?usage}
need_tools fusermount3 mountpoint xxhsum rsync python3
EDIT=$HERE/rvf_edit.py
test_dirs err

# ---- the bad packages ----------------------------------------------------------
cp "$EX/hello/hello.wasm" "$EX/pipeline/consumer.wasm" "$PK/"
"$PACK" build "$EX/hello/hello.json" -o "$PK/enokey.rvf" --unsigned 2>/dev/null || fail "build unsigned"
"$PACK" keygen "$PK/stranger" > /dev/null 2>&1 || fail keygen
"$PACK" build "$EX/hello/hello.json" -o "$PK/untrusted.rvf" --key "$PK/stranger.key" 2>/dev/null ||
    fail "build with the untrusted key"
python3 "$EDIT" "$EX/hello.rvf" "$PK/badsig.rvf" flip-sig || fail edit
# Signature first: a package no trusted key vouches for is refused for
# that, whatever else is wrong with it (no parser sees its bytes) ...
python3 "$EDIT" "$EX/hello.rvf" "$PK/signed-badmagic.rvf" flip-magic || fail edit
python3 "$EDIT" "$EX/hello.rvf" "$PK/signed-truncated.rvf" truncate 100 || fail edit
python3 "$EDIT" "$EX/hello.rvf" "$PK/signed-badhash.rvf" flip-payload 1 8 || fail edit
python3 "$EDIT" "$PK/enokey.rvf" "$PK/unsigned-badmagic.rvf" flip-magic || fail edit
python3 "$EDIT" "$PK/enokey.rvf" "$PK/unsigned-badhash.rvf" flip-payload 1 8 || fail edit
python3 "$EDIT" "$PK/untrusted.rvf" "$PK/untrusted-badhash.rvf" flip-payload 1 8 || fail edit
python3 "$EDIT" "$PK/untrusted.rvf" "$PK/untrusted-badmagic.rvf" flip-magic || fail edit
# ... and where unsigned packages are allowed, the parsers say what is wrong.
python3 "$EDIT" "$PK/enokey.rvf" "$PK/badmagic.rvf" flip-magic || fail edit
python3 "$EDIT" "$PK/enokey.rvf" "$PK/truncated.rvf" truncate 100 || fail edit
python3 "$EDIT" "$PK/enokey.rvf" "$PK/badhash.rvf" flip-payload 1 8 || fail edit
# The WASM segment's header claims another hash than its payload's, while
# the manifest names the true one: a hash mismatch, not "names no segment".
python3 "$EDIT" "$PK/enokey.rvf" "$PK/badheader.rvf" flip-header-hash 1 || fail edit
python3 - "$PK" <<'EOF' || fail "generating specs"
import json, os, struct, sys
pk = sys.argv[1]
def spec(name, comps, regions=(), queues=()):
    json.dump({"name": name, "version": "1", "components": comps, "regions": list(regions),
               "queues": list(queues)}, open(os.path.join(pk, name + ".json"), "w"))
hello = lambda n: {"name": n, "wasm": "hello.wasm", "entry": ["run"]}
spec("comps", [hello("c%d" % i) for i in range(5)])
spec("regions", [hello("c0")], [{"name": "r%d" % i, "policy": "slab", "slot_size": 64,
                                 "slot_count": 1, "owner": "c0", "read": ["c0"]} for i in range(5)])
spec("queues", [hello("a"), hello("b")], queues=[{"from": "a.o%d" % i, "to": "b.i%d" % i,
                                                   "capacity": 4, "max_message": 16} for i in range(5)])
spec("tasks", [{"name": "c%d" % i, "wasm": "consumer.wasm", "entry": ["run", "reset"]} for i in range(4)])
# A valid module with a large custom section (the guest walks sections,
# not bytes): packages of any size.
w = open(os.path.join(pk, "hello.wasm"), "rb").read()
def leb(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)
for name, size in (("efbig", 2 << 20), ("enospc", 80 << 20)):
    body = leb(3) + b"pad" + bytes(size)
    open(os.path.join(pk, name + ".wasm"), "wb").write(w + b"\x00" + leb(len(body)) + body)
    spec(name, [{"name": "big", "wasm": name + ".wasm", "entry": ["run"]}])
EOF
for s in comps regions queues tasks efbig enospc; do
    "$PACK" build "$PK/$s.json" -o "$PK/$s.rvf" --key "$EX/keys/example.key" > /dev/null 2>&1 ||
        fail "nubfs-pack build $s.json: $("$PACK" build "$PK/$s.json" -o "$PK/$s.rvf" --key "$EX/keys/example.key" 2>&1)"
done
ok "bad packages built"

# refuse NAME MESSAGE: cp and rsync of $PK/NAME.rvf fail with MESSAGE and
# change nothing.
refuse() {
    local name=$1 msg=$2 before after out
    before=$(state "$MNT")
    out=$(cp "$PK/$name.rvf" "$C/" 2>&1) && fail "cp $name.rvf: mounted"
    echo "$out" | grep -q "$msg" || fail "cp $name.rvf printed '$out', want '$msg'"
    after=$(state "$MNT")
    [ "$after" = "$before" ] || fail "cp $name.rvf changed the state:
$before
---
$after"
    out=$(rsync "$PK/$name.rvf" "$C/" 2>&1) && fail "rsync $name.rvf: mounted"
    echo "$out" | grep -q "$msg" || fail "rsync $name.rvf printed '$out', want '$msg'"
    after=$(state "$MNT")
    [ "$after" = "$before" ] || fail "rsync $name.rvf changed the state:
$before
---
$after"
    grep -q "refused $name.rvf: .*($msg)" "$MNT/log" || fail "log has no reason for $name.rvf"
    ok "$name.rvf: cp and rsync say '$msg'; nothing changed; log: $(grep "refused $name.rvf: $name.rvf:" "$MNT/log" | tail -n1 | cut -d' ' -f2- | cut -c1-150)"
}

# ---- daemon A: the example key trusted, small limits ------------------------------------
start_nubfs "$NUBFS" "$MNT" \
    "guest_mem=256M,trust=$EX/keys,max_package=1M,max_components=4,max_regions=4,max_queues=4,max_tasks=6,test_ops"
C=$MNT/ctl
cp "$EX/hello.rvf" "$EX/pipeline.rvf" "$C/" || fail "cp the good packages"
caps_ok "$MNT/caps" || fail "caps"

refuse enokey 'Required key not available'
refuse untrusted 'Key was rejected by service'
refuse badsig 'Key was rejected by service'
refuse signed-badmagic 'Key was rejected by service'
refuse signed-badhash 'Key was rejected by service'
refuse signed-truncated 'Required key not available'
refuse unsigned-badmagic 'Required key not available'
refuse unsigned-badhash 'Required key not available'
refuse untrusted-badhash 'Key was rejected by service'
refuse untrusted-badmagic 'Key was rejected by service'
refuse comps 'Disk quota exceeded'
refuse regions 'Disk quota exceeded'
refuse queues 'Disk quota exceeded'
refuse tasks 'Disk quota exceeded'
refuse efbig 'File too large'
for what in component region queue task; do
    grep -q "refused .*$what" "$MNT/log" || fail "no EDQUOT reason naming $what in the log"
done

# ---- fault injection after each guest step: full rollback ---------------------------------
for step in 2 3 4 5 6 7; do
    python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.nubfs.test_fail_step", sys.argv[2].encode())' \
        "$C" "$step" || fail "setting the fail-step knob"
    before=$(state "$MNT")
    out=$(cp "$EX/fanout.rvf" "$C/" 2>&1) && fail "step $step: mounted"
    echo "$out" | grep -q 'Invalid argument' || fail "step $step: $out"
    after=$(state "$MNT")
    [ "$after" = "$before" ] || fail "step $step: not rolled back:
$before
---
$after"
done
python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.nubfs.test_fail_step", b"0")' "$C"
ok "failure injected after guest steps 2..7: cp fails, caps/mounts/heap unchanged each time"

# ---- a guest crash during the mount: EIO, reboot, re-mount the others -----------------------
before=$(state "$MNT" | grep -v heap_used)
python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.nubfs.test_crash_mount", b"1")' "$C"
out=$(cp "$EX/fanout.rvf" "$C/" 2>&1) && fail "crash: mounted"
echo "$out" | grep -q 'Input/output error' || fail "crash: cp printed $out"
[ "$(json "$MNT/stats" 'd["reboots"]')" = 1 ] || fail "stats reboots: $(json "$MNT/stats" 'd["reboots"]')"
after=$(state "$MNT" | grep -v heap_used)
[ "$after" = "$before" ] || fail "after the crash:
$before
---
$after"
caps_ok "$MNT/caps" || fail "caps after the reboot"
cmp -s "$MNT/mounts/pipeline/regions/banner" "$EX/pipeline/banner.txt" || fail "region after reboot"
grep -q 'guest poisoned: KVM_EXIT_SHUTDOWN' "$MNT/log" || fail "log: no reason for the crash"
grep -q 're-mounted 2 of 2 packages' "$MNT/log" || fail "log: no re-mount"
cp "$EX/fanout.rvf" "$C/" || fail "cp after recovery"
caps_ok "$MNT/caps" || fail "caps"
ok "guest crash during a mount: cp says Input/output error, guest rebooted (stats reboots=1), both packages re-mounted, serving"
stop_nubfs "$MNT"

# ---- daemon A2: unsigned packages allowed: the parsers' errors ------------------------------
start_nubfs "$NUBFS" "$MNT" "guest_mem=64M,trust=$EX/keys,allow_unsigned"
cp "$EX/hello.rvf" "$C/" || fail "cp hello"
refuse badmagic 'Bad message'
refuse truncated 'Bad message'
refuse badhash 'Structure needs cleaning'
refuse badheader 'Structure needs cleaning'
stop_nubfs "$MNT"

# ---- daemon B: a package larger than the cap store --------------------------------------
# (Its bytes never enter guest RAM: ABI 2; integration.full_guest shows
# packages beyond guest_mem mounting. The store limit is the bound.)
start_nubfs "$NUBFS" "$MNT" "guest_mem=64M,max_package=128M,store_max=32M,trust=$EX/keys"
cp "$EX/hello.rvf" "$C/" || fail "cp hello"
refuse enospc 'No space left on device'
grep -q "refused enospc.rvf: .*cap store full" "$MNT/log" || fail "log: $(grep 'refused enospc' "$MNT/log")"
cp "$EX/pipeline.rvf" "$C/" || fail "the daemon does not serve after ENOSPC"
caps_ok "$MNT/caps" || fail caps
ok "ENOSPC: the daemon keeps serving"
stop_nubfs "$MNT"

# ---- daemon C: a different blob already holds the hash of hello's module ---------------
"$PACK" inspect --json "$EX/hello.rvf" > "$PK/hello-inspect.json" || fail "nubfs-pack inspect"
FORGED=$(json "$PK/hello-inspect.json" 'd["components"][0]["wasm"]')
timeout 10 "$NUBFS" "$MNT" -f -o "test_forge_cap=$FORGED" > /dev/null 2>&1
[ $? = 2 ] || fail "test_forge_cap without test_ops: want usage error 2"
cp "$EX/hello.rvf" "$PK/eexist.rvf"
start_nubfs "$NUBFS" "$MNT" "trust=$EX/keys,test_ops,test_forge_cap=$FORGED"
grep -q "test_forge_cap: published 11 junk bytes under cap $FORGED" "$MNT/log" || fail "log: no forge"
printf 'forged cap\n' | cmp -s - "$MNT/caps/$FORGED" || fail "the forged cap's bytes"
cp "$EX/pipeline.rvf" "$C/" || fail "cp pipeline"
refuse eexist 'File exists'
grep -q "refused eexist.rvf: .*cap $FORGED already exists with different content" "$MNT/log" ||
    fail "log does not name the cap: $(grep 'refused eexist' "$MNT/log" | tail -n1)"
printf 'forged cap\n' | cmp -s - "$MNT/caps/$FORGED" || fail "the forged cap changed"
# A reboot re-publishes the forged blob (a cap name never changes its
# bytes while the kernel caches it): hello.rvf is still refused.
before=$(state "$MNT" | grep -v heap_used)
python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.nubfs.test_crash_mount", b"1")' "$C"
cp "$EX/fanout.rvf" "$C/" 2>/dev/null && fail "crash: mounted"
grep -q 're-mounted 1 of 1 packages' "$MNT/log" || fail "log: no re-mount"
grep -q "test_forge_cap: re-published 11 junk bytes under cap $FORGED" "$MNT/log" ||
    fail "log: the forged cap was not re-published after the reboot"
after=$(state "$MNT" | grep -v heap_used)
[ "$after" = "$before" ] || fail "after the reboot:
$before
---
$after"
out=$(cp "$PK/eexist.rvf" "$C/" 2>&1) && fail "hello mounted after the reboot"
echo "$out" | grep -q 'File exists' || fail "cp after the reboot printed '$out'"
printf 'forged cap\n' | cmp -s - "$MNT/caps/$FORGED" || fail "the forged cap after the reboot"
ok "EEXIST: junk under the hash of hello's module refuses hello.rvf (cp, rsync), the log names the cap, the junk still reads back; the same after a guest reboot"
stop_nubfs "$MNT"

# ---- daemon D: a cap that does not come back after a reboot -------------------------------
# The kernel caches cap entries for a day; after a reboot the daemon must
# make it forget the caps the fresh guest no longer has (here: a preloaded
# file that changed before the crash).
mkdir -p "$TMP/pre"
printf 'before the crash\n' > "$TMP/pre/note"
OLD=$(xxhsum -H2 "$TMP/pre/note" | cut -d' ' -f1)
start_nubfs "$NUBFS" "$MNT" "trust=$EX/keys,test_ops,preload=$TMP/pre"
C=$MNT/ctl
stat "$MNT/caps/$OLD" > /dev/null || fail "the preloaded cap"
printf 'after the crash\n' > "$TMP/pre/note"
NEW=$(xxhsum -H2 "$TMP/pre/note" | cut -d' ' -f1)
python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.nubfs.test_crash_mount", b"1")' "$C"
cp "$EX/hello.rvf" "$C/" 2>/dev/null && fail "crash: mounted"
grep -q 'after recovery: 1 cap did not come back' "$MNT/log" || fail "log: no lost cap"
stat "$MNT/caps/$OLD" > /dev/null 2>&1 && fail "caps/$OLD still there after the reboot"
printf 'after the crash\n' | cmp -s - "$MNT/caps/$NEW" || fail "caps/$NEW after the reboot"
ok "after a reboot, a cap the fresh guest lacks is gone at once (the kernel's cached entry is dropped)"
stop_nubfs "$MNT"
echo PASS
