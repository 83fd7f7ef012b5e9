# Reproducible builds: the same sources, compiler and libraries give the same
# bytes, whatever directory the tree was checked out in and whoever built it.
# scripts/release builds twice from two paths and compares the hashes.
#
# - Paths: the compiler writes source and build paths into debug info and
#   __FILE__; -ffile-prefix-map rewrites them to "." and "build" (gdb finds
#   the sources with `directory <checkout>`).
# - Dates: the build date shown by --version comes from SOURCE_DATE_EPOCH
#   (the commit's time), never from the clock; see version.cmake.
# - Archives: Debian's binutils make deterministic static libraries (no
#   timestamps, uid or gid); nothing here needs to ask for it.
include(CheckCCompilerFlag)

check_c_compiler_flag("-ffile-prefix-map=/a=b" HEXSVC_HAS_FILE_PREFIX_MAP)
if(HEXSVC_HAS_FILE_PREFIX_MAP)
  # The build directory first: it may sit inside the source directory, and
  # the longer, more specific prefix must win.
  add_compile_options("-ffile-prefix-map=${CMAKE_BINARY_DIR}=build"
                      "-ffile-prefix-map=${CMAKE_SOURCE_DIR}=.")
else()
  message(WARNING "reproducible: ${CMAKE_C_COMPILER_ID} lacks -ffile-prefix-map; "
                  "binaries will embed the checkout path")
endif()
