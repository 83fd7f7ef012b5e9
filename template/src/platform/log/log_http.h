/*
 * log_http.h: the access log for the HTTP server.
 *
 * log_http_middleware() returns the "access_log" middleware: it registers a
 * finish callback (http_middleware.h) that writes one "request" line at
 * info level per answered request, with request_id, trace_id (when there is
 * one), method, route (the matched pattern, "" when no route matched),
 * path, status, bytes, duration_ms (milliseconds with three decimals, i.e.
 * microsecond resolution) and peer. The ids come from the request-id
 * middleware (platform/http/http_request_id.h), which goes before it.
 *
 * log_http_observer() returns the server observer (http_server.h) that
 * writes the same line for a request the server refused before routing
 * (400, 408, 413, 417, 431, 503): route "", method and path "" when they
 * were not read, request_id and trace_id only when the client sent valid
 * ones, bytes the JSON error's, duration_ms from the refusal to the
 * written answer. Without it those requests leave no line.
 *
 * log_request() logs from a handler with the request's ids added, which is
 * what a per-request logger is for.
 */
#ifndef HEXSVC_PLATFORM_LOG_LOG_HTTP_H
#define HEXSVC_PLATFORM_LOG_LOG_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/http/http_server.h"
#include "platform/log/log.h"

#define LOG_REQUEST_MAX_FIELDS 16

struct log_http {
    struct logger *logger;
};

/* 0. */
int log_http_init(struct log_http *log_http, struct logger *logger);
/* The middleware; `log_http` must outlive the server. */
struct http_middleware log_http_middleware(struct log_http *log_http);
/* The observer for refused requests; `log_http` must outlive the server. */
struct http_observer log_http_observer(struct log_http *log_http);

/* http_request_id_is_valid() and http_traceparent_parse(), under their
 * older names. */
bool log_http_request_id_is_valid(const char *value, size_t len);
bool log_http_parse_traceparent(const char *value, char out[HTTP_TRACE_ID_LEN]);

/* log_write() with request_id and trace_id added to the first
 * LOG_REQUEST_MAX_FIELDS - 2 fields. */
void log_request(struct logger *logger, const struct http_request *request, enum log_level level,
                 const char *message, const struct log_field *fields, size_t count);

#endif
