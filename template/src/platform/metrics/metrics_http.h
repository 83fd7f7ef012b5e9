/*
 * metrics_http.h: the golden signals of an HTTP server: a middleware for
 * the requests, an observer for the connections gauge.
 *
 *   http_requests_total{route,method,code}        counter
 *   http_request_duration_seconds{route}           histogram (metrics_latency_buckets)
 *   http_requests_in_flight                        gauge
 *   http_connections_open                          gauge
 *
 * Every label is bounded: route is the matched pattern (a service has a
 * fixed set) or "unmatched", method one of the standard methods or
 * "OTHER", code the status class ("2xx" .. "5xx"). So ten thousand
 * distinct paths add no series.
 *
 * Requests the server refused before routing (400, 408, 413, 417, 431,
 * 503 for connections or load; http_server.h) come through the observer's
 * `rejected` hook and count as route "unmatched", like a 404, with method
 * "OTHER" when it was not read; their duration is from the refusal to the
 * written answer.
 */
#ifndef HEXSVC_PLATFORM_METRICS_METRICS_HTTP_H
#define HEXSVC_PLATFORM_METRICS_METRICS_HTTP_H

#include "platform/http/http_server.h"
#include "platform/metrics/metrics.h"

/* The series a request was counted in, remembered by the request's route
 * pattern and method (their addresses: the router's copy and the parser's
 * static name) and status class, so the next such request does one small
 * lookup instead of hashing three label strings per family. One cache per
 * worker index below METRICS_SHARDS (a worker only touches its own, so no
 * locks); other workers look the series up every time. */
#define METRICS_HTTP_CACHE_SLOTS 32 /* a power of two */

struct metrics_http_cached {
    const char *route; /* NULL: unmatched (or an empty slot, when requests is NULL) */
    const char *method;
    int code_class;    /* 0 .. 4 for 1xx .. 5xx */
    struct metrics_series *requests;
    struct metrics_series *duration;
};

struct metrics_http_cache {
    struct metrics_http_cached slots[METRICS_HTTP_CACHE_SLOTS];
};

struct metrics_http {
    struct metrics_family *requests;
    struct metrics_family *duration;
    struct metrics_series *in_flight;
    struct metrics_series *connections;
    struct metrics_http_cache caches[METRICS_SHARDS];
};

/* Registers the families; 0 or the metrics_register() error. */
int metrics_http_init(struct metrics_http *http, struct metrics_registry *registry);
/* The "metrics" middleware (requests, latency, in-flight); `http` must
 * outlive the server. */
struct http_middleware metrics_http_middleware(struct metrics_http *http);
/* The observer: http_connections_open, and the requests refused before
 * routing. */
struct http_observer metrics_http_observer(struct metrics_http *http);

/* "GET" .. "OPTIONS" as given, anything else "OTHER". */
const char *metrics_http_method_label(const char *method);

#endif
