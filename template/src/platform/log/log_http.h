/*
 * log_http.h: request correlation and the access log for the HTTP server.
 *
 * log_http_observer() returns an http_observer (see http_server.h) that
 * - takes the request id from X-Request-Id when it is well-formed (1 to 64
 *   characters of A-Z a-z 0-9 . _ - : /, as load balancers send them), else
 *   generates "<random prefix>-<number>" (unique in the process; each worker
 *   counts in its own stride, so numbers are not consecutive across
 *   workers); either way it is stored in
 *   request->request_id and echoed in the X-Request-Id response header;
 * - takes the trace id from a valid W3C `traceparent` header
 *   ("00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>", ids not all
 *   zero) into request->trace_id;
 * - writes one "request" line at info level per answered request, with
 *   request_id, trace_id (when there is one), method, route (the matched
 *   pattern, "" when no route matched), path, status, bytes, duration_ms
 *   (milliseconds with three decimals, i.e. microsecond resolution) and peer.
 *
 * log_request() logs from a handler with the request's ids added, which is
 * what a per-request logger is for.
 */
#ifndef HEXSVC_PLATFORM_LOG_LOG_HTTP_H
#define HEXSVC_PLATFORM_LOG_LOG_HTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/http/http_server.h"
#include "platform/log/log.h"

#define LOG_REQUEST_MAX_FIELDS 16

/* Generated ids come from per-worker counters, each on its own cache line,
 * so workers do not bounce one shared line per request: shard s hands out
 * s + 1, s + 1 + LOG_HTTP_ID_SHARDS, ... so the ids stay unique. */
#define LOG_HTTP_ID_SHARDS 16

/* Padded rather than _Alignas'd, so a log_http may live in malloc'd memory. */
struct log_http_id_shard {
    atomic_uint_fast64_t next; /* the next multiple of the shard count */
    char pad[64 - sizeof(atomic_uint_fast64_t)];
};

struct log_http {
    struct logger *logger;
    char id_prefix[17];        /* 16 random hex digits, per process */
    struct log_http_id_shard ids[LOG_HTTP_ID_SHARDS];
};

/* 0, or -EIO when no random prefix could be had. */
int log_http_init(struct log_http *log_http, struct logger *logger);
/* The observer; `log_http` must outlive the server. */
struct http_observer log_http_observer(struct log_http *log_http);

/* True for an X-Request-Id value this service accepts as given. */
bool log_http_request_id_is_valid(const char *value, size_t len);
/* Copies the trace id of a valid traceparent into out; false otherwise. */
bool log_http_parse_traceparent(const char *value, char out[HTTP_TRACE_ID_LEN]);

/* log_write() with request_id and trace_id added to the first
 * LOG_REQUEST_MAX_FIELDS - 2 fields. */
void log_request(struct logger *logger, const struct http_request *request, enum log_level level,
                 const char *message, const struct log_field *fields, size_t count);

#endif
