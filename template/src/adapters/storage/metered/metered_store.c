/* metered_store.c: latency and error metrics around a link_store. */
#include "adapters/storage/metered/metered_store.h"

#include <errno.h>
#include <stdbool.h>
#include <time.h>

#include "platform/metrics/metrics.h"
#include "platform/metrics/metrics_table.h"
#include "platform/runtime/runtime.h"

static const char *const metered_store_names[METERED_STORE_OPERATIONS] = {"create", "get",
                                                                          "record_hit"};

static const double metered_store_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                               0.01,   0.025,   0.05,   0.1,   0.25,   1.0};

static uint64_t metered_store_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static bool metered_store_is_failure(enum domain_error error)
{
    return error == DOMAIN_ERROR_STORE_UNAVAILABLE || error == DOMAIN_ERROR_STORE_TIMEOUT ||
           error == DOMAIN_ERROR_INTERNAL;
}

static enum domain_error metered_store_done(const struct metered_store *store,
                                            enum metered_store_operation operation,
                                            uint64_t started_ns, enum domain_error error)
{
    unsigned shard = runtime_worker_index();
    metrics_histogram_observe(store->duration[operation], shard,
                              (double)(metered_store_now_ns() - started_ns) / 1e9);
    if (metered_store_is_failure(error)) {
        metrics_counter_add(store->errors[operation], shard, 1);
    }
    return error;
}

static enum domain_error metered_store_create(void *self, void *call_context,
                                              const struct link *link)
{
    const struct metered_store *store = self;
    uint64_t started = metered_store_now_ns();
    enum domain_error error = store->inner.create(store->inner.self, call_context, link);
    return metered_store_done(store, METERED_STORE_CREATE, started, error);
}

static enum domain_error metered_store_get(void *self, void *call_context, const char *code,
                                           size_t code_len, struct link *out)
{
    const struct metered_store *store = self;
    uint64_t started = metered_store_now_ns();
    enum domain_error error =
        store->inner.get(store->inner.self, call_context, code, code_len, out);
    return metered_store_done(store, METERED_STORE_GET, started, error);
}

static enum domain_error metered_store_record_hit(void *self, void *call_context, const char *code,
                                                  size_t code_len, struct link *out)
{
    const struct metered_store *store = self;
    uint64_t started = metered_store_now_ns();
    enum domain_error error =
        store->inner.record_hit(store->inner.self, call_context, code, code_len, out);
    return metered_store_done(store, METERED_STORE_RECORD_HIT, started, error);
}

int metered_store_init(struct metered_store *store, const struct link_store *inner,
                       struct metrics_registry *registry)
{
    static const char *const labels[] = {"operation"};
    static const struct metrics_family_config families[] = {
        {
            .name = "store_operation_duration_seconds",
            .help = "Latency of link store operations, by operation.",
            .type = METRICS_HISTOGRAM,
            .label_names = labels,
            .label_count = 1,
            .buckets = metered_store_buckets,
            .bucket_count = sizeof(metered_store_buckets) / sizeof(metered_store_buckets[0]),
        },
        {
            .name = "store_errors_total",
            .help = "Link store operations that failed (unavailable, timeout, internal).",
            .type = METRICS_COUNTER,
            .label_names = labels,
            .label_count = 1,
        },
    };
    enum {
        FAMILIES = sizeof(families) / sizeof(families[0])
    };
    struct metrics_family *registered[FAMILIES] = {NULL};
    int rc = metrics_register_table(registry, families, FAMILIES, registered);
    for (int i = 0; rc == 0 && i < METERED_STORE_OPERATIONS; i++) {
        const char *value[] = {metered_store_names[i]};
        store->duration[i] = metrics_series(registered[0], value);
        store->errors[i] = metrics_series(registered[1], value);
        if (store->duration[i] == NULL || store->errors[i] == NULL) {
            rc = -ENOMEM;
        }
    }
    store->inner = *inner;
    return rc;
}

struct link_store metered_store_port(struct metered_store *store)
{
    return (struct link_store){
        .self = store,
        .create = metered_store_create,
        .get = metered_store_get,
        .record_hit = metered_store_record_hit,
    };
}
