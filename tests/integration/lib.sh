# Shared helpers for the nubfs integration scripts (sourced, not run).
# HERE: the directory of the scripts (for readers.sh, rvf_edit.py).
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# skip REASON: exit 77, which ctest reports as skipped (SKIP_RETURN_CODE).
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
need_tools() {
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
    done
}

# ---- a scratch directory and test packages ---------------------------------
# test_dirs NAME [EXIT_CMD]: a fresh TMP (/tmp/nubfs-NAME-XXXXXX) holding
# MNT (the mountpoint) and PK (packages), PID cleared, and traps that run
# EXIT_CMD (if any), stop the daemon and remove TMP however the script ends.
test_dirs() {
    TMP=$(mktemp -d "/tmp/nubfs-$1-XXXXXX") || fail mktemp
    MNT=$TMP/mnt PK=$TMP/pk
    mkdir -p "$MNT" "$PK"
    PID=
    ON_EXIT=${2:-:}
    trap 'eval "$ON_EXIT"; cleanup_nubfs "$MNT"; rm -rf "$TMP"' EXIT
    trap 'exit 1' INT TERM
}
# blob_pkg NAME REGION=FILE...: builds $PK/NAME.rvf signed with the example
# key ($PACK, $EX): one component c (hello.wasm) and, per REGION=FILE, an
# immutable region REGION holding $PK/FILE that c owns and reads.
blob_pkg() {
    local name=$1 r regions="" sep=""
    shift
    [ -f "$PK/hello.wasm" ] || cp "$EX/hello/hello.wasm" "$PK/" || fail "cp hello.wasm"
    for r in "$@"; do
        regions+="$sep{ \"name\": \"${r%%=*}\", \"policy\": \"immutable\", \"data\": \"${r#*=}\", \"owner\": \"c\", \"read\": [\"c\"] }"
        sep=", "
    done
    cat > "$PK/$name.json" <<JSON
{ "name": "$name", "version": "1",
  "components": [ { "name": "c", "wasm": "hello.wasm", "entry": ["run"] } ],
  "regions": [ $regions ] }
JSON
    "$PACK" build "$PK/$name.json" -o "$PK/$name.rvf" --key "$EX/keys/example.key" > "$TMP/pack.out" 2>&1 ||
        fail "nubfs-pack build $name.json: $(cat "$TMP/pack.out")"
}
# hash_of FILE: the XXH3-128 name its bytes get under caps/.
hash_of() { xxhsum -H2 "$1" | cut -d' ' -f1; }

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
# tasks_settle MNT: waits (up to 30 s) until the scheduler sleeps: the
# slices a mount or rm wakes it for (after its readers-first wait) have
# run, and heap_used is as the tasks left it (they make and free their
# instances; an rm's slice drops its tasks' run state).
tasks_settle() {
    local i
    for i in $(seq 1 300); do
        [ "$(json "$1/stats" 'd["tasks"]["sleeping"]')" = True ] && return 0
        sleep 0.1
    done
}
# state MNT: what a failed mount must leave unchanged: the caps, the
# mounts, the ctl/ listing and the guest heap level.
state() {
    local m=$1
    tasks_settle "$m"
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

# ---- state directories (state_restart.sh, state_crash.sh) ------------------
# pkg_caps PACK RVF: the package's cap hashes (every segment but the
# signature), one a line.
pkg_caps() {
    "$1" inspect --json "$2" |
        python3 -c 'import json,sys; [print(s["hash"]) for s in json.load(sys.stdin)["segments"] if s["type"] != "crypto"]'
}
# check_state PACK MNT STATE EXP: after a restart, the mount and the state
# directory hold exactly the packages in directory EXP (ctl/ names ->
# original bytes): `ls ctl`, `cmp` of each, `ls caps` is the union of
# their caps, `xxhsum -H2` of caps/* on the mount and in the state
# directory, and nothing else in the state directory (format, lock,
# caps/<hash> for exactly those caps, pkgs/ one frame per package).
check_state() {
    local pack=$1 mnt=$2 st=$3 exp=$4 f want got
    want=$(ls "$exp" | sort | tr '\n' ' ')
    got=$(ls "$mnt/ctl" | sort | tr '\n' ' ')
    [ "$got" = "$want" ] || fail "ls ctl: '$got', want '$want'"
    for f in $(ls "$exp"); do
        cmp -s "$mnt/ctl/$f" "$exp/$f" || fail "ctl/$f does not read back byte for byte"
    done
    want=$(for f in $(ls "$exp"); do pkg_caps "$pack" "$exp/$f"; done | sort -u | tr '\n' ' ')
    got=$(ls "$mnt/caps" | sort | tr '\n' ' ')
    [ "$got" = "$want" ] || fail "ls caps: '$got', want '$want'"
    caps_ok "$mnt/caps" || fail "a cap under caps/ does not hash to its name"
    got=$(ls -A "$st/caps" | sort | tr '\n' ' ')
    [ "$got" = "$want" ] || fail "state caps/: '$got', want '$want'"
    caps_ok "$st/caps" || fail "a file in the state directory's caps/ does not hash to its name"
    got=$(ls -A "$st" | sort | tr '\n' ' ')
    [ "$got" = "caps format lock pkgs " ] || fail "state directory holds '$got'"
    want=$(ls "$exp" | sed 's/\.rvf$//' | sort | tr '\n' ' ')
    got=$(ls -A "$st/pkgs" | sed -n 's/^[0-9a-f]\{16\}\.\(.*\)\.frame$/\1/p' | sort | tr '\n' ' ')
    [ "$got" = "$want" ] || fail "state pkgs/: '$(ls -A "$st/pkgs" | tr '\n' ' ')', want frames of '$want'"
    [ "$(ls -A "$st/pkgs" | wc -l)" = "$(ls "$exp" | wc -l)" ] || fail "pkgs/ holds more than the frames"
}

# ---- polling ---------------------------------------------------------------
# wait_until SECS WHAT 'EXPR': evaluates the shell expression EXPR (quote
# it, so that its $(...) run each time) every 0.1 s until it is true;
# fails naming WHAT after SECS seconds.
wait_until() {
    local _secs=$1 _what=$2 _expr=$3 _end
    _end=$((SECONDS + _secs))
    until eval "$_expr"; do
        [ $SECONDS -lt $_end ] || fail "$_what: not after $_secs s"
        sleep 0.1
    done
}
