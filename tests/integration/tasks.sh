#!/bin/bash
# The packages' tasks run (issue 10 items 4-6), on a real mount with real
# tools: hello's line in `log`; pipeline's producer and consumer fill the
# journal (`cat mounts/pipeline/regions/journal`); fanout splits a stream
# over two consumers; every hostile component (an infinite loop,
# unbounded recursion, an out-of-bounds load, memory.grow past the limit,
# an access without a grant, a send to an unwired port, a message over
# max_message, a division by zero) ends trapped or gets its error value
# while the other tasks keep running and `ls caps` answers promptly; rm
# while a task runs; 16 tasks of one component start over several slices
# (a first turn only instantiates; they share one decoded module); -o
# tasks=off; a guest crash restarts the tasks from their entry points,
# also after a crash inside a RUN slice (the hidden test_crash_run knob),
# and three such crashes in a row park the scheduler until an rm; with a
# small -o task_fuel_max the infinite loop ends trapped "out of fuel"
# while tasks that wait on queues go on. Exits 77 if KVM or FUSE is
# unusable.
# usage: tasks.sh PATH/TO/nubfs PATH/TO/nubfs-pack EXAMPLES_DIR
set -u
NUBFS=${1:?usage}
PACK=${2:?usage}
EX=${3:?usage}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
need_tools fusermount3 mountpoint python3 wat2wasm

test_dirs tasks
C=$MNT/ctl
M=$MNT/mounts

# The hostile package, from source, signed with the example key.
cp "$HERE/tasks/hostile.json" "$PK/" || fail "copy hostile.json"
wat2wasm "$HERE/tasks/hostile.wat" -o "$PK/hostile.wasm" || fail "wat2wasm hostile.wat"
"$PACK" build "$PK/hostile.json" -o "$TMP/hostile.rvf" --key "$EX/keys/example.key" \
    > /dev/null || fail "nubfs-pack build hostile"

# task_state PKG ENTRY [COMPONENT]: "state trap" of that task.
task_state() {
    json "$M/$1/tasks" "' '.join(str(t['state']) + ' ' + str(t['trap']) for t in d['tasks'] if t['entry'] == '$2' and ('${3:-}' == '' or t['component'] == '${3:-}'))"
}
task_fuel() {
    json "$M/$1/tasks" "[t['fuel_used'] for t in d['tasks'] if t['entry'] == '$2'][0]"
}
tasks_stat() { json "$MNT/stats" "d['tasks']['$1']"; }
expected_lines() { for i in $(seq 1 "$1"); do echo "message $i"; done; }

start_nubfs "$NUBFS" "$MNT" "trust=$EX/keys,test_ops"
[ "$(tasks_stat run)" = True ] || fail "stats tasks.run: $(tasks_stat run)"
# A start with nothing mounted runs no task slice and makes no guest call:
# INIT runs in the boot run and READY answers as STATS does.
[ "$(tasks_stat slices)" = 0 ] || fail "a start with no package ran $(tasks_stat slices) task slices"
calls=$(json "$MNT/stats" "d['guest_calls']")
[ "$calls" = 0 ] || fail "a start with nothing to replay made $calls guest calls (none expected)"
ok "a start with no package: no task slice, no guest call (INIT rides on READY)"

# ---- hello: a line in log -------------------------------------------------------
cp "$EX/hello.rvf" "$C/" || fail "cp hello.rvf"
wait_until 30 "hello's task done" '[ "$(task_state hello run)" = "done None" ]'
grep -q 'guest: task hello/hello: Hello from a nubfs package!$' "$MNT/log" ||
    fail "log has no line from hello: $(tail -n 5 "$MNT/log")"
ok "hello: its task logged 'Hello from a nubfs package!' and ended done"

