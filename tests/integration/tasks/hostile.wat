;; integration.tasks: the hostile components of issue 10 item 6, one entry
;; point each, in one module ("bad" runs all but "sink"). A task that must
;; get an error value checks it, logs "<entry>: <what> as expected" and
;; returns (`done`); a wrong value is a trap (`unreachable`). The others
;; trap in the guest: the test reads the reason in mounts/hostile/tasks.
(module
  (import "nub" "port" (func $port (param i32 i32) (result i32)))
  (import "nub" "send" (func $send (param i32 i32 i32) (result i32)))
  (import "nub" "recv" (func $recv (param i32 i32 i32) (result i32)))
  (import "nub" "region" (func $region (param i32 i32) (result i32)))
  (import "nub" "read_slot" (func $read_slot (param i32 i32 i32 i32) (result i32)))
  (import "nub" "log" (func $log (param i32 i32) (result i32)))
  (memory 1 2)
  (data (i32.const 0) "out")
  (data (i32.const 8) "in")
  (data (i32.const 16) "secret")
  (data (i32.const 64) "grow: -1 as expected")
  (data (i32.const 96) "nogrant: -13 as expected")
  (data (i32.const 128) "unwired: -9 as expected")
  (data (i32.const 160) "oversize: -90 as expected")
  (global $depth (mut i32) (i32.const 0))
  (func $want (param i32 i32)
    (if (i32.ne (local.get 0) (local.get 1)) (then unreachable)))
  (func $say (param i32 i32) (drop (call $log (local.get 0) (local.get 1))))
  ;; runs for ever: preempted at the end of every turn's fuel
  (func (export "spin") (loop $l (br $l)))
  (func $down (export "recurse")
    (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
    (call $down))
  (func (export "oob") (drop (i32.load (i32.const 131072))))
  ;; declared max 2 pages, and the guest's limit: -1, no trap
  (func (export "grow")
    (call $want (memory.grow (i32.const 100)) (i32.const -1))
    (call $say (i32.const 64) (i32.const 20)))
  ;; region "secret" is the sink's: no grant here
  (func (export "nogrant")
    (call $want (call $read_slot (call $region (i32.const 16) (i32.const 6))
                                 (i32.const 0) (i32.const 512) (i32.const 8))
                (i32.const -13))
    (call $say (i32.const 96) (i32.const 24)))
  ;; queue 7 is not wired to this component
  (func (export "unwired")
    (call $want (call $send (i32.const 7) (i32.const 512) (i32.const 4)) (i32.const -9))
    (call $say (i32.const 128) (i32.const 23)))
  ;; max_message is 16
  (func (export "oversize")
    (call $want (call $send (call $port (i32.const 0) (i32.const 3))
                            (i32.const 512) (i32.const 200))
                (i32.const -90))
    (call $say (i32.const 160) (i32.const 25)))
  (func (export "divzero")
    (drop (i32.div_s (i32.const 1) (global.get $depth))))
  ;; the sink: takes whatever comes, for ever
  (func (export "sink")
    (local $in i32)
    (local.set $in (call $port (i32.const 8) (i32.const 2)))
    (loop $l
      (drop (call $recv (local.get $in) (i32.const 1024) (i32.const 64)))
      (br $l))))
