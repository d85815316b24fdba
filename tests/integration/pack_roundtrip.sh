#!/usr/bin/env bash
# Round trip of every example package through nubfs-pack, as a user would
# run it: build -> inspect -> verify (trust dir and single key), inspect
# --json equals the spec, extracted payloads hash (xxhsum -H2) to their
# names, and every kind of damage or missing trust makes verify fail.
#
# usage: pack_roundtrip.sh NUBFS_PACK EXAMPLES_SRC_BUILD_DIR PKG...
#   EXAMPLES_SRC_BUILD_DIR holds <pkg>/<pkg>.json (+ .wasm, data) and
#   keys/example.{key,pub}, as contrib/examples/examples.cmake lays out.
set -euo pipefail

PACK=$1
EX=$2
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
for tool in xxhsum python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "SKIP: $tool not installed"
        exit 77
    fi
done

T=$(mktemp -d /tmp/nub-pack-it-XXXXXX)
trap 'rm -rf "$T"' EXIT
KEYS=$EX/keys
fails=0
n=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
bad() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $*"; }

# expect RC DESCRIPTION -- CMD...: run CMD, compare its exit code.
expect() {
    local want=$1 desc=$2
    shift 3
    local rc=0
    "$@" >"$T/out" 2>"$T/err" || rc=$?
    if [ "$rc" = "$want" ]; then ok "$desc"; else
        bad "$desc (exit $rc, wanted $want)"
        sed 's/^/    /' "$T/err" "$T/out" | head -20
    fi
}

# expect_fail DESCRIPTION ERE -- CMD...: exit 1 and stderr matches.
expect_fail() {
    local desc=$1 pat=$2
    shift 3
    local rc=0
    "$@" >"$T/out" 2>"$T/err" || rc=$?
    if [ "$rc" = 1 ] && grep -qE -- "$pat" "$T/err"; then ok "$desc"; else
        bad "$desc (exit $rc, stderr:)"
        sed 's/^/    /' "$T/err" | head -10
    fi
}

# flip FILE OFFSET: xor one byte with 0x01, in place.
flip() {
    python3 - "$1" "$2" <<'EOF'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
b[off] ^= 0x01
open(p, "wb").write(b)
EOF
}

# tamper FILE SEG_OFFSET PAYLOAD_LEN BYTE: flip payload byte BYTE of the
# segment at SEG_OFFSET and write the payload's new hash (by xxhsum -H2)
# into its header, as an attacker would: only the signature can catch it.
tamper() {
    python3 - "$1" "$2" "$3" "$4" "$T" <<'EOF'
import subprocess, sys
p, off, length, byte, tmp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
b = bytearray(open(p, "rb").read())
b[off + 64 + byte] ^= 0x01
open(tmp + "/payload", "wb").write(b[off + 64: off + 64 + length])
h = subprocess.run(["xxhsum", "-H2", tmp + "/payload"], capture_output=True, text=True,
                   check=True).stdout.split()[0]
b[off + 40: off + 56] = bytes.fromhex(h)   # content_hash field of the header
open(p, "wb").write(b)
EOF
}

# Segment field from inspect --json: seg FIELD INDEX JSON
seg() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[3]))["segments"][int(sys.argv[2])][sys.argv[1]])' "$1" "$2" "$3"
}

mkdir -p "$T/other"
"$PACK" keygen "$T/other/stranger" >/dev/null 2>&1

