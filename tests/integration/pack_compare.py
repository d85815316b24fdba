#!/usr/bin/env python3
"""Compare a nubfs-pack build spec with `nubfs-pack inspect --json` of the
package built from it.

The spec names files; the package names caps. So every "wasm"/"data" path
of the spec is replaced by the cap hash `xxhsum -H2` prints for that file
(an independent implementation of the hash), defaults are filled in, and
the orders the manifest canonicalises (access sets, grants, rights) are
sorted. Anything else that differs is reported and exits 1.

usage: pack_compare.py SPEC.json INSPECT.json
"""
import json
import os
import subprocess
import sys


def cap_hash(path):
    out = subprocess.run(["xxhsum", "-H2", path], check=True, capture_output=True, text=True)
    return out.stdout.split()[0]


def normalise_spec(spec, base):
    def resolve(p):
        return cap_hash(p if os.path.isabs(p) else os.path.join(base, p))

    comps = []
    for c in spec["components"]:
        comps.append({
            "name": c["name"],
            "wasm": resolve(c["wasm"]),
            "entry": list(c["entry"]),
            "priority": c.get("priority", 0),
        })
    regions = []
    for r in spec.get("regions", []):
        n = dict(r)
        n.setdefault("read", [])
        n.setdefault("write", [])
        if n["policy"] == "immutable":
            n["data"] = resolve(n["data"])
        regions.append(n)
    return {
        "name": spec["name"],
        "version": spec["version"],
        "components": comps,
        "regions": regions,
        "queues": spec.get("queues", []),
        "grants": spec.get("grants", []),
    }


def canonical(doc):
    """Orders the manifest does not keep: sets and the grant table."""
    order = {c["name"]: i for i, c in enumerate(doc["components"])}
    regions = []
    for r in doc["regions"]:
        r = dict(r)
        r["read"] = sorted(r["read"], key=order.get)
        r["write"] = sorted(r["write"], key=order.get)
        regions.append(r)
    grants = sorted(
        (g["component"], g["object"], tuple(sorted(g["rights"]))) for g in doc["grants"]
    )
    return {
        "name": doc["name"],
        "version": doc["version"],
        "components": doc["components"],
        "regions": regions,
        "queues": doc["queues"],
        "grants": grants,
    }


def main():
    spec_path, inspect_path = sys.argv[1], sys.argv[2]
    with open(spec_path) as f:
        spec = json.load(f)
    with open(inspect_path) as f:
        got = json.load(f)
    want = canonical(normalise_spec(spec, os.path.dirname(os.path.abspath(spec_path))))
    have = canonical({k: got[k] for k in ("name", "version", "components", "regions",
                                          "queues", "grants")})
    if want != have:
        for key in want:
            if want[key] != have[key]:
                print(f"{key}: spec {json.dumps(want[key])}\n{' ' * len(key)}  pkg  "
                      f"{json.dumps(have[key])}", file=sys.stderr)
        return 1
    # Every cap the manifest names is a segment whose hash checked out.
    segs = {s["hash"]: s for s in got["segments"]}
    for c in have["components"]:
        if segs.get(c["wasm"], {}).get("type") != "wasm":
            print(f"component {c['name']}: no wasm segment {c['wasm']}", file=sys.stderr)
            return 1
    if not all(s["hash_ok"] for s in got["segments"]):
        print("a segment hash does not match", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
