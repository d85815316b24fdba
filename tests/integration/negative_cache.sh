#!/bin/bash
# Negative lookups and the listing of caps/ are cached by the kernel, and
# a mount still shows its caps at once: stat of a package's caps before it
# is copied in fails (and a repeat costs no FUSE lookup: the kernel
# remembered), a repeat ls costs no readdir, then the very next stat and
# ls after cp / rsync (rename) / install returns see them, and after rm
# they are gone. Also: a malformed name's absence is cached. Exits 77 if
# KVM or FUSE is unusable.
# usage: negative_cache.sh PATH/TO/nubfs PATH/TO/nubfs-pack EXAMPLES_DIR
set -u
NUBFS=${1:?usage}
PACK=${2:?usage}
EX=${3:?usage}
. "$(dirname "$0")/lib.sh"
need_tools fusermount3 mountpoint python3 stat rsync install
for p in hello pipeline; do [ -f "$EX/$p.rvf" ] || fail "$EX/$p.rvf not built"; done

TMP=$(mktemp -d /tmp/nubfs-neg-XXXXXX) || fail mktemp
MNT=$TMP/mnt
mkdir -p "$MNT" "$TMP/keys"
PID=
trap 'cleanup_nubfs "$MNT"; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM
cp "$EX/keys/example.pub" "$TMP/keys/"

"$PACK" inspect --json "$EX/hello.rvf" |
    python3 -c 'import json,sys; print("\n".join(s["hash"] for s in json.load(sys.stdin)["segments"] if s["type"] != "crypto"))' |
    sort -u > "$TMP/caps"
[ -s "$TMP/caps" ] || fail "no caps in hello.rvf"
"$PACK" inspect --json "$EX/pipeline.rvf" |
    python3 -c 'import json,sys; print("\n".join(s["hash"] for s in json.load(sys.stdin)["segments"] if s["type"] != "crypto"))' |
    sort -u > "$TMP/pipeline.caps"
NC=$(wc -l < "$TMP/caps")

start_nubfs "$NUBFS" "$MNT" "guest_mem=256M,trust=$TMP/keys"
C=$MNT/caps
lookups() { json "$MNT/stats" 'd["fuse_requests"]["lookup"]'; }
# absent_all / present_all: every cap of hello is (not) there, by stat.
absent_all() { while read -r h; do stat "$C/$h" >/dev/null 2>&1 && fail "$1: caps/$h is there"; done < "$TMP/caps"; }
present_all() { while read -r h; do stat -c %s "$C/$h" >/dev/null 2>&1 || fail "$1: caps/$h missing"; done < "$TMP/caps"; }

# ---- absent names are remembered ---------------------------------------------
absent_all "before cp"
# The root's own names ("stats", "caps") are cached as long as caps, so
# however long the loop takes it costs no lookup at all.
l0=$(lookups)
for _ in 1 2 3 4 5 6 7 8 9 10; do absent_all "repeat before cp"; done
l1=$(lookups)
[ $((l1 - l0)) = 0 ] ||
    fail "10 repeats of $NC absent stats cost $((l1 - l0)) lookups: negative entries not cached"
ok "absent caps: a repeat stat is answered by the kernel ($((l1 - l0)) lookups for $((10 * NC)) stats)"

for _ in 1 2 3; do stat "$C/not-a-hash" >/dev/null 2>&1 && fail "caps/not-a-hash exists"; done
stat "$MNT/nothing-here" >/dev/null 2>&1 && fail "/nothing-here exists"
l2=$(lookups)
for _ in 1 2 3 4 5; do stat "$C/not-a-hash" >/dev/null 2>&1; stat "$MNT/nothing-here" >/dev/null 2>&1; done
d=$(( $(lookups) - l2 ))
[ $d = 0 ] || fail "malformed names and absent root names are not cached ($d lookups for 10 stats)"
ok "malformed cap names and absent root names: cached as absent"

# ---- the listing of caps/ is cached too ---------------------------------------
readdirs() { json "$MNT/stats" 'd["fuse_requests"]["readdir"] + d["fuse_requests"]["readdirplus"]'; }
[ -z "$(ls "$C")" ] || fail "caps/ not empty before cp"
r0=$(readdirs)
for _ in 1 2 3 4 5; do [ -z "$(ls "$C")" ] || fail "caps/ not empty before cp"; done
[ "$(readdirs)" = "$r0" ] || fail "5 repeats of ls caps cost $(( $(readdirs) - r0 )) readdir requests: not cached"
ok "ls caps: a repeat listing is answered by the kernel"

# ---- a mount makes them appear at once ---------------------------------------
cp "$EX/hello.rvf" "$MNT/ctl/" || fail "cp hello.rvf ctl/"
present_all "right after cp"
[ "$(ls "$C" | sort)" = "$(cat "$TMP/caps")" ] || fail "ls caps after cp"
ok "cp: every cap is visible to the next stat, though its absence was cached"

# After a pause (longer than any short timeout), a path through caps/ still
# costs no lookup: "caps" never changes, so the kernel keeps it as long.
sleep 1.2
l3=$(lookups)
present_all "after a pause"
d=$(( $(lookups) - l3 ))
[ $d = 0 ] || fail "after a 1.2 s pause, $NC stats of cached caps cost $d lookups (of caps/ itself)"
ok "after a pause, stat of a cached cap costs no lookup"

ls "$C" > /dev/null
rm "$MNT/ctl/hello.rvf" || fail "rm ctl/hello.rvf"
[ -z "$(ls "$C")" ] || fail "ls caps right after rm: $(ls "$C")"
absent_all "right after rm"
absent_all "repeat after rm"
ok "rm: the caps are gone at once"

rsync "$EX/hello.rvf" "$MNT/ctl/" || fail "rsync hello.rvf ctl/ (rename onto the name)"
present_all "right after rsync"
[ "$(ls "$C" | sort)" = "$(cat "$TMP/caps")" ] || fail "ls caps after rsync"
ok "rsync (a rename onto a package name): caps visible at once"
rm "$MNT/ctl/hello.rvf" || fail "rm ctl/hello.rvf"
absent_all "after the second rm"

install -m 644 "$EX/hello.rvf" "$MNT/ctl/hello.rvf" || fail "install hello.rvf"
present_all "right after install"
ok "install: caps visible at once"

# A package none of whose names were ever looked up: only the listing's
# invalidation can make ls show them.
ls "$C" > /dev/null
cp "$EX/pipeline.rvf" "$MNT/ctl/" || fail "cp pipeline.rvf"
want=$(sort -u "$TMP/caps" "$TMP/pipeline.caps" | tr '\n' ' ')
[ "$(ls "$C" | sort | tr '\n' ' ')" = "$want" ] || fail "ls caps right after cp pipeline.rvf: stale listing"
ok "ls caps right after a mount shows its caps (the cached listing was dropped)"

stop_nubfs "$MNT"
ok "negative_cache: all checks passed"
