#!/bin/sh
# The host side has one hex encoder and decoder, src/hex.c (libsodium's
# sodium_bin2hex / sodium_hex2bin). Fails, naming the lines, where src/,
# fs/, src/pack/ or the host part of guest/rvf/ spells hex digits itself:
# a digit table, a printf %02x of bytes, a digit-value function or a
# digit range check.
# Usage: one_hex_codec.sh SOURCE_DIR
set -eu
cd "$1"
hits=$(grep -rnE "0123456789abcdef|%02[xX]|hex_?val(ue)?\(|hex_digit|<= *'[fF]'" \
         src fs guest/rvf/rvf_host.c --include='*.c' --include='*.h' |
       grep -v '^src/hex\.[ch]:' || true)
if [ -n "$hits" ]; then
    echo "hand-written hex outside src/hex.c (use nub_hex_encode/nub_hex_decode):"
    echo "$hits"
    exit 1
fi
echo "ok: src/hex.c is the only hex codec"
