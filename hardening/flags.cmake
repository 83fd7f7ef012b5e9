# flags.cmake: compile and link hardening after the OpenSSF "Compiler Options
# Hardening Guide for C and C++", for GCC 12+ and Clang 14+.
#
#   include(path/to/flags.cmake)   # before add_executable/add_library
#
# Every flag is probed against the compiler and linker in use instead of being
# chosen by version: a flag this compiler rejects is skipped with a status
# line, so the same file serves gcc 12 (no -fstrict-flex-arrays), clang 14
# (-ftrivial-auto-var-init=zero needs a companion switch), clang 16, x86_64
# (-fcf-protection) and aarch64 (-mbranch-protection). After the include,
# HARDENING_APPLIED_FLAGS lists what was applied.
#
# It stands alone: copy it into any CMake project (hexkit keeps a byte-identical
# copy as template/cmake/hardening.cmake; tests/kit/test-hardening.sh checks
# that they match). Make users: see flags.txt and probe-flags beside it.
# _FORTIFY_SOURCE needs optimisation (-O1 or more): use it for release builds.
include_guard(GLOBAL)
include(CheckCCompilerFlag)
include(CheckLinkerFlag)

# flag|reason[|companion switch tried when the flag alone is rejected]
set(HARDENING_COMPILE_FLAGS
    "-U_FORTIFY_SOURCE|clear a distribution default before choosing our level"
    "-D_FORTIFY_SOURCE=3|bounds-check libc string and memory calls, incl. dynamic sizes"
    "-fstack-protector-strong|canary on every frame with arrays or address-taken locals"
    "-fstack-clash-protection|probe large stack allocations so they cannot jump the guard page"
    "-fcf-protection=full|x86_64: CET IBT/SHSTK markers for control-flow integrity"
    "-mbranch-protection=standard|aarch64: PAC return addresses and BTI landing pads"
    "-fPIE|position-independent code so the executable is fully randomised"
    "-fno-delete-null-pointer-checks|keep null checks the optimiser could prove redundant"
    "-fno-strict-overflow|define signed overflow as wrapping, no surprising optimisations"
    "-fno-strict-aliasing|no type-based alias optimisation on casted buffers"
    "-ftrivial-auto-var-init=zero|zero uninitialised automatic variables|-enable-trivial-auto-var-init-zero-knowing-it-will-be-removed-from-clang"
    "-fstrict-flex-arrays=3|only [] is a flexible array, so bounds checks see fixed arrays (gcc 13, clang 16)"
    "-Wformat=2|check every printf-family format string"
    "-Werror=format-security|refuse printf-family calls with a non-literal format"
    "-Werror=implicit|refuse implicit declarations (wrong prototypes at run time)"
    "-Werror=incompatible-pointer-types|refuse silently converted pointer types"
    "-Werror=int-conversion|refuse integer/pointer conversions")

set(HARDENING_LINK_FLAGS
    "-pie|link a position-independent executable (ASLR for the main binary)"
    "-Wl,-z,relro|make the GOT and other relocated data read-only after start-up"
    "-Wl,-z,now|resolve every symbol at start-up (full RELRO, BIND_NOW)"
    "-Wl,-z,noexecstack|never ask for an executable stack"
    "-Wl,-z,nodlopen|this executable is not a plugin"
    "-Wl,--as-needed|record only the libraries actually used"
    "-Wl,--no-copy-dt-needed-entries|no indirect library dependencies")

set(HARDENING_APPLIED_FLAGS "")

# hardening_probe(KIND FLAG OUT): OUT is true when the compiler (KIND compile)
# or the linker (KIND link) accepts FLAG. Results are cached per flag.
function(hardening_probe kind flag out)
  string(MAKE_C_IDENTIFIER "HARDENING_HAS${flag}" probe)
  if(kind STREQUAL "compile" AND flag MATCHES "^-[DU]")
    # -D/-U are preprocessor switches every compiler takes.
    set(${probe} TRUE)
  elseif(kind STREQUAL "compile")
    # Probe with -Werror: a flag a compiler only warns about ("argument
    # unused", "ignoring option") must count as unsupported. -Wformat is
    # there because gcc rejects -Werror=format-security without it.
    set(CMAKE_REQUIRED_FLAGS "-Werror -Wformat")
    check_c_compiler_flag("${flag}" ${probe})
  else()
    check_linker_flag(C "${flag}" ${probe})
  endif()
  set(${out} ${${probe}} PARENT_SCOPE)
endfunction()

# hardening_apply(KIND ENTRY): probes and applies one "flag|reason[|companion]".
function(hardening_apply kind entry)
  string(REPLACE "|" ";" parts "${entry}")
  list(GET parts 0 flag)
  list(LENGTH parts count)
  set(chosen "")
  hardening_probe(${kind} "${flag}" supported)
  if(supported)
    set(chosen "${flag}")
  elseif(count GREATER 2)
    list(GET parts 2 companion)
    hardening_probe(${kind} "${flag} ${companion}" supported)
    if(supported)
      set(chosen "${flag};${companion}")
    endif()
  endif()
  if(chosen STREQUAL "")
    message(STATUS "hardening: ${CMAKE_C_COMPILER_ID} ${CMAKE_C_COMPILER_VERSION} "
                   "(${CMAKE_SYSTEM_PROCESSOR}) lacks ${flag}; skipped")
    return()
  endif()
  if(kind STREQUAL "compile")
    add_compile_options(${chosen})
  else()
    add_link_options(${chosen})
  endif()
  set(HARDENING_APPLIED_FLAGS ${HARDENING_APPLIED_FLAGS} ${chosen} PARENT_SCOPE)
endfunction()

foreach(entry IN LISTS HARDENING_COMPILE_FLAGS)
  hardening_apply(compile "${entry}")
endforeach()
foreach(entry IN LISTS HARDENING_LINK_FLAGS)
  hardening_apply(link "${entry}")
endforeach()
list(JOIN HARDENING_APPLIED_FLAGS " " hardening_summary)
message(STATUS "hardening: ${hardening_summary}")

set(CMAKE_POSITION_INDEPENDENT_CODE ON)
