#!/bin/bash
# Mounting packages through ctl/ on a real mount, as a user would: cp,
# install -m 644, rsync, cat >, mv (from another file system and inside
# ctl/), overwrite, rm of the example packages; after each, ls caps,
# xxhsum -H2 caps/*, the JSON under mounts/ (python3) and ls ctl say what
# they should. Also: two packages sharing a cap, the kernel forgetting a
# cap that left even though it was looked up before, attributes, bad
# names, other users refused. Exits 77 if KVM or FUSE is unusable here.
# usage: ctl.sh PATH/TO/nubfs PATH/TO/nubfs-pack EXAMPLES_DIR
set -u
. "$(dirname "$0")/lib.sh"
NUBFS=${1:?usage} PACK=${2:?usage} EX=${3:?usage}
need_tools fusermount3 mountpoint xxhsum rsync install python3 cmp stat
for p in hello pipeline fanout; do [ -f "$EX/$p.rvf" ] || fail "$EX/$p.rvf not built"; done

test_dirs ctl

for p in hello pipeline fanout; do pkg_caps "$PACK" "$EX/$p.rvf" | sort -u > "$TMP/$p.caps"; done
KEYID=$("$PACK" inspect --json "$EX/hello.rvf" | python3 -c 'import json,sys; print(json.load(sys.stdin)["signature"]["key_id"])')
# expect_caps PKG...: caps/ is exactly the union of these packages' caps.
expect_caps() {
    local want
    want=$(for p in "$@"; do cat "$TMP/$p.caps"; done | sort -u | tr '\n' ' ')
    local got
    got=$(ls "$MNT/caps" | sort | tr '\n' ' ')
    [ "$got" = "$want" ] || fail "caps/ after $*: got '$got', want '$want'"
    caps_ok "$MNT/caps" || fail "xxhsum -H2 caps/*: a name does not match its content"
}
expect_ls() { # expect_ls DIR NAMES...
    local d=$1
    shift
    local got want
    got=$(ls "$d" | tr '\n' ' ')
    want=$(printf '%s\n' "$@" | sed '/^$/d' | sort | tr '\n' ' ')
    [ "$got" = "$want" ] || fail "ls $d: got '$got', want '$want'"
}

# A trust directory with the example key and a malformed key file: the
# bad one is named in the log, the good one still trusted.
mkdir -p "$TMP/keys"
cp "$EX/keys/example.pub" "$TMP/keys/"
echo "nubfs-ed25519-public not-hex" > "$TMP/keys/broken.pub"
out=$("$NUBFS" "$MNT" -f -o trust=/nonexistent/keys 2>&1)
rc=$?
[ $rc = 69 ] && skip "nubfs cannot use KVM or FUSE here: $(echo "$out" | head -n1)"
[ $rc = 0 ] && fail "trust= a missing directory: started"
echo "$out" | grep -q '/nonexistent/keys' || fail "trust= a missing directory: $out"
OPTS="guest_mem=256M,trust=$TMP/keys"
[ "$(id -u)" = 0 ] && OPTS="$OPTS,allow_other"
start_nubfs "$NUBFS" "$MNT" "$OPTS"
grep -q 'trust: ignoring a key file: .*broken.pub' "$MNT/log" || fail "malformed key file not logged"
grep -q 'trust: 1 key from' "$MNT/log" || fail "trusted key count not logged"
ok "trust=: a missing directory stops nubfs; a malformed key file is logged and skipped"
C=$MNT/ctl
M=$MNT/mounts
expect_ls "$MNT" caps ctl log mounts stats
[ "$(stat -c %a "$C")" = 755 ] || fail "ctl/ mode $(stat -c %a "$C")"
HEAP0=$(json "$MNT/stats" 'd["heap_used"]')

