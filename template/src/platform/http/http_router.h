/*
 * http_router.h: method + path pattern -> handler.
 *
 * Patterns are absolute paths made of literal segments and `{name}`
 * parameters that match one non-empty segment: "/api/v1/links/{code}",
 * "/{code}". When several patterns match a path, the one whose first
 * differing segment is literal wins ("/healthz" beats "/{code}"), whatever
 * the order of registration. A GET route also answers HEAD.
 *
 * If no route matches the path the result is 404; if routes match the path
 * but none the method, 405 with the list of methods for the Allow header.
 *
 * Lifetimes: the router copies patterns; build it before the server starts,
 * then it is read-only and may be shared by every worker thread.
 */
#ifndef HEXSVC_PLATFORM_HTTP_HTTP_ROUTER_H
#define HEXSVC_PLATFORM_HTTP_HTTP_ROUTER_H

#include <stddef.h>

#include "platform/http/http_request.h"

struct http_response;
struct http_router;

/*
 * A handler answers through `response` (http_response_json, _error, _send)
 * and returns 0, or a negative errno. If it returns without having
 * responded, or fails before responding, the client gets a 500 JSON error.
 */
typedef int (*http_handler_fn)(struct http_request *request, struct http_response *response,
                               void *user_data);

#define HTTP_ROUTER_MAX_SEGMENTS 32
#define HTTP_ALLOW_LEN 128

enum http_route_result {
    HTTP_ROUTE_FOUND = 0,
    HTTP_ROUTE_NOT_FOUND = 1,
    HTTP_ROUTE_METHOD_NOT_ALLOWED = 2,
};

struct http_route_match {
    http_handler_fn handler;
    void *user_data;
    const char *pattern;
    struct http_param params[HTTP_MAX_PARAMS]; /* values point into the path */
    size_t param_count;
    char allow[HTTP_ALLOW_LEN]; /* "GET, HEAD, POST" when METHOD_NOT_ALLOWED */
};

/* 0 and *out, or -ENOMEM. */
int http_router_create(struct http_router **out);
void http_router_destroy(struct http_router *router);

/*
 * Registers a route. 0; -EINVAL for a malformed pattern (not starting with
 * '/', an empty or unterminated "{}", more than HTTP_MAX_PARAMS parameters
 * or HTTP_ROUTER_MAX_SEGMENTS segments) or method; -EEXIST when the same
 * method and pattern shape are already registered; -ENOMEM.
 */
int http_router_add(struct http_router *router, const char *method, const char *pattern,
                    http_handler_fn handler, void *user_data);

/* Matches path[0..path_len) (no query). Returns an http_route_result and
 * fills `match` (params only for FOUND, allow only for METHOD_NOT_ALLOWED). */
enum http_route_result http_router_match(const struct http_router *router, const char *method,
                                         const char *path, size_t path_len,
                                         struct http_route_match *match);

/*
 * Routes `request` and runs its handler, so that `response` always ends up
 * answered: 404 and 405 (+ Allow) JSON errors for an unmatched path or
 * method, 414 when the path parameters do not fit, and a 500 JSON error
 * (replacing whatever the handler half-built) when the handler returns
 * without having responded. The connection loop and the fuzzers share it.
 */
void http_router_dispatch(const struct http_router *router, struct http_request *request,
                          struct http_response *response);

#endif
