#!/bin/bash
# Command-line behaviour that needs neither KVM nor FUSE: help, version,
# usage errors and their exit statuses (see nubfs(8), EXIT STATUS).
# usage: cli.sh PATH/TO/nubfs
set -u
NUBFS=${1:?usage}
. "$(dirname "$0")/lib.sh"

out=$("$NUBFS" --help) || fail "--help exited $?"
echo "$out" | grep -q 'preload=DIR' || fail "--help does not list preload="
for o in trust=DIR allow_unsigned max_package=SIZE max_tasks=N tasks=on task_fuel=N task_cpu=PERCENT task_fuel_max=N; do
    echo "$out" | grep -q "$o" || fail "--help does not list $o"
done
"$NUBFS" -h | grep -q '^usage:' || fail "-h"
"$NUBFS" --version | grep -Eq '^nubfs [0-9]' || fail "--version"
"$NUBFS" -V > /dev/null || fail "-V"
ok "help and version"

"$NUBFS" > /dev/null 2>&1; rc=$?
[ $rc = 2 ] || fail "no mountpoint: exit $rc, want 2"
"$NUBFS" a b c > /dev/null 2>&1; rc=$?
[ $rc = 2 ] || fail "three positionals: exit $rc, want 2"
err=$("$NUBFS" /tmp -o guest_mem=12Q 2>&1); rc=$?
[ $rc = 2 ] || fail "bad guest_mem: exit $rc, want 2"
echo "$err" | grep -q 'guest_mem' || fail "bad guest_mem message: $err"
err=$("$NUBFS" /tmp -o guest_mem=1M 2>&1); rc=$?
[ $rc = 2 ] || fail "too small guest_mem: exit $rc, want 2"
err=$("$NUBFS" /tmp -o max_package=lots 2>&1); rc=$?
[ $rc = 2 ] || fail "bad max_package: exit $rc, want 2"
echo "$err" | grep -q 'max_package' || fail "bad max_package message: $err"
err=$("$NUBFS" /tmp -o max_tasks=65 2>&1); rc=$?
[ $rc = 2 ] || fail "max_tasks over the format's limit: exit $rc, want 2"
err=$("$NUBFS" /tmp -o test_crash_mount 2>&1); rc=$?
[ $rc = 2 ] || fail "test knob without test_ops: exit $rc, want 2"
err=$("$NUBFS" /nonexistent/dir 2>&1); rc=$?
[ $rc = 2 ] || fail "missing mountpoint dir: exit $rc, want 2"
echo "$err" | grep -q 'No such file' || fail "missing mountpoint message: $err"
err=$("$NUBFS" /etc/hostname 2>&1); rc=$?
[ $rc = 2 ] || fail "mountpoint not a directory: exit $rc, want 2"
ok "usage errors (bad options, sizes, limits, bad mountpoint): exit 2"

# Every usage error: exit 2, one line, before anything is checked or
# booted. NUBFS_KVM_DEVICE names no device, so an error found only after
# the pre-flight check would exit 69 instead; each must also be quick.
usage_error() {
    local what=$1 err rc t0 t1
    shift
    t0=$(date +%s%N)
    err=$(NUBFS_KVM_DEVICE=/nonexistent/kvm timeout 10 "$NUBFS" /tmp "$@" 2>&1 >/dev/null); rc=$?
    t1=$(date +%s%N)
    [ $rc = 2 ] || fail "$what ($*): exit $rc, want 2: $err"
    [ "$(printf '%s\n' "$err" | grep -c .)" = 1 ] || fail "$what ($*): want one line, got: $err"
    [ $(( (t1 - t0) / 1000000 )) -lt 2000 ] || fail "$what ($*): took $(( (t1 - t0) / 1000000 )) ms"
}
usage_error "unknown -o option" -o frobnicate=1
usage_error "unknown long option" --bogus
usage_error "unknown option among good ones" -o allow_unsigned,frobnicate
for o in watchdog max_components max_regions max_queues max_tasks task_fuel task_cpu; do
    for v in 0 -5 99999999999999999999 12abc '' ' 7' +3 0x10; do
        usage_error "$o out of range" -o "$o=$v"
    done
