# Warnings are on by default for every first-party target; hexsvc_set_warnings()
# is called by each target so that system sources compiled here (llhttp) stay
# outside the policy.
set(HEXSVC_WARNING_FLAGS
    -Wall
    -Wextra
    -Wpedantic
    -Wshadow
    -Wformat=2
    -Wstrict-prototypes
    -Wmissing-prototypes
    -Wvla
    -Wimplicit-fallthrough
    -Wundef
    -Wpointer-arith
    -Wwrite-strings)
if(HEXSVC_WARNINGS_AS_ERRORS)
  list(APPEND HEXSVC_WARNING_FLAGS -Werror)
endif()

# _POSIX_C_SOURCE everywhere: the code is C17 plus POSIX.1-2008. A file that
# needs a GNU extension says so itself with `#define _GNU_SOURCE` at its top.
function(hexsvc_set_warnings target)
  target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:C>:${HEXSVC_WARNING_FLAGS}>)
  target_compile_definitions(${target} PRIVATE _POSIX_C_SOURCE=200809L)
endfunction()