# ---- pipeline: the journal --------------------------------------------------------
cp "$EX/pipeline.rvf" "$C/" || fail "cp pipeline.rvf"
expected_lines 10 > "$TMP/want"
wait_until 60 "the journal holds 10 messages" 'cmp -s "$M/pipeline/regions/journal" "$TMP/want"'
cat "$M/pipeline/regions/journal" > "$TMP/got" || fail "cat journal"
cmp -s "$TMP/got" "$TMP/want" || fail "cat journal: $(cat "$TMP/got")"
[ "$(stat -c %s "$M/pipeline/regions/journal")" = "$(stat -c %s "$TMP/want")" ] ||
    fail "journal size $(stat -c %s "$M/pipeline/regions/journal")"
wait_until 30 "consumer blocked" '[ "$(task_state pipeline run consumer)" = "blocked None" ]'
[ "$(task_state pipeline run producer)" = "done None" ] || fail "producer: $(task_state pipeline run producer)"
[ "$(json "$M/pipeline/queues" '[(q["head"], q["tail"], q["pending"]) for q in d["queues"]]')" = \
  '[[10, 10, 0]]' ] || fail "queue: $(cat "$M/pipeline/queues")"
ok "pipeline: cat regions/journal shows the 10 messages the producer sent; producer done, consumer blocked"

# ---- fanout: two consumers ----------------------------------------------------------
cp "$EX/fanout.rvf" "$C/" || fail "cp fanout.rvf"
for i in $(seq 1 10); do
    [ $((i % 2)) = 1 ] && echo "message $i -> odd" || echo "message $i -> even"
done | sort > "$TMP/want"
wait_until 60 "fanout's journal holds 10 lines" '[ "$(wc -l < "$M/fanout/regions/journal")" = 10 ]'
sort "$M/fanout/regions/journal" > "$TMP/got"
cmp -s "$TMP/got" "$TMP/want" || fail "fanout journal: $(cat "$M/fanout/regions/journal")"
[ "$(json "$M/fanout/queues" '[(q["from"], q["tail"]) for q in d["queues"]]')" = \
  '[["splitter.even", 5], ["splitter.odd", 5]]' ] || fail "fanout queues: $(cat "$M/fanout/queues")"
ok "fanout: the splitter sent 5 messages to each consumer, both appended them to the journal"

# ---- hostile components -------------------------------------------------------------
cp "$TMP/hostile.rvf" "$C/" || fail "cp hostile.rvf"
H=hostile
settled() {
    [ "$(json "$M/$H/tasks" "sum(t['state'] in ('running', 'ready') for t in d['tasks'])")" = 1 ]
}
wait_until 60 "every hostile task settled" settled
for e in recurse:call\ stack\ exhausted oob:out\ of\ bounds\ memory\ access \
         divzero:integer\ divide\ by\ zero; do
    [ "$(task_state $H "${e%%:*}")" = "trapped ${e#*:}" ] ||
        fail "${e%%:*}: $(task_state $H "${e%%:*}"), want trapped ${e#*:}"
    grep -q "guest: task hostile/bad.${e%%:*} trapped: ${e#*:}" "$MNT/log" ||
        fail "log: no trap line for ${e%%:*}"
done
for e in grow:-1 nogrant:-13 unwired:-9 oversize:-90; do
    [ "$(task_state $H "${e%%:*}")" = "done None" ] ||
        fail "${e%%:*}: $(task_state $H "${e%%:*}"), want done (it checks the error value)"
    grep -q "guest: task hostile/bad: ${e%%:*}: ${e#*:} as expected" "$MNT/log" ||
        fail "log: ${e%%:*} did not get ${e#*:}"
done
[ "$(task_state $H sink)" = "blocked None" ] || fail "sink: $(task_state $H sink)"
st=$(task_state $H spin)
case $st in "running None" | "ready None") ;; *) fail "spin: $st" ;; esac
ok "hostile: recursion, OOB load, division by zero trapped (logged with the reason); memory.grow past the limit -1, no grant -13, unwired port -9, over max_message -90"

