# GCC's static analyzer (-fanalyzer) over every first-party target: the
# `analyze` preset, run by `make analyze`. It adds the flag to the project's
# warning flags, so its findings are errors like every other warning (the
# preset keeps HEXSVC_WARNINGS_AS_ERRORS on); llhttp stays outside, as it
# does for the warnings.
#
# GCC 12's analyzer loses track of pointers stored through a variable array
# index, and of loop bounds it cannot see; the false positives that follow
# are switched off below, per file and per checker, each with the reason it
# is wrong. Every other checker stays on in those files, and both checkers
# stay on everywhere else. Re-check the list when the compiler changes: an
# entry that no longer fires should go.
if(NOT CMAKE_C_COMPILER_ID STREQUAL "GNU" OR CMAKE_C_COMPILER_VERSION VERSION_LESS 12)
  message(FATAL_ERROR "HEXSVC_ANALYZER needs gcc 12 or newer (found ${CMAKE_C_COMPILER_ID} "
                      "${CMAKE_C_COMPILER_VERSION}): use the 'analyze' preset, which selects gcc")
endif()

list(APPEND HEXSVC_WARNING_FLAGS -fanalyzer)

# hexsvc_analyzer_suppress(FILE CHECKER REASON): turns one -Wanalyzer-CHECKER
# off for one source file below src/. Called after add_subdirectory(src),
# because a source file property belongs to the directory that made the target.
function(hexsvc_analyzer_suppress file checker reason)
  set(path ${PROJECT_SOURCE_DIR}/src/${file})
  if(NOT EXISTS ${path} OR "${reason}" STREQUAL "")
    return() # removed by `new-service --bare`; a reason is mandatory
  endif()
  get_filename_component(directory ${path} DIRECTORY)
  set_property(SOURCE ${path} DIRECTORY ${directory} APPEND PROPERTY COMPILE_OPTIONS
               -Wno-analyzer-${checker})
endfunction()

function(hexsvc_analyzer_suppressions)
  hexsvc_analyzer_suppress(platform/log/log.c malloc-leak
      "log_allocate() returns -ENOMEM half way; log_create() then calls log_free(), which frees \
every buffers[i].data (calloc'd, so NULL past the failure)")
  hexsvc_analyzer_suppress(platform/metrics/metrics.c use-of-uninitialized-value
      "metrics_series_new() reads values[0..label_count); label_count <= METRICS_MAX_LABELS is \
checked by metrics_config_is_valid() and metrics_single() passes METRICS_MAX_LABELS values")
  hexsvc_analyzer_suppress(platform/metrics/metrics.c malloc-leak
      "the strdup'd label values live in series->label_values[i], which metrics_series_free() \
frees on the error path and metrics_family_free() later")
  hexsvc_analyzer_suppress(platform/admin/admin_fibers.c malloc-leak
      "the calloc'd slots are stored in dump->fibers[i] of the dump returned to the caller, \
which admin_dump_release() frees with the dump")
  hexsvc_analyzer_suppress(platform/log/log_format.c use-of-uninitialized-value
      "log_escape_long() loads eight bytes at a time only while at least eight of text[0..len) \
remain (or, for the tail, after eight were copied); the analyzer does not tie len to the text")
  hexsvc_analyzer_suppress(platform/log/log_access.c use-of-uninitialized-value
      "log_escape() (log_escape.h, inlined here) loads the first and the last eight (or four) \
bytes of text[0..len) only when len is at least eight (four), so both loads read written bytes; \
the analyzer does not tie len to the text")
  hexsvc_analyzer_suppress(adapters/storage/memory/memory_idempotency.c malloc-leak
      "the key bytes malloc'd by memory_idempotency_insert() live in slots[index].bytes, freed \
by memory_idempotency_remove() and memory_idempotency_destroy()")
  hexsvc_analyzer_suppress(adapters/cache/link_cache_lru.c malloc-leak
      "each shard's calloc'd buckets live in lru->shards[i].buckets, freed by \
link_cache_lru_destroy(), which the half-built error path calls too")
  hexsvc_analyzer_suppress(adapters/storage/memory/memory_store.c malloc-leak
      "when memory_stripe_init() fails, memory_store_create() releases the stripes already \
initialised (while (i-- > 0)) before freeing the store")
endfunction()
