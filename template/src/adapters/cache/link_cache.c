/*
 * link_cache.c: the decorator: hits from the LRU, misses through a flight.
 */
#include "adapters/cache/link_cache.h"

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/cache/link_cache_flight.h"
#include "adapters/cache/link_cache_lru.h"
#include "platform/runtime/ctx.h"
#include "platform/runtime/runtime.h"

#define LINK_CACHE_COUNTER_SHARDS 16

/* Hit and miss counts, one cache line per worker (modulo the shard count):
 * counting must not make workers share a line on every resolve. */
struct link_cache_counter {
    alignas(64) atomic_uint_fast64_t hits;
    atomic_uint_fast64_t misses;
};

struct link_cache {
    struct link_store inner;
    struct link_cache_lru *lru;
    struct link_cache_counter counters[LINK_CACHE_COUNTER_SHARDS];
    struct link_cache_flights flights;
};

static struct link_cache_counter *link_cache_counter(struct link_cache *cache)
{
    return &cache->counters[runtime_worker_index() % LINK_CACHE_COUNTER_SHARDS];
}

/*
 * The hit path: the link from the LRU, the hit to the store (no read). True
 * when the code was cached, with the store's answer in *err; false on a
 * miss, with the ticket for a fill.
 */
static bool link_cache_try_hit(struct link_cache *cache, void *call_context, const char *code,
                               size_t code_len, struct link *out, struct link_cache_ticket *ticket,
                               enum domain_error *err)
{
    struct link_cache_entry *pin = NULL;
    if (!link_cache_lru_hit(cache->lru, code, code_len, out, &pin, ticket)) {
        return false;
    }
    *err = cache->inner.record_hit(cache->inner.self, call_context, code, code_len, NULL);
    /* A hit the store did not count leaves the entry's count one too high:
     * drop it, and the next resolve reads the true count. */
    link_cache_lru_unpin(cache->lru, pin, *err != DOMAIN_OK);
    return true;
}

/* Not in the cache after a fill (too big, refused, evicted at once): the
 * plain store call, which counts and reads in one go. */
static enum domain_error link_cache_uncached(struct link_cache *cache, void *call_context,
                                             const char *code, size_t code_len, struct link *out)
{
    return cache->inner.record_hit(cache->inner.self, call_context, code, code_len, out);
}

/* Leads a flight: reads the link, caches it, answers the waiters, then
 * counts its own hit like any other. */
static enum domain_error link_cache_fill(struct link_cache *cache, void *call_context,
                                         struct link_cache_flight **list, const char *code,
                                         size_t code_len, struct link *out,
                                         struct link_cache_ticket *ticket)
{
    struct link_cache_flight flight;
    if (list != NULL) {
        link_cache_flight_take_off(list, &flight, code, code_len);
    }
    enum domain_error err = cache->inner.get(cache->inner.self, call_context, code, code_len, out);
    if (err == DOMAIN_OK) {
        (void)link_cache_lru_put(cache->lru, out, ticket); /* a refusal only costs a read */
    }
    if (list != NULL) {
        link_cache_flight_land(list, &flight, err);
    }
    if (err != DOMAIN_OK) {
        return err;
    }
    enum domain_error counted = DOMAIN_OK;
    if (link_cache_try_hit(cache, call_context, code, code_len, out, ticket, &counted)) {
        return counted;
    }
    return link_cache_uncached(cache, call_context, code, code_len, out);
}

static bool link_cache_ctx_live(void *call_context)
{
    return call_context == NULL || !ctx_done(call_context);
}

static enum domain_error link_cache_miss(struct link_cache *cache, void *call_context,
                                         const char *code, size_t code_len, struct link *out,
                                         struct link_cache_ticket *ticket)
{
    struct link_cache_flight **list = link_cache_flight_list(&cache->flights);
    /* Bounded: each turn either leads (and returns) or parks under the
     * caller's ctx, and a turn after a wait finds the flight landed. */
    for (;;) {
        struct link_cache_flight *flight =
            list != NULL ? link_cache_flight_find(list, code, code_len) : NULL;
        if (flight == NULL) {
            return link_cache_fill(cache, call_context, list, code, code_len, out, ticket);
        }
        enum domain_error result = DOMAIN_OK;
        if (link_cache_flight_wait(flight, call_context, &result) != 0) {
            return DOMAIN_ERROR_STORE_TIMEOUT; /* our own deadline */
        }
        /* The leader's deadline is not ours: if its read timed out and we
         * still have time, try again (one of us leads the next flight). */
        bool retry = result == DOMAIN_ERROR_STORE_TIMEOUT && link_cache_ctx_live(call_context);
        if (result != DOMAIN_OK && !retry) {
            return result;
        }
        enum domain_error counted = DOMAIN_OK;
        if (link_cache_try_hit(cache, call_context, code, code_len, out, ticket, &counted)) {
            return counted;
        }
        if (!retry) {
            return link_cache_uncached(cache, call_context, code, code_len, out);
        }
    }
}