# The infinite loop runs on; others keep running beside it, and readers
# wait at most a slice.
f0=$(task_fuel $H spin)
rm "$C/pipeline.rvf" || fail "rm pipeline.rvf"
cp "$EX/pipeline.rvf" "$C/" || fail "cp pipeline.rvf again"
expected_lines 10 > "$TMP/want"
wait_until 60 "a new pipeline's journal beside the loop" 'cmp -s "$M/pipeline/regions/journal" "$TMP/want"'
worst=0
for _ in $(seq 1 10); do
    t0=$(date +%s%N)
    # caps/ (its listing may be cached by the kernel) and a file the
    # daemon renders from guest memory at each open, under the read lock
    ls "$MNT/caps" > /dev/null || fail "ls caps"
    cat "$M/pipeline/info" > /dev/null || fail "cat mounts/pipeline/info"
    t=$(( ($(date +%s%N) - t0) / 1000000 ))
    [ $t -gt $worst ] && worst=$t
    sleep 0.1
done
slice=$(json "$MNT/stats" "round(d['tasks']['max_slice_ms'])")
[ $worst -lt $((slice + 1000)) ] || fail "ls caps + cat info took $worst ms beside a task that never ends (longest slice $slice ms)"
f1=$(task_fuel $H spin)
[ "$f1" -gt "$f0" ] || fail "spin's fuel did not grow ($f0 -> $f1)"
[ "$(json "$MNT/stats" 'd["poisoned"]')" = 0 ] || fail "the guest was poisoned"
ok "beside the infinite loop (fuel $f0 -> $f1): a new pipeline filled its journal; ls caps + cat info at most $worst ms (longest slice $slice ms)"

# ---- rm while a task runs ------------------------------------------------------------
t0=$(date +%s%N)
rm "$C/hostile.rvf" || fail "rm hostile.rvf while its task runs"
t=$(( ($(date +%s%N) - t0) / 1000000 ))
[ -e "$M/hostile" ] && fail "mounts/hostile still there"
runnable0() {
    [ "$(tasks_stat runnable)" = 0 ] && return 0
    [ $SECONDS -lt $end ] && return 1
    for p in $(ls "$M"); do echo "$p: $(cat "$M/$p/tasks")"; done >&2
    cat "$MNT/stats" >&2
    return 1
}
end=$((SECONDS + 29))
wait_until 30 "no task runnable after rm" runnable0
s0=$(tasks_stat slices)
sleep 1
[ "$(tasks_stat slices)" = "$s0" ] || fail "slices still run with nothing runnable ($s0 -> $(tasks_stat slices))"
[ "$(json "$MNT/stats" 'd["poisoned"]')" = 0 ] || fail "the guest was poisoned"
ok "rm of a package whose task runs for ever: $t ms; its tasks stopped, the scheduler sleeps"

# ---- many tasks: a first turn only instantiates, a slice starts a few ----
python3 - "$PK" <<'PY' || fail "many.wat"
import json, sys
pk = sys.argv[1]
open(pk + "/many.wat", "w").write("(module\n" + "".join('  (func (export "e%d"))\n' % i for i in range(16)) + ")\n")
json.dump({"name": "many", "version": "1",
           "components": [{"name": "c", "wasm": "many.wasm", "entry": ["e%d" % i for i in range(16)]}]},
          open(pk + "/many.json", "w"))
PY
wat2wasm "$PK/many.wat" -o "$PK/many.wasm" || fail "wat2wasm many.wat"
"$PACK" build "$PK/many.json" -o "$TMP/many.rvf" --key "$EX/keys/example.key" > /dev/null ||
    fail "nubfs-pack build many"
s0=$(tasks_stat slices)
cp "$TMP/many.rvf" "$C/" || fail "cp many.rvf"
wait_until 120 "16 tasks done" '[ "$(json "$M/many/tasks" "sum(t[\"state\"] == \"done\" for t in d[\"tasks\"])")" = 16 ]'
n=$(( $(tasks_stat slices) - s0 ))
# The first task decodes the module (16000 fuel + its length), the other
# 15 share it (4000 + a quarter): at most five starts in a 20000 slice.
[ $n -ge 4 ] || fail "16 tasks started in $n slices: more than five a slice"
ok "16 tasks: started over $n slices (longest slice so far $(tasks_stat max_slice_ms) ms), all done"
rm "$C/many.rvf" || fail "rm many.rvf"

