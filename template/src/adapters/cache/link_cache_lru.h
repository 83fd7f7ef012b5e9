/*
 * link_cache_lru.h: the links of the read cache, bounded by entries and
 * bytes, least recently used out first.
 *
 * Design
 * - The table is split into shards (a power of two, up to
 *   LINK_CACHE_LRU_MAX_SHARDS) by a seeded hash of the code; each shard has
 *   its own mutex, hash chains and LRU list, and an equal share of both
 *   budgets. Workers resolving different codes rarely meet on a lock, and
 *   small caches (tests) get one shard, so their LRU order is exact.
 * - An entry is one malloc: a header, then the code and the URL. A hit
 *   copies the link out under the shard's lock and allocates nothing; only
 *   a fill (a miss) allocates, and an eviction frees.
 * - Hit counts. Links never change except their hit count, and resolve must
 *   hand out the count including its own hit. An entry keeps the count read
 *   from the store at fill time plus the hits counted through it since.
 *   link_cache_lru_hit() adds one and *pins* the entry: the caller then
 *   tells the store (record_hit without a read) and unpins. A pinned entry
 *   is never freed (evicted, shrunk or removed entries that are pinned stay
 *   allocated, unreachable, until the last unpin), and every free bumps an
 *   epoch of the code's slot. A fill takes the slot's epoch before it reads
 *   the store and link_cache_lru_put() refuses it when the epoch moved: the
 *   read may then miss hits that an entry since freed had counted. So every
 *   count an entry hands out is exact as long as one process counts the
 *   store's hits (ADR 0019).
 *
 * Thread-safety: every function but create/destroy may be called from any
 * thread at any time.
 */
#ifndef HEXSVC_ADAPTERS_CACHE_LINK_CACHE_LRU_H
#define HEXSVC_ADAPTERS_CACHE_LINK_CACHE_LRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/link.h"

#define LINK_CACHE_LRU_MAX_SHARDS 16
/* Entries per shard below which the cache uses fewer shards. */
#define LINK_CACHE_LRU_MIN_SHARD_ENTRIES 64

struct link_cache_lru;
struct link_cache_entry;

struct link_cache_lru_stats {
    uint64_t entries;   /* live entries (pinned leftovers excluded) */
    uint64_t bytes;     /* bytes they take, headers included */
    uint64_t evictions; /* entries pushed out by the budgets or a shrink */
};

/* A fill's ticket: where the code lives and the slot's epoch before the read. */
struct link_cache_ticket {
    uint64_t hash;
    uint32_t epoch;
};

/* max_entries >= 1; max_bytes >= 1. 0 and *out, or -EINVAL, -ENOMEM. */
int link_cache_lru_create(size_t max_entries, size_t max_bytes, uint64_t hash_seed,
                          struct link_cache_lru **out);
/* Frees every entry, pinned ones included: a pin not given back by now is
 * never used again. */
void link_cache_lru_destroy(struct link_cache_lru *lru);

/* Bytes an entry for this link takes against the byte budget. */
size_t link_cache_lru_entry_bytes(size_t code_len, size_t url_len);

/* On a hit: counts one hit on the entry, pins it, copies the link (count
 * included) into *out, sets *pin and returns true. False on a miss, with
 * *ticket filled for a later put. code_len is 1..LINK_CODE_MAX. */
bool link_cache_lru_hit(struct link_cache_lru *lru, const char *code, size_t code_len,
                        struct link *out, struct link_cache_entry **pin,
                        struct link_cache_ticket *ticket);

/* Releases a pin from link_cache_lru_hit(). `forget`: the hit did not reach
 * the store, so the entry's count is wrong: drop the entry. */
void link_cache_lru_unpin(struct link_cache_lru *lru, struct link_cache_entry *pin, bool forget);

/*
 * Adds `link` (as read from the store, its count included) under the ticket
 * taken at the miss. 0 when it is in the cache now, or was already;
 * -EAGAIN when an entry of its slot was freed since the ticket (the read
 * may be stale); -E2BIG when it is larger than a shard's byte budget;
 * -EBUSY when pinned entries leave no room; -ENOMEM.
 */
int link_cache_lru_put(struct link_cache_lru *lru, const struct link *link,
                       const struct link_cache_ticket *ticket);

/* Drops the code's entry, if any (a write changed the link). */
void link_cache_lru_remove(struct link_cache_lru *lru, const char *code, size_t code_len);

/* Evicts the least recently used half of every shard (memory pressure). */
void link_cache_lru_shrink(struct link_cache_lru *lru);

void link_cache_lru_stats(struct link_cache_lru *lru, struct link_cache_lru_stats *out);

#endif
