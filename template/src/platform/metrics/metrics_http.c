/* metrics_http.c: request counters, latency and in-flight gauges. */
#include "platform/metrics/metrics_http.h"

#include <errno.h>
#include <string.h>

#include "platform/runtime/runtime.h"

int metrics_http_init(struct metrics_http *http, struct metrics_registry *registry)
{
    static const char *const request_labels[] = {"route", "method", "code"};
    static const char *const route_label[] = {"route"};
    struct metrics_family_config requests = {
        .name = "http_requests_total",
        .help = "HTTP requests answered, by route pattern, method and status class.",
        .type = METRICS_COUNTER,
        .label_names = request_labels,
        .label_count = 3,
    };
    struct metrics_family_config duration = {
        .name = "http_request_duration_seconds",
        .help = "Time from a complete request to its written response, by route pattern.",
        .type = METRICS_HISTOGRAM,
        .label_names = route_label,
        .label_count = 1,
        .buckets = metrics_latency_buckets,
        .bucket_count = metrics_latency_bucket_count,
    };
    struct metrics_family_config in_flight = {
        .name = "http_requests_in_flight",
        .help = "Requests read and not yet answered.",
        .type = METRICS_GAUGE,
    };
    struct metrics_family_config connections = {
        .name = "http_connections_open",
        .help = "Open client connections, busy or idle.",
        .type = METRICS_GAUGE,
    };
    struct metrics_family *in_flight_family = NULL;
    struct metrics_family *connections_family = NULL;
    int rc = metrics_register(registry, &requests, &http->requests);
    if (rc == 0) {
        rc = metrics_register(registry, &duration, &http->duration);
    }
    if (rc == 0) {
        rc = metrics_register(registry, &in_flight, &in_flight_family);
    }
    if (rc == 0) {
        rc = metrics_register(registry, &connections, &connections_family);
    }
    if (rc != 0) {
        return rc;
    }
    http->in_flight = metrics_single(in_flight_family);
    http->connections = metrics_single(connections_family);
    return http->in_flight != NULL && http->connections != NULL ? 0 : -ENOMEM;
}

const char *metrics_http_method_label(const char *method)
{
    static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(method, known[i]) == 0) {
            return known[i];
        }
    }
    return "OTHER";
}

static const char *metrics_http_code_label(int status)
{
    static const char *const classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    int index = status / 100 - 1;
    return index >= 0 && index < 5 ? classes[index] : "5xx";
}

static void metrics_http_begin(void *arg, struct http_request *request,
                               struct http_response *response)
{
    (void)request;
    (void)response;
    struct metrics_http *http = arg;
    metrics_gauge_add(http->in_flight, runtime_worker_index(), 1);
}

static void metrics_http_end(void *arg, const struct http_exchange *exchange)
{
    struct metrics_http *http = arg;
    unsigned shard = runtime_worker_index();
    const char *route = exchange->request->route != NULL ? exchange->request->route : "unmatched";
    const char *labels[3] = {route, metrics_http_method_label(exchange->request->method),
                             metrics_http_code_label(exchange->status)};
    metrics_counter_add(metrics_series(http->requests, labels), shard, 1);
    metrics_histogram_observe(metrics_series(http->duration, labels), shard,
                              (double)exchange->duration_ns / 1e9);
    metrics_gauge_add(http->in_flight, shard, -1);
}

static void metrics_http_connection(void *arg, int delta)
{
    struct metrics_http *http = arg;
    metrics_gauge_add(http->connections, runtime_worker_index(), delta);
}

struct http_observer metrics_http_observer(struct metrics_http *http)
{
    return (struct http_observer){
        .begin = metrics_http_begin,
        .end = metrics_http_end,
        .connection = metrics_http_connection,
        .arg = http,
    };
}
