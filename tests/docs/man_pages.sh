#!/usr/bin/env bash
# The manual pages as man(1) shows them: each renders with the
# preprocessors its first line asks for ('\" t runs tbl) without a single
# groff warning (-ww), a page with tables asks for tbl (else its tables
# come out as raw tbl source), and every .TH names the same date and
# "nubfs VERSION" with the project's version.
# usage: man_pages.sh SOURCE_DIR PROJECT_VERSION
set -u
SRC=${1:?usage}
VERSION=${2:?usage}
for t in groff python3; do
    command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
fails=0
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
bad() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $*"; }

pages=("$SRC"/man/*.[1-8])
[ -e "${pages[0]}" ] || { echo "no pages in $SRC/man"; exit 1; }
for page in "${pages[@]}"; do
    name=$(basename "$page")
    # man(1) reads the preprocessors from a first line '\" LETTERS.
    pre=$(head -n1 "$page" | sed -n "s/^'\\\\\" *\([a-z]*\).*/\1/p")
    opts=()
    [[ $pre == *t* ]] && opts+=(-t)
    if grep -q '^\.TS' "$page" && [[ $pre != *t* ]]; then
        bad "$name has tables (.TS) but its first line is not '\\\" t"
    fi
    warn=$(groff -man -ww -z "${opts[@]}" "$page" 2>&1)
    if [ -n "$warn" ]; then bad "$name: groff -man -ww ${opts[*]}: $warn"; else
        ok "$name renders without warnings (groff -man -ww ${opts[*]})"; fi
    # What a reader sees: no raw tbl markup.
    raw=$(groff -man -Tutf8 -P-cbou "${opts[@]}" "$page" 2>/dev/null | grep -nE 'T\{|T\}|^ *(all)?box;' | head -3)
    if [ -n "$raw" ]; then bad "$name shows raw tbl source: $raw"; else ok "$name: no raw tbl source"; fi
done

# .TH NAME SECTION DATE SOURCE MANUAL: one date, one version, everywhere.
report=$(python3 - "$VERSION" "${pages[@]}" <<'PY'
import os, shlex, sys
version, pages = sys.argv[1], sys.argv[2:]
dates, bad = {}, []
for p in pages:
    th = [l for l in open(p, encoding="utf-8") if l.startswith(".TH ")]
    if len(th) != 1:
        bad.append(f"{os.path.basename(p)}: {len(th)} .TH lines")
        continue
    f = shlex.split(th[0][4:])
    if len(f) < 5:
        bad.append(f"{os.path.basename(p)}: .TH has {len(f)} fields, want 5")
        continue
    name, sec, date, source = f[0], f[1], f[2], f[3]
    if p.rsplit(".", 1)[1] != sec:
        bad.append(f"{os.path.basename(p)}: .TH section {sec}")
    if source != f"nubfs {version}":
        bad.append(f"{os.path.basename(p)}: .TH source \"{source}\", want \"nubfs {version}\"")
    dates[os.path.basename(p)] = date
if len(set(dates.values())) > 1:
    bad.append("dates differ: " + ", ".join(f"{k} {v}" for k, v in sorted(dates.items())))
print("\n".join(bad))
PY
)
if [ -n "$report" ]; then bad ".TH lines: $report"; else ok ".TH: one date and nubfs $VERSION on every page"; fi

echo "# $n checks, $fails failed"
[ "$fails" = 0 ]