for pkg in "$@"; do
    spec=$EX/$pkg/$pkg.json
    rvf=$T/$pkg.rvf
    expect 0 "$pkg: build" -- "$PACK" build "$spec" -o "$rvf" --key "$KEYS/example.key"
    expect 0 "$pkg: inspect" -- "$PACK" inspect "$rvf"
    if grep -q "^package: *$pkg " "$T/out"; then ok "$pkg: inspect names the package"; else
        bad "$pkg: inspect names the package"; fi
    expect 0 "$pkg: verify --trust DIR" -- "$PACK" verify "$rvf" --trust "$KEYS"
    expect 0 "$pkg: verify --pub FILE" -- "$PACK" verify "$rvf" --pub "$KEYS/example.pub"

    "$PACK" inspect --json "$rvf" >"$T/$pkg.json"
    expect 0 "$pkg: inspect --json matches the spec" -- python3 "$HERE/pack_compare.py" "$spec" "$T/$pkg.json"

    # Extracted payloads: each file's xxhsum -H2 is its name, one per segment hash.
    rm -rf "$T/x"
    expect 0 "$pkg: inspect --extract" -- "$PACK" inspect "$rvf" --extract "$T/x"
    mism=$(cd "$T/x" && xxhsum -H2 -- * 2>/dev/null | awk '$1 != $2 { print $2 }')
    want=$(python3 -c 'import json,sys; print("\n".join(sorted({s["hash"] for s in json.load(open(sys.argv[1]))["segments"]})))' "$T/$pkg.json")
    have=$(ls "$T/x" | sort)
    if [ -z "$mism" ] && [ "$want" = "$have" ]; then ok "$pkg: xxhsum -H2 of every payload is its cap hash"; else
        bad "$pkg: xxhsum -H2 of every payload is its cap hash (mismatch: $mism)"; fi

    # One flipped byte anywhere that matters makes verify fail.
    nseg=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["segments"]))' "$T/$pkg.json")
    last=$((nseg - 1))
    size=$(stat -c %s "$rvf")
    for what in "manifest payload:$(( $(seg offset 0 "$T/$pkg.json") + 64 + 5 )):does not match|hashes to" \
                "wasm payload:$(( $(seg offset 1 "$T/$pkg.json") + 64 + 9 )):hashes to" \
                "segment 1 hash field:$(( $(seg offset 1 "$T/$pkg.json") + 40 )):hashes to" \
                "segment header magic:$(( $(seg offset 1 "$T/$pkg.json") )):not a valid package" \
                "crypto payload:$(( $(seg offset $last "$T/$pkg.json") + 64 + 36 + 7 )):hashes to" \
                "last byte:$((size - 1)):"; do
        IFS=: read -r name off pat <<<"$what"
        cp "$rvf" "$T/flip.rvf"
        flip "$T/flip.rvf" "$off"
        expect_fail "$pkg: flipped $name (byte $off) fails verify" "${pat:-nubfs-pack}" -- \
            "$PACK" verify "$T/flip.rvf" --trust "$KEYS"
    done

    # Changed *and* re-hashed segments pass the hash check: the signature
    # catches them (payload 36.. of CRYPTO is the signature, 4.. the key).
    for what in "wasm payload:1:0" "manifest payload:0:20" "signature:$last:40" "signer public key:$last:4"; do
        IFS=: read -r name idx byte <<<"$what"
        cp "$rvf" "$T/rehash.rvf"
        tamper "$T/rehash.rvf" "$(seg offset "$idx" "$T/$pkg.json")" "$(seg length "$idx" "$T/$pkg.json")" "$byte"
        expect_fail "$pkg: $name changed and re-hashed fails on the signature" "BAD signature" -- \
            "$PACK" verify "$T/rehash.rvf" --trust "$KEYS"
    done

    # Trust problems.
    expect_fail "$pkg: key not in the trust dir" "not trusted" -- "$PACK" verify "$rvf" --trust "$T/other"
    expect_fail "$pkg: other single key" "not trusted" -- "$PACK" verify "$rvf" --pub "$T/other/stranger.pub"
    "$PACK" build "$spec" -o "$T/$pkg-unsigned.rvf" --unsigned >/dev/null
    expect_fail "$pkg: unsigned package fails verify" "not signed" -- \
        "$PACK" verify "$T/$pkg-unsigned.rvf" --trust "$KEYS"
    expect 0 "$pkg: unsigned package still inspects" -- "$PACK" inspect "$T/$pkg-unsigned.rvf"
    if grep -q "unsigned" "$T/out"; then ok "$pkg: inspect says unsigned"; else bad "$pkg: inspect says unsigned"; fi
    head -c $((size / 2)) "$rvf" >"$T/trunc.rvf"
    # (cut at a segment boundary it is a well-formed but unsigned package)
    expect_fail "$pkg: truncated package fails verify" "not a valid package|not signed" -- \
        "$PACK" verify "$T/trunc.rvf" --trust "$KEYS"
