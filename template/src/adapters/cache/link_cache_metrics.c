/* link_cache_metrics.c: scrape-time metrics of the read cache. */
#include "adapters/cache/link_cache_metrics.h"

#include <stddef.h>

#include "platform/metrics/metrics_table.h"

static double link_cache_metric_hits(void *arg)
{
    struct link_cache_stats stats;
    link_cache_stats(arg, &stats);
    return (double)stats.hits;
}

static double link_cache_metric_misses(void *arg)
{
    struct link_cache_stats stats;
    link_cache_stats(arg, &stats);
    return (double)stats.misses;
}

static double link_cache_metric_evictions(void *arg)
{
    struct link_cache_stats stats;
    link_cache_stats(arg, &stats);
    return (double)stats.evictions;
}

static double link_cache_metric_entries(void *arg)
{
    struct link_cache_stats stats;
    link_cache_stats(arg, &stats);
    return (double)stats.entries;
}

static double link_cache_metric_bytes(void *arg)
{
    struct link_cache_stats stats;
    link_cache_stats(arg, &stats);
    return (double)stats.bytes;
}

int link_cache_metrics_register(struct link_cache *cache, struct metrics_registry *registry)
{
    static const struct metrics_fn_config families[] = {
        {"cache_hits_total", "Resolves answered from the link cache.", METRICS_COUNTER,
         link_cache_metric_hits},
        {"cache_misses_total", "Resolves the link cache could not answer (the store was read).",
         METRICS_COUNTER, link_cache_metric_misses},
        {"cache_evictions_total", "Links pushed out of the cache by its budgets or a shrink.",
         METRICS_COUNTER, link_cache_metric_evictions},
        {"cache_entries", "Links in the cache.", METRICS_GAUGE, link_cache_metric_entries},
        {"cache_bytes", "Bytes the cached links take.", METRICS_GAUGE, link_cache_metric_bytes},
    };
    return metrics_register_fn_table(registry, families, sizeof(families) / sizeof(families[0]),
                                     cache);
}
