# libnub host core: guest memory, ELF loading, KVM, the sandbox, the
# directory reader, plus the embedded guest kernel image.
find_package(Threads REQUIRED)

# Whole-file reads and error-message formatting, shared by nubhost, nubsign
# and nubpackspec (src/pack/pack.cmake); it links nothing of ours, so no cycle.
add_library(nubutil STATIC
  ${CMAKE_CURRENT_LIST_DIR}/errbuf.c
  ${CMAKE_CURRENT_LIST_DIR}/file_util.c)
target_include_directories(nubutil PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(nubutil PRIVATE nub_host_flags)

add_library(nubhost STATIC
  ${CMAKE_CURRENT_LIST_DIR}/guest_mem.c
  ${CMAKE_CURRENT_LIST_DIR}/reader.c
  ${CMAKE_CURRENT_LIST_DIR}/elf_load.c
  ${CMAKE_CURRENT_LIST_DIR}/kvm_vm.c
  ${CMAKE_CURRENT_LIST_DIR}/sandbox.c
  ${CMAKE_CURRENT_LIST_DIR}/watchdog.c
  ${CMAKE_CURRENT_LIST_DIR}/guest_image.c
  ${CMAKE_CURRENT_LIST_DIR}/guest_image.S
  ${CMAKE_CURRENT_LIST_DIR}/mount_reader.c
  ${CMAKE_CURRENT_LIST_DIR}/mount_host.c)
# mount_host checks packages (nubrvf) and their signatures (nubsign, from
# src/pack/pack.cmake; it links only nubrvf, so there is no cycle).
target_link_libraries(nubhost PUBLIC nub_host_flags PkgConfig::LIBELF PkgConfig::XXHASH
  Threads::Threads nubsign nubrvf nubutil)

# Embed the guest kernel: copy the nub-guest ELF to a fixed path (a file
# dependency on the kernel), and .incbin that path; the .S object depends
# on the copy, so it is re-assembled whenever the kernel changes.
if(TARGET nub-guest)
  set(NUB_GUEST_IMAGE_COPY ${CMAKE_CURRENT_BINARY_DIR}/nub-guest-image.elf)
  add_custom_command(OUTPUT ${NUB_GUEST_IMAGE_COPY}
    COMMAND ${CMAKE_COMMAND} -E copy $<TARGET_FILE:nub-guest> ${NUB_GUEST_IMAGE_COPY}
    DEPENDS nub-guest
    COMMENT "Embedding the guest kernel")
  target_sources(nubhost PRIVATE ${NUB_GUEST_IMAGE_COPY})
  set_property(SOURCE ${CMAKE_CURRENT_LIST_DIR}/guest_image.S APPEND PROPERTY
    COMPILE_DEFINITIONS "NUB_GUEST_IMAGE_PATH=\"${NUB_GUEST_IMAGE_COPY}\"")
  set_property(SOURCE ${CMAKE_CURRENT_LIST_DIR}/guest_image.S APPEND PROPERTY
    OBJECT_DEPENDS ${NUB_GUEST_IMAGE_COPY})
else()
  message(WARNING "nubhost: no nub-guest target; building without an embedded guest kernel")
endif()
