# cmake -P script: checks scripts/experiments/experiments.py on made-up reports.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/reports)
set(line "\"conv_density\":0.05,\"linear_density\":0.03,\"net_density\":0.04,\"phase\":\"train\",\"seconds\":1800")
file(WRITE ${WORK}/reports/table2-linbreg.jsonl
  "{\"epoch\":1,\"val_acc\":0.80,\"test_acc\":0.79,${line}}\n"
  "{\"epoch\":2,\"val_acc\":0.90,\"test_acc\":0.85,${line}}\n"
  "{\"epoch\":3,\"val_acc\":0.88,\"test_acc\":0.95,${line}}\n")
execute_process(COMMAND ${PYTHON} ${SCRIPTS}/experiments/experiments.py table ${WORK}/reports
  OUTPUT_VARIABLE table RESULT_VARIABLE rc)
string(REGEX MATCH "\\| table2-linbreg \\|[^\n]*" row "${table}")
if(NOT rc EQUAL 0 OR NOT row MATCHES "4.0 / 3.0 lin / 5.0 ker \\| 85.00 % \\(90.00 %\\) \\| 2 \\| 3 of 100 \\(in progress\\) \\| 1.5 h")
  message(FATAL_ERROR "table2-linbreg row wrong (rc ${rc}): '${row}'")
endif()
execute_process(COMMAND ${SCRIPTS}/reproduce.sh no-such-row --out ${WORK}
  ERROR_VARIABLE err RESULT_VARIABLE rc)
if(rc EQUAL 0 OR NOT err MATCHES "no row named 'no-such-row'")
  message(FATAL_ERROR "unknown row not refused: ${rc} ${err}")
endif()
# A report without its checkpoint is someone's result: never replaced.
execute_process(COMMAND ${SCRIPTS}/reproduce.sh table2-linbreg --out ${WORK}/reports
  ERROR_VARIABLE err RESULT_VARIABLE rc)
file(READ ${WORK}/reports/table2-linbreg.jsonl kept)
if(rc EQUAL 0 OR NOT err MATCHES "exists without its checkpoint" OR NOT kept MATCHES "\"epoch\":3")
  message(FATAL_ERROR "existing report not protected: ${rc} ${err}")
endif()
message(STATUS "experiments table derivation: ok")
