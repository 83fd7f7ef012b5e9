/*
 * http_rejection.h: telling the observers about a request refused before
 * routing (struct http_rejection in http_server.h). Used by
 * http_connection.c at its error answers; not part of the public API.
 *
 * The refused request's bytes are left as they are: what the record shows
 * is copied out of the parser's slices, so a header section cut anywhere
 * (a 431 at the end of a full buffer, a 408 mid-line) is read safely.
 */
#ifndef HEXSVC_PLATFORM_HTTP_HTTP_REJECTION_H
#define HEXSVC_PLATFORM_HTTP_HTTP_REJECTION_H

#include <stdbool.h>

#include "platform/http/http_parser.h"
#include "platform/http/http_server.h"

#define HTTP_REJECTION_TRACEPARENT_MAX 128

/* A rejection and the storage its strings point to. */
struct http_rejection_record {
    struct http_rejection rejection;
    char path[HTTP_REJECTION_PATH_MAX];
    char request_id[HTTP_REQUEST_ID_LEN];
    char traceparent[HTTP_REJECTION_TRACEPARENT_MAX];
};

/* True when some observer of `config` has a `rejected` hook: only then is
 * a record worth filling. */
bool http_rejection_observed(const struct http_server_config *config);

/* Starts a record for `status` from `peer` with nothing of the request
 * known; sizes and duration are the caller's to fill. */
void http_rejection_init(struct http_rejection_record *record, int status, const char *peer);

/* Adds what `parser` has read of the refused request: method, path and
 * the two headers, each as far as it was read completely. */
void http_rejection_describe(struct http_rejection_record *record,
                             const struct http_parser *parser);

/* Calls every observer's `rejected` hook with the record. */
void http_rejection_report(const struct http_server_config *config,
                           const struct http_rejection_record *record);

#endif
