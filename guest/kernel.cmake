# The nubfs guest kernel (freestanding x86-64 ELF, embedded into nubfs) and
# `nubguest`, the host build of its plain-C logic (heap, directory, call
# dispatch) for cmocka tests, fuzzers and tools.

set(NUB_GUEST_DIR ${CMAKE_CURRENT_LIST_DIR})

# Plain C shared by the kernel and the host library.
set(NUB_GUEST_LOGIC_SOURCES
  ${NUB_GUEST_DIR}/lib/heap.c
  ${NUB_GUEST_DIR}/lib/dir.c
  ${NUB_GUEST_DIR}/lib/log.c
  ${NUB_GUEST_DIR}/lib/core.c)
# The mount pipeline (NUB_MOUNT_SOURCES) is guest logic too; it uses the
# RVF parser, which the kernel compiles itself (NUB_RVF_GUEST_SOURCES) and
# the host library takes from nubrvf.
include(${NUB_GUEST_DIR}/rvf/sources.cmake)
include(${NUB_GUEST_DIR}/mount/sources.cmake)
list(APPEND NUB_GUEST_LOGIC_SOURCES ${NUB_MOUNT_SOURCES})
# Running WASM in the guest (guest/run/): the interpreter's allocator, the
# ops that run modules. The interpreter itself is wasm/wasm.cmake's.
set(NUB_RUN_SOURCES
  ${NUB_GUEST_DIR}/run/run_env.c
  ${NUB_GUEST_DIR}/run/test_wasm.c
  ${NUB_GUEST_DIR}/run/imports.c
  ${NUB_GUEST_DIR}/run/tasks_run.c)
list(APPEND NUB_GUEST_LOGIC_SOURCES ${NUB_RUN_SOURCES})

# ---- host library -------------------------------------------------------
add_library(nubguest STATIC ${NUB_GUEST_LOGIC_SOURCES} ${NUB_GUEST_DIR}/host/arch_host.c)
target_include_directories(nubguest PUBLIC ${NUB_GUEST_DIR}/include ${NUB_GUEST_DIR}/run)
target_compile_definitions(nubguest PRIVATE NUB_GUEST_VERSION="${PROJECT_VERSION}")
target_link_libraries(nubguest PUBLIC nub_host_flags nubrvf nubwasm)

# ---- guest kernel -------------------------------------------------------
# No libc headers: the compiler's own freestanding headers (stddef, stdint,
# stdarg, ...), tiny shims for the rest, and a copy of the system xxhash.h
# in a directory of its own so /usr/include stays out of the search path.
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=include
                OUTPUT_VARIABLE NUB_CC_INCLUDE OUTPUT_STRIP_TRAILING_WHITESPACE)
find_file(NUB_XXHASH_H xxhash.h REQUIRED)
configure_file(${NUB_XXHASH_H} ${CMAKE_CURRENT_BINARY_DIR}/xxhash-include/xxhash.h COPYONLY)

set(NUB_GUEST_LD ${NUB_GUEST_DIR}/x86/kernel.ld)
add_executable(nub-guest
  ${NUB_GUEST_DIR}/x86/entry.S
  ${NUB_GUEST_DIR}/x86/main.c
  ${NUB_GUEST_DIR}/x86/idt.c
  ${NUB_GUEST_DIR}/x86/arch.c
  ${NUB_GUEST_DIR}/x86/libc.c
  ${NUB_GUEST_LOGIC_SOURCES}
  ${NUB_RVF_GUEST_SOURCES})
target_include_directories(nub-guest PRIVATE
  ${NUB_GUEST_DIR}/include/freestanding
  ${NUB_GUEST_DIR}/include
  ${NUB_GUEST_DIR}/run
  ${NUB_GUEST_DIR}/wasm
  ${NUB_RVF_DIR}
  ${CMAKE_CURRENT_BINARY_DIR}/xxhash-include)
target_compile_definitions(nub-guest PRIVATE NUB_GUEST_KERNEL NUB_GUEST_VERSION="${PROJECT_VERSION}")
target_compile_options(nub-guest PRIVATE
  -nostdinc -isystem ${NUB_CC_INCLUDE}
  $<$<COMPILE_LANGUAGE:C>:
    -ffreestanding -fno-builtin -mno-red-zone -mgeneral-regs-only -fno-pic -fno-pie
    -fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables
    -fcf-protection=none -O2 -Wall -Wextra -Werror>)
target_link_options(nub-guest PRIVATE
  -static -nostdlib -no-pie -Wl,-T,${NUB_GUEST_LD} -Wl,-z,max-page-size=4096
  -Wl,--build-id=none -Wl,-z,noexecstack
  $<$<C_COMPILER_ID:Clang>:-Wno-unused-command-line-argument>)
set_target_properties(nub-guest PROPERTIES
  LINK_DEPENDS ${NUB_GUEST_LD}
  POSITION_INDEPENDENT_CODE OFF
  INTERPROCEDURAL_OPTIMIZATION OFF)
# Consumers embed the image through $<TARGET_FILE:nub-guest> (src/host.cmake).
