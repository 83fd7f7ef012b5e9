/*
 * http_request.h: one parsed HTTP request, as a handler sees it.
 *
 * Lifetimes: every pointer in a request (path, query, header names and
 * values, body, params) points into the connection's buffers and is valid
 * only until the handler returns. Copy what must outlive it. All strings
 * are NUL-terminated; the *_len fields spare a strlen.
 *
 * The path and query are raw: percent-escapes are not decoded.
 */
#ifndef HEXSVC_PLATFORM_HTTP_HTTP_REQUEST_H
#define HEXSVC_PLATFORM_HTTP_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctx;
struct http_route_match;

#define HTTP_MAX_HEADERS 64
#define HTTP_MAX_PARAMS 8
#define HTTP_PARAM_STORAGE 1024 /* bytes for all path parameter values */
#define HTTP_PEER_ADDRESS_LEN 48
#define HTTP_REQUEST_ID_LEN 65 /* up to 64 visible characters and the NUL */
#define HTTP_TRACE_ID_LEN 33   /* W3C trace-id: 32 lowercase hex digits */

struct http_header {
    const char *name;
    size_t name_len;
    const char *value; /* leading and trailing whitespace removed */
    size_t value_len;
};

struct http_param {
    const char *name; /* points into the route pattern: not NUL-terminated */
    size_t name_len;
    const char *value;
    size_t value_len;
};

struct http_request {
    const char *method;  /* "GET", "POST", ...: static storage */
    const char *path;    /* "/api/v1/links/abc" */
    size_t path_len;
    const char *query;   /* "a=1&b=2" without the '?'; "" when there is none */
    size_t query_len;
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t header_count;
    const char *body;    /* "" when there is none; decoded when chunked */
    size_t body_len;
    struct http_param params[HTTP_MAX_PARAMS];
    size_t param_count;
    const char *route;   /* the matched route pattern, NULL before routing */
    const char *route_class; /* its class ("read", "write", "admin"), or NULL */
    char peer_address[HTTP_PEER_ADDRESS_LEN];
    /* Carries the per-request deadline; cancelled on forced shutdown. Pass
     * it to every blocking call the handler makes. */
    struct ctx *ctx;
    uint8_t http_major;
    uint8_t http_minor;
    bool keep_alive;     /* what the client asked for */
    char param_storage[HTTP_PARAM_STORAGE];
    /* Filled by the request-id middleware (http_request_id.h), first in the
     * chain: X-Request-Id and the traceparent trace id; "" without it. */
    char request_id[HTTP_REQUEST_ID_LEN];
    char trace_id[HTTP_TRACE_ID_LEN];
};

/* Clears every field (keeps peer_address and ctx). */
void http_request_reset(struct http_request *request);

/* The value of the first header called `name` (ASCII case-insensitive), or
 * NULL. */
const char *http_request_header(const struct http_request *request, const char *name);

/* The value of path parameter `name` ("code" for "{code}"), or NULL. */
const char *http_request_param(const struct http_request *request, const char *name);

/* Copies the router's parameters into the request, NUL-terminated. 0, or
 * -ENAMETOOLONG when they exceed HTTP_PARAM_STORAGE. */
int http_request_set_params(struct http_request *request, const struct http_route_match *match);

/* ASCII case-insensitive comparison of a[0..a_len) with the C string b. */
bool http_token_equals(const char *a, size_t a_len, const char *b);

#endif