# ---- recovery: tasks start over ----------------------------------------------------
python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.nubfs.test_crash_mount", b"1")' "$C" ||
    fail "setxattr test_crash_mount"
cp "$EX/hello.rvf" "$C/again.rvf" 2> /dev/null && fail "the crashing mount succeeded"
[ "$(json "$MNT/stats" 'd["reboots"]')" = 1 ] || fail "reboots: $(json "$MNT/stats" 'd["reboots"]')"
expected_lines 10 > "$TMP/want"
wait_until 60 "the re-mounted pipeline's journal" 'cmp -s "$M/pipeline/regions/journal" "$TMP/want"'
wait_until 30 "hello ran again" '[ "$(grep -c "guest: task hello/hello: Hello" "$MNT/log")" = 2 ]'
ok "a guest crash: the re-mounted packages' tasks started over (a fresh journal with the 10 messages, hello's line again)"

# ---- a crash inside a RUN slice: recovered, tasks start over, three park ----
# The hidden knob user.nubfs.test_crash_run=N: the next N slices end with
# a triple fault in the guest (abi.h NUB_RUN_F_TEST_CRASH).
crash_run() {
    python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.nubfs.test_crash_run", sys.argv[2].encode())' \
        "$C" "$1" || fail "setxattr test_crash_run=$1"
}
hellos() { grep -c "guest: task hello/hello: Hello" "$MNT/log"; }
r0=$(json "$MNT/stats" 'd["reboots"]') c0=$(tasks_stat crashes) h0=$(hellos)
crash_run 1
wait_until 60 "the crashed slice recovered" '[ "$(tasks_stat crashes)" = $((c0 + 1)) ]'
[ "$(json "$MNT/stats" 'd["reboots"]')" = $((r0 + 1)) ] || fail "reboots: $(json "$MNT/stats" 'd["reboots"]')"
grep -q 'tasks: a RUN slice crashed the guest; recovering (tasks start over)' "$MNT/log" ||
    fail "log: no line for the crashed slice"
wait_until 60 "hello ran again after the crashed slice" '[ "$(hellos)" -gt $h0 ]'
wait_until 60 "the journal refilled" 'cmp -s "$M/pipeline/regions/journal" "$TMP/want"'
ls "$MNT/caps" > /dev/null || fail "ls caps after the crashed slice"
for p in hello pipeline fanout; do cat "$M/$p/info" > /dev/null || fail "cat mounts/$p/info"; done
ok "a RUN slice crashed the guest: recovered (reboot $((r0 + 1))), hello logged again, the pipeline refilled a fresh journal, caps/ and mounts/ read"

r0=$(json "$MNT/stats" 'd["reboots"]') c0=$(tasks_stat crashes)
crash_run 3
wait_until 90 "three crashed slices" '[ "$(tasks_stat crashes)" = $((c0 + 3)) ]'
grep -q 'tasks: 3 slices in a row crashed the guest; parked until the next mount or rm' "$MNT/log" ||
    fail "log: no park line"
wait_until 30 "the re-mounted pipeline" '[ -e "$M/pipeline/regions/journal" ]'
s0=$(tasks_stat slices)
sleep 1.5
[ "$(tasks_stat slices)" = "$s0" ] || fail "parked, yet slices ran ($s0 -> $(tasks_stat slices))"
[ "$(tasks_stat sleeping)" = True ] || fail "parked: tasks.sleeping $(tasks_stat sleeping)"
[ "$(stat -c %s "$M/pipeline/regions/journal")" = 0 ] || fail "parked, yet the journal grew"
[ "$(json "$M/pipeline/tasks" '[t["state"] for t in d["tasks"]]')" = '["ready", "ready"]' ] ||
    fail "parked: $(cat "$M/pipeline/tasks")"
