/*
 * http_middleware.h: the chain of cross-cutting steps around every handler.
 *
 * A middleware is a function that gets the request, the response and "the
 * rest of the chain" (`next`). It may work before the rest runs (read or
 * set request fields, add response headers), answer itself and not call
 * http_next() (a short circuit: 401, 429, 503), or call http_next() and
 * look at what came back (map an error to a JSON answer). This is Go's
 * func(http.Handler) http.Handler turned inside out: no closures, so the
 * chain is an array of {function, argument} and `next` is an index into it.
 *
 *     static int stamp(void *arg, struct http_request *request,
 *                      struct http_response *response, const struct http_next *next)
 *     {
 *         (void)arg;
 *         (void)http_response_set_header(response, "X-Served-By", "hexsvc");
 *         return http_next(next, request, response);
 *     }
 *     ... {.name = "stamp", .handle = stamp, .arg = NULL} ...
 *
 * The server runs the chain AFTER routing: request->route (the pattern) and
 * request->route_class are set, or NULL when no route matched. Unmatched
 * requests pass through the chain too, so their 404 or 405 is logged and
 * counted; the end of the chain (the "endpoint") is the route's handler or
 * the router's 404/405/414 answer.
 *
 * What comes back: http_next() returns what the rest returned, in the end
 * the handler's 0 or negative errno. A middleware returns the same kind of
 * value. If the whole chain leaves the response unanswered, the server
 * answers 500 (a last safety net; http_errors.h does it better).
 *
 * Work after the response was written (access log, latency histogram) goes
 * into http_response_on_finish(): the callbacks run once the bytes are out
 * or the write failed, newest first, with the exchange (status, sizes,
 * duration). A small fixed number per request and no allocation.
 *
 * Rules: a middleware runs on the request's fiber, so it may park (a
 * database lookup, a rate limiter's shared table); it is shared by every
 * worker at once, so its argument must be thread-safe or read-only. Call
 * http_next() at most once.
 */
#ifndef HEXSVC_PLATFORM_HTTP_HTTP_MIDDLEWARE_H
#define HEXSVC_PLATFORM_HTTP_HTTP_MIDDLEWARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/http/http_request.h"
#include "platform/http/http_response.h"

/* What an on_finish callback learns about one answered request. */
struct http_exchange {
    const struct http_request *request; /* request->route is NULL when unrouted */
    int status;                         /* as sent */
    size_t body_bytes;                  /* response body bytes (0 for HEAD) */
    uint64_t duration_ns;               /* from the end of reading to the end of writing */
    bool write_failed;                  /* the client did not get the whole answer */
};

/* The most steps in one chain. */
#define HTTP_MIDDLEWARE_MAX 32

/* The rest of the chain; opaque, lives on the stack of http_middleware_run. */
struct http_next;

typedef int (*http_middleware_fn)(void *arg, struct http_request *request,
                                  struct http_response *response, const struct http_next *next);

struct http_middleware {
    const char *name; /* for logs and docs: "request_id", "access_log", ... */
    http_middleware_fn handle;
    void *arg;
};

/* The end of a chain: the route's handler, or the router's 404/405. */
typedef int (*http_endpoint_fn)(void *arg, struct http_request *request,
                                struct http_response *response);

/* Runs the rest of the chain (eventually the endpoint); returns its result. */
int http_next(const struct http_next *next, struct http_request *request,
              struct http_response *response);

/*
 * Runs chain[0..count) around the endpoint and returns what chain[0]
 * returned (-E2BIG, running nothing, for more than HTTP_MIDDLEWARE_MAX
 * steps). Then, if nothing answered, a 500 JSON error: every request gets
 * an answer. Whatever was half-built is dropped, except the finish
 * callbacks. The server calls this; tests and fuzzers may too.
 */
int http_middleware_run(const struct http_middleware *chain, size_t count,
                        http_endpoint_fn endpoint, void *endpoint_arg, struct http_request *request,
                        struct http_response *response);

/*
 * Registers finish(arg, exchange) to run after the response was written or
 * its write failed. Callbacks run newest first (the outermost middleware
 * registered first and finishes last, as Go's deferred calls). 0, or
 * -ENOSPC beyond HTTP_RESPONSE_MAX_FINISH per request.
 */
int http_response_on_finish(struct http_response *response, http_finish_fn finish, void *arg);

/* For servers: runs the finish callbacks, newest first, and forgets them. */
void http_response_finish(struct http_response *response, const struct http_exchange *exchange);

#endif
