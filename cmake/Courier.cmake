# Shared build rules for Courier's own targets.

# courier_defaults(target): warnings on and fatal for our code.
function(courier_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
    -Wnon-virtual-dtor -Wno-missing-field-initializers)
  if(COURIER_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  # GCC 12 reports false maybe-uninitialized warnings in C++20 mode inside
  # CAF 0.17's deserializer (data_processor::fill_range of vector<enum>),
  # and under ASan+UBSan on std::optional of a struct with a string
  # (storage/redis_backend.cpp; GCC bug 80635). The default build keeps it.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND
     (CMAKE_CXX_STANDARD GREATER_EQUAL 20 OR COURIER_SANITIZE))
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
endfunction()

# courier_test(NAME name SOURCES ... LIBS ... LABELS ... [TIMEOUT s])
# A doctest binary registered with ctest under the given labels.
function(courier_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} courier_doctest_main)
  courier_defaults(${T_NAME})
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT})
endfunction()