ls "$MNT/caps" > /dev/null || fail "ls caps while parked"
[ "$(json "$MNT/stats" 'd["reboots"]')" = $((r0 + 3)) ] || fail "reboots: $(json "$MNT/stats" 'd["reboots"]')"
rm "$C/hello.rvf" || fail "rm hello.rvf (the kick)"
wait_until 60 "the journal refilled after the park" 'cmp -s "$M/pipeline/regions/journal" "$TMP/want"'
ok "three crashed slices in a row: recovered each time, then the scheduler parked (no slice in 1.5 s, tasks ready, an empty journal, ls caps answers); an rm woke it and the journal filled"
stop_nubfs "$MNT"

# ---- tasks=off ---------------------------------------------------------------------
start_nubfs "$NUBFS" "$MNT" "trust=$EX/keys,tasks=off"
[ "$(tasks_stat run)" = False ] || fail "tasks=off: stats tasks.run $(tasks_stat run)"
grep -q 'tasks: not run (-o tasks=off)' "$MNT/log" || fail "tasks=off: not in the log"
cp "$EX/pipeline.rvf" "$C/" || fail "cp pipeline.rvf (tasks=off)"
sleep 1
[ "$(stat -c %s "$M/pipeline/regions/journal")" = 0 ] || fail "tasks=off: the journal grew"
[ "$(json "$M/pipeline/tasks" '[t["state"] for t in d["tasks"]]')" = '["ready", "ready"]' ] ||
    fail "tasks=off: $(cat "$M/pipeline/tasks")"
[ "$(tasks_stat slices)" = 0 ] || fail "tasks=off: $(tasks_stat slices) slices"
stop_nubfs "$MNT"
ok "tasks=off: mounted, every task ready, the journal empty, no slice run"

# ---- task_fuel_max: the infinite loop ends trapped, waiting tasks do not ----
# Above, with the default (10^9) the loop ran on; here a budget it
# reaches in a few slices. Tasks that wait on their queues are not hit
# (unit.mount test_run_fuel_max: one that uses more than the limit in all,
# between waits).
MAXF=30000
start_nubfs "$NUBFS" "$MNT" "trust=$EX/keys,task_fuel_max=$MAXF"
[ "$(tasks_stat fuel_max)" = $MAXF ] || fail "stats tasks.fuel_max: $(tasks_stat fuel_max)"
cp "$TMP/hostile.rvf" "$C/" || fail "cp hostile.rvf (task_fuel_max)"
wait_until 120 "spin trapped out of fuel" '[ "$(task_state $H spin)" = "trapped out of fuel" ]'
grep -q "guest: task hostile/bad.spin trapped: out of fuel" "$MNT/log" ||
    fail "log: no 'out of fuel' trap line for spin"
f=$(task_fuel $H spin)
[ "$f" -ge $MAXF ] && [ "$f" -lt $((MAXF + 20000)) ] || fail "spin trapped after $f fuel, limit $MAXF"
[ "$(task_state $H sink)" = "blocked None" ] || fail "sink: $(task_state $H sink)"
[ "$(task_state $H recurse)" = "trapped call stack exhausted" ] || fail "recurse: $(task_state $H recurse)"
cp "$EX/pipeline.rvf" "$C/" || fail "cp pipeline.rvf (task_fuel_max)"
expected_lines 10 > "$TMP/want"
wait_until 60 "the journal beside the limit" 'cmp -s "$M/pipeline/regions/journal" "$TMP/want"'
wait_until 30 "consumer blocked" '[ "$(task_state pipeline run consumer)" = "blocked None" ]'
cf=$(json "$M/pipeline/tasks" "[t['fuel_used'] for t in d['tasks'] if t['component'] == 'consumer'][0]")
ls "$MNT/caps" > /dev/null || fail "ls caps"
[ "$(json "$MNT/stats" 'd["poisoned"]')" = 0 ] || fail "the guest was poisoned"
stop_nubfs "$MNT"
ok "task_fuel_max=$MAXF: the infinite loop ended trapped 'out of fuel' after $f fuel (logged); the sink stays blocked; the pipeline filled its journal, its consumer ($cf fuel in all) blocked, not trapped"

