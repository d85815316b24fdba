#!/usr/bin/env bash
# For the benchmarks: renames each file f* in DIR to its XXH3-128 in hex,
# the name caps/ gives the same bytes, so a peer directory lists and sorts
# the very names nubfs shows; a file whose bytes another file already has
# is removed (caps/ holds one cap for both).
# Usage: tests/bench/hash_names.sh DIR
set -euo pipefail
dir=${1:?usage: hash_names.sh DIR}
(cd "$dir" && find . -maxdepth 1 -type f -name 'f*' -print0 | xargs -0 xxhsum -H2 -- 2>/dev/null) |
  python3 -c '
import os, sys
d = sys.argv[1]
for line in sys.stdin:
    h, p = line.split()[:2]
    src, dst = os.path.join(d, p), os.path.join(d, h)
    if os.path.exists(dst): os.unlink(src)
    else: os.rename(src, dst)
' "$dir"
