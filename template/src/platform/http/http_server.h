/*
 * http_server.h: an HTTP/1.1 server on the fiber runtime.
 *
 * One `struct http_server` describes a listener (config + router) and is
 * shared, read-only, by every worker. Each worker calls http_server_start()
 * from one of its fibers (usually in runtime_run's worker_main) and gets its
 * own `struct http_server_worker`: a SO_REUSEPORT listener, an accept fiber,
 * and pools of connections and buffers. Nothing is process-wide, so a
 * service runs several servers (public API, admin) side by side.
 *
 * A busy connection has a fiber; between requests an idle keep-alive
 * connection hands its socket to tcp_resume_on_readable() and keeps neither
 * a fiber nor its buffers.
 *
 * Every limit is in the config; the status each produces:
 *   max_header_bytes 431, max_body_bytes 413 (Content-Length up front,
 *   chunked as it streams), header_timeout_ms 408, body_timeout_ms 408,
 *   idle_timeout_ms quiet close, request_timeout_ms the deadline of the
 *   handler's request->ctx, max_connections 503, malformed 400, unknown
 *   route 404, wrong method 405 + Allow, unanswered request 500. Error bodies
 *   are {"error":{"code":"...","message":"..."}}; after 400/408/413/417/431
 *   the connection is closed.
 *
 * Observed are: every routed or unmatched request by the middleware chain;
 * every refusal before routing (the 400/408/413/417/431/503 above) by the
 * observers' `rejected` hook; connections by their `connection` hook. A
 * connection closed without an answer (EOF, idle or first-byte timeout,
 * shutdown) is observed only as a connection.
 *
 * A complete request is routed, then runs through the config's middleware
 * chain (http_middleware.h) to the route's handler or the 404/405 answer;
 * the response is written and the finish callbacks run.
 *
 * Lifecycle: http_server_create() before runtime_run(); per worker
 * http_server_start(), then http_server_worker_stop() (graceful: stop
 * accepting, close idle connections, let in-flight requests finish within a
 * grace period, then cancel them); http_server_destroy() after runtime_run()
 * returned. The router must outlive the server.
 */
#ifndef HEXSVC_PLATFORM_HTTP_HTTP_SERVER_H
#define HEXSVC_PLATFORM_HTTP_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/http/http_middleware.h"
#include "platform/http/http_request.h"
#include "platform/http/http_response.h"
#include "platform/http/http_router.h"
#include "platform/http/http_status.h"

struct ctx;
struct http_server;
struct http_server_worker;

#define HTTP_SERVER_HOST_LEN 64
#define HTTP_SERVER_MAX_MIDDLEWARE HTTP_MIDDLEWARE_MAX

/*
 * A request the server refused before routing it, so before any
 * middleware: a protocol error answered while reading (400, 408, 413, 417,
 * 431), a 503 for admission (load shedding) or memory while reading, or a
 * 503 for max_connections or admission at accept (nothing read: method
 * and path ""). Strings are valid only during the
 * callback. What was not read is "": the method once the request line
 * began, the path (without the query, cut at HTTP_REJECTION_PATH_MAX - 1
 * bytes) once the request line was complete, the two headers once the
 * header section was. The header values are as the client sent them, not
 * validated: check them as the request-id middleware does before use.
 */
#define HTTP_REJECTION_PATH_MAX 512

struct http_rejection {
    int status;              /* as sent */
    const char *method;      /* "GET", ...; "" when not read */
    const char *path;        /* "" when not read */
    const char *request_id;  /* X-Request-Id as sent, "" when absent or over 64 bytes */
    const char *traceparent; /* traceparent as sent, "" when absent or too long */
    const char *peer;        /* the connection's peer address, "" when unknown */
    size_t body_bytes;       /* the JSON error body */
    uint64_t duration_ns;    /* from the refusal to the end of writing, as http_exchange */
    bool write_failed;       /* the client did not get the whole answer */
};