static enum domain_error link_cache_record_hit(void *self, void *call_context, const char *code,
                                               size_t code_len, struct link *out)
{
    struct link_cache *cache = self;
    if (code_len == 0 || code_len > LINK_CODE_MAX) {
        return link_cache_uncached(cache, call_context, code, code_len, out);
    }
    /* The caller may not want the link; the cache still needs one to fill. */
    struct link found;
    // cppcheck-suppress uninitvar ; only written through, by the LRU or the store
    struct link *into = out != NULL ? out : &found;
    struct link_cache_ticket ticket;
    enum domain_error err = DOMAIN_OK;
    if (link_cache_try_hit(cache, call_context, code, code_len, into, &ticket, &err)) {
        atomic_fetch_add_explicit(&link_cache_counter(cache)->hits, 1, memory_order_relaxed);
        return err;
    }
    atomic_fetch_add_explicit(&link_cache_counter(cache)->misses, 1, memory_order_relaxed);
    return link_cache_miss(cache, call_context, code, code_len, into, &ticket);
}

static enum domain_error link_cache_get(void *self, void *call_context, const char *code,
                                        size_t code_len, struct link *out)
{
    const struct link_cache *cache = self;
    return cache->inner.get(cache->inner.self, call_context, code, code_len, out);
}

static enum domain_error link_cache_create_link(void *self, void *call_context,
                                                const struct link *link)
{
    const struct link_cache *cache = self;
    return cache->inner.create(cache->inner.self, call_context, link);
}

int link_cache_create(const struct link_store *inner, const struct link_cache_options *options,
                      struct link_cache **out)
{
    if (inner == NULL || inner->create == NULL || inner->get == NULL || inner->record_hit == NULL ||
        options == NULL) {
        return -EINVAL;
    }
    struct link_cache *cache = aligned_alloc(64, (sizeof(*cache) + 63) / 64 * 64);
    if (cache == NULL) {
        return -ENOMEM;
    }
    memset(cache, 0, sizeof(*cache));
    cache->inner = *inner;
    for (size_t i = 0; i < LINK_CACHE_COUNTER_SHARDS; i++) {
        atomic_init(&cache->counters[i].hits, 0);
        atomic_init(&cache->counters[i].misses, 0);
    }
    int rc = link_cache_lru_create(options->max_entries, options->max_bytes, options->hash_seed,
                                   &cache->lru);
    if (rc != 0) {
        free(cache);
        return rc;
    }
    *out = cache;
    return 0;
}

void link_cache_destroy(struct link_cache *cache)
{
    if (cache == NULL) {
        return;
    }
    link_cache_lru_destroy(cache->lru);
    free(cache);
}

struct link_store link_cache_port(struct link_cache *cache)
{
    return (struct link_store){
        .self = cache,
        .create = link_cache_create_link,
        .get = link_cache_get,
        .record_hit = link_cache_record_hit,
    };
}

void link_cache_invalidate(struct link_cache *cache, const char *code, size_t code_len)
{
    if (code_len > 0 && code_len <= LINK_CODE_MAX) {
        link_cache_lru_remove(cache->lru, code, code_len);
    }
}

void link_cache_shrink(struct link_cache *cache)
{
    link_cache_lru_shrink(cache->lru);
}

void link_cache_stats(struct link_cache *cache, struct link_cache_stats *out)
{
    struct link_cache_lru_stats lru;
    link_cache_lru_stats(cache->lru, &lru);
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < LINK_CACHE_COUNTER_SHARDS; i++) {
        out->hits += atomic_load_explicit(&cache->counters[i].hits, memory_order_relaxed);
        out->misses += atomic_load_explicit(&cache->counters[i].misses, memory_order_relaxed);
    }
    out->evictions = lru.evictions;
    out->entries = lru.entries;
    out->bytes = lru.bytes;
}
