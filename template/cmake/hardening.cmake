# Compile and link hardening after the OpenSSF "Compiler Options Hardening
# Guide for C and C++". Every flag is probed against the compiler in use, so a
# flag this gcc or clang does not know is skipped with a status line instead of
# breaking the build (gcc 12 lacks -fstrict-flex-arrays, clang 14 wants an
# extra switch for -ftrivial-auto-var-init=zero).
include(CheckCCompilerFlag)
include(CheckLinkerFlag)

# flag | reason
set(HEXSVC_HARDENING_COMPILE_FLAGS
    "-U_FORTIFY_SOURCE|clear a distribution default before choosing our level"
    "-D_FORTIFY_SOURCE=3|bounds-check libc string and memory calls, incl. dynamic sizes"
    "-fstack-protector-strong|canary on every frame with arrays or address-taken locals"
    "-fstack-clash-protection|probe large stack allocations so they cannot jump the guard page"
    "-fcf-protection=full|emit CET IBT/SHSTK markers for control-flow integrity"
    "-fPIE|position-independent code so the executable is fully randomised"
    "-fno-delete-null-pointer-checks|keep null checks the optimiser could prove redundant"
    "-fno-strict-overflow|define signed overflow as wrapping; no surprising optimisations"
    "-fno-strict-aliasing|no type-based alias optimisation on casted buffers"
    "-ftrivial-auto-var-init=zero|zero uninitialised automatic variables"
    "-fstrict-flex-arrays=3|only [] is a flexible array; bounds checks see fixed arrays"
    "-Werror=format-security|refuse printf-family calls with a non-literal format"
    "-Werror=implicit|refuse implicit declarations (wrong prototypes at run time)"
    "-Werror=incompatible-pointer-types|refuse silently converted pointer types"
    "-Werror=int-conversion|refuse integer/pointer conversions")

set(HEXSVC_HARDENING_LINK_FLAGS
    "-pie|link a position-independent executable (ASLR for the main binary)"
    "-Wl,-z,relro|make the GOT and other relocated data read-only after start-up"
    "-Wl,-z,now|resolve every symbol at start-up (full RELRO, BIND_NOW)"
    "-Wl,-z,noexecstack|never ask for an executable stack"
    "-Wl,-z,nodlopen|this executable is not a plugin"
    "-Wl,--as-needed|record only the libraries actually used"
    "-Wl,--no-copy-dt-needed-entries|no indirect library dependencies")

function(hexsvc_probe_flag kind flag out)
  string(MAKE_C_IDENTIFIER "HEXSVC_HAS${flag}" probe)
  if(kind STREQUAL "compile")
    # -D/-U are preprocessor switches every compiler takes.
    if(flag MATCHES "^-[DU]")
      set(${probe} TRUE)
    else()
      check_c_compiler_flag("${flag}" ${probe})
    endif()
  else()
    check_linker_flag(C "${flag}" ${probe})
  endif()
  set(${out} ${${probe}} PARENT_SCOPE)
endfunction()

foreach(entry IN LISTS HEXSVC_HARDENING_COMPILE_FLAGS)
  string(REPLACE "|" ";" parts "${entry}")
  list(GET parts 0 flag)
  hexsvc_probe_flag(compile "${flag}" supported)
  if(supported)
    add_compile_options("${flag}")
  else()
    message(STATUS "hardening: ${CMAKE_C_COMPILER_ID} ${CMAKE_C_COMPILER_VERSION} lacks ${flag}; skipped")
  endif()
endforeach()

foreach(entry IN LISTS HEXSVC_HARDENING_LINK_FLAGS)
  string(REPLACE "|" ";" parts "${entry}")
  list(GET parts 0 flag)
  hexsvc_probe_flag(link "${flag}" supported)
  if(supported)
    add_link_options("${flag}")
  else()
    message(STATUS "hardening: linker lacks ${flag}; skipped")
  endif()
endforeach()

set(CMAKE_POSITION_INDEPENDENT_CODE ON)
