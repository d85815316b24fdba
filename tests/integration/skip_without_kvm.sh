#!/bin/bash
# Proves the harness reports "no KVM" as SKIPPED, never as passed or failed:
# runs caps.sh with NUBFS_KVM_DEVICE pointing at a node that does not
# exist and expects exit 77 with a reason naming it; also checks the
# daemon itself refuses with one line and status 69 before daemonizing.
# usage: skip_without_kvm.sh PATH/TO/caps.sh PATH/TO/nubfs
set -u
CAPS=${1:?usage}
NUBFS=${2:?usage}
. "$(dirname "$0")/lib.sh"

TMP=$(mktemp -d /tmp/nubfs-fs-XXXXXX) || fail mktemp
trap 'rm -rf "$TMP"' EXIT

NUBFS_KVM_DEVICE=/nonexistent/kvm "$NUBFS" "$TMP" > "$TMP/out" 2> "$TMP/err"
rc=$?
[ $rc = 69 ] || fail "nubfs without KVM exited $rc, want 69: $(cat "$TMP/err")"
[ "$(wc -l < "$TMP/err")" = 1 ] || fail "want one line on stderr, got: $(cat "$TMP/err")"
grep -q '/nonexistent/kvm' "$TMP/err" || fail "message does not name the device: $(cat "$TMP/err")"
grep -q 'modprobe' "$TMP/err" || fail "message does not say how to fix it: $(cat "$TMP/err")"
mountpoint -q "$TMP" && fail "mounted anyway"
ok "nubfs: status 69, one line: $(cat "$TMP/err")"

NUBFS_KVM_DEVICE=/nonexistent/kvm NUBFS_TEST_BLOBS=30 "$CAPS" "$NUBFS" > "$TMP/caps.out" 2>&1
rc=$?
if [ $rc = 77 ] && ! grep -q '/nonexistent/kvm' "$TMP/caps.out"; then
    skip "caps.sh skipped for another reason: $(cat "$TMP/caps.out")"
fi
[ $rc = 77 ] || fail "caps.sh without KVM exited $rc, want 77 (skip): $(cat "$TMP/caps.out")"
grep -q '^SKIP: .*/nonexistent/kvm' "$TMP/caps.out" || fail "no SKIP reason: $(cat "$TMP/caps.out")"
ok "caps.sh: $(grep '^SKIP' "$TMP/caps.out")"
echo PASS
