# Sanitizer and coverage instrumentation applies to everything built here,
# third-party sources included, so that a bug crossing the boundary is seen.
if(HEXSVC_SANITIZERS)
  add_compile_options(-fsanitize=${HEXSVC_SANITIZERS} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all -g)
  add_link_options(-fsanitize=${HEXSVC_SANITIZERS})
  add_compile_definitions(HEXSVC_SANITIZERS_ON=1)
endif()

if(HEXSVC_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "HEXSVC_FUZZ needs clang (libFuzzer): use the 'fuzz' preset, "
                        "which selects clang-16 (apt-get install clang-16 libclang-rt-16-dev)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all -g)
  add_link_options(-fsanitize=address,undefined)
  add_compile_definitions(HEXSVC_FUZZING=1 HEXSVC_SANITIZERS_ON=1)
endif()

if(HEXSVC_COVERAGE)
  # Atomic counters: the tests run threads, and racy counters go negative.
  add_compile_options(--coverage -fprofile-update=atomic -O0 -g)
  add_link_options(--coverage)
endif()