# ---- cp ----------------------------------------------------------------------
cp "$EX/hello.rvf" "$C/" || fail "cp hello.rvf ctl/"
expect_ls "$C" hello.rvf
expect_ls "$M" hello
expect_caps hello
cmp -s "$C/hello.rvf" "$EX/hello.rvf" || fail "reading ctl/hello.rvf does not give the package"
[ "$(stat -c %s "$C/hello.rvf")" = "$(stat -c %s "$EX/hello.rvf")" ] || fail "ls -l ctl size"
I=$M/hello/info
[ "$(json "$I" 'd["package"]')" = hello ] || fail "info package: $(cat "$I")"
[ "$(json "$I" 'd["version"]')" = 1.0.0 ] || fail "info version"
[ "$(json "$I" 'd["signer"]')" = "$KEYID" ] || fail "info signer: $(json "$I" 'd["signer"]'), want $KEYID"
[ "$(json "$I" '[d[k] for k in ("components","regions","queues","tasks")]')" = "[1, 0, 0, 1]" ] ||
    fail "info counts: $(cat "$I")"
json "$I" 'd["handle"] > 0 and d["generation"] > 0 and d["mounted_at"].endswith("Z")' | grep -qx True ||
    fail "info handle/generation/mounted_at: $(cat "$I")"
expect_ls "$M/hello" components info queues regions tasks
expect_ls "$M/hello/components/hello" entry grants module
[ "$(json "$M/hello/components/hello/entry" 'd["entry"]')" = '["run"]' ] || fail "entry"
[ "$(json "$M/hello/components/hello/grants" 'd["grants"]')" = \
  '[{"object": "component:hello", "rights": ["read", "execute"]}]' ] || fail "grants: $(cat "$M/hello/components/hello/grants")"
# Its one task runs (integration.tasks has the rest): ready until the
# scheduler's next slice, then done.
case $(json "$M/hello/tasks" '[(t["entry"], t["component"], t["state"]) for t in d["tasks"]]') in
  '[["run", "hello", "ready"]]' | '[["run", "hello", "done"]]') ;;
  *) fail "tasks: $(cat "$M/hello/tasks")" ;;
esac
[ "$(json "$M/hello/queues" 'd["queues"]')" = '[]' ] || fail "queues"
for f in tasks queues components/hello/entry components/hello/grants; do
    [ "$(json "$M/hello/$f" 'd["format"]')" = 1 ] || fail "$f: no \"format\": 1"
done
link=$(readlink "$M/hello/components/hello/module")
case $link in ../../../../caps/????????????????????????????????) ;; *) fail "module -> $link" ;; esac
grep -qx "${link##*/}" "$TMP/hello.caps" || fail "module names a cap not in the package"
[ "$(xxhsum -q -H2 "$M/hello/components/hello/module" | awk '{print $1}')" = "${link##*/}" ] ||
    fail "the module symlink does not resolve to its cap"
ok "cp: ctl/, caps/ (xxhsum), mounts/hello/{info,components,tasks,queues}"

# ---- install -m 644 ------------------------------------------------------------
install -m 644 "$EX/pipeline.rvf" "$C/" || fail "install -m 644 pipeline.rvf ctl/"
expect_ls "$C" hello.rvf pipeline.rvf
[ "$(stat -c %a "$C/pipeline.rvf")" = 644 ] || fail "install mode: $(stat -c %a "$C/pipeline.rvf")"
expect_caps hello pipeline
expect_ls "$M/pipeline/components" consumer producer
expect_ls "$M/pipeline/regions" banner buffers journal
cmp -s "$M/pipeline/regions/banner" "$EX/pipeline/banner.txt" || fail "regions/banner content"
[ "$(stat -c %s "$M/pipeline/regions/buffers")" = 2048 ] || fail "slab region size"
# The append-only journal starts empty; the consumer's task appends the
# producer's messages to it (integration.tasks): nothing else is there.
grep -qv '^message [0-9]*$' "$M/pipeline/regions/journal" && fail "journal: $(cat "$M/pipeline/regions/journal")"
[ "$(head -c 2048 "$M/pipeline/regions/buffers" | tr -d '\0' | wc -c)" = 0 ] || fail "slab not zero"
[ "$(json "$M/pipeline/queues" '[(q["from"], q["to"], q["capacity"], q["max_message"]) for q in d["queues"]]')" = \
  '[["producer.out", "consumer.in", 64, 64]]' ] || fail "queues: $(cat "$M/pipeline/queues")"
