# Gathers a seed corpus (every model.onnx under SEEDS, the .onnx files in
# EXTRA_SEEDS) into WORK/seeds and runs FUZZER for SECONDS on it; the test
# fails on any crash, leak, timeout or out-of-memory the fuzzer reports.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/seeds ${WORK}/corpus)
file(GLOB_RECURSE models ${SEEDS}/*/model.onnx)
file(GLOB extra ${EXTRA_SEEDS}/*.onnx)
set(i 0)
foreach(model IN LISTS models extra)
  file(SIZE ${model} bytes)
  if(bytes LESS 200000)
    math(EXPR i "${i} + 1")
    configure_file(${model} ${WORK}/seeds/seed-${i}.onnx COPYONLY)
  endif()
endforeach()
message(STATUS "fuzzing the ONNX importer for ${SECONDS} s from ${i} seeds")
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -timeout=20 -rss_limit_mb=3072
          -max_len=262144 -print_final_stats=1 ${WORK}/corpus ${WORK}/seeds
  WORKING_DIRECTORY ${WORK}
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "the fuzzer found a problem (exit status ${status}); the "
                      "crashing input is in ${WORK}")
endif()
