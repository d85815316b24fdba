;; consumer: its task "run" receives every message of its port "in" and
;; appends it to the append-only region "journal", for ever (the receive
;; blocks the task while the queue is empty: `blocked`, costing nothing):
;; `cat mounts/pipeline/regions/journal` shows what it got. A full journal
;; ends the task with a line in the log; any other error value is a trap.
;; "reset" is a second entry point that returns at once. Shared by the
;; pipeline and fanout examples (one module, one cap).
(module
  (import "nub" "port" (func $port (param i32 i32) (result i32)))
  (import "nub" "recv" (func $recv (param i32 i32 i32) (result i32)))
  (import "nub" "region" (func $region (param i32 i32) (result i32)))
  (import "nub" "append" (func $append (param i32 i32 i32) (result i32)))
  (import "nub" "log" (func $log (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "in")
  (data (i32.const 8) "journal")
  (data (i32.const 16) "journal full")
  (func (export "run")
    (local $in i32) (local $journal i32) (local $n i32) (local $r i32)
    (local.set $in (call $port (i32.const 0) (i32.const 2)))
    (local.set $journal (call $region (i32.const 8) (i32.const 7)))
    (if (i32.or (i32.lt_s (local.get $in) (i32.const 0))
                (i32.lt_s (local.get $journal) (i32.const 0)))
      (then unreachable))
    (loop $next
      ;; a message into [1024, 1024 + 4096)
      (local.set $n (call $recv (local.get $in) (i32.const 1024) (i32.const 4096)))
      (if (i32.lt_s (local.get $n) (i32.const 0)) (then unreachable))
      (local.set $r (call $append (local.get $journal) (i32.const 1024) (local.get $n)))
      (if (i32.eq (local.get $r) (i32.const -28))
        (then (drop (call $log (i32.const 16) (i32.const 12))) (return)))
      (if (i32.lt_s (local.get $r) (i32.const 0)) (then unreachable))
      (br $next)))
  (func (export "reset")))
