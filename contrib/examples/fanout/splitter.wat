;; splitter: "run" takes a message of u32 values (ptr, len) and returns a
;; bit mask of the outputs it goes to: bit 0 when the first value is even,
;; bit 1 when it is odd, both for an empty message.
(module
  (memory (export "memory") 1)
  (func (export "run") (param $ptr i32) (param $len i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $len) (i32.const 4))
      (then (i32.const 3))
      (else
        (i32.add (i32.const 1)
          (i32.and (i32.load (local.get $ptr)) (i32.const 1)))))))
