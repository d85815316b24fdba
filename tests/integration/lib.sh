# Shared helpers for the nubfs integration scripts (sourced, not run).
# skip REASON: exit 77, which ctest reports as skipped (SKIP_RETURN_CODE).
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
need_tools() {
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
    done
}

# ---- a daemon on a temporary mount (ctl/ tests) ----------------------------
# start_nubfs NUBFS MNT OPTS: starts nubfs -f in the background, waits for
# the mount (skips with the reason when KVM/FUSE are unusable); adds
# ephemeral unless OPTS has state= or ephemeral. Sets PID;
# the daemon's stderr goes to $MNT.log.
start_nubfs() {
    local nubfs=$1 mnt=$2 opts=$3
    # No state directory unless the test asks for one: a restart on the
    # same mountpoint starts empty, and nothing is left in /var/lib.
    case ",$opts," in *,state=*|*,ephemeral,*) ;; *) opts="$opts,ephemeral" ;; esac
    "$nubfs" "$mnt" -f -o "$opts" > "$mnt.log" 2>&1 &
    PID=$!
    for _ in $(seq 1 300); do
        mountpoint -q "$mnt" && return 0
        if ! kill -0 "$PID" 2>/dev/null; then
            wait "$PID"
            local rc=$?
            PID=
            [ $rc = 69 ] && skip "nubfs cannot use KVM or FUSE here: $(head -n1 "$mnt.log")"
            cat "$mnt.log" >&2
            fail "nubfs exited with status $rc before mounting"
        fi
        sleep 0.1
    done
    cat "$mnt.log" >&2
    fail "not mounted after 30 s"
}
# stop_nubfs MNT: unmounts and expects the daemon to exit 0.
stop_nubfs() {
    local mnt=$1
    fusermount3 -u "$mnt" || fail "fusermount3 -u $mnt"
    if [ -n "${PID:-}" ]; then
        wait "$PID"
        local rc=$?
        PID=
        [ $rc = 0 ] || { cat "$mnt.log" >&2; fail "nubfs exited $rc after unmount"; }
    fi
    # Sanitizer builds: UBSan reports and carries on; fail on any report.
    if grep -q 'runtime error:\|Sanitizer' "$mnt.log"; then
        cat "$mnt.log" >&2
        fail "the daemon's log has a sanitizer report"
    fi
}
# cleanup_nubfs MNT: for traps.
cleanup_nubfs() {
    local mnt=$1
    if mountpoint -q "$mnt" 2>/dev/null; then
        fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -u -z "$mnt" 2>/dev/null
    fi
    if [ -n "${PID:-}" ] && kill -0 "$PID" 2>/dev/null; then
        kill "$PID" 2>/dev/null
        sleep 0.3
        kill -9 "$PID" 2>/dev/null
    fi
}
# jq-free JSON access: json FILE EXPR (python, the document is `d`).
json() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print(json.dumps(v) if isinstance(v,(dict,list)) or v is None else v)' "$1" "$2"
}
# state MNT: what a failed mount must leave unchanged: the caps, the
# mounts, the ctl/ listing and the guest heap level.
state() {
    local m=$1
    echo "caps: $(ls "$m/caps" | sort | tr '\n' ' ')"
    echo "mounts: $(ls "$m/mounts" | sort | tr '\n' ' ')"
    echo "ctl: $(ls -a "$m/ctl" | sort | tr '\n' ' ')"
    echo "heap_used: $(json "$m/stats" 'd["heap_used"]')"
    echo "directory caps: $(json "$m/stats" 'd["caps"]') bytes: $(json "$m/stats" 'd["cap_bytes"]')"
}
# caps_ok DIR: every cap's content hashes to its name.
caps_ok() {
    local d=$1 n
    n=$(ls "$d" | wc -l)
    [ "$n" = 0 ] && return 0
    ( cd "$d" && ls | xargs xxhsum -q -H2 -- ) | awk '$1 != $2 {bad++} END {exit bad > 0}'
}
