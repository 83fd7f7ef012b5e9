/*
 * metered_store.h: a link_store that measures another one.
 *
 * A decorator of the domain port: every call goes to the wrapped store, and
 * its latency and failures are recorded in the metrics registry:
 *
 *   store_operation_duration_seconds{operation}   histogram
 *   store_errors_total{operation}                 counter
 *
 * operation is create, get or record_hit. Only failures of the store itself
 * count as errors (unavailable, timeout, internal); "not found" and "code
 * taken" are answers, not errors.
 */
#ifndef HEXSVC_ADAPTERS_STORAGE_METERED_METERED_STORE_H
#define HEXSVC_ADAPTERS_STORAGE_METERED_METERED_STORE_H

#include "domain/link_store.h"

struct metrics_registry;
struct metrics_series;

enum metered_store_operation {
    METERED_STORE_CREATE,
    METERED_STORE_GET,
    METERED_STORE_RECORD_HIT,
    METERED_STORE_OPERATIONS,
};

struct metered_store {
    struct link_store inner;
    struct metrics_series *duration[METERED_STORE_OPERATIONS];
    struct metrics_series *errors[METERED_STORE_OPERATIONS];
};

/* Registers the two families and wraps `inner` (copied). 0, or the
 * metrics_register() error, or -ENOMEM. */
int metered_store_init(struct metered_store *store, const struct link_store *inner,
                       struct metrics_registry *registry);
/* The port to hand to the use cases; `store` must outlive it. */
struct link_store metered_store_port(struct metered_store *store);

#endif
