#!/usr/bin/env bash
# contrib/completion/nubfs.bash as bash uses it: sourced, then its
# functions called with COMP_LINE/COMP_POINT and COMP_WORDS/COMP_CWORD set
# as bash sets them. Checks nubfs's -o options (every one that nubfs
# --help and nubfs(8) list, comma lists, directory and file values) and
# nubfs-pack's subcommands and flags (every one that its --help lists),
# and that `cmake --install` puts the file where bash-completion finds it.
# usage: completion.sh SOURCE_DIR BUILD_DIR NUBFS NUBFS_PACK
set -u
SRC=${1:?usage}
BUILD=${2:?usage}
NUBFS=${3:?usage}
PACK=${4:?usage}
fails=0
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
bad() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $*"; }

# shellcheck source=/dev/null
. "$SRC/contrib/completion/nubfs.bash"
complete -p nubfs | grep -q _nubfs || bad "no completion registered for nubfs"
complete -p nubfs-pack | grep -q _nubfs_pack || bad "no completion registered for nubfs-pack"

# comp FUNC LINE: COMPREPLY for the cursor at the end of LINE. COMP_WORDS
# are split as bash splits them (blanks, and COMP_WORDBREAKS characters
# such as '=' as words of their own).
COMP_WORDBREAKS=${COMP_WORDBREAKS:-\"\'><=;|&(:}
comp() {
    local fn=$1
    COMP_LINE=$2
    COMP_POINT=${#COMP_LINE}
    local words
    words=$(printf '%s' "$COMP_LINE" | sed -E 's/([=:])/ \1 /g')
    read -r -a COMP_WORDS <<< "$words"
    COMP_CWORD=${#COMP_WORDS[@]}
    [[ $COMP_LINE == *[[:space:]] || $COMP_LINE == *[=:] ]] || COMP_CWORD=$((COMP_CWORD - 1))
    COMPREPLY=()
    "$fn"
    printf '%s\n' "${COMPREPLY[@]}" | sort
}
# expect DESC WANT... -- FUNC LINE: COMPREPLY is exactly WANT.
expect() {
    local desc=$1
    shift
    local want=()
    while [ "$1" != -- ]; do want+=("$1"); shift; done
    shift
    local got want_s
    got=$(comp "$@")
    want_s=$(printf '%s\n' "${want[@]}" | sed '/^$/d' | sort)
    if [ "$got" = "$want_s" ]; then ok "$desc"; else
        bad "$desc: got [$(echo $got)], want [$(echo $want_s)]"; fi
}
# has DESC WORD -- FUNC LINE: COMPREPLY holds WORD.
has() {
    local desc=$1 word=$2
    shift 3
    if comp "$@" | grep -qxF -- "$word"; then ok "$desc"; else bad "$desc: no '$word' in [$(comp "$@" | tr '\n' ' ')]"; fi
}

T=$(mktemp -d /tmp/nubfs-comp-XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/keys" "$T/kdir"
: > "$T/kernel.elf"
: > "$T/kfile"

# ---- nubfs ----------------------------------------------------------------
all_o=$(comp _nubfs "nubfs /mnt -o ")
# Every -o option nubfs --help and nubfs(8) name is offered.
help_o=$("$NUBFS" --help | grep -E '^ +-o ' | grep -oE '(-o |, )[a-z_]+=?' | sed -E 's/^(-o |, )//' | sort -u)
man_o=$(sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$SRC/man/nubfs.8" |
    grep -oE '^\.BI? "?\\-o [a-z_]+=?|", [a-z_]+=' | sed -E 's/.*(-o |, )//' | sort -u)
for o in $help_o $man_o allow_other default_permissions; do
    grep -qxF -- "$o" <<< "$all_o" || bad "nubfs -o: '$o' (nubfs --help, nubfs(8)) is not offered"
done
[ -n "$help_o" ] && [ -n "$man_o" ] && ok "nubfs -o offers every option of nubfs --help and nubfs(8) ($(echo $help_o | wc -w) and $(echo $man_o | wc -w))"
if grep -q test_ <<< "$all_o"; then bad "hidden test knobs offered"; else ok "hidden test knobs are not offered"; fi
expect "-o tr -> trust=" trust= -- _nubfs "nubfs /mnt -o tr"
expect "-o max_p -> max_package=" max_package= -- _nubfs "nubfs -o max_p"
expect "comma list: the last item is completed, the others kept" \
    allow_other,max_package= -- _nubfs "nubfs -o allow_other,max_pa"
expect "trust= takes directories" "$T/kdir/" "$T/keys/" -- _nubfs "nubfs -o trust=$T/k"
expect "preload= after a comma takes directories" "$T/keys/" -- _nubfs "nubfs -o allow_other,preload=$T/ke"
expect "kernel= takes files" "$T/kernel.elf" -- _nubfs "nubfs -o kernel=$T/kern"
expect "a value without a path kind gets nothing" -- _nubfs "nubfs -o guest_mem=1"
expect "read_path= takes its modes" auto splice -- _nubfs "nubfs -o read_path="
expect "read_path=s -> splice" splice -- _nubfs "nubfs -o allow_other,read_path=s"
expect "options" --help -- _nubfs "nubfs --he"
has "-o itself" -o -- _nubfs "nubfs -"
expect "the mountpoint is a directory" "$T/kdir/" "$T/keys/" -- _nubfs "nubfs $T/k"
# Without COMP_LINE (a caller that sets only COMP_WORDS/COMP_CWORD).
unset COMP_LINE COMP_POINT
COMP_WORDS=(nubfs /mnt -o allow_o)
COMP_CWORD=3
COMPREPLY=()
_nubfs
if [ "${COMPREPLY[*]}" = allow_other ]; then ok "COMP_WORDS/COMP_CWORD alone"; else bad "COMP_WORDS alone: [${COMPREPLY[*]}]"; fi

# ---- nubfs-pack -----------------------------------------------------------
subs=$("$PACK" --help | sed -n '/^Commands:/,/^$/p' | grep -oE '^  [a-z]+' | tr -d ' ')
[ -n "$subs" ] || bad "no commands in nubfs-pack --help"
for s in $subs; do
    has "subcommand $s (nubfs-pack --help)" "$s" -- _nubfs_pack "nubfs-pack "
    flags=$("$PACK" "$s" --help | grep -oE -- '(^| |\[|\()(--[a-z]+|-o)' | grep -oE -- '-[-a-z]+' | sort -u)
    for f in $flags --help; do
        has "nubfs-pack $s: $f" "$f" -- _nubfs_pack "nubfs-pack $s x -"
    done
done
expect "ve -> verify" verify -- _nubfs_pack "nubfs-pack ve"
expect "verify --trust takes directories" "$T/kdir/" "$T/keys/" -- _nubfs_pack "nubfs-pack verify p.rvf --trust $T/k"
has "verify --pub takes files" "$T/kfile" -- _nubfs_pack "nubfs-pack verify p.rvf --pub $T/kf"
has "build --key takes files" "$T/kfile" -- _nubfs_pack "nubfs-pack build s.json --key $T/kf"
expect "inspect --extract takes directories" "$T/kdir/" "$T/keys/" -- _nubfs_pack "nubfs-pack inspect p.rvf --extract $T/k"
expect "no flags of another subcommand" --json -- _nubfs_pack "nubfs-pack inspect p.rvf --j"

# ---- cmake --install --------------------------------------------------------
if cmake --install "$BUILD" --prefix "$T/prefix" > "$T/install.log" 2>&1; then
    for c in nubfs nubfs-pack; do
        f=$T/prefix/share/bash-completion/completions/$c
        if [ -f "$f" ] && cmp -s "$f" "$SRC/contrib/completion/nubfs.bash"; then
            ok "cmake --install: share/bash-completion/completions/$c"
        else bad "cmake --install did not install $f"; fi
    done
else
    bad "cmake --install failed: $(tail -3 "$T/install.log")"
fi

echo "# $n checks, $fails failed"
[ "$fails" = 0 ]