done

# A trust dir with several keys, one of them the signer, works; a broken
# key file in it is an error, never skipped.
if [ $# -gt 0 ]; then
    first=$1
    mkdir -p "$T/multi"
    cp "$T/other/stranger.pub" "$T/multi/a.pub"
    "$PACK" keygen "$T/multi/b" >/dev/null 2>&1
    cp "$KEYS/example.pub" "$T/multi/c.pub"
    expect 0 "trust dir with several keys" -- "$PACK" verify "$T/$first.rvf" --trust "$T/multi"
    echo "nubfs-ed25519-public nothex" >"$T/multi/d.pub"
    expect_fail "malformed key in the trust dir is reported" "d.pub: malformed public key" -- \
        "$PACK" verify "$T/$first.rvf" --trust "$T/multi"
fi

# The same module in two packages (and twice in one) is one cap.
if [ -f "$T/pipeline.json" ] && [ -f "$T/fanout.json" ]; then
    if python3 - "$T/pipeline.json" "$T/fanout.json" <<'EOF'
import json, sys
p, f = (json.load(open(x)) for x in sys.argv[1:3])
pc = {c["name"]: c["wasm"] for c in p["components"]}
fc = {c["name"]: c["wasm"] for c in f["components"]}
assert fc["even"] == fc["odd"] == pc["consumer"], (pc, fc)
assert len([s for s in f["segments"] if s["hash"] == pc["consumer"]]) == 1
EOF
    then ok "fanout and pipeline share the consumer cap, stored once"; else bad "shared cap"; fi
fi

# Command line contract.
expect 2 "no command is a usage error" -- "$PACK"
expect 2 "unknown command is a usage error" -- "$PACK" frobnicate
expect 2 "verify without keys is a usage error" -- "$PACK" verify x.rvf
expect 2 "build without -o is a usage error" -- "$PACK" build x.json
expect 0 "--help" -- "$PACK" --help
expect 0 "--version" -- "$PACK" --version
expect_fail "missing package file" "No such file" -- "$PACK" verify "$T/none.rvf" --trust "$KEYS"
expect_fail "missing trust dir" "nonexistent/keys: No such file" -- \
    "$PACK" verify "$T/none.rvf" --trust /nonexistent/keys
if [ "$(grep -c . "$T/err")" = 1 ]; then ok "missing trust dir: said once"; else
    bad "missing trust dir: said more than once"; sed 's/^/    /' "$T/err"; fi
expect_fail "keygen refuses to overwrite" "already exists" -- "$PACK" keygen "$T/other/stranger"
expect 0 "keygen --force replaces" -- "$PACK" keygen --force "$T/other/stranger"
if [ "$(stat -c %a "$T/other/stranger.key")" = 600 ]; then ok "secret key is mode 600"; else bad "secret key mode"; fi
# The man pages' example on a fresh home: keygen ~/.config/nubfs/keys/me.
expect 0 "keygen creates missing parent directories" -- \
    env HOME="$T/home" "$PACK" keygen "$T/home/.config/nubfs/keys/me"
modes=$(stat -c %a "$T/home" "$T/home/.config" "$T/home/.config/nubfs" "$T/home/.config/nubfs/keys" | tr '\n' ' ')
if [ "$modes" = "700 700 700 700 " ] && [ -f "$T/home/.config/nubfs/keys/me.pub" ]; then
    ok "new parent directories are mode 0700"; else bad "parent directories: modes $modes"; fi
: > "$T/plainfile"
expect_fail "keygen under a file says so" "plainfile: Not a directory" -- "$PACK" keygen "$T/plainfile/me"

echo "# $n checks, $fails failed"
[ "$fails" = 0 ]
