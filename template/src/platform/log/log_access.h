/*
 * log_access.h: the access log's line, written without the generic field
 * walk.
 *
 * log_access_write() writes exactly what
 *
 *     log_write(logger, index, LOG_INFO, "request", fields, count)
 *
 * writes with the fields request_id, trace_id (only when not ""), method,
 * route, path, status, bytes, duration_ms (microseconds as milliseconds
 * with three decimals) and peer, in that order: the same bytes, the same
 * level check, the same buffer. In JSON the constant parts (keys,
 * punctuation, level, message) are literals copied whole, numbers go
 * through integer writers, and the time comes from the logger's per-buffer
 * cache; a line that might not fit LOG_LINE_MAX, and the text format, take
 * log_write() itself, so a long path is cut as any other line is.
 *
 * Nothing here knows HTTP: the caller (log_http.c) fills the fields.
 */
#ifndef HEXSVC_PLATFORM_LOG_LOG_ACCESS_H
#define HEXSVC_PLATFORM_LOG_LOG_ACCESS_H

#include <stddef.h>
#include <stdint.h>

#include "platform/log/log.h"

struct log_access {
    const char *request_id; /* "" when there is none */
    const char *trace_id;   /* "" leaves the field out */
    const char *method;
    const char *route;      /* "" when no route matched */
    const char *path;
    size_t path_len;
    int status;
    uint64_t bytes;
    int64_t duration_us;
    const char *peer;
};

/* Queues the "request" line at info level (see above). Every string must
 * be non-NULL. */
void log_access_write(struct logger *logger, unsigned buffer_index,
                      const struct log_access *access);

#endif