/*
 * Server hooks, called on the serving worker's fiber; cheap, never
 * parking; either may be NULL: `connection` (the open-connections gauge)
 * with +1 when the server admits a connection and -1 when it forgets one;
 * `rejected` once per refused request, after its answer was written or the
 * write failed. Per-request work on routed requests belongs in middleware
 * (http_middleware.h), which sees every request that was read completely
 * (a handler's answer, 404, 405); the refusals above reach only `rejected`.
 */
struct http_observer {
    void (*connection)(void *arg, int delta);
    void (*rejected)(void *arg, const struct http_rejection *rejection);
    void *arg;
};

/*
 * Admission control (load shedding), asked before a connection is accepted
 * (body_bytes 0) and before a request's body is read (body_bytes: the
 * Content-Length, or max_body_bytes when chunked). Refused work is answered
 * 503 + Retry-After with a JSON error and the connection is closed. After a
 * request was admitted, `release` (may be NULL) gets the same body_bytes once
 * it is answered. Called on the worker's fiber from every worker at once:
 * must be thread-safe, cheap, and must not park.
 */
struct http_admission {
    bool (*admit)(void *arg, uint64_t body_bytes);
    void (*release)(void *arg, uint64_t body_bytes);
    void *arg;
};

struct http_server_config {
    const char *host;            /* numeric address; default "0.0.0.0" (copied) */
    int port;                    /* default 8080; 0 picks a free port, shared by all workers */
    int backlog;                 /* default 511 */
    size_t max_header_bytes;     /* default 8 KiB */
    size_t max_body_bytes;       /* default 1 MiB */
    size_t max_response_bytes;   /* default 16 MiB, headers and body each */
    uint64_t header_timeout_ms;  /* default 10 s: first byte to end of headers */
    uint64_t body_timeout_ms;    /* default 30 s: end of headers to end of body */
    uint64_t idle_timeout_ms;    /* default 60 s between keep-alive requests */
    uint64_t request_timeout_ms; /* default 30 s: handler deadline */
    uint64_t write_timeout_ms;   /* default 30 s per response */
    unsigned max_connections;    /* per worker, default 10000 */
    /* Connection observers, default none; the array must outlive the server. */
    const struct http_observer *observers;
    size_t observer_count;
    /* The middleware chain, outermost first, default none; copied by
     * http_server_create (the args must outlive the server). */
    const struct http_middleware *middleware;
    size_t middleware_count;
    /* Load shedding, default none; must outlive the server. */
    const struct http_admission *admission;
};

struct http_server_stats {
    unsigned connections;        /* open, busy or idle */
    unsigned idle_connections;   /* parked without a fiber */
    unsigned in_flight_requests; /* read completely, not yet answered */
    uint64_t requests_total;
    uint64_t rejected_total;     /* 503 for max_connections or admission */
};

void http_server_config_defaults(struct http_server_config *config);

/* 0 and *out, -EINVAL for an inconsistent config, -ENOMEM. */
int http_server_create(const struct http_server_config *config, const struct http_router *router,
                       struct http_server **out);
/* After every worker stopped (or runtime_run returned). */
void http_server_destroy(struct http_server *server);
/* The port the listeners are bound to; 0 until a worker has started. */
int http_server_port(const struct http_server *server);

/* From a fiber of the worker that will serve: binds this worker's listener
 * and spawns its accept fiber. 0 and *out, or a negative errno. */
int http_server_start(struct http_server *server, struct http_server_worker **out);

/* Stops accepting and closes idle connections; busy ones close after their
 * current response. Returns at once. Idempotent. Same worker only. */
void http_server_worker_shutdown(struct http_server_worker *worker);
/* Parks until the worker has no connection left: 0, or the ctx error. */
int http_server_worker_wait(struct http_server_worker *worker, struct ctx *ctx);
/* shutdown, wait up to grace_ms, then cancel what is still running (its
 * request->ctx and I/O fail with -ECANCELED), wait for it, free the worker. */
void http_server_worker_stop(struct http_server_worker *worker, uint64_t grace_ms);

void http_server_worker_stats(const struct http_server_worker *worker,
                              struct http_server_stats *out);

#endif
