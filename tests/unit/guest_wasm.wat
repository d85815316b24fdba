;; unit.guest_wasm: functions run both by the host build of the interpreter
;; and inside the real guest (NUB_OP_TEST_WASM); the results must agree.
(module
  (type $ii (func (param i32) (result i32)))
  (memory 1 4)
  (table 3 funcref)
  (elem (i32.const 0) $sq $neg $fib)
  (global $g (mut i64) (i64.const 7))
  (data (i32.const 16) "the quick brown fox jumps over the lazy dog")

  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))

  ;; n iterations of a few integer instructions: the instruction-cost probe
  (func (export "spin") (param $n i32) (result i32) (local $acc i32)
    (block $out
      (loop $top
        (br_if $out (i32.eqz (local.get $n)))
        (local.set $acc (i32.xor (i32.mul (local.get $acc) (i32.const 31)) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $top)))
    (local.get $acc))

  (func (export "forever") (loop $l (br $l)))
  (func $deep (export "deep") (param i32) (result i32)
    (i32.add (call $deep (local.get 0)) (i32.const 1)))

  (func $sq (type $ii) (i32.mul (local.get 0) (local.get 0)))
  (func $neg (type $ii) (i32.sub (i32.const 0) (local.get 0)))
  (func (export "indirect") (param $i i32) (param $x i32) (result i32)
    (call_indirect (type $ii) (local.get $x) (local.get $i)))

  (func (export "i64ops") (param $a i64) (param $b i64) (result i64 i64 i64 i64)
    (i64.mul (local.get $a) (local.get $b))
    (i64.div_s (local.get $a) (local.get $b))
    (i64.rem_u (local.get $a) (local.get $b))
    (i64.rotl (local.get $a) (global.get $g)))

  (func (export "f64ops") (param $a f64) (param $b f64) (result f64 f64 f64 f64)
    (f64.sqrt (local.get $a))
    (f64.div (local.get $a) (local.get $b))
    (f64.nearest (f64.mul (local.get $a) (local.get $b)))
    (f64.min (local.get $a) (f64.neg (local.get $b))))

  (func (export "f32ops") (param $a f32) (param $b f32) (result f32 f32 i32 i64)
    (f32.add (local.get $a) (local.get $b))
    (f32.nearest (local.get $a))
    (i32.trunc_sat_f32_s (f32.mul (local.get $a) (local.get $b)))
    (i64.trunc_f64_u (f64.promote_f32 (f32.abs (local.get $b)))))

  (func (export "trunc_nan") (result i32) (i32.trunc_f32_s (f32.const nan)))
  (func (export "div0") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
  (func (export "overflow") (result i32) (i32.div_s (i32.const 0x80000000) (i32.const -1)))
  (func (export "trap") (unreachable))
  (func (export "oob") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "grow") (param i32) (result i32 i32)
    (memory.grow (local.get 0)) (memory.size))

  ;; FNV-1a over the data segment, then an insertion sort of its bytes,
  ;; hashed again: memory loads and stores in loops.
  (func $fnv (param $p i32) (param $n i32) (result i32) (local $h i32)
    (local.set $h (i32.const 0x811c9dc5))
    (block $out (loop $l
      (br_if $out (i32.eqz (local.get $n)))
      (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load8_u (local.get $p)))
                             (i32.const 0x01000193)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
    (local.get $h))
  (func (export "hash_sort") (result i32 i32) (local $i i32) (local $j i32) (local $v i32)
    (call $fnv (i32.const 16) (i32.const 43))
    (local.set $i (i32.const 1))
    (block $done (loop $outer
      (br_if $done (i32.ge_u (local.get $i) (i32.const 43)))
      (local.set $v (i32.load8_u (i32.add (i32.const 16) (local.get $i))))
      (local.set $j (local.get $i))
      (block $stop (loop $inner
        (br_if $stop (i32.eqz (local.get $j)))
        (br_if $stop (i32.le_u (i32.load8_u (i32.add (i32.const 15) (local.get $j))) (local.get $v)))
        (i32.store8 (i32.add (i32.const 16) (local.get $j))
                    (i32.load8_u (i32.add (i32.const 15) (local.get $j))))
        (local.set $j (i32.sub (local.get $j) (i32.const 1)))
        (br $inner)))
      (i32.store8 (i32.add (i32.const 16) (local.get $j)) (local.get $v))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $outer)))
    (call $fnv (i32.const 16) (i32.const 43)))
)
