;; hello: the smallest real nubfs component. Its task "run" writes one
;; line to the daemon's log through the nub import `log` and returns (the
;; task ends `done`): after `cp hello.rvf ctl/`, `grep hello log` shows
;;   guest: task hello/hello: Hello from a nubfs package!
(module
  (import "nub" "log" (func $log (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "Hello from a nubfs package!")
  (func (export "run")
    (drop (call $log (i32.const 64) (i32.const 27)))))
