/*
 * metrics_http.h: the golden signals of an HTTP server, as an observer.
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
 */
#ifndef HEXSVC_PLATFORM_METRICS_METRICS_HTTP_H
#define HEXSVC_PLATFORM_METRICS_METRICS_HTTP_H

#include "platform/http/http_server.h"
#include "platform/metrics/metrics.h"

struct metrics_http {
    struct metrics_family *requests;
    struct metrics_family *duration;
    struct metrics_series *in_flight;
    struct metrics_series *connections;
};

/* Registers the families; 0 or the metrics_register() error. */
int metrics_http_init(struct metrics_http *http, struct metrics_registry *registry);
/* The observer; `http` must outlive the server. */
struct http_observer metrics_http_observer(struct metrics_http *http);

/* "GET" .. "OPTIONS" as given, anything else "OTHER". */
const char *metrics_http_method_label(const char *method);

#endif