done
usage_error "watchdog over an hour" -o watchdog=3600001
usage_error "max_components over the format" -o max_components=257
usage_error "max_regions over the format" -o max_regions=257
usage_error "max_queues over the format" -o max_queues=1025
usage_error "task_fuel under 100" -o task_fuel=99
usage_error "task_fuel over the limit" -o task_fuel=100000001
usage_error "task_cpu over 100" -o task_cpu=101
for v in -5 99999999999999999999 12abc '' 1000000000001; do
    usage_error "task_fuel_max out of range" -o "task_fuel_max=$v"
done
usage_error "tasks neither on nor off" -o tasks=maybe
usage_error "tasks without a value" -o tasks=
usage_error "test_crash_after negative" -o test_ops,test_crash_after=-1
usage_error "test_fail_step out of range" -o test_ops,test_fail_step=8
usage_error "test_fail_step negative" -o test_ops,test_fail_step=-2
usage_error "guest_mem too large" -o guest_mem=65G
usage_error "max_package negative" -o max_package=-1
# The same values in range get past the options (to the pre-flight: 69).
NUBFS_KVM_DEVICE=/nonexistent/kvm "$NUBFS" /tmp -o watchdog=1,max_components=1,max_regions=256,max_queues=1024,max_tasks=64,tasks=off,task_fuel=100,task_cpu=100,task_fuel_max=0 2>/dev/null; rc=$?
[ $rc = 69 ] || fail "options in range: exit $rc, want 69 (the pre-flight)"
ok "usage errors (unknown options, every numeric option's range): exit 2, one line, quick, before the pre-flight"

# A /dev/kvm another user may not open: the hint fits this system (join
# the kvm group, or first create one where there is none: getent).
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
    err=$(setpriv --reuid=64999 --regid=64999 --clear-groups "$NUBFS" /tmp 2>&1); rc=$?
    if [ $rc = 69 ] && echo "$err" | grep -q 'permission denied'; then
        [ "$(printf '%s\n' "$err" | grep -c .)" = 1 ] || fail "kvm hint: want one line: $err"
        if getent group kvm > /dev/null; then
            echo "$err" | grep -q 'usermod -aG kvm' || fail "kvm hint: $err"
            echo "$err" | grep -q 'groupadd' && fail "kvm hint names groupadd though kvm exists: $err"
            ok "/dev/kvm denied, a kvm group exists: join it"
        else
            echo "$err" | grep -q 'no kvm group' || fail "kvm hint without a kvm group: $err"
            echo "$err" | grep -q 'groupadd -r kvm' || fail "kvm hint without a kvm group: $err"
            ok "/dev/kvm denied, no kvm group: create it, give it the device, join it"
        fi
    else
        echo "# not checked here (/dev/kvm is open to uid 64999, or missing): the kvm group hint"
    fi
fi

# A trust= directory that does not exist: one line that says so, exit 1,
# before the guest boots (needs the pre-flight checks to pass: KVM, FUSE).
mp=$(mktemp -d /tmp/nub-cli-XXXXXX)
err=$("$NUBFS" "$mp" -f -o trust=/nonexistent/keys 2>&1); rc=$?
rmdir "$mp"
if [ $rc = 69 ]; then
    echo "# not checked here (KVM or FUSE unusable): missing trust= directory"
else
    [ $rc = 1 ] || fail "missing trust= directory: exit $rc, want 1: $err"
    [ "$(printf '%s\n' "$err" | grep -c .)" = 1 ] ||
        fail "missing trust= directory: want one line, got: $err"
    echo "$err" | grep -q 'trust=/nonexistent/keys: No such file or directory' ||
        fail "missing trust= directory message: $err"
    ok "missing trust= directory: one line with the reason, exit 1"
fi
echo PASS
