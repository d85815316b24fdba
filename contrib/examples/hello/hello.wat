;; hello: the smallest real nubfs component. Its entry point "run" leaves a
;; greeting in linear memory and returns its length; "message" returns
;; where it is, so a host can read it out.
(module
  (memory (export "memory") 1)
  (data (i32.const 64) "Hello from a nubfs package!\n")
  (func (export "run") (result i32)
    i32.const 28)
  (func (export "message") (result i32)
    i32.const 64))
