#!/usr/bin/env bash
# Keys users already have: an Ed25519 key pair from `ssh-keygen -t ed25519
# -N ''` signs a package (nubfs-pack build --key) and is trusted from its
# .pub file, from an allowed_signers-style file and from nubfs's own
# format of the same key, always with the same key id. Keys nubfs must not
# take (encrypted, RSA, readable by others, options it cannot honour) are
# refused with the reason.
#
# usage: ssh_keys.sh pack NUBFS_PACK EXAMPLES_DIR        (no KVM needed)
#        ssh_keys.sh mount NUBFS_PACK EXAMPLES_DIR NUBFS  (a real mount; 77
#                                                         without KVM/FUSE)
set -u
MODE=${1:?usage}
PACK=${2:?usage}
EX=${3:?usage}
NUBFS=${4:-}
. "$(dirname "$0")/lib.sh"
# The test runs in a scratch directory: make the paths it was given absolute.
PACK=$(realpath "$PACK") && EX=$(realpath "$EX") || fail "bad paths"
[ -z "$NUBFS" ] || NUBFS=$(realpath "$NUBFS") || fail "bad nubfs path"
need_tools ssh-keygen base64 b2sum python3
[ -f "$EX/hello/hello.json" ] || fail "$EX/hello/hello.json not built"

TMP=$(mktemp -d /tmp/nubfs-ssh-XXXXXX) || fail mktemp
MNT=$TMP/mnt
PID=
trap 'cleanup_nubfs "$MNT"; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM
cd "$TMP" || fail "cd $TMP"

ssh-keygen -q -t ed25519 -N '' -C 'me@example.com' -f me || fail "ssh-keygen"
# The key id from the man page's recipe (nubfs-pack(1), KEY IDS).
ID=$(cut -d' ' -f2 me.pub | base64 -d | tail -c 32 | b2sum -l 256 | cut -c1-16)
key_id() { "$PACK" inspect --json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["signature"]["key_id"])'; }
"$PACK" build "$EX/hello/hello.json" -o hello.rvf --key me > build.out 2>&1 ||
    { cat build.out; fail "build --key with an ssh-keygen key"; }
[ "$(key_id hello.rvf)" = "$ID" ] || fail "key id $(key_id hello.rvf), want $ID"
ok "ssh-keygen -t ed25519 -N '' key signs; key id $ID as nubfs-pack(1) computes it"

mkdir trust
printf '# team keys\n\nme@example.com namespaces="git,nubfs" %s\nother@example.com namespaces="git" %s\n' \
    "$(cut -d' ' -f1,2 me.pub)" "$(ssh-keygen -q -t ed25519 -N '' -f git -C '' && cut -d' ' -f1,2 git.pub)" \
    > trust/allowed_signers.pub
# nubfs's own format of the same key: the 32 raw bytes in hex.
printf 'nubfs-ed25519-public %s\n' "$(cut -d' ' -f2 me.pub | base64 -d | tail -c 32 | od -An -tx1 -v | tr -d ' \n')" \
    > same.pub

if [ "$MODE" = pack ]; then
    for src in "--pub me.pub" "--pub same.pub" "--trust trust"; do
        # shellcheck disable=SC2086
        out=$("$PACK" verify hello.rvf $src 2>&1) || fail "verify $src: $out"
        echo "$out" | grep -q "signed by trusted key $ID" || fail "verify $src: $out"
    done
    ok "verify: trusted from the .pub, from allowed_signers lines, from nubfs's format; one key id"
    # Only the key whose namespaces include nubfs is trusted.
    "$PACK" build "$EX/hello/hello.json" -o git.rvf --key git > /dev/null 2>&1 || fail "build --key git"
    out=$("$PACK" verify git.rvf --trust trust 2>&1) && fail "namespaces=\"git\" key trusted: $out"
    echo "$out" | grep -q 'not trusted' || fail "namespaces=\"git\" key: $out"
    ok "allowed_signers: a key limited to other namespaces is not trusted"

    # refuse DESCRIPTION ERE CMD...: exit 1 with stderr matching ERE.
    refuse() {
        local desc=$1 pat=$2
        shift 2
        local out rc=0
        out=$("$@" 2>&1) || rc=$?
        [ $rc = 1 ] || fail "$desc: exit $rc, want 1: $out"
        echo "$out" | grep -Eq -- "$pat" || fail "$desc: $out"
        ok "$desc refused: $(echo "$out" | head -n1)"
    }
    ssh-keygen -q -t ed25519 -N 'pass phrase' -f enc || fail "ssh-keygen -N"
    refuse "encrypted private key" "encrypted .*ssh-keygen -p" \
        "$PACK" build "$EX/hello/hello.json" -o x.rvf --key enc
    ssh-keygen -q -t rsa -b 2048 -N '' -f rsa || fail "ssh-keygen -t rsa"
    refuse "RSA private key" "only ssh-ed25519" "$PACK" build "$EX/hello/hello.json" -o x.rvf --key rsa
    refuse "RSA public key" "key type ssh-rsa" "$PACK" verify hello.rvf --pub rsa.pub
    cp me open && chmod 644 open
    refuse "private key readable by others" "chmod 600" \
        "$PACK" build "$EX/hello/hello.json" -o x.rvf --key open
    refuse "public key where the secret belongs" "is a public key file" \
        "$PACK" build "$EX/hello/hello.json" -o x.rvf --key me.pub
    refuse "private key as trusted key" "is a secret key" "$PACK" verify hello.rvf --pub me
    printf 'me@example.com valid-before="20990101" %s\n' "$(cut -d' ' -f1,2 me.pub)" > valid.pub
    refuse "valid-before option" "valid-before is not supported" "$PACK" verify hello.rvf --pub valid.pub
    printf 'me@example.com cert-authority %s\n' "$(cut -d' ' -f1,2 me.pub)" > ca.pub
    refuse "cert-authority option" "cert-authority is not supported" "$PACK" verify hello.rvf --pub ca.pub
    sed 's/AAAA/AAAB/' me.pub > bent.pub
    refuse "damaged base64 key" "not an ssh-ed25519 public key" "$PACK" verify hello.rvf --pub bent.pub
    cat me.pub git.pub > two.pub
    out=$("$PACK" verify git.rvf --pub two.pub 2>&1) || fail "verify --pub with two keys: $out"
    ok "--pub FILE with two key lines trusts both"
    ! [ -e x.rvf ] || fail "a refused build wrote x.rvf"
    echo PASS
    exit 0
fi

[ "$MODE" = mount ] || fail "mode $MODE: want pack or mount"
[ -n "$NUBFS" ] || fail "mount mode needs NUBFS"
need_tools fusermount3 mountpoint
mkdir -p "$MNT"
cp me.pub trust/
start_nubfs "$NUBFS" "$MNT" "guest_mem=256M,trust=$TMP/trust"
# me (in both files, counted once); git's namespaces leave nubfs out.
grep -q 'trust: 1 key from' "$MNT/log" || { cat "$MNT/log"; fail "want 1 key trusted"; }
cp hello.rvf "$MNT/ctl/" || fail "cp of an ssh-signed package into ctl/"
[ "$(json "$MNT/mounts/hello/info" 'd["signer"]')" = "$ID" ] ||
    fail "mounts/hello/info signer: $(cat "$MNT/mounts/hello/info")"
ok "nubfs trusts an allowed_signers file and an ssh .pub; the package mounts, signer $ID"
stop_nubfs "$MNT"
echo PASS
