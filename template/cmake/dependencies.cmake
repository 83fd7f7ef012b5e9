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

# SQLite is the default link store, so the default build needs it.
pkg_check_modules(SQLITE3 IMPORTED_TARGET sqlite3)
if(NOT SQLITE3_FOUND)
  message(FATAL_ERROR "sqlite3 not found: install it with 'apt-get install libsqlite3-dev' "
                      "(or run scripts/setup)")
endif()

# libpq is optional: without it the PostgreSQL store is left out and
# HEXSVC_STORE=postgres is refused at start-up with a message naming the
# package. -DHEXSVC_WITH_POSTGRES=ON makes a missing libpq a configure error.
set(HEXSVC_WITH_POSTGRES AUTO CACHE STRING "Build the PostgreSQL store: AUTO, ON or OFF")
set(HEXSVC_HAVE_POSTGRES OFF)
if(NOT HEXSVC_WITH_POSTGRES STREQUAL "OFF")
  pkg_check_modules(LIBPQ IMPORTED_TARGET libpq)
  if(LIBPQ_FOUND)
    set(HEXSVC_HAVE_POSTGRES ON)
  elseif(HEXSVC_WITH_POSTGRES STREQUAL "ON")
    message(FATAL_ERROR "libpq not found: install it with 'apt-get install libpq-dev' "
                        "(or run scripts/setup --all), or configure with "
                        "-DHEXSVC_WITH_POSTGRES=OFF")
  else()
    message(STATUS "libpq not found: building without the PostgreSQL store "
                   "('apt-get install libpq-dev' adds it)")
  endif()
endif()

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
