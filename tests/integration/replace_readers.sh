#!/bin/bash
# Issue 8 item 7, atomic replace for readers: while `cp` replaces the
# mounted package ctl/pipeline.rvf in a loop (two versions whose banner
# region differs), real `cat`s of mounts/pipeline/... (a region, info, a
# component's module through its symlink, listings) and of the caps both
# versions hold read on: every read returns the old or the new content,
# never ENOENT, nor any other error. NUBFS_REPLACE_SECS (default 30) is
# how long it runs. Exits 77 if KVM or FUSE is unusable here.
# usage: replace_readers.sh PATH/TO/nubfs PATH/TO/nubfs-pack EXAMPLES_DIR
set -u
. "$(dirname "$0")/lib.sh"
. "$HERE/readers.sh"
NUBFS=${1:?usage} PACK=${2:?usage} EX=${3:?usage}
need_tools fusermount3 mountpoint xxhsum python3 cmp
test_dirs repl '[ -n "${READER_PIDS[*]}" ] && { : > "$TMP/rd/stop"; : > "$TMP/stop"; wait; }'

# Version 2: the same package with another banner.
cp -r "$EX/pipeline" "$TMP/p2"
printf 'the second banner, longer than the first one\n' > "$TMP/p2/banner.txt"
"$PACK" build "$TMP/p2/pipeline.json" -o "$TMP/p2.rvf" --key "$EX/keys/example.key" \
    > "$TMP/pack.out" 2>&1 || fail "nubfs-pack build: $(cat "$TMP/pack.out")"
cp "$EX/pipeline.rvf" "$TMP/p1.rvf"
cp "$EX/pipeline/banner.txt" "$TMP/b1"
cp "$TMP/p2/banner.txt" "$TMP/b2"
PRODUCER=$(hash_of "$EX/pipeline/producer.wasm")
CONSUMER=$(hash_of "$EX/pipeline/consumer.wasm")

start_nubfs "$NUBFS" "$MNT" "trust=$EX/keys,guest_mem=64M"
cp "$TMP/p1.rvf" "$MNT/ctl/pipeline.rvf" || fail "cp pipeline.rvf"
cmp -s "$MNT/caps/$PRODUCER" "$EX/pipeline/producer.wasm" || fail "caps/$PRODUCER"
P=$MNT/mounts/pipeline

readers_start "$TMP/rd" "$P/regions/banner" "$P/regions/banner" "$P/info" \
    "$P/components/producer/module" "$MNT/caps/$PRODUCER" "$MNT/caps/$CONSUMER" \
    "ls:$P/regions" "ls:$MNT/mounts"
# One more reader checks what it reads: old or new banner, nothing else.
(
    n=0 bad=0
    while [ ! -e "$TMP/stop" ]; do
        if cat "$P/regions/banner" > "$TMP/got" 2> "$TMP/got.err"; then
            cmp -s "$TMP/got" "$TMP/b1" || cmp -s "$TMP/got" "$TMP/b2" ||
                { bad=$((bad + 1)); cp "$TMP/got" "$TMP/bad.$bad"; }
        else
            cat "$TMP/got.err" >> "$TMP/content_errors"
        fi
        n=$((n + 1))
    done
    echo "$n $bad" > "$TMP/content"
) &
CHECKER=$!

secs=${NUBFS_REPLACE_SECS:-30}
end=$((SECONDS + secs))
replaces=0
while [ $SECONDS -lt $end ]; do
    v=$((replaces % 2 + 1))
    [ $v = 1 ] && v=2 || v=1
    cp "$TMP/p$v.rvf" "$MNT/ctl/pipeline.rvf" || { : > "$TMP/stop"; readers_stop "$TMP/rd"; fail "cp p$v.rvf"; }
    replaces=$((replaces + 1))
done
: > "$TMP/stop"
wait "$CHECKER"
readers_stop "$TMP/rd"
reads=$(cat "$TMP/rd/reads")
read -r creads cbad < "$TMP/content"
[ "$(json "$MNT/stats" 'd["replaces"]')" -ge "$replaces" ] ||
    fail "stats replaces $(json "$MNT/stats" 'd["replaces"]'), want $replaces"
[ -s "$TMP/rd/enoent" ] &&
    fail "$(wc -l < "$TMP/rd/enoent") of $reads reads got ENOENT across $replaces replaces: $(sort "$TMP/rd/enoent" | uniq -c | sort -rn | head -n 4)"
[ -s "$TMP/rd/errors" ] &&
    fail "$(wc -l < "$TMP/rd/errors") of $reads reads failed across $replaces replaces: $(sort "$TMP/rd/errors" | uniq -c | sort -rn | head -n 4)"
[ -s "$TMP/content_errors" ] && fail "the checking reader: $(sort "$TMP/content_errors" | uniq -c | head -n 3)"
[ "$cbad" = 0 ] || fail "$cbad of $creads banner reads were neither version: $(head -c 200 "$TMP/bad.1")"
[ "$reads" -gt "$replaces" ] || fail "only $reads reads across $replaces replaces"
ok "$replaces replaces in $secs s; $reads reads of mounts/pipeline and of shared caps by 8 readers: none failed, no ENOENT; $creads banner reads all old or new"
stop_nubfs "$MNT"
echo PASS
