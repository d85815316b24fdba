#!/usr/bin/env bash
# Every file or directory of the source tree that README.md names (in
# `code` spans) is in a clone: no reference to a file the repository does
# not have. Build outputs (build/...), home paths and patterns are not
# source files and are skipped.
# usage: readme_paths.sh SOURCE_DIR
set -u
SRC=${1:?usage}
cd "$SRC" || exit 1
missing=$(grep -o '`[^`]*`' README.md | tr -d '`' | tr ' ' '\n' |
    grep -E '^(guest|src|fs|tests|man|contrib|docs|\.ci)(/|$)|\.(md|sh|[ch]|[158]|cmake)$' |
    grep -vE '[<>*~$]|^build|^/|^-' | sort -u |
    while read -r p; do
        [ -e "$p" ] && continue
        # A bare name (a table cell under its folder) may live anywhere.
        if [[ $p != */* ]] && [ -n "$(git ls-files -- "*/$p" 2>/dev/null || find . -path ./build -prune -o -name "$p" -print)" ]; then
            continue
        fi
        echo "$p"
    done)
if [ -n "$missing" ]; then
    echo "README.md names what a clone does not have:"
    echo "$missing"
    exit 1
fi
echo "ok: every path README.md names exists"
