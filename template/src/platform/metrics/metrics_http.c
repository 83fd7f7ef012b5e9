/* metrics_http.c: request counters, latency and in-flight gauges. */
#include "platform/metrics/metrics_http.h"

#include <errno.h>
#include <string.h>

#include "platform/metrics/metrics_internal.h"
#include "platform/metrics/metrics_table.h"
#include "platform/runtime/runtime.h"

int metrics_http_init(struct metrics_http *http, struct metrics_registry *registry)
{
    static const char *const request_labels[] = {"route", "method", "code"};
    static const char *const route_label[] = {"route"};
    /* Not static: the bucket count is a variable, not a constant. */
    const struct metrics_family_config families[] = {
        {
            .name = "http_requests_total",
            .help = "HTTP requests answered, by route pattern, method and status class.",
            .type = METRICS_COUNTER,
            .label_names = request_labels,
            .label_count = 3,
        },
        {
            .name = "http_request_duration_seconds",
            .help = "Time from a complete request to its written response, by route pattern.",
            .type = METRICS_HISTOGRAM,
            .label_names = route_label,
            .label_count = 1,
            .buckets = metrics_latency_buckets,
            .bucket_count = metrics_latency_bucket_count,
        },
        {
            .name = "http_requests_in_flight",
            .help = "Requests read and not yet answered.",
            .type = METRICS_GAUGE,
        },
        {
            .name = "http_connections_open",
            .help = "Open client connections, busy or idle.",
            .type = METRICS_GAUGE,
        },
    };
    enum {
        FAMILIES = sizeof(families) / sizeof(families[0])
    };
    struct metrics_family *registered[FAMILIES] = {NULL};
    memset(http->caches, 0, sizeof(http->caches));
    int rc = metrics_register_table(registry, families, FAMILIES, registered);
    if (rc != 0) {
        return rc;
    }
    http->requests = registered[0];
    http->duration = registered[1];
    http->in_flight = metrics_single(registered[2]);
    http->connections = metrics_single(registered[3]);
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

/* 0 .. 4 for 1xx .. 5xx; anything else counts as 5xx. */
static int metrics_http_code_class(int status)
{
    int index = status / 100 - 1;
    return index >= 0 && index < 5 ? index : 4;
}

struct metrics_http_pair {
    struct metrics_series *requests;
    struct metrics_series *duration;
};

static struct metrics_http_pair metrics_http_lookup(struct metrics_http *http, const char *route,
                                                    const char *method, int code_class)
{
    static const char *const classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    const char *labels[3] = {route != NULL ? route : "unmatched", metrics_http_method_label(method),
                             classes[code_class]};
    return (struct metrics_http_pair){.requests = metrics_series(http->requests, labels),
                                      .duration = metrics_series(http->duration, labels)};
}

/* The cached pair is trusted only while the pattern at that address still
 * reads as the series' route label: a router freed and another allocated
 * at the same address is looked up again, not counted under the old name.
 * (The method is the parser's static name, which never changes.) */
static bool metrics_http_cached_is_valid(const struct metrics_http_cached *slot, const char *route)
{
    return slot->requests != NULL &&
           (route == NULL || strcmp(slot->requests->label_values[0], route) == 0);
}

static struct metrics_http_pair metrics_http_series(struct metrics_http *http, unsigned shard,
                                                    const char *route, const char *method,
                                                    int code_class)
{
    if (shard >= METRICS_SHARDS) {
        return metrics_http_lookup(http, route, method, code_class);
    }
    uintptr_t key = (uintptr_t)route ^ ((uintptr_t)method << 1) ^ (uintptr_t)code_class;
    size_t index =
        (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (METRICS_HTTP_CACHE_SLOTS - 1);
    struct metrics_http_cached *slot = &http->caches[shard].slots[index];
    if (slot->route == route && slot->method == method && slot->code_class == code_class &&
        metrics_http_cached_is_valid(slot, route)) {
        return (struct metrics_http_pair){.requests = slot->requests, .duration = slot->duration};
    }
    struct metrics_http_pair pair = metrics_http_lookup(http, route, method, code_class);
    if (pair.requests != NULL && pair.duration != NULL) {
        *slot = (struct metrics_http_cached){.route = route,
                                             .method = method,
                                             .code_class = code_class,
                                             .requests = pair.requests,
                                             .duration = pair.duration};
    }
    return pair;
}

static void metrics_http_end(void *arg, const struct http_exchange *exchange)
{
    struct metrics_http *http = arg;
    unsigned shard = runtime_worker_index();
    struct metrics_http_pair pair =
        metrics_http_series(http, shard, exchange->request->route, exchange->request->method,
                            metrics_http_code_class(exchange->status));
    metrics_counter_add(pair.requests, shard, 1);
    metrics_histogram_observe(pair.duration, shard, (double)exchange->duration_ns / 1e9);
    metrics_gauge_add(http->in_flight, shard, -1);
}

/* A request refused before routing (http_server.h): counted and timed as
 * an unmatched one, as a 404 is; it was never in flight. */
static void metrics_http_rejected(void *arg, const struct http_rejection *rejection)
{
    struct metrics_http *http = arg;
    unsigned shard = runtime_worker_index();
    struct metrics_http_pair pair = metrics_http_series(http, shard, NULL, rejection->method,
                                                        metrics_http_code_class(rejection->status));
    metrics_counter_add(pair.requests, shard, 1);
    metrics_histogram_observe(pair.duration, shard, (double)rejection->duration_ns / 1e9);
}

static void metrics_http_connection(void *arg, int delta)
{
    struct metrics_http *http = arg;
    metrics_gauge_add(http->connections, runtime_worker_index(), delta);
}

/* In flight from here to the finish callback, which counts and times the
 * request; without a finish slot it is not counted at all, so the gauge
 * cannot drift. */
static int metrics_http_handle(void *arg, struct http_request *request,
                               struct http_response *response, const struct http_next *next)
{
    struct metrics_http *http = arg;
    if (http_response_on_finish(response, metrics_http_end, http) == 0) {
        metrics_gauge_add(http->in_flight, runtime_worker_index(), 1);
    }
    return http_next(next, request, response);
}

struct http_middleware metrics_http_middleware(struct metrics_http *http)
{
    return (struct http_middleware){.name = "metrics", .handle = metrics_http_handle, .arg = http};
}

struct http_observer metrics_http_observer(struct metrics_http *http)
{
    return (struct http_observer){
        .connection = metrics_http_connection, .rejected = metrics_http_rejected, .arg = http};
}
