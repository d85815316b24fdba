#!/bin/bash
# Readers against mounts and unmounts: for a bounded time (default 20 s,
# NUBFS_STRESS_SECONDS) packages are mounted, replaced and unmounted in a
# loop through ctl/ while readers cat every cap (checking each with
# xxhsum -H2) and parse mounts/*/info. Every byte read must match its
# hash; the only error allowed is ENOENT for a cap or mount that left; the
# caps of a package mounted throughout never fail. Exits 77 if KVM or
# FUSE is unusable here.
# usage: ctl_stress.sh PATH/TO/nubfs PATH/TO/nubfs-pack EXAMPLES_DIR
set -u
set -o pipefail
. "$(dirname "$0")/lib.sh"
NUBFS=${1:?usage} PACK=${2:?usage} EX=${3:?usage}
need_tools fusermount3 mountpoint xxhsum python3
SECONDS_RUN=${NUBFS_STRESS_SECONDS:-20}
test_dirs stress

# Two packages with 4 MiB regions (long reads that race with unmounts).
for b in a b; do
    head -c $((4 << 20)) /dev/urandom > "$PK/$b.bin"
    blob_pkg "blob$b" "data=$b.bin"
done

start_nubfs "$NUBFS" "$MNT" "guest_mem=256M,trust=$EX/keys"
C=$MNT/ctl
cp "$EX/hello.rvf" "$C/stable.rvf" || fail "cp stable"
STABLE=$(ls "$MNT/caps" | tr '\n' ' ')
END=$(($(date +%s) + SECONDS_RUN))

# reader N: checks every cap it can list until END; counts into $TMP/rN.
reader() {
    local n=$1 reads=0 gone=0
    while [ "$(date +%s)" -lt "$END" ]; do
        for h in $(ls "$MNT/caps"); do
            got=$(cat "$MNT/caps/$h" 2> "$TMP/err$n" | xxhsum -q -H2 - | awk '{print $1}')
            if [ $? = 0 ] && [ -s "$TMP/err$n" ]; then got=error; fi
            if [ "$got" = "$h" ]; then
                reads=$((reads + 1))
            elif grep -q 'No such file or directory' "$TMP/err$n"; then
                case " $STABLE " in *" $h "*) echo "reader $n: stable cap $h vanished" >&2; return 1 ;; esac
                gone=$((gone + 1))
            else
                echo "reader $n: caps/$h read as $got: $(cat "$TMP/err$n")" >&2
                return 1
            fi
        done
    done
    echo "$reads $gone" > "$TMP/r$n"
}
info_reader() {
    local reads=0
    while [ "$(date +%s)" -lt "$END" ]; do
        for d in $(ls "$MNT/mounts"); do
            if out=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["name"] == sys.argv[2], d' \
                "$MNT/mounts/$d/info" "$d" 2>&1); then
                reads=$((reads + 1))
            elif ! echo "$out" | grep -q 'No such file or directory'; then
                echo "info reader: mounts/$d/info: $out" >&2
                return 1
            fi
        done
    done
    echo "$reads" > "$TMP/ri"
}
pids=()
for n in 1 2 3; do reader $n & pids+=($!); done
info_reader & pids+=($!)

cycles=0
while [ "$(date +%s)" -lt "$END" ]; do
    cp "$PK/bloba.rvf" "$C/x.rvf" || fail "cp bloba"
    cp "$EX/pipeline.rvf" "$C/p.rvf" || fail "cp pipeline"
    cp "$PK/blobb.rvf" "$C/x.rvf" || fail "replace x with blobb"
    cp "$EX/fanout.rvf" "$C/f.rvf" || fail "cp fanout"
    rm "$C/p.rvf" "$C/x.rvf" || fail "rm"
    rm "$C/f.rvf" || fail "rm fanout"
    cycles=$((cycles + 1))
done
for p in "${pids[@]}"; do wait "$p" || fail "a reader saw wrong bytes or an unexpected error"; done
read -r r1 g1 < "$TMP/r1"; read -r r2 g2 < "$TMP/r2"; read -r r3 g3 < "$TMP/r3"
[ "$(ls "$C")" = stable.rvf ] || fail "ctl/ after the loop: $(ls "$C")"
[ "$(ls "$MNT/caps" | tr '\n' ' ')" = "$STABLE" ] || fail "caps/ after the loop"
caps_ok "$MNT/caps" || fail "caps after the loop"
ok "$SECONDS_RUN s: $cycles mount/replace/unmount cycles; $((r1 + r2 + r3)) cap reads verified, $((g1 + g2 + g3)) ENOENT for caps that left, $(cat "$TMP/ri") info files parsed"
stop_nubfs "$MNT"
echo PASS
