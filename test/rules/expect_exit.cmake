# cmake -DCLI=... -DFILE=... -DWANT=N -P expect_exit.cmake: passes when CLI FILE exits with WANT.
execute_process(COMMAND ${CLI} ${FILE} RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
if(NOT rc EQUAL WANT)
  message(FATAL_ERROR "${CLI} ${FILE}: exit code ${rc}, want ${WANT}")
endif()
