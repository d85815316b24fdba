;; producer: its task "run" sends the lines "message 1\n" ... "message N\n"
;; (N = $count) to its port "out", one queue message each, and returns.
;; The send blocks while the queue is full, so the producer runs as fast
;; as the consumer takes them. Any error value from an import is a trap
;; (`unreachable`): the task then shows `trapped` in mounts/pipeline/tasks.
(module
  (import "nub" "port" (func $port (param i32 i32) (result i32)))
  (import "nub" "send" (func $send (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "out")
  (data (i32.const 16) "message ")
  (global $count i32 (i32.const 10))
  ;; $n in decimal at $p; returns the end
  (func $utoa (param $n i32) (param $p i32) (result i32)
    (local $t i32)
    (local.set $t (local.get $n))
    (loop $count_digits
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (local.set $t (i32.div_u (local.get $t) (i32.const 10)))
      (br_if $count_digits (local.get $t)))
    (local.set $t (local.get $p))
    (loop $digit
      (local.set $t (i32.sub (local.get $t) (i32.const 1)))
      (i32.store8 (local.get $t)
        (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digit (local.get $n)))
    (local.get $p))
  (func (export "run")
    (local $out i32) (local $i i32) (local $end i32)
    (local.set $out (call $port (i32.const 0) (i32.const 3)))
    (if (i32.lt_s (local.get $out) (i32.const 0)) (then unreachable))
    (loop $next
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      ;; "message " at 16..24, the number from 24, then "\n"
      (local.set $end (call $utoa (local.get $i) (i32.const 24)))
      (i32.store8 (local.get $end) (i32.const 10))
      (if (call $send (local.get $out) (i32.const 16)
                (i32.sub (i32.add (local.get $end) (i32.const 1)) (i32.const 16)))
        (then unreachable))
      (br_if $next (i32.lt_u (local.get $i) (global.get $count))))))
