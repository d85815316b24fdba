;; consumer: "run" folds one received message (ptr, len) into a running
;; FNV-1a checksum and returns it; "reset" starts over. Shared by the
;; pipeline and fanout examples (one module, one cap).
(module
  (memory (export "memory") 1)
  (global $sum (mut i32) (i32.const 0x811c9dc5))
  (func (export "run") (param $ptr i32) (param $len i32) (result i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (block $done
      (loop $byte
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (global.set $sum
          (i32.mul
            (i32.xor (global.get $sum) (i32.load8_u (local.get $ptr)))
            (i32.const 0x01000193)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (br $byte)))
    (global.get $sum))
  (func (export "reset")
    (global.set $sum (i32.const 0x811c9dc5))))
