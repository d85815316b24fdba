# ctest script: the guest image must contain no SIMD or x87 instruction
# (they fail under kvm-pvm emulation), except nub_sse_probe, which exists
# to execute one on purpose (NUB_OP_TEST_SSE).
#   cmake -DOBJDUMP=... -DELF=... -P check_no_simd.cmake
# Works with GNU objdump and llvm-objdump. Without a disassembler it prints
# "SKIPPED: <reason>", which the test's SKIP_REGULAR_EXPRESSION turns into
# a skip (cmake -P cannot choose its exit code before CMake 3.29).
if(NOT OBJDUMP OR NOT EXISTS "${OBJDUMP}")
  message("SKIPPED: objdump not found, cannot disassemble the guest")
  return()
endif()
execute_process(COMMAND ${OBJDUMP} -d --no-show-raw-insn ${ELF}
                OUTPUT_VARIABLE asm RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "objdump failed on ${ELF}")
endif()
string(REPLACE ";" "," asm "${asm}")
string(REPLACE "\n" ";" lines "${asm}")
set(fn "")
set(bad "")
set(count 0)
foreach(line IN LISTS lines)
  if(line MATCHES "^[0-9a-f]+ <([^>]+)>:")
    set(fn "${CMAKE_MATCH_1}")
  elseif(line MATCHES "^ +[0-9a-f]+:[ \t]")
    math(EXPR count "${count} + 1")
    if(NOT fn STREQUAL "nub_sse_probe" AND
       line MATCHES "%[xyz]mm[0-9]|%mm[0-7]|%st|%k[0-7]|\t(f[a-z0-9]+|[a-z]*mxcsr|emms|v[a-z0-9]+)([ \t]|$)")
      string(APPEND bad "  ${fn}: ${line}\n")
    endif()
  endif()
endforeach()
if(count LESS 100)
  message(FATAL_ERROR "only ${count} instructions disassembled from ${ELF}")
endif()
if(bad)
  message(FATAL_ERROR "SIMD/x87 instructions in the guest image:\n${bad}")
endif()
message("ok: ${count} instructions, no SIMD/x87 outside nub_sse_probe")
