/*
 * http_errors.h: error mapping, so a failing handler becomes a JSON answer.
 *
 * A handler (or a middleware after this one) that returns a negative errno
 * without having answered, or returns without answering at all, gets
 *
 *   -ETIMEDOUT                       504 {"error":{"code":"timeout",...}}
 *   -ECANCELED, -ENOMEM, -EAGAIN     503 "unavailable" + Retry-After: 1
 *   anything else, or no answer      500 "internal"
 *
 * instead of a dropped connection. What it had half-built is dropped (its
 * headers and body), but headers set before this middleware ran (such as
 * X-Request-Id) stay. An answer that was already made stands even when the
 * handler then returned an error: the client gets what the handler chose.
 *
 * Every failure is logged once, here, with the request's ids, route and the
 * errno (warn for 503/504, which load and deadlines cause; error for 500),
 * so handlers return errors instead of logging them at every layer.
 */
#ifndef HEXSVC_PLATFORM_HTTP_HTTP_ERRORS_H
#define HEXSVC_PLATFORM_HTTP_HTTP_ERRORS_H

#include "platform/http/http_middleware.h"

struct logger;

/* The middleware ("errors"); logger may be NULL (map without logging) and
 * must outlive the server. */
struct http_middleware http_errors_middleware(struct logger *logger);

/* The status a handler error maps to: 504, 503 or 500. */
int http_errors_status(int error);

#endif
