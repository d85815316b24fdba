# Integration tests on a real mount (need /dev/kvm and /dev/fuse; they
# exit 77 with the reason when either is unusable, which ctest reports as
# skipped), plus the command-line checks that need neither.
set(_it ${CMAKE_CURRENT_SOURCE_DIR}/integration)
add_test(NAME integration.cli COMMAND ${_it}/cli.sh $<TARGET_FILE:nubfs>)
add_test(NAME integration.caps COMMAND ${_it}/caps.sh $<TARGET_FILE:nubfs>)
add_test(NAME integration.lifecycle COMMAND ${_it}/lifecycle.sh $<TARGET_FILE:nubfs>)
add_test(NAME integration.recovery COMMAND ${_it}/recovery.sh $<TARGET_FILE:nubfs>)
add_test(NAME integration.fuse_opts COMMAND ${_it}/fuse_opts.sh $<TARGET_FILE:nubfs>)
# Issue 11: caps/ listings stay complete and right while the kernel forgets.
add_test(NAME integration.listing COMMAND ${_it}/listing.sh $<TARGET_FILE:nubfs>)
add_test(NAME integration.skip_without_kvm
         COMMAND ${_it}/skip_without_kvm.sh ${_it}/caps.sh $<TARGET_FILE:nubfs>)
set_tests_properties(integration.caps integration.lifecycle integration.recovery
                     integration.skip_without_kvm integration.cli integration.fuse_opts
                     integration.listing PROPERTIES SKIP_RETURN_CODE 77)
set_tests_properties(integration.caps PROPERTIES TIMEOUT 900)
set_tests_properties(integration.lifecycle integration.recovery
                     integration.skip_without_kvm integration.cli integration.fuse_opts
                     PROPERTIES TIMEOUT 120)
set_tests_properties(integration.listing PROPERTIES TIMEOUT 300)
# Each mounts and boots a guest: on a 2-core machine, one at a time.
set_tests_properties(integration.caps integration.lifecycle integration.recovery
                     integration.fuse_opts integration.listing PROPERTIES RUN_SERIAL TRUE)

# ctl/ and mounts/: need the example packages and nubfs-pack.
foreach(t ctl ctl_errors ctl_stress other_users log_sinks negative_cache ctl_rename cap_lifetime cap_space region_reads
          recovery_readers full_guest replace_readers)
  add_test(NAME integration.${t}
           COMMAND ${_it}/${t}.sh $<TARGET_FILE:nubfs> $<TARGET_FILE:nubfs-pack>
                   ${NUB_EXAMPLES_DIR})
  set_tests_properties(integration.${t} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300
                       RUN_SERIAL TRUE)
endforeach()
# Issue 8 item 7: 30 s of replace loops; a third of that under the sanitizers.
if(NUB_SANITIZE)
  set_tests_properties(integration.replace_readers PROPERTIES ENVIRONMENT NUBFS_REPLACE_SECS=10)
endif()

# Issue 10: the packages' tasks run (examples, hostile components, rm,
# tasks=off, recovery).
add_test(NAME integration.tasks
         COMMAND ${_it}/tasks.sh $<TARGET_FILE:nubfs> $<TARGET_FILE:nubfs-pack> ${NUB_EXAMPLES_DIR})
set_tests_properties(integration.tasks PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 RUN_SERIAL TRUE)

# Issue 9: SIGHUP re-reads trust= (and ~ expansion of trust=).
add_test(NAME integration.trust_reload
         COMMAND ${_it}/trust_reload.sh $<TARGET_FILE:nubfs> $<TARGET_FILE:nubfs-pack>
                 ${NUB_EXAMPLES_DIR})
set_tests_properties(integration.trust_reload PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120
                     RUN_SERIAL TRUE)

# Issue 9: the state directory (default path, lock, format, refusals).
add_test(NAME integration.state COMMAND ${_it}/state.sh $<TARGET_FILE:nubfs>)
set_tests_properties(integration.state PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180 RUN_SERIAL TRUE)

# Issue 9: packages survive restarts (state directory version 2).
# The crash matrix (stopped dead at every step of a mount, a replace and a
# removal) and the disk faults (a corrupt backing file, verify; ENOSPC).
foreach(t state_restart state_crash state_faults state_kept)
  add_test(NAME integration.${t}
           COMMAND ${_it}/${t}.sh $<TARGET_FILE:nubfs> $<TARGET_FILE:nubfs-pack>
                   ${NUB_EXAMPLES_DIR})
  set_tests_properties(integration.${t} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 400
                       RUN_SERIAL TRUE)
endforeach()

# Issue 9: nubfs as a service: cmake --install, nubfs@.service verified,
# sd_notify, mount -T from a scratch fstab.
add_test(NAME integration.service
         COMMAND ${_it}/service.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR} ${NUB_EXAMPLES_DIR})
set_tests_properties(integration.service PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180 RUN_SERIAL TRUE)

# The JSON keys of stats and info against nubfs(8), JSON FILES.
add_test(NAME integration.json_keys
         COMMAND ${_it}/json_keys.sh $<TARGET_FILE:nubfs> ${NUB_EXAMPLES_DIR}
                 ${PROJECT_SOURCE_DIR}/man/nubfs.8)
set_tests_properties(integration.json_keys PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120 RUN_SERIAL TRUE)
