;; Test module for test_rvf_wasm: two exported functions, an exported
;; memory, and a passive data segment used by memory.init, so wat2wasm
;; emits the DataCount section (id 12, between Element and Code).
(module
  (memory (export "mem") 1)
  (data $greeting "hello")
  (func (export "run")
    (memory.init $greeting (i32.const 0) (i32.const 0) (i32.const 5))
    (data.drop $greeting))
  (func (export "tick") (result i32)
    (i32.const 1)))
