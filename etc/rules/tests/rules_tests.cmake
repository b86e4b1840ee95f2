# Tests of the default rule pack (etc/rules/*.yaml), one promtool-format file per alert.
# Included from test/rules/CMakeLists.txt, where VIGIL_TEST_RULES (vigil test-rules, or the small
# runner) and PROMTOOL (Debian's promtool, the oracle, when installed) are set. Every file must
# pass with both.
file(GLOB default_rule_tests ${CMAKE_CURRENT_LIST_DIR}/*.yaml)
foreach(test_file ${default_rule_tests})
  get_filename_component(name ${test_file} NAME_WE)
  add_test(NAME rules.default.vigil.${name} COMMAND ${VIGIL_TEST_RULES} ${test_file})
  set_tests_properties(rules.default.vigil.${name} PROPERTIES LABELS rules)
  if(PROMTOOL)
    add_test(NAME rules.default.promtool.${name} COMMAND ${PROMTOOL} test rules ${test_file})
    set_tests_properties(rules.default.promtool.${name} PROPERTIES LABELS rules)
  endif()
endforeach()
# The pack itself must load as a rule file.
if(PROMTOOL)
  add_test(NAME rules.default.promtool.check
    COMMAND ${PROMTOOL} check rules ${CMAKE_CURRENT_LIST_DIR}/../vigil-default.yaml)
  set_tests_properties(rules.default.promtool.check PROPERTIES LABELS rules)
endif()
