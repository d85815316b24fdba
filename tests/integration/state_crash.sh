#!/bin/bash
# The crash matrix (DESIGN §9, §10): the daemon stops dead (_exit, the
# test knobs user.nubfs.test_exit_mount / test_exit_unmount) after each
# step of a mount, a replace and a removal; nubfs started again on the
# same state directory must show exactly the acknowledged state, or the
# new one once the step made it durable (the frame renamed and pkgs/
# fsynced): `ls ctl`, `cmp` of every ctl/*.rvf, `ls caps`, `xxhsum -H2`
# of caps/* on the mount and in the state directory, and nothing else
# in the state directory (check_state in lib.sh).
#   mount steps: 1 staged, 2 caps written+fsynced, 3 frame .tmp fsynced,
#                4 MOUNT done (frame still .tmp), 5 frame renamed + pkgs/
#                fsynced, no reply; 6 the guest refused, the .tmp not yet
#                removed (a refused package never comes back)
#   removal:     1 frame unlinked + fsynced, 2 UNMOUNT done, 3 caps gone
# usage: state_crash.sh NUBFS NUBFS-PACK EXAMPLES   (77 without KVM/FUSE)
set -u
. "$(dirname "$0")/lib.sh"
NUBFS=$(realpath "${1:?usage}") PACK=$(realpath "${2:?usage}") EX=$(realpath "${3:?usage}")
need_tools fusermount3 mountpoint xxhsum cmp python3 timeout

test_dirs crash
ST=$TMP/state
EXP=$TMP/exp
mkdir -p "$EXP"
OPTS="guest_mem=128M,trust=$EX/keys,state=$ST,test_ops"

# crash_at KIND N CMD...: arms the knob, runs CMD (which must fail: the
# daemon is gone before it answers), expects the daemon's exit status 99,
# clears the dead mount and starts again on the same state directory.
crash_at() {
    local kind=$1 n=$2 rc
    shift 2
    python3 -c 'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())' \
        "$MNT/ctl" "user.nubfs.test_exit_$kind" "$n" || fail "setxattr test_exit_$kind=$n"
    if timeout 30 "$@" 2>/dev/null; then fail "$kind step $n: '$*' succeeded, the daemon should be gone"; fi
    wait "$PID"
    rc=$?
    PID=
    [ $rc = 99 ] || fail "$kind step $n: the daemon exited $rc, want 99 (the knob)"
    fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -u -z "$MNT" 2>/dev/null
    start_nubfs "$NUBFS" "$MNT" "$OPTS"
}

start_nubfs "$NUBFS" "$MNT" "$OPTS"
cp "$EX/hello.rvf" "$MNT/ctl/" || fail "cp hello.rvf"
cp "$EX/hello.rvf" "$EXP/"
check_state "$PACK" "$MNT" "$ST" "$EXP"

# ---- a new package ------------------------------------------------------------
for n in 1 2 3 4 5; do
    crash_at mount "$n" cp "$EX/pipeline.rvf" "$MNT/ctl/"
    if [ "$n" -ge 5 ]; then cp "$EX/pipeline.rvf" "$EXP/"; fi
    check_state "$PACK" "$MNT" "$ST" "$EXP"
    ok "mount, dead after step $n: $(ls "$MNT/ctl" | tr '\n' ' ')"
    if [ -e "$EXP/pipeline.rvf" ]; then
        rm "$MNT/ctl/pipeline.rvf" "$EXP/pipeline.rvf" || fail "rm pipeline.rvf"
    fi
done

# ---- a replace: hello.rvf overwritten with fanout's bytes ----------------------
for n in 1 2 3 4 5; do
    crash_at mount "$n" cp "$EX/fanout.rvf" "$MNT/ctl/hello.rvf"
    if [ "$n" -ge 5 ]; then cp "$EX/fanout.rvf" "$EXP/hello.rvf"; fi
    check_state "$PACK" "$MNT" "$ST" "$EXP"
    ok "replace, dead after step $n: ctl/hello.rvf is the $([ "$n" -ge 5 ] && echo new || echo old) package"
    if [ "$n" -ge 5 ]; then
        cp "$EX/hello.rvf" "$MNT/ctl/hello.rvf" || fail "cp hello.rvf back"
        cp "$EX/hello.rvf" "$EXP/hello.rvf"
    fi
done

# ---- a package the guest refuses (test_fail_step: MOUNT fails in the guest) -------
setfail() {
    python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.nubfs.test_fail_step", sys.argv[2].encode())' \
        "$MNT/ctl" "$1" || fail "setxattr test_fail_step=$1"
}
setfail 3
if cp "$EX/pipeline.rvf" "$MNT/ctl/" 2>/dev/null; then fail "cp with test_fail_step=3 succeeded"; fi
setfail 0
check_state "$PACK" "$MNT" "$ST" "$EXP"
ok "refused by the guest: no frame, no caps left"
setfail 3
crash_at mount 6 cp "$EX/pipeline.rvf" "$MNT/ctl/"
check_state "$PACK" "$MNT" "$ST" "$EXP"
ok "refused by the guest, dead before its staged frame was removed: it does not come back"
# The same for a replace: the old package stays.
setfail 3
crash_at mount 6 cp "$EX/fanout.rvf" "$MNT/ctl/hello.rvf"
check_state "$PACK" "$MNT" "$ST" "$EXP"
ok "a refused replace, dead before its staged frame was removed: the old package stays"

# ---- a removal -------------------------------------------------------------------
for n in 1 2 3; do
    cp "$EX/pipeline.rvf" "$MNT/ctl/" || fail "cp pipeline.rvf"
    crash_at unmount "$n" rm "$MNT/ctl/pipeline.rvf"
    check_state "$PACK" "$MNT" "$ST" "$EXP"
    ok "removal, dead after step $n: gone, its caps' files too"
done
stop_nubfs "$MNT"
