#!/usr/bin/env bash
# nubfs in one go: installs the Debian packages (contrib/deps.sh), builds
# (cmake -S . -B build && cmake --build build), starts nubfs on ./nub-demo
# (or $1) trusting the example signing key, copies the example packages
# into ctl/ and shows what that did: the caps and their hashes, the mounts/
# tree and one info file, and what the packages' tasks did: pipeline's
# consumer journal, fanout's two consumers, hello's line in the log. Safe to run again: a demo mount left from an
# earlier run is unmounted first.
# Usage: contrib/quickstart.sh [MOUNTPOINT]   (NUBFS_BUILD_DIR=DIR to build elsewhere)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mnt=${1:-$root/nub-demo}
build=${NUBFS_BUILD_DIR:-$root/build} # NUBFS_BUILD_DIR: another build directory

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

contrib/deps.sh
cmake -S . -B "$build" > /dev/null
cmake --build "$build" -j"$(nproc)"

mkdir -p "$mnt"
mnt=$(cd "$mnt" && pwd)
if mountpoint -q "$mnt"; then
    echo "unmounting the earlier demo on $mnt"
    fusermount3 -u "$mnt" || fusermount3 -u -z "$mnt"
    sleep 0.5
fi

say nubfs "$mnt" -o trust="$build/examples/keys"
"$build/fs/nubfs" "$mnt" -o "trust=$build/examples/keys"

cd "$mnt"
say cp "$build"/examples/{hello,pipeline,fanout}.rvf ctl/
cp "$build"/examples/hello.rvf "$build"/examples/pipeline.rvf "$build"/examples/fanout.rvf ctl/
say ls -l ctl
ls -l ctl
say ls caps
ls caps
say 'xxhsum -H2 caps/*'
xxhsum -H2 caps/* 2>/dev/null  # (no progress line)
say ls -R mounts
ls -R mounts
say cat mounts/pipeline/info
cat mounts/pipeline/info
say cat mounts/pipeline/regions/banner
cat mounts/pipeline/regions/banner
# The tasks run in the guest a slice at a time: give them a moment.
for _ in $(seq 1 100); do
    [ "$(wc -l < mounts/pipeline/regions/journal)" -ge 10 ] &&
        [ "$(wc -l < mounts/fanout/regions/journal)" -ge 10 ] && break
    sleep 0.1
done
say cat mounts/pipeline/regions/journal '   # what the consumer got from the producer'
cat mounts/pipeline/regions/journal
say cat mounts/fanout/regions/journal '     # the stream, split over two consumers'
cat mounts/fanout/regions/journal
say cat mounts/pipeline/tasks
cat mounts/pipeline/tasks
say grep "'task hello'" log
grep 'task hello' log
say tail -n 4 log
tail -n 4 log

cat <<EOF

nubfs is serving $mnt. Next:
  rm $mnt/ctl/hello.rvf        # unmount one package (its caps go unless shared)
  cat $mnt/stats               # counters, guest heap level
  fusermount3 -u $mnt          # stop the daemon
See man/nubfs.8 (man -l man/nubfs.8).
EOF
