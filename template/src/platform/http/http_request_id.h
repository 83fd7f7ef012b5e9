/*
 * http_request_id.h: request correlation, as the first middleware.
 *
 * For every request it
 * - takes the request id from X-Request-Id when it is well-formed (1 to 64
 *   characters of A-Z a-z 0-9 . _ - : /, as load balancers send them), else
 *   generates "<random prefix>-<number>" (unique in the process; each worker
 *   counts in its own stride, so numbers are not consecutive across
 *   workers); either way it is stored in request->request_id and echoed in
 *   the X-Request-Id response header;
 * - takes the trace id from a valid W3C `traceparent` header
 *   ("00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>", ids not all
 *   zero) into request->trace_id ("" when there is none).
 *
 * It goes first in the chain so that everything after it (access log, error
 * log lines, handlers through log_request) carries the ids, and so that even
 * a 401 or 429 answered by a later middleware echoes X-Request-Id.
 */
#ifndef HEXSVC_PLATFORM_HTTP_HTTP_REQUEST_ID_H
#define HEXSVC_PLATFORM_HTTP_HTTP_REQUEST_ID_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "platform/http/http_middleware.h"
#include "platform/http/http_request.h"

/* Generated ids come from per-worker counters, each on its own cache line,
 * so workers do not bounce one shared line per request: shard s hands out
 * s + 1, s + 1 + HTTP_REQUEST_ID_SHARDS, ... so the ids stay unique. */
#define HTTP_REQUEST_ID_SHARDS 16

/* Padded rather than _Alignas'd, so the struct may live in malloc'd memory. */
struct http_request_id_shard {
    atomic_uint_fast64_t next; /* the next multiple of the shard count */
    char pad[64 - sizeof(atomic_uint_fast64_t)];
};

struct http_request_ids {
    char prefix[17]; /* 16 random hex digits, per process */
    struct http_request_id_shard shards[HTTP_REQUEST_ID_SHARDS];
};

/* 0, or -EIO when no random prefix could be had. */
int http_request_ids_init(struct http_request_ids *ids);
/* The middleware ("request_id"); `ids` must outlive the server. */
struct http_middleware http_request_id_middleware(struct http_request_ids *ids);

/* True for an X-Request-Id value this service accepts as given. */
bool http_request_id_is_valid(const char *value, size_t len);
/* Copies the trace id of a valid traceparent into out; false otherwise. */
bool http_traceparent_parse(const char *value, char out[HTTP_TRACE_ID_LEN]);

#endif
