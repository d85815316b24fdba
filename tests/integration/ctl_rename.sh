#!/bin/bash
# Renames in ctl/ keep bytes (issue 9 item 6): a mounted package moved
# onto a dot-file is unmounted and stays as a staged file with all its
# bytes; moving it back mounts it again, byte-identical. Also over an
# existing dot-file, and rm of the stash.
# usage: ctl_rename.sh NUBFS NUBFS_PACK EXAMPLES_DIR   (77 without KVM/FUSE)
set -u
. "$(dirname "$0")/lib.sh"
NUBFS=$(realpath "${1:?usage}") PACK=$(realpath "${2:?usage}") EX=$(realpath "${3:?usage}")
need_tools fusermount3 mountpoint python3 cmp
for p in hello pipeline; do [ -f "$EX/$p.rvf" ] || fail "$EX/$p.rvf not built"; done

test_dirs mv

HELLO_CAPS=$(pkg_caps "$PACK" "$EX/hello.rvf" | sort -u)
has_caps() { for h in $HELLO_CAPS; do [ -f "$MNT/caps/$h" ] || return 1; done; }
no_caps() { for h in $HELLO_CAPS; do [ -e "$MNT/caps/$h" ] && return 1; done; return 0; }

start_nubfs "$NUBFS" "$MNT" "trust=$EX/keys"
C=$MNT/ctl
cp "$EX/hello.rvf" "$C/" || fail "cp hello.rvf"
has_caps || fail "hello's caps not listed"

mv "$C/hello.rvf" "$C/.hello.stash" || fail "mv onto a dot-file"
[ -e "$MNT/mounts/hello" ] && fail "mounts/hello still there after the move"
no_caps || fail "hello's caps still listed after it was unmounted"
[ "$(stat -c %s "$C/.hello.stash")" = "$(stat -c %s "$EX/hello.rvf")" ] ||
    fail "the stash has $(stat -c %s "$C/.hello.stash") bytes, want $(stat -c %s "$EX/hello.rvf")"
cmp "$EX/hello.rvf" "$C/.hello.stash" || fail "the stash's bytes differ"
ok "mounted package moved onto a dot-file: unmounted, staged with all its bytes"

mv "$C/.hello.stash" "$C/hello.rvf" || fail "mv the stash back"
[ -d "$MNT/mounts/hello" ] || fail "not mounted again"
has_caps || fail "hello's caps not back"
cmp "$EX/hello.rvf" "$C/hello.rvf" || fail "ctl/hello.rvf differs after the round trip"
ok "moved back: mounted again, byte-identical"

# Onto a dot-file that exists: it is replaced by the package's bytes.
cp "$EX/pipeline.rvf" "$C/.old" || fail "cp to a dot-file"
mv "$C/hello.rvf" "$C/.old" || fail "mv onto an existing dot-file"
cmp "$EX/hello.rvf" "$C/.old" || fail "the existing dot-file was not replaced by the package"
[ "$(ls -A "$C")" = ".old" ] || fail "ctl/ holds $(ls -A "$C" | tr '\n' ' ')"
mv "$C/.old" "$C/again.rvf" || fail "mount the stash under another name"
[ -d "$MNT/mounts/again" ] || fail "again not mounted"
cmp "$EX/hello.rvf" "$C/again.rvf" || fail "again.rvf differs"
mv "$C/again.rvf" "$C/.gone" && rm "$C/.gone" || fail "stash and rm"
[ -z "$(ls -A "$C")" ] || fail "ctl/ not empty: $(ls -A "$C" | tr '\n' ' ')"
no_caps || fail "caps left after the stash was removed"
ok "over an existing dot-file, under a new name, and rm of a stash"

stop_nubfs "$MNT"
ok "renames keep bytes"
