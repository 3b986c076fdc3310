# Gathers a seed corpus (every model.onnx under SEEDS, the .onnx files in
# EXTRA_SEEDS, the files matching SEED_GLOB) into WORK/seeds and runs FUZZER
# for SECONDS on it (inputs up to MAX_LEN bytes); the test fails on any
# crash, leak, timeout or out-of-memory the fuzzer reports.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/seeds ${WORK}/corpus)
set(models)
set(extra)
if(SEEDS)
  file(GLOB_RECURSE models ${SEEDS}/*/model.onnx)
  file(GLOB extra ${EXTRA_SEEDS}/*.onnx)
endif()
if(SEED_GLOB)
  file(GLOB globbed ${SEED_GLOB})
  list(APPEND extra ${globbed})
endif()
if(NOT MAX_LEN)
  set(MAX_LEN 262144)
endif()
set(i 0)
foreach(model IN LISTS models extra)
  file(SIZE ${model} bytes)
  if(bytes LESS 200000)
    math(EXPR i "${i} + 1")
    get_filename_component(ext ${model} EXT)
    configure_file(${model} ${WORK}/seeds/seed-${i}${ext} COPYONLY)
  endif()
endforeach()
message(STATUS "fuzzing with ${FUZZER} for ${SECONDS} s from ${i} seeds")
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -timeout=20 -rss_limit_mb=3072
          -max_len=${MAX_LEN} -print_final_stats=1 ${WORK}/corpus ${WORK}/seeds
  WORKING_DIRECTORY ${WORK}
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "the fuzzer found a problem (exit status ${status}); the "
                      "crashing input is in ${WORK}")
endif()
