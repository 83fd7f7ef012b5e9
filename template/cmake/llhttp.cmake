# llhttp, in order of preference:
#   1. a system library (libllhttp-dev on newer distributions),
#   2. the generated C sources Debian 12 ships in node-llhttp, compiled here,
#   3. otherwise stop, naming the package to install.
# The result is always the target `llhttp::llhttp`.
find_path(LLHTTP_SYSTEM_INCLUDE_DIR llhttp.h PATHS /usr/include /usr/local/include NO_DEFAULT_PATH)
find_library(LLHTTP_SYSTEM_LIBRARY llhttp)

set(LLHTTP_DEBIAN_SOURCE_DIR "/usr/share/llhttp" CACHE PATH
    "Where node-llhttp's generated C sources live")
set(LLHTTP_DEBIAN_INCLUDE_DIR "/usr/share/include/llhttp" CACHE PATH
    "Where node-llhttp's llhttp.h lives")

if(LLHTTP_SYSTEM_INCLUDE_DIR AND LLHTTP_SYSTEM_LIBRARY)
  message(STATUS "llhttp: system library ${LLHTTP_SYSTEM_LIBRARY}")
  add_library(llhttp::llhttp UNKNOWN IMPORTED)
  set_target_properties(llhttp::llhttp PROPERTIES
      IMPORTED_LOCATION "${LLHTTP_SYSTEM_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${LLHTTP_SYSTEM_INCLUDE_DIR}")
elseif(EXISTS "${LLHTTP_DEBIAN_SOURCE_DIR}/llhttp.c"
       AND EXISTS "${LLHTTP_DEBIAN_INCLUDE_DIR}/llhttp.h")
  message(STATUS "llhttp: compiling node-llhttp sources from ${LLHTTP_DEBIAN_SOURCE_DIR}")
  add_library(hexsvc_llhttp STATIC
      "${LLHTTP_DEBIAN_SOURCE_DIR}/api.c"
      "${LLHTTP_DEBIAN_SOURCE_DIR}/http.c"
      "${LLHTTP_DEBIAN_SOURCE_DIR}/llhttp.c")
  target_include_directories(hexsvc_llhttp SYSTEM PUBLIC "${LLHTTP_DEBIAN_INCLUDE_DIR}")
  # Generated third-party code: compile it as its authors do, without our
  # warning policy, so a new compiler warning there never breaks our build.
  target_compile_options(hexsvc_llhttp PRIVATE -w)
  set_target_properties(hexsvc_llhttp PROPERTIES POSITION_INDEPENDENT_CODE ON
      C_CLANG_TIDY "")
  add_library(llhttp::llhttp ALIAS hexsvc_llhttp)
else()
  message(FATAL_ERROR
      "llhttp not found. On Debian 12 install it with 'apt-get install node-llhttp' "
      "(it ships the C sources under /usr/share/llhttp), or install a system libllhttp-dev; "
      "scripts/setup does this for you.")
endif()
