#!/usr/bin/env bash
# For the benchmarks: N files of 1..MAX random bytes (seeded by N, so a
# run is repeatable) in DIR, each named by its XXH3-128 in hex, the name
# caps/ gives the same bytes: a peer directory then lists and sorts the
# very names nubfs shows. Files whose bytes repeat are kept once (caps/
# holds one cap for both), so DIR may hold a few fewer than N.
# Usage: tests/bench/make_files.sh DIR N MAX
set -euo pipefail
dir=${1:?usage: make_files.sh DIR N MAX} n=${2:?usage} top=${3:?usage}
mkdir -p "$dir"
python3 - "$dir" "$n" "$top" <<'P'
import os, random, sys
d, n, top = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(n)
for i in range(n):
    with open(os.path.join(d, "f%08d" % i), "wb") as f:
        f.write(rnd.randbytes(rnd.randint(1, top)))
P
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
