/*
 * link_cache_metrics.h: the read cache's numbers in the metrics registry.
 *
 *   cache_hits_total       counter  resolves answered from the cache
 *   cache_misses_total     counter  resolves that read the store (or waited for a read)
 *   cache_evictions_total  counter  entries pushed out by the budgets or a shrink
 *   cache_entries          gauge    links in the cache
 *   cache_bytes            gauge    bytes they take (headers, codes, URLs)
 *
 * Read at scrape time from link_cache_stats(): the hot path updates only
 * the cache's own counters.
 */
#ifndef HEXSVC_ADAPTERS_CACHE_LINK_CACHE_METRICS_H
#define HEXSVC_ADAPTERS_CACHE_LINK_CACHE_METRICS_H

#include "adapters/cache/link_cache.h"

struct metrics_registry;

/* Registers the five families; `cache` must outlive the registry's
 * scrapes. 0, or the metrics_register() error. */
int link_cache_metrics_register(struct link_cache *cache, struct metrics_registry *registry);

#endif
