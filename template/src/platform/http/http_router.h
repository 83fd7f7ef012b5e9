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
 * Every route has a class, a short name that groups routes for policies
 * (a bulkhead per class, auth for "admin"): given at registration with
 * http_router_add_class(), else "read" for GET and HEAD and "write" for any
 * other method. Routing sets request->route and request->route_class.
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
#define HTTP_ROUTE_CLASS_LEN 16 /* up to 15 characters of a-z 0-9 _ - and the NUL */

#define HTTP_ROUTE_CLASS_READ "read"
#define HTTP_ROUTE_CLASS_WRITE "write"
#define HTTP_ROUTE_CLASS_ADMIN "admin"

enum http_route_result {
    HTTP_ROUTE_FOUND = 0,
    HTTP_ROUTE_NOT_FOUND = 1,
    HTTP_ROUTE_METHOD_NOT_ALLOWED = 2,
    HTTP_ROUTE_URI_TOO_LONG = 3, /* http_router_route: parameters do not fit */
};

struct http_route_match {
    enum http_route_result result;
    http_handler_fn handler;
    void *user_data;
    const char *pattern;
    const char *route_class; /* the route's class: owned by the router */
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
/* http_router_add with an explicit class (copied): 1 to 15 characters of
 * a-z 0-9 _ -; -EINVAL otherwise. */
int http_router_add_class(struct http_router *router, const char *method, const char *pattern,
                          const char *route_class, http_handler_fn handler, void *user_data);

/* Matches path[0..path_len) (no query). Returns an http_route_result and
 * fills `match` (params only for FOUND, allow only for METHOD_NOT_ALLOWED). */
enum http_route_result http_router_match(const struct http_router *router, const char *method,
                                         const char *path, size_t path_len,
                                         struct http_route_match *match);

/*
 * Matches `request` and, when a route was found, sets request->route,
 * request->route_class and the path parameters. Returns match->result:
 * HTTP_ROUTE_URI_TOO_LONG when the parameters do not fit (the request then
 * stays unrouted). The server runs its middleware chain after this.
 */
enum http_route_result http_router_route(const struct http_router *router,
                                         struct http_request *request,
                                         struct http_route_match *match);

/* The end of the chain for a routed request: the handler's result when a
 * route was found, else the 404, 405 (+ Allow) or 414 JSON error and 0. */
int http_route_answer(const struct http_route_match *match, struct http_request *request,
                      struct http_response *response);

/*
 * Routes `request` and runs its handler, so that `response` always ends up
 * answered: 404 and 405 (+ Allow) JSON errors for an unmatched path or
 * method, 414 when the path parameters do not fit, and a 500 JSON error
 * (replacing whatever the handler half-built) when the handler returns
 * without having responded: http_router_route, http_route_answer and the
 * safety net of http_middleware_run with an empty chain. For fuzzers and
 * handler tests; the server runs its middleware between the two.
 */
void http_router_dispatch(const struct http_router *router, struct http_request *request,
                          struct http_response *response);

#endif
