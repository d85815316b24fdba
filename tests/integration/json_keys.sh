#!/bin/bash
# The keys of stats and mounts/<name>/info are exactly the keys nubfs(8)
# documents (its JSON FILES section, between the ".\" keys" markers),
# and both carry the format version. Exits 77 if KVM or FUSE is unusable.
# usage: json_keys.sh PATH/TO/nubfs EXAMPLES_DIR MAN_PAGE
set -u
. "$(dirname "$0")/lib.sh"
NUBFS=${1:?usage} EX=${2:?usage} MAN=${3:?usage}
need_tools fusermount3 mountpoint python3

test_dirs keys

start_nubfs "$NUBFS" "$MNT" "trust=$EX/keys"
cp "$EX/hello.rvf" "$MNT/ctl/" || fail "cp hello.rvf"
cat "$MNT/stats" > "$TMP/stats"
cat "$MNT/mounts/hello/info" > "$TMP/info"
stop_nubfs "$MNT"

python3 - "$MAN" "$TMP/stats" "$TMP/info" <<'PY' || fail "documented and emitted keys differ"
import json, shlex, sys
man = open(sys.argv[1]).read().splitlines()

def documented(section):
    keys, inside, tag = set(), False, False
    for line in man:
        if line.startswith('.\\" keys ' + section):
            inside = True
        elif line.startswith('.\\" end keys ' + section):
            inside = False
        elif inside and line == ".TP":
            tag = True
        elif inside and tag:
            tag = False
            prefix = ""
            for t in shlex.split(line.split(" ", 1)[1]):
                t = t.strip().rstrip(",")
                if not t or t == ",":
                    continue
                if t.startswith("."):
                    t = prefix + t[1:]
                prefix = t.rsplit(".", 1)[0] + "." if "." in t else ""
                keys.add(t)
    return keys

def emitted(d, prefix=""):
    out = set()
    for k, v in d.items():
        if isinstance(v, dict):
            out |= emitted(v, prefix + k + ".")
        else:
            out.add(prefix + k)
    return out

bad = False
for section, path in (("stats", sys.argv[2]), ("info", sys.argv[3])):
    d = json.load(open(path))
    doc, emit = documented(section), emitted(d)
    if d.get("format") != 1:
        print(f"{section}: format is {d.get('format')!r}, want 1"); bad = True
    for k in sorted(emit - doc):
        print(f"{section}: key {k} is not documented in nubfs(8)"); bad = True
    for k in sorted(doc - emit):
        print(f"{section}: nubfs(8) documents {k}, which is not emitted"); bad = True
    print(f"{section}: {len(emit)} keys emitted, {len(doc)} documented")
sys.exit(1 if bad else 0)
PY
# One type per key name: mounted_at is the ISO string in both files.
python3 - "$TMP/stats" "$TMP/info" <<'PY' || fail "mounted_at differs in type"
import json, sys
s, i = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
ok = all(isinstance(d["mounted_at"], str) and d["mounted_at"].endswith("Z") and
         isinstance(d["mounted_at_unix"], int) for d in (s, i))
ok = ok and "bytes" not in s and "bytes" not in i and "cap_bytes" in s and "package_bytes" in i
sys.exit(0 if ok else 1)
PY
ok "stats and info: every key documented in nubfs(8), none undocumented; format 1; mounted_at a string in both, bytes named for what they count"
echo PASS
