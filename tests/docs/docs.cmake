# Documentation checks (no build outputs needed): the man pages render as
# man(1) shows them without a groff warning, one date and version on all;
# README.md names only files a clone has.
add_test(NAME docs.man_pages
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/man_pages.sh ${CMAKE_SOURCE_DIR} ${PROJECT_VERSION})
add_test(NAME docs.readme_paths COMMAND ${CMAKE_CURRENT_LIST_DIR}/readme_paths.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(docs.man_pages PROPERTIES SKIP_RETURN_CODE 77)
