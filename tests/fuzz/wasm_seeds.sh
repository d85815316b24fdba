#!/bin/sh
# Seeds of fuzz.wasm: every binary module of the spec suite, converted by
# wast2json (run at build time; nothing is committed).
# Usage: wasm_seeds.sh WAST2JSON SUITE_DIR OUT_DIR
set -eu
w2j=$1 suite=$2 out=$3
mkdir -p "$out"
for f in "$suite"/*.wast; do
    b=$(basename "$f" .wast)
    "$w2j" "$f" -o "$out/$b.json" >/dev/null
done
rm -f "$out"/*.json "$out"/*.wat
touch "$out/.stamp"
