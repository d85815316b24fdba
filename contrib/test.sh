#!/usr/bin/env bash
# Sets up a machine and runs every nubfs test (ctest): unit tests, and
# integration tests on a real KVM guest and a real FUSE mount (reported as
# skipped, with the reason, where /dev/kvm or /dev/fuse is missing).
# Usage: contrib/test.sh [--sanitize] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=OFF
if [ "${1:-}" = "--sanitize" ]; then sanitize=ON; shift; fi
build=${1:-build}

contrib/deps.sh
cmake -S . -B "$build" -DNUB_SANITIZE="$sanitize" >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure -j1
