# System dependencies. Nothing is downloaded: every library comes from the
# distribution, and scripts/setup installs the packages named below.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv)

# jsmn is header-only (Debian: libjsmn-dev); see docs/adr/0003-json-library.md.
find_path(JSMN_INCLUDE_DIR jsmn.h)
if(NOT JSMN_INCLUDE_DIR)
  message(FATAL_ERROR "jsmn.h not found: install it with 'apt-get install libjsmn-dev' "
                      "(or run scripts/setup)")
endif()

include(llhttp)

if(HEXSVC_BUILD_TESTS)
  find_path(CMOCKA_INCLUDE_DIR cmocka.h)
  find_library(CMOCKA_LIBRARY cmocka)
  if(NOT CMOCKA_INCLUDE_DIR OR NOT CMOCKA_LIBRARY)
    message(FATAL_ERROR "cmocka not found: install it with 'apt-get install libcmocka-dev' "
                        "(or run scripts/setup), or configure with -DHEXSVC_BUILD_TESTS=OFF")
  endif()
  add_library(hexsvc_cmocka INTERFACE)
  target_include_directories(hexsvc_cmocka SYSTEM INTERFACE ${CMOCKA_INCLUDE_DIR})
  target_link_libraries(hexsvc_cmocka INTERFACE ${CMOCKA_LIBRARY})
endif()
