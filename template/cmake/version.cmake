# What `hexsvc --version` prints: version, commit and build date.
#
# Release builds (scripts/release) pass all three; a developer build shows the
# project version, "unknown" commit and "unknown" date, so that rebuilding
# never depends on the clock or on the state of .git.
#   HEXSVC_BUILD_VERSION  the tag without its "v" (0.2.0, 0.2.0-rc.1)
#   HEXSVC_BUILD_COMMIT   the full commit hash
#   SOURCE_DATE_EPOCH     (environment) the commit's time, seconds since 1970
set(HEXSVC_BUILD_VERSION "${PROJECT_VERSION}" CACHE STRING "Version shown by --version")
set(HEXSVC_BUILD_COMMIT "unknown" CACHE STRING "Commit shown by --version")

if(NOT "$ENV{SOURCE_DATE_EPOCH}" STREQUAL "")
  # string(TIMESTAMP) honours SOURCE_DATE_EPOCH, so this is the commit's
  # time, not the time of the build.
  string(TIMESTAMP HEXSVC_BUILD_DATE "%Y-%m-%dT%H:%M:%SZ" UTC)
else()
  set(HEXSVC_BUILD_DATE "unknown")
endif()

if(NOT HEXSVC_BUILD_VERSION MATCHES "^[0-9A-Za-z.+~-]+$")
  message(FATAL_ERROR "HEXSVC_BUILD_VERSION '${HEXSVC_BUILD_VERSION}' is not a version: "
                      "use digits, letters and . + ~ - only (for example 1.2.0-rc.1)")
endif()
if(NOT HEXSVC_BUILD_COMMIT MATCHES "^([0-9a-f]+|unknown)$")
  message(FATAL_ERROR "HEXSVC_BUILD_COMMIT '${HEXSVC_BUILD_COMMIT}' is not a commit hash: "
                      "pass the output of 'git rev-parse HEAD'")
endif()
