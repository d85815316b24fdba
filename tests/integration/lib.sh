# Shared helpers for the nubfs integration scripts (sourced, not run).
# skip REASON: exit 77, which ctest reports as skipped (SKIP_RETURN_CODE).
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
need_tools() {
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
    done
}
