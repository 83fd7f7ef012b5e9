/*
 * link_cache.h: a read cache for resolve, in front of any link store.
 *
 * A decorator of the domain port (domain/link_store.h), like
 * adapters/storage/metered: it implements the port and forwards to the
 * store it wraps.
 *
 *   record_hit (resolve)  answered from an LRU of links (link_cache_lru.h);
 *                         the hit itself still goes to the store, as
 *                         record_hit(out = NULL), which the SQLite store
 *                         counts in memory without a read. On a miss the
 *                         link is read with get(), once per worker however
 *                         many fibers miss on it at once (singleflight,
 *                         link_cache_flight.h), and cached.
 *   get (stats)           always the store's: its counts are exact.
 *   create                the store's. Links never change after create and
 *                         misses are not cached, so nothing can be stale;
 *                         link_cache_invalidate() is for write paths that do
 *                         change a link (none in this service yet).
 *
 * The count a cached resolve hands out is the count read at fill time plus
 * the hits this process counted since: exact while one process counts the
 * store's hits (SQLite); with replicas sharing a database each one counts
 * only its own (stats stays exact). Any failure to count a hit drops the
 * entry, so the next resolve reads the store again.
 *
 * Memory: an entry is one malloc at fill (header + code + URL, about
 * 100 bytes + the URL); a hit allocates nothing. link_cache_shrink() halves
 * it under memory pressure (platform/limits' shrink hook).
 *
 * Thread-safety: the cache is shared by every worker; every function but
 * create/destroy may be called from any thread.
 */
#ifndef HEXSVC_ADAPTERS_CACHE_LINK_CACHE_H
#define HEXSVC_ADAPTERS_CACHE_LINK_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "domain/link_store.h"

#define LINK_CACHE_DEFAULT_ENTRIES 10000
#define LINK_CACHE_DEFAULT_BYTES ((size_t)8 * 1024 * 1024)

struct link_cache;

struct link_cache_options {
    size_t max_entries; /* >= 1 */
    size_t max_bytes;   /* >= 1: entries, code and URL included */
    uint64_t hash_seed; /* random in production, so aliases cannot collide on purpose */
};

struct link_cache_stats {
    uint64_t hits;      /* resolves answered from the cache */
    uint64_t misses;    /* resolves that had to read the store (or wait for a read) */
    uint64_t evictions; /* entries pushed out by the budgets or by a shrink */
    uint64_t entries;
    uint64_t bytes;
};

/* Wraps `inner` (copied; its self must outlive the cache). 0 and *out,
 * -EINVAL (an incomplete port or a zero budget), or -ENOMEM. */
int link_cache_create(const struct link_store *inner, const struct link_cache_options *options,
                      struct link_cache **out);
void link_cache_destroy(struct link_cache *cache);

/* The port to hand to the use cases; `cache` must outlive it. */
struct link_store link_cache_port(struct link_cache *cache);

/* Forgets the code's link: call it after any write that changes a link. */
void link_cache_invalidate(struct link_cache *cache, const char *code, size_t code_len);

/* Evicts the least recently used half (memory pressure). */
void link_cache_shrink(struct link_cache *cache);

void link_cache_stats(struct link_cache *cache, struct link_cache_stats *out);

#endif
