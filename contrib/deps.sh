#!/usr/bin/env bash
# Installs the Debian packages nubfs needs to build, test and run.
# Usage: contrib/deps.sh            (as root, or with sudo available)
set -euo pipefail

pkgs=(build-essential cmake pkg-config binutils
      libfuse3-dev fuse3 libelf-dev libcmocka-dev libsodium-dev libjansson-dev
      libxxhash-dev xxhash wabt clang lld rsync python3 util-linux jq procps
      openssh-client groff-base
      libsystemd-dev systemd)  # sd_notify for nubfs@.service; systemd-analyze verify tests it
# lld: wasm-ld links the WebAssembly benchmark programs (tests/bench/wasm_bench.sh)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
