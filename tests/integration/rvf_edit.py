#!/usr/bin/env python3
"""Byte edits of RVF packages for the ctl/ error tests (see nubfs-rvf(5)).
usage: rvf_edit.py IN OUT OP [ARG...]
  flip-payload SEG OFF   flip one bit of byte OFF of segment SEG's payload
  flip-sig               flip one bit of the Ed25519 signature (last segment)
                         and fix that segment's content hash, so only the
                         signature is wrong
  flip-header-hash SEG   flip one bit of segment SEG's header content_hash (the
                         manifest still names the payload's true hash)
  flip-magic             flip one bit of the first segment's magic
  truncate N             keep the first N bytes
"""
import struct
import subprocess
import sys


def xxh128(data):
    """Canonical XXH3-128 as xxhsum -H2 prints it, as 16 bytes."""
    out = subprocess.run(["xxhsum", "-H2", "-"], input=bytes(data), capture_output=True,
                         check=True).stdout.split()[0].decode()
    return bytes.fromhex(out[-32:])


def segments(d):
    """(header offset, payload offset, payload length) of each segment."""
    out, at = [], 0
    while at + 64 <= len(d):
        plen = struct.unpack_from("<Q", d, at + 16)[0]
        out.append((at, at + 64, plen))
        at += 64 + (plen + 63) // 64 * 64
    return out


def main():
    src, dst, op, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    d = bytearray(open(src, "rb").read())
    segs = segments(d)
    if op == "flip-payload":
        seg, off = int(args[0]), int(args[1])
        d[segs[seg][1] + off] ^= 0x01
    elif op == "flip-sig":
        hdr, pay, plen = segs[-1]
        d[pay + 36 + 10] ^= 0x01  # inside the 64-byte signature
        d[hdr + 40 : hdr + 56] = xxh128(d[pay : pay + plen])
    elif op == "flip-header-hash":
        d[segs[int(args[0])][0] + 40] ^= 0x01
    elif op == "flip-magic":
        d[0] ^= 0x01
    elif op == "truncate":
        d = d[: int(args[0])]
    else:
        sys.exit("unknown op " + op)
    open(dst, "wb").write(d)


main()
