;; producer: each call of the entry point "run" writes the next batch of 16
;; little-endian u32 sequence numbers at offset 0 (one queue message) and
;; returns the message size in bytes.
(module
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 0))
  (func (export "run") (result i32)
    (local $i i32)
    (block $done
      (loop $fill
        (br_if $done (i32.ge_u (local.get $i) (i32.const 16)))
        (i32.store (i32.shl (local.get $i) (i32.const 2)) (global.get $next))
        (global.set $next (i32.add (global.get $next) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $fill)))
    i32.const 64))
