/*
 * metrics_table.h: registering a module's families from one table.
 *
 * A module that exports metrics declares them as data (name, help, type,
 * labels, buckets; or a scrape-time function) and registers them in one
 * call, instead of a chain of register-then-check steps per family.
 *
 * Both calls register in table order and stop at the first error, which
 * they return (metrics_register()'s errors). Families registered before
 * it stay in the registry, which owns them: metrics_registry_destroy()
 * frees them as usual, so a caller only has to pass the error on.
 */
#ifndef HEXSVC_PLATFORM_METRICS_METRICS_TABLE_H
#define HEXSVC_PLATFORM_METRICS_METRICS_TABLE_H

#include <stddef.h>

#include "platform/metrics/metrics.h"

/* configs[i] registered into families[i], for i below count. */
int metrics_register_table(struct metrics_registry *registry,
                           const struct metrics_family_config *configs, size_t count,
                           struct metrics_family **families);

/* A function family without labels, read at scrape time (metrics_register_fn). */
struct metrics_fn_config {
    const char *name;
    const char *help;
    enum metrics_type type; /* METRICS_GAUGE or METRICS_COUNTER */
    metrics_value_fn fn;
};

/* Each of count function families, all called with `arg`. */
int metrics_register_fn_table(struct metrics_registry *registry,
                              const struct metrics_fn_config *configs, size_t count, void *arg);

#endif
