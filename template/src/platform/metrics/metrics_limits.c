/*
 * metrics_limits.c: limits_stats() and the plan behind function metrics.
 * Nothing here runs per request: every value is read at scrape time.
 */
#include "platform/metrics/metrics_limits.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "platform/limits/limits.h"

static struct limits_stats metrics_limits_read(void *arg)
{
    struct limits_stats stats;
    limits_stats(arg, &stats);
    return stats;
}

static double metrics_limits_shedding(void *arg)
{
    return metrics_limits_read(arg).shedding ? 1.0 : 0.0;
}

static double metrics_limits_usage(void *arg)
{
    return (double)metrics_limits_read(arg).usage;
}

static double metrics_limits_shed(void *arg)
{
    return (double)metrics_limits_read(arg).shed_total;
}

static double metrics_limits_episodes(void *arg)
{
    return (double)metrics_limits_read(arg).pressure_episodes;
}

static double metrics_limits_trims(void *arg)
{
    return (double)metrics_limits_read(arg).trims_total;
}

static double metrics_limits_memory_max(void *arg)
{
    const struct limits *limits = arg;
    return limits->plan.memory_max == 0 ? INFINITY : (double)limits->plan.memory_max;
}

static double metrics_limits_connections(void *arg)
{
    const struct limits *limits = arg;
    return (double)limits->plan.max_connections;
}

/* A gauge with one `source` label whose single series is set once. */
static int metrics_limits_choice(struct metrics_registry *registry, const char *name,
                                 const char *help, const char *source, uint64_t value)
{
    static const char *const labels[] = {"source"};
    struct metrics_family_config config = {
        .name = name,
        .help = help,
        .type = METRICS_GAUGE,
        .label_names = labels,
        .label_count = 1,
        .max_series = 2, /* the series and the overflow one */
    };
    struct metrics_family *family = NULL;
    int rc = metrics_register(registry, &config, &family);
    if (rc != 0) {
        return rc;
    }
    const char *values[] = {source != NULL ? source : "none"};
    struct metrics_series *series = metrics_series(family, values);
    if (series == NULL) {
        return -ENOMEM;
    }
    metrics_gauge_set_shard(series, 0, (int64_t)value);
    return 0;
}

int metrics_limits_init(struct limits *limits, struct metrics_registry *registry)
{
    void *arg = limits; /* the callbacks only read it */
    static const struct {
        const char *name;
        const char *help;
        enum metrics_type type;
        metrics_value_fn fn;
    } functions[] = {
        {"limits_memory_max_bytes", "Memory limit of the cgroup seen at start-up; +Inf if none.",
         METRICS_GAUGE, metrics_limits_memory_max},
        {"limits_max_connections_per_worker",
         "Connections each worker accepts, from the memory budget.", METRICS_GAUGE,
         metrics_limits_connections},
        {"limits_memory_usage_bytes",
         "Memory in use at the last sample (cgroup working set, else RSS).", METRICS_GAUGE,
         metrics_limits_usage},
        {"limits_shedding", "1 while memory pressure sheds new work, else 0.", METRICS_GAUGE,
         metrics_limits_shedding},
        {"limits_shed_total", "Connections and requests refused with 503 to shed load.",
         METRICS_COUNTER, metrics_limits_shed},
        {"limits_pressure_episodes_total", "Times usage crossed the soft limit and shedding began.",
         METRICS_COUNTER, metrics_limits_episodes},
        {"limits_memory_trims_total", "Freed memory returned to the OS under pressure.",
         METRICS_COUNTER, metrics_limits_trims},
    };
    int rc =
        metrics_limits_choice(registry, "limits_workers",
                              "Worker threads chosen at start-up, by where the choice came from.",
                              limits->plan.workers_source, limits->plan.workers);
    if (rc == 0) {
        rc = metrics_limits_choice(
            registry, "limits_memory_soft_limit_bytes",
            "Soft memory limit above which load is shed (0: none), by where it came from.",
            limits->plan.soft_source, limits->plan.soft_limit);
    }
    for (size_t i = 0; rc == 0 && i < sizeof(functions) / sizeof(functions[0]); i++) {
        rc = metrics_register_fn(registry, functions[i].name, functions[i].help, functions[i].type,
                                 functions[i].fn, arg);
    }
    return rc;
}
