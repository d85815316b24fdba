#!/usr/bin/env bash
# Throughput of `nubfs-pack verify` against its peers on the same file in
# the same run: sha512sum (Ed25519 hashes the signed bytes with SHA-512, so
# it bounds a signature check) and xxhsum -H2 (the cap hash). Not a test:
# it prints numbers, it does not pass or fail.
#
# usage: verify_throughput.sh [NUBFS_PACK] [SIZE_MIB]   (default 256)
# The package is SIZE_MIB in total (the default mount limit is 256 MiB):
# four immutable data regions (a region holds at most 64 MiB) of random
# bytes plus one tiny component. Each tool runs REPEAT times on a warm page
# cache; the best run counts.
set -euo pipefail

PACK=${1:-nubfs-pack}
SIZE_MIB=${2:-256}
REPEAT=${REPEAT:-3}
T=$(mktemp -d /tmp/nub-bench-XXXXXX)
trap 'rm -rf "$T"' EXIT

# (module (func (export "run")))
printf '\x00\x61\x73\x6d\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00\x07\x07\x01\x03run\x00\x00\x0a\x04\x01\x02\x00\x0b' >"$T/c.wasm"
# Leave room for the manifest, the module and the headers.
total=$((SIZE_MIB * 1024 * 1024))
per=$(((total - 64 * 1024) / 4 / 4096 * 4096))
regions=""
for i in 0 1 2 3; do
    head -c "$per" /dev/urandom >"$T/d$i.bin"
    regions="$regions${regions:+,}{\"name\":\"d$i\",\"policy\":\"immutable\",\"data\":\"d$i.bin\",\"owner\":\"c\",\"read\":[\"c\"]}"
done
cat >"$T/big.json" <<EOF
{"name":"big","version":"1","components":[{"name":"c","wasm":"c.wasm","entry":["run"]}],
 "regions":[$regions]}
EOF
"$PACK" keygen "$T/k" >/dev/null 2>&1
"$PACK" build "$T/big.json" -o "$T/big.rvf" --key "$T/k.key" >/dev/null
bytes=$(stat -c %s "$T/big.rvf")

best() { # best wall time in ns of REPEAT runs of "$@"
    local b=0 t0 t1 d
    for _ in $(seq "$REPEAT"); do
        t0=$(date +%s%N)
        "$@" >/dev/null 2>&1
        t1=$(date +%s%N)
        d=$((t1 - t0))
        if [ "$b" = 0 ] || [ "$d" -lt "$b" ]; then b=$d; fi
    done
    echo "$b"
}

cat "$T/big.rvf" >/dev/null # warm the page cache
printf '%s: %d bytes (%.1f MiB), %s, best of %d\n' "$(basename "$T")/big.rvf" "$bytes" \
    "$(echo "$bytes / 1048576" | bc -l)" "$(nproc) CPUs" "$REPEAT"
printf '%-34s %10s %10s\n' "tool" "seconds" "MB/s"
for tool in "nubfs-pack verify --pub" "sha512sum" "xxhsum -H2" "b2sum" "cat >/dev/null"; do
    case $tool in
        nubfs-pack*) ns=$(best "$PACK" verify "$T/big.rvf" --pub "$T/k.pub") ;;
        sha512sum) ns=$(best sha512sum "$T/big.rvf") ;;
        xxhsum*) ns=$(best xxhsum -H2 "$T/big.rvf") ;;
        b2sum) ns=$(best b2sum "$T/big.rvf") ;;
        cat*) ns=$(best cat "$T/big.rvf") ;;
    esac
    printf '%-34s %10.3f %10.0f\n' "$tool" "$(echo "$ns / 1000000000" | bc -l)" \
        "$(echo "$bytes / ($ns / 1000)" | bc -l)"
done
# Sanity: the package really verifies (a benchmark of a failing run is void).
"$PACK" verify "$T/big.rvf" --pub "$T/k.pub"