[ "$(json "$M/pipeline/components/consumer/entry" 'd["entry"]')" = '["run"]' ] || fail "consumer entry"
( echo x > "$M/pipeline/regions/banner" ) 2>/dev/null && fail "a region is writable"
ok "install -m 644: mode kept; regions (immutable content, slab zero, append-only empty), queues"

# ---- rsync (dot-file + rename) and a cap shared by two packages --------------------
rsync "$EX/fanout.rvf" "$C/" || fail "rsync fanout.rvf ctl/"
expect_ls "$C" fanout.rvf hello.rvf pipeline.rvf
[ "$(ls -A "$C" | grep -c '^\.')" = 0 ] || fail "rsync left a dot-file: $(ls -A "$C")"
expect_caps hello pipeline fanout
SHARED=$(comm -12 "$TMP/pipeline.caps" "$TMP/fanout.caps")
[ -n "$SHARED" ] || fail "pipeline and fanout share no cap"
PIPE_ONLY=$(comm -23 "$TMP/pipeline.caps" "$TMP/fanout.caps")
for h in $PIPE_ONLY $SHARED; do stat "$MNT/caps/$h" > /dev/null || fail "stat caps/$h"; done
ok "rsync: mounted through rename, no dot-file left; $(echo $SHARED | wc -w) caps shared"

rm "$C/pipeline.rvf" || fail "rm ctl/pipeline.rvf"
expect_ls "$C" fanout.rvf hello.rvf
expect_ls "$M" fanout hello
expect_caps hello fanout
for h in $SHARED; do
    [ "$(xxhsum -q -H2 "$MNT/caps/$h" | awk '{print $1}')" = "$h" ] || fail "shared cap $h after rm"
done
# Looked up (and cached by the kernel for a day) before the rm: ENOENT now.
for h in $PIPE_ONLY; do
    out=$(stat "$MNT/caps/$h" 2>&1) && fail "caps/$h still there after rm"
    echo "$out" | grep -q 'No such file' || fail "stat caps/$h: $out"
done
ok "rm pipeline: shared caps stay and read correctly, its own caps are gone at once"

# ---- overwrite: mount new, unmount old ---------------------------------------------
h0=$(json "$M/fanout/info" 'd["handle"]')
cp "$EX/hello.rvf" "$C/fanout.rvf" || fail "cp hello.rvf over ctl/fanout.rvf"
[ "$(json "$M/fanout/info" 'd["package"]')" = hello ] || fail "fanout not replaced: $(cat "$M/fanout/info")"
[ "$(json "$M/fanout/info" 'd["handle"]')" != "$h0" ] || fail "handle unchanged"
cmp -s "$C/fanout.rvf" "$EX/hello.rvf" || fail "ctl/fanout.rvf content after replace"
expect_caps hello
for h in $SHARED; do [ -e "$MNT/caps/$h" ] && fail "caps/$h stayed after its last holder was replaced"; done
expect_ls "$M/fanout/components" hello
ok "overwrite: replaced atomically, the old package's caps gone"
head -c 100 "$EX/pipeline.rvf" > "$TMP/broken.rvf"
h1=$(json "$M/fanout/info" 'd["handle"]')
for tool in cp rsync; do
    out=$($tool "$TMP/broken.rvf" "$C/fanout.rvf" 2>&1) && fail "$tool: a broken package replaced fanout.rvf"
    # cut short, it has lost its signature (checked first)
    echo "$out" | grep -q 'Required key not available' || fail "$tool over a mounted name: $out"
    [ "$(json "$M/fanout/info" 'd["handle"]')" = "$h1" ] || fail "$tool: the old package was unmounted"
    cmp -s "$C/fanout.rvf" "$EX/hello.rvf" || fail "$tool: ctl/fanout.rvf content changed"
    expect_ls "$C" fanout.rvf hello.rvf
    expect_caps hello
done
ok "overwrite with a broken package (cp, rsync): Required key not available, the old one stays mounted"

