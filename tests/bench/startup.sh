#!/usr/bin/env bash
# Benchmark (not a test): time from starting nubfs to guest READY, which
# includes INIT (one run of the guest), and the host's checks after it
# (from the daemon's stats), to a usable mount (the foreground parent exits
# only once the mount is up) and to the first `ls` answered, next to
# squashfuse_ll on an empty image in the same run (runs interleaved),
# median of N runs; plus guest instructions for boot + INIT where the KVM
# exposes the count (kvm-pvm emulates every guest instruction, so there it
# is exact). Timed with bash's $EPOCHREALTIME: no `date` process is timed.
# With NUBFS_BEFORE=<an older nubfs binary> it also times that binary,
# interleaved in the same runs: an A/B that the machine's drift between
# runs cannot fake.
# Usage: [NUBFS_BEFORE=PATH] tests/bench/startup.sh [BUILD_DIR] [RUNS]
set -euo pipefail
build=$(realpath "${1:-build}")
runs=${2:-11}
nubfs="$build/fs/nubfs"
[ -x "$nubfs" ] || { echo "no $nubfs: build first" >&2; exit 1; }
before=${NUBFS_BEFORE:-}
[ -z "$before" ] || [ -x "$before" ] || { echo "NUBFS_BEFORE=$before: not an executable" >&2; exit 1; }
peer=1
for t in squashfuse_ll mksquashfs; do
  command -v "$t" >/dev/null || peer=0
done
[ "$peer" = 1 ] || echo "no squashfuse_ll/mksquashfs (apt-get install squashfuse squashfs-tools): nubfs alone" >&2
work=$(mktemp -d /tmp/nubfs-startup.XXXXXX)
mnt=$work/mnt sqm=$work/sqm
mkdir "$mnt" "$sqm" "$work/empty"
# set -e holds in the trap too: an unmount of what is not mounted must not
# end it before the rm (every run left its directory behind).
trap 'fusermount3 -u "$mnt" 2>/dev/null || true; fusermount3 -u "$sqm" 2>/dev/null || true; rm -rf "$work"' EXIT
[ "$peer" = 0 ] || mksquashfs "$work/empty" "$work/empty.sqfs" -noappend -quiet >/dev/null

now() { echo "${EPOCHREALTIME/./}"; } # microseconds
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
# start_ls MNT CMD...: runs CMD (it mounts MNT), then ls MNT; sets
# mount_t and ls_t, microseconds from the start to each. MNT stays mounted.
start_ls() {
  local m=$1 t0 t1 t2
  shift
  t0=$(now)
  "$@" 2>/dev/null
  t1=$(now)
  ls "$m" >/dev/null
  t2=$(now)
  mount_t=$((t1 - t0)) ls_t=$((t2 - t0))
}
stop() { fusermount3 -u "$1"; sleep 0.2; }
mount_us=() ls_us=() ready_ms=() init_ms=() peer_mount_us=() peer_ls_us=()
before_mount_us=() before_ls_us=()
for ((i = 0; i < runs; i++)); do
  if [ -n "$before" ]; then
    start_ls "$mnt" "$before" "$mnt" -o ephemeral
    before_mount_us+=("$mount_t") before_ls_us+=("$ls_t")
    stop "$mnt"
  fi
  start_ls "$mnt" "$nubfs" "$mnt" -o ephemeral
  mount_us+=("$mount_t") ls_us+=("$ls_t")
  ready_ms+=("$(json "$mnt/stats" 'd["boot"]["ready_ms"]')")
  init_ms+=("$(json "$mnt/stats" 'd["boot"]["init_ms"]')")
  insns=$(json "$mnt/stats" 'd.get("guest_emulated_instructions", "n/a")')
  stop "$mnt"
  if [ "$peer" = 1 ]; then
    start_ls "$sqm" squashfuse_ll "$work/empty.sqfs" "$sqm"
    peer_mount_us+=("$mount_t") peer_ls_us+=("$ls_t")
    stop "$sqm"
  fi
done
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
kind="hardware KVM"
case "$(dmesg 2>/dev/null || true)" in *kvm-pvm*) kind="kvm-pvm (emulated guest)" ;; esac
hp=/sys/module/haltpoll/parameters/guest_halt_poll_ns # idle vCPUs poll first (nubfs(8) NOTES)
[ -r "$hp" ] && kind="$kind, guest_halt_poll_ns=$(cat "$hp")"
echo "runs: $runs on $kind, medians"
echo "VM set-up + boot, INIT, READY: $(median "${ready_ms[@]}") ms"
echo "host checks after READY:       $(median "${init_ms[@]}") ms"
echo "start -> mount ready (exit):   $(ms "$(median "${mount_us[@]}")") ms"
echo "start -> first ls answered:    $(ms "$(median "${ls_us[@]}")") ms"
if [ "$peer" = 1 ]; then
  echo "squashfuse_ll, mount ready:    $(ms "$(median "${peer_mount_us[@]}")") ms"
  echo "squashfuse_ll, first ls:       $(ms "$(median "${peer_ls_us[@]}")") ms"
  awk -v a="$(median "${ls_us[@]}")" -v b="$(median "${peer_ls_us[@]}")" \
    'BEGIN { printf "first ls, nubfs / squashfuse_ll: %.2fx\n", a / b }'
fi
if [ -n "$before" ]; then
  echo "before ($before), mount ready: $(ms "$(median "${before_mount_us[@]}")") ms"
  echo "before, first ls:              $(ms "$(median "${before_ls_us[@]}")") ms"
  awk -v a="$(median "${ls_us[@]}")" -v b="$(median "${before_ls_us[@]}")" \
    'BEGIN { printf "first ls, nubfs / before:      %.2fx\n", a / b }'
fi
echo "guest instructions at mount:   $insns (emulated count; boot + INIT)"
