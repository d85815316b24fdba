#!/bin/bash
# Every log sink gets one line per event (nubfs(8), log): a refused ctl/
# name holding a newline and other control bytes must not forge a line
# on stderr (-f), in the log file, or in syslog; refusals go to syslog
# at notice (LOG_DAEMON|LOG_NOTICE = <29>), not info. The start's own
# lines, held back until the daemon detaches, reach syslog in order, and
# those of a start that fails reach it when it exits. The syslog part
# listens on /dev/log itself, so it runs only where no syslog daemon
# owns /dev/log (CI); elsewhere it says it was not checked.
# Exits 77 if KVM or FUSE is unusable here.
# usage: log_sinks.sh PATH/TO/nubfs PATH/TO/nubfs-pack EXAMPLES_DIR
set -u
. "$(dirname "$0")/lib.sh"
NUBFS=${1:?usage} PACK=${2:?usage} EX=${3:?usage}
need_tools fusermount3 mountpoint python3

LPID= OWN_DEVLOG=
test_dirs logs '[ -n "$LPID" ] && kill "$LPID" 2>/dev/null; [ -n "$OWN_DEVLOG" ] && rm -f /dev/log'
"$PACK" build "$EX/hello/hello.json" -o "$TMP/unsigned.rvf" --unsigned 2>/dev/null ||
    fail "build unsigned"
cp "$EX/hello/hello.wasm" "$TMP/" 2>/dev/null

EVIL=$'x\nnubfs: FORGED line\r\x1b[31m\x01.rvf'
# refuse_evil: a bad name (EINVAL) and an unsigned package (ENOKEY).
refuse_evil() {
    python3 - "$MNT/ctl" "$EVIL" <<'PY' || fail "the evil name was not refused with EINVAL"
import errno, os, sys
try:
    open(os.path.join(sys.argv[1], sys.argv[2]), "w").close()
except OSError as e:
    sys.exit(0 if e.errno == errno.EINVAL else 1)
sys.exit(1)
PY
    cp "$TMP/unsigned.rvf" "$MNT/ctl/" 2>/dev/null && fail "unsigned package mounted"
    return 0
}
# no_forgery FILE WHAT: no line of FILE starts with the forged text, and
# the escaped name is there.
no_forgery() {
    grep -aq 'FORGED' "$1" || fail "$2: the refusal of the evil name is missing"
    grep -aEq '^(nubfs: )?FORGED' "$1" && fail "$2: a forged line: $(grep -a FORGED "$1")"
    grep -aq $'\x1b' "$1" && fail "$2: an escape byte reached it"
    grep -aqF 'x\nnubfs: FORGED line\r\x1b[31m\x01.rvf' "$1" || fail "$2: the name is not escaped as \\n, \\r, \\xNN: $(grep -a FORGED "$1")"
    return 0
}

# ---- stderr under -f and the log file ---------------------------------------------
start_nubfs "$NUBFS" "$MNT" "trust=$EX/keys"
refuse_evil
cat "$MNT/log" > "$TMP/logfile"
stop_nubfs "$MNT"
no_forgery "$MNT.log" "stderr (-f)"
no_forgery "$TMP/logfile" "the log file"
ok "stderr (-f) and log: the refused name is one escaped line, nothing forged"

# ---- syslog ------------------------------------------------------------------------
if [ -e /dev/log ]; then
    echo "# not checked here (/dev/log belongs to a syslog daemon): the syslog sink"
    echo PASS
    exit 0
fi
python3 - "$TMP/syslog" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
with open(sys.argv[1], "ab", buffering=0) as out:
    while True:
        out.write(s.recv(65536).replace(b"\n", b"<NL>") + b"\n")
PY
LPID=$!
OWN_DEVLOG=1
for _ in $(seq 1 50); do [ -S /dev/log ] && break; sleep 0.1; done
[ -S /dev/log ] || fail "cannot listen on /dev/log"
# Other nubfs daemons on this host may log meanwhile. This test's own are
# known by their trust= directory (a copy of the keys under $TMP) and its
# mountpoint; own_lines FILE keeps only the lines of their pids.
mkdir -p "$TMP/keys" && cp "$EX/keys/"*.pub "$TMP/keys/" || fail "copy the trusted keys"
own_lines() {
    python3 - "$1" "$TMP" <<'PY'
import re, sys
lines = [l for l in open(sys.argv[1], "rb").read().split(b"\n") if l]
mark = sys.argv[2].encode()
def pid(l):
    m = re.search(rb"nubfs\[([0-9]+)\]: ", l)
    return m.group(1) if m else None
own = {pid(l) for l in lines if pid(l) and mark in l}
sys.stdout.buffer.write(b"".join(l + b"\n" for l in lines if pid(l) in own))
PY
}
# A start that fails before it detaches (the state directory cannot be
# made): its trust line, held back, still reaches syslog at exit.
"$NUBFS" "$MNT" -o "trust=$TMP/keys,state=/proc/nubfs-no-such-dir" 2>/dev/null &&
    fail "nubfs started with an impossible state directory"
sleep 0.3
touch "$TMP/syslog"
own_lines "$TMP/syslog" | grep -aq 'nubfs\[[0-9]*\]: trust: ' ||
    fail "syslog: a failed start's lines are missing: $(cat "$TMP/syslog" 2>/dev/null)"
: > "$TMP/syslog"
"$NUBFS" "$MNT" -o "trust=$TMP/keys,ephemeral" || fail "nubfs (daemon) exited $?"
refuse_evil
fusermount3 -u "$MNT" || fail "fusermount3 -u"
sleep 0.5
kill "$LPID"; LPID=
rm -f /dev/log; OWN_DEVLOG=
[ -s "$TMP/syslog" ] || fail "nothing reached syslog"
own_lines "$TMP/syslog" > "$TMP/syslog.own"
mv "$TMP/syslog.own" "$TMP/syslog"
# The start's lines, at info (<30>), in the order they happened.
start_order=$(grep -aoE '^<30>.*nubfs\[[0-9]+\]: (trust: [0-9]+ key|state: ephemeral|guest booted|mounted on)' \
    "$TMP/syslog" | sed -E 's/.*\]: //' | tr '\n' '|')
[ "$start_order" = "trust: 1 key|state: ephemeral|guest booted|mounted on|" ] ||
    fail "syslog: the start's lines, in order, at info: got '$start_order' from $(cat "$TMP/syslog")"
grep -aq '<NL>' "$TMP/syslog" && fail "a syslog message holds a newline: $(grep -a '<NL>' "$TMP/syslog")"
no_forgery "$TMP/syslog" "syslog"
grep -a 'refused' "$TMP/syslog" > "$TMP/refusals"
[ "$(grep -c . "$TMP/refusals")" -ge 2 ] || fail "syslog: want both refusals: $(cat "$TMP/syslog")"
grep -av '^<29>' "$TMP/refusals" && fail "syslog: a refusal not at daemon.notice (<29>)"
ok "syslog: one message per event, the name escaped, refusals at daemon.notice, the start's lines in order (a failed start's too)"
echo PASS