# ---- cat >, mv from another file system, mv inside ctl/ ------------------------------
cat "$EX/pipeline.rvf" > "$C/pipe.rvf" || fail "cat > ctl/pipe.rvf"
[ "$(json "$M/pipe/info" 'd["package"]')" = pipeline ] || fail "cat >: not mounted"
cp "$EX/fanout.rvf" "$TMP/fan.rvf"
mv "$TMP/fan.rvf" "$C/" || fail "mv fan.rvf ctl/"
[ -e "$TMP/fan.rvf" ] && fail "mv left the source"
[ "$(json "$M/fan/info" 'd["package"]')" = fanout ] || fail "mv: not mounted"
mv "$C/pipe.rvf" "$C/pipe2.rvf" || fail "mv inside ctl/"
expect_ls "$M" fan fanout hello pipe2
[ -e "$M/pipe" ] && fail "mounts/pipe still there after the rename"
[ "$(json "$M/pipe2/info" 'd["file"]')" = pipe2.rvf ] || fail "renamed mount info"
expect_caps hello pipeline fanout
ok "cat >, mv from /tmp (copy + unlink), mv inside ctl/ (mounts/ follows the name)"

# ---- the errnos of what is no package or no place for one ------------------------
# mv out of ctl/ into the read-only tree: EROFS, and nothing moves.
errno_of() {
    python3 -c '
import errno, os, sys
try:
    getattr(os, sys.argv[1])(*sys.argv[2:]); print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])' "$@"
}
r=$(errno_of rename "$C/pipe2.rvf" "$MNT/pipe2.rvf")
[ "$r" = EROFS ] || fail "rename ctl/pipe2.rvf to the root: $r, want EROFS"
r=$(errno_of rename "$C/pipe2.rvf" "$MNT/caps/x")
[ "$r" = EROFS ] || fail "rename ctl/pipe2.rvf into caps/: $r, want EROFS"
out=$(mv "$C/pipe2.rvf" "$MNT/" 2>&1) && fail "mv ctl/pipe2.rvf MOUNTPOINT/ succeeded"
echo "$out" | grep -q 'Read-only file system' || fail "mv ctl/x.rvf MOUNTPOINT/ said: $out"
expect_ls "$M" fan fanout hello pipe2
# A 0-byte file is no package: close() says Bad message, ctl/ does not keep it.
: > "$TMP/empty.rvf"
out=$(cp "$TMP/empty.rvf" "$C/" 2>&1) && fail "cp of a 0-byte file into ctl/ succeeded"
echo "$out" | grep -q 'Bad message' || fail "cp of a 0-byte file said: $out"
for _ in $(seq 1 50); do [ -e "$C/empty.rvf" ] || break; sleep 0.1; done
[ -e "$C/empty.rvf" ] && fail "a 0-byte file stays in ctl/"
grep -q 'refused empty.rvf: .*not a package (Bad message)' "$MNT/log" || fail "log: no refusal of empty.rvf"
expect_ls "$M" fan fanout hello pipe2
ok "mv ctl/x.rvf MOUNTPOINT/: Read-only file system; cp of a 0-byte file: Bad message, not kept"

# ---- a ctl/ name that is not UTF-8: escaped in info, never dropped --------------------
L1=$'caf\xe9'
cp "$EX/hello.rvf" "$C/$L1.rvf" || fail "cp to a Latin-1 name"
n=$(json "$M/$L1/info" 'd.get("name")')
f=$(json "$M/$L1/info" 'd.get("file")')
[ "$n" = 'caf\xe9' ] || fail "info name of a non-UTF-8 mount: '$n', want 'caf\\xe9'"
[ "$f" = 'caf\xe9.rvf' ] || fail "info file of a non-UTF-8 mount: '$f'"
rm "$C/$L1.rvf" || fail "rm the Latin-1 name"
ok "a ctl/ name that is not UTF-8: info has name and file, bytes 0x80 and up as \\xNN"

