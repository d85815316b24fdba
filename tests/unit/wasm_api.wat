;; Module for unit.wasm_api (tests/unit/test_wasm_api.c).
(module
  (import "env" "get" (func $get (result i32)))
  (memory 1)
  (func (export "add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add)
  ;; counts n down to 0, returns n
  (func (export "count") (param i32) (result i32) (local i32)
    block
      loop
        local.get 0 i32.eqz br_if 1
        local.get 1 i32.const 1 i32.add local.set 1
        local.get 0 i32.const 1 i32.sub local.set 0
        br 0
      end
    end
    local.get 1)
  (func $rec (export "rec") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add call $rec)
  (func (export "use_import") (result i32)
    call $get i32.const 1 i32.add)
  (func (export "grow") (param i32) (result i32)
    local.get 0 memory.grow)
  (func (export "div") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.div_s)
  (func (export "fadd") (param f64 f64) (result f64)
    local.get 0 local.get 1 f64.add)
  (func (export "load") (param i32) (result i32)
    local.get 0 i32.load)
)
