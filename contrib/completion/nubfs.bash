# bash completion for nubfs(8) and nubfs-pack(1): nubfs's -o options
# (comma lists, with file and directory values) and nubfs-pack's
# subcommands and their flags. `cmake --install` puts this file in
# share/bash-completion/completions/ as both nubfs and nubfs-pack; it also
# works when sourced directly. Self-contained: it needs no functions from
# the bash-completion package.

# nubfs's own -o options (nubfs --help, nubfs(8) OPTIONS), then the common
# FUSE ones (mount.fuse3(8)). A trailing '=' means a value follows.
_nubfs_o_opts="kernel= guest_mem= preload= watchdog= trust= state= ephemeral verify allow_unsigned nonempty max_package=
store_max= cap_file_min= read_path= tasks= task_fuel= task_cpu= task_fuel_max=
max_components= max_regions= max_queues= max_tasks= allow_other allow_root auto_unmount
default_permissions fsname= subtype= max_read= clone_fd max_threads= max_idle_threads="

# The word being completed as the user typed it (bash splits words at the
# characters of COMP_WORDBREAKS, such as '=', so COMP_WORDS alone does not
# give "trust=/tm"), and the word before it. Sets _nubfs_cur, _nubfs_prev.
_nubfs_words() {
    local line
    if [[ -n ${COMP_LINE-} ]]; then
        line=${COMP_LINE:0:${COMP_POINT:-${#COMP_LINE}}}
    else
        line="${COMP_WORDS[*]:0:COMP_CWORD+1}"
    fi
    _nubfs_cur=${line##*[[:space:]]}
    line=${line%"$_nubfs_cur"}
    line=${line%"${line##*[![:space:]]}"} # trailing blanks
    _nubfs_prev=${line##*[[:space:]]}
}

# Sets COMPREPLY to the candidates given (whole words that extend
# _nubfs_cur), each cut after the last word-break character bash saw in
# the current word, since bash replaces only what follows it.
_nubfs_reply() {
    local breaks=${COMP_WORDBREAKS-\"\'><=;|&(:}
    local head=$_nubfs_cur i c
    for ((i = ${#head} - 1; i >= 0; i--)); do
        c=${head:i:1}
        [[ $breaks == *"$c"* ]] && break
    done
    head=${head:0:i+1}
    COMPREPLY=()
    local w
    for w in "$@"; do
        COMPREPLY+=("${w#"$head"}")
    done
}

# Files (-f) or directories (-d) starting with $2, as whole words with the
# prefix $3 in front.
_nubfs_paths() {
    local kind=$1 part=$2 prefix=$3 p paths
    mapfile -t paths < <(compgen "$kind" -- "$part")
    for p in "${paths[@]}"; do
        [[ -d $p && $p != */ ]] && p+=/
        printf '%s\n' "$prefix$p"
    done
}

_nubfs() {
    local _nubfs_cur _nubfs_prev
    _nubfs_words
    local cur=$_nubfs_cur prev=$_nubfs_prev cands=()
    if [[ $prev == -o ]]; then
        # A comma list: complete its last item, keep the ones before.
        local done_part= item=$cur
        if [[ $cur == *,* ]]; then
            done_part=${cur%,*},
            item=${cur##*,}
        fi
        if [[ $item == *=* ]]; then
            local name=${item%%=*} val=${item#*=}
            case $name in
                trust | preload | state) mapfile -t cands < <(_nubfs_paths -d "$val" "$done_part$name=") ;;
                kernel) mapfile -t cands < <(_nubfs_paths -f "$val" "$done_part$name=") ;;
                read_path | tasks)
                    local v vals="auto splice"
                    [[ $name == tasks ]] && vals="on off"
                    for v in $vals; do
                        [[ $v == "$val"* ]] && cands+=("$done_part$name=$v")
                    done ;;
            esac
        else
            local o
            for o in $_nubfs_o_opts; do
                [[ $o == "$item"* ]] && cands+=("$done_part$o")
            done
        fi
        compopt -o nospace 2>/dev/null
    elif [[ $cur == -* ]]; then
        mapfile -t cands < <(compgen -W '-h --help -V --version -f -d -s -o' -- "$cur")
    else
        mapfile -t cands < <(_nubfs_paths -d "$cur" "")
        compopt -o nospace 2>/dev/null
    fi
    _nubfs_reply "${cands[@]}"
}

_nubfs_pack() {
    local _nubfs_cur _nubfs_prev
    _nubfs_words
    local cur=$_nubfs_cur prev=$_nubfs_prev cands=()
    # The subcommand: the first word after the program that is not an option.
    local cmd= i
    for ((i = 1; i < COMP_CWORD; i++)); do
        [[ ${COMP_WORDS[i]} != -* ]] && { cmd=${COMP_WORDS[i]}; break; }
    done
    if [[ -z $cmd ]]; then
        mapfile -t cands < <(compgen -W 'keygen build inspect verify -h --help -V --version' -- "$cur")
        _nubfs_reply "${cands[@]}"
        return
    fi
    local flags= file=-f
    case $cmd in
        keygen) flags='--force --help' ;;
        build)
            flags='-o --output --key --unsigned --help'
            case $prev in -o | --output | --key) file=-f flags= ;; esac ;;
        inspect)
            flags='--json --extract --help'
            [[ $prev == --extract ]] && file=-d flags= ;;
        verify)
            flags='--trust --pub --quiet --help'
            case $prev in --trust) file=-d flags= ;; --pub) flags= ;; esac ;;
        *) return ;;
    esac
    if [[ -n $flags && $cur == -* ]]; then
        mapfile -t cands < <(compgen -W "$flags" -- "$cur")
    else
        mapfile -t cands < <(_nubfs_paths "$file" "$cur" "")
        compopt -o nospace 2>/dev/null
    fi
    _nubfs_reply "${cands[@]}"
}

complete -F _nubfs nubfs
complete -F _nubfs_pack nubfs-pack