# ---- attributes -------------------------------------------------------------------
chmod 600 "$C/hello.rvf" || fail chmod
[ "$(stat -c %a "$C/hello.rvf")" = 600 ] || fail "chmod not kept"
touch -d '2020-01-02 03:04:05 UTC' "$C/hello.rvf" || fail "touch -d"
[ "$(stat -c %Y "$C/hello.rvf")" = 1577934245 ] || fail "utimens not kept: $(stat -c %Y "$C/hello.rvf")"
if [ "$(id -u)" = 0 ]; then
    chown 1:1 "$C/hello.rvf" || fail chown
    [ "$(stat -c %u:%g "$C/hello.rvf")" = 1:1 ] || fail "chown not kept"
fi
[ "$(json "$M/hello/info" 'd["package"]')" = hello ] || fail "attributes changed the mount"
ok "chmod, chown, utimens accepted and kept"

# ---- refused names ------------------------------------------------------------------
out=$(cp "$EX/hello.rvf" "$C/hello.txt" 2>&1) && fail "cp to ctl/hello.txt worked"
echo "$out" | grep -q 'Invalid argument' || fail "non-.rvf name: $out"
long=$(printf 'a%.0s' $(seq 1 64))
out=$(cp "$EX/hello.rvf" "$C/$long.rvf" 2>&1) && fail "64-byte name worked"
echo "$out" | grep -q 'Invalid argument' || fail "long name: $out"
cp "$EX/hello.rvf" "$C/${long:1}.rvf" || fail "63-byte name refused"
rm "$C/${long:1}.rvf" || fail "rm 63-byte name"
mkdir "$C/d" 2>/dev/null && fail "mkdir in ctl/"
out=$(touch "$C/empty.rvf" 2>&1) && fail "touch ctl/empty.rvf: no error"
echo "$out" | grep -q "Bad message" || fail "touch ctl/empty.rvf said: $out"
for _ in $(seq 1 50); do [ -e "$C/empty.rvf" ] || break; sleep 0.1; done
[ -e "$C/empty.rvf" ] && fail "an empty file stays in ctl/ (nothing was mounted)"
ok "bad names: Invalid argument; a 63-byte name works; a new file closed empty (touch): Bad message, no trace"

# ---- other users ----------------------------------------------------------------------
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
    chmod 755 "$TMP"
    nob() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
    out=$(nob cp "$EX/hello.rvf" "$C/nobody.rvf" 2>&1) && fail "nobody could write ctl/"
    echo "$out" | grep -q 'Permission denied' || fail "nobody cp: $out"
    out=$(nob rm -f "$C/fanout.rvf" 2>&1) && [ -e "$C/fanout.rvf" ] || true
    [ -e "$C/fanout.rvf" ] || fail "nobody could rm a package"
    nob ls "$C" > /dev/null || fail "nobody cannot list ctl/"
    nob cat "$M/fanout/info" > /dev/null || fail "nobody cannot read mounts/"
    nob sh -c "cd '$MNT/caps' && ls | xargs xxhsum -q -H2" > /dev/null || fail "nobody cannot read caps/"
    ok "another user: cp/rm in ctl/ refused (Permission denied), reading works"
fi

# ---- rm everything: back to empty, heap back to where it started ---------------------------
rm "$C"/*.rvf || fail "rm ctl/*.rvf"
expect_ls "$C"
expect_ls "$M"
expect_ls "$MNT/caps"
[ "$(json "$MNT/stats" 'd["mounts"]')" = 0 ] || fail "stats mounts"
HEAP1=$(json "$MNT/stats" 'd["heap_used"]')
[ "$HEAP1" = "$HEAP0" ] || fail "guest heap level $HEAP1 after unmounting all, $HEAP0 before"
json "$MNT/stats" 'd["mounts_total"] >= 7 and d["unmounts"] >= 7' | grep -qx True ||
    fail "stats counters: $(cat "$MNT/stats")"
grep -q 'mounted hello.rvf: package hello 1.0.0' "$MNT/log" || fail "log: no mount line"
grep -q 'unmounted pipeline.rvf' "$MNT/log" || fail "log: no unmount line"
grep -q 'refused hello.txt\|refused file name "hello.txt"' "$MNT/log" || fail "log: no refusal"
ok "rm all: ctl/, mounts/, caps/ empty; heap back to $HEAP0 bytes; log has mounts, unmounts, refusals"

stop_nubfs "$MNT"
echo PASS
