# Concurrent readers for the no-gap tests (sourced): real `cat`s in
# loops, every failure written down with cat's own message.
# readers_start DIR FILE...: one reader loop per FILE, until readers_stop
# (a FILE written ls:PATH lists the directory PATH instead).
# readers_stop DIR: stops them; then $DIR/reads holds how many reads ran,
# $DIR/errors every failed one, $DIR/enoent those that were ENOENT.
READER_PIDS=()
readers_start() {
    local dir=$1 f i=0
    shift
    mkdir -p "$dir"
    rm -f "$dir/stop" "$dir"/err.* "$dir"/count.*
    for f in "$@"; do
        i=$((i + 1))
        (
            n=0
            while [ ! -e "$dir/stop" ]; do
                case $f in
                    ls:*) ls -l -- "${f#ls:}" > /dev/null 2>> "$dir/err.$i" ;;
                    *) cat -- "$f" > /dev/null 2>> "$dir/err.$i" ;;
                esac || echo "failed: $f" >> "$dir/err.$i"
                n=$((n + 1))
            done
            echo "$n" > "$dir/count.$i"
        ) &
        READER_PIDS+=($!)
    done
}
readers_stop() {
    local dir=$1
    : > "$dir/stop"
    wait "${READER_PIDS[@]}"
    READER_PIDS=()
    cat "$dir"/count.* | awk '{n += $1} END {print n + 0}' > "$dir/reads"
    cat "$dir"/err.* 2>/dev/null > "$dir/errors" || true
    grep -i 'no such file' "$dir/errors" > "$dir/enoent" || true
}
