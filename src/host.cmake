# The host core as one static library per layer; each links only the
# layers below it, and no source is compiled into two libraries:
#   nubutil    whole-file reads, error-message formatting, the errno table
#   nubmem     guest memory and its readers (cap directory, mount table)
#   nubstore   the cap store: caps' bytes in host files, the cap window
#   nubsign    Ed25519 keys, the trust set, a package's signature check
#   nubvm      KVM VM, ELF loading, watchdog, the embedded guest kernel,
#              the sandbox engine and its call client (guest_calls.c)
#   nubintake  package intake (host checks, then MOUNT/UNMOUNT)
# The RVF parsers (nubrvf) and the guest logic (nubguest) are in guest/.
find_package(Threads REQUIRED)

add_library(nubutil STATIC
  ${CMAKE_CURRENT_LIST_DIR}/errbuf.c
  ${CMAKE_CURRENT_LIST_DIR}/errors.c
  ${CMAKE_CURRENT_LIST_DIR}/file_util.c
  ${CMAKE_CURRENT_LIST_DIR}/hex.c)
# hex.c: the one hex codec, on libsodium.
target_link_libraries(nubutil PUBLIC nub_host_flags PkgConfig::SODIUM)
# errors.c maps the parsers' status enum (rvf.h only, no code of nubrvf).
target_include_directories(nubutil PRIVATE ${CMAKE_SOURCE_DIR}/guest/rvf)

add_library(nubmem STATIC
  ${CMAKE_CURRENT_LIST_DIR}/guest_mem.c
  ${CMAKE_CURRENT_LIST_DIR}/reader.c
  ${CMAKE_CURRENT_LIST_DIR}/mount_reader.c)
# nubutil: cap names in hex (nub_hash_to_hex, hex.c).
target_link_libraries(nubmem PUBLIC nub_host_flags PkgConfig::XXHASH nubutil)

# The cap store (docs/cap-store.md): caps' bytes as host files, the cap
# window's allocator. Knows nothing of KVM: the sandbox maps its files
# through a callback table.
add_library(nubstore STATIC
  ${CMAKE_CURRENT_LIST_DIR}/cap_window.c
  ${CMAKE_CURRENT_LIST_DIR}/cap_backing.c
  ${CMAKE_CURRENT_LIST_DIR}/cap_disk.c
  ${CMAKE_CURRENT_LIST_DIR}/cap_store.c)
target_link_libraries(nubstore PUBLIC nub_host_flags nubmem nubrvf PkgConfig::XXHASH
  Threads::Threads)

add_library(nubsign STATIC
  ${CMAKE_CURRENT_LIST_DIR}/sign.c
  ${CMAKE_CURRENT_LIST_DIR}/sign_trust.c
  ${CMAKE_CURRENT_LIST_DIR}/sign_ssh.c
  ${CMAKE_CURRENT_LIST_DIR}/sign_pkg.c)
target_link_libraries(nubsign PUBLIC nub_host_flags PkgConfig::SODIUM nubrvf nubutil)

add_library(nubvm STATIC
  ${CMAKE_CURRENT_LIST_DIR}/kvm_vm.c
  ${CMAKE_CURRENT_LIST_DIR}/elf_load.c
  ${CMAKE_CURRENT_LIST_DIR}/watchdog.c
  ${CMAKE_CURRENT_LIST_DIR}/guest_image.c
  ${CMAKE_CURRENT_LIST_DIR}/guest_image.S
  ${CMAKE_CURRENT_LIST_DIR}/sandbox.c
  ${CMAKE_CURRENT_LIST_DIR}/guest_calls.c
  ${CMAKE_CURRENT_LIST_DIR}/task_calls.c)
target_link_libraries(nubvm PUBLIC nub_host_flags nubmem nubrvf nubutil PkgConfig::LIBELF
  Threads::Threads)

add_library(nubintake STATIC
  ${CMAKE_CURRENT_LIST_DIR}/intake.c)
target_link_libraries(nubintake PUBLIC nub_host_flags nubvm nubsign nubrvf nubstore)

# Embed the guest kernel: copy the nub-guest ELF to a fixed path (a file
# dependency on the kernel), and .incbin that path; the .S object depends
# on the copy, so it is re-assembled whenever the kernel changes. The copy
# drops the debug sections (the host needs the segments, the symbols and
# the ABI note): 0.93 MB -> 0.2 MB that every start would page in. The
# debug build of the guest stays in guest/ for gdb.
set(NUB_GUEST_IMAGE_COPY ${CMAKE_CURRENT_BINARY_DIR}/nub-guest-image.elf)
if(CMAKE_OBJCOPY)
  set(NUB_GUEST_IMAGE_CMD ${CMAKE_OBJCOPY} --strip-debug $<TARGET_FILE:nub-guest>
    ${NUB_GUEST_IMAGE_COPY})
else()
  set(NUB_GUEST_IMAGE_CMD ${CMAKE_COMMAND} -E copy $<TARGET_FILE:nub-guest>
    ${NUB_GUEST_IMAGE_COPY})
endif()
add_custom_command(OUTPUT ${NUB_GUEST_IMAGE_COPY}
  COMMAND ${NUB_GUEST_IMAGE_CMD}
  DEPENDS nub-guest
  COMMENT "Embedding the guest kernel")
target_sources(nubvm PRIVATE ${NUB_GUEST_IMAGE_COPY})
set_property(SOURCE ${CMAKE_CURRENT_LIST_DIR}/guest_image.S APPEND PROPERTY
  COMPILE_DEFINITIONS "NUB_GUEST_IMAGE_PATH=\"${NUB_GUEST_IMAGE_COPY}\"")
set_property(SOURCE ${CMAKE_CURRENT_LIST_DIR}/guest_image.S APPEND PROPERTY
  OBJECT_DEPENDS ${NUB_GUEST_IMAGE_COPY})
