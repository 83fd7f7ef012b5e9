/*
 * link_cache_lru.c: sharded hash chains with an LRU list per shard.
 */
#include "adapters/cache/link_cache_lru.h"

#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "platform/hash/hash.h"

#define LINK_CACHE_LRU_CACHE_LINE 64
#define LINK_CACHE_LRU_EPOCH_SLOTS 64
#define LINK_CACHE_LRU_MAX_BUCKETS ((size_t)1 << 20)

/* One link: the header, then code, NUL, URL, NUL in the same allocation. */
struct link_cache_entry {
    struct link_cache_entry *chain; /* next in the hash bucket */
    struct link_cache_entry *newer; /* LRU list (dead: the shard's dead list) */
    struct link_cache_entry *older; /* toward the tail of either list */
    uint64_t hash;
    int64_t created_at_ms;
    uint64_t hit_count;
    uint32_t pins;   /* hits whose record_hit has not returned yet */
    uint16_t url_len;
    uint8_t code_len;
    bool dead;       /* out of the map, freed by the last unpin */
    char text[];
};

struct link_cache_shard {
    /* Each shard on its own cache lines: workers locking neighbouring
     * shards must not bounce one line between their cores. */
    alignas(LINK_CACHE_LRU_CACHE_LINE) pthread_mutex_t lock;
    struct link_cache_entry **buckets;
    size_t bucket_mask;
    struct link_cache_entry *newest;
    struct link_cache_entry *oldest;
    /* Dropped while pinned, waiting for their last unpin: kept on a list
     * so that destroy frees them too if a pin is never given back. */
    struct link_cache_entry *dead;
    size_t entries;
    size_t bytes;
    size_t max_entries;
    size_t max_bytes;
    uint64_t evictions;
    uint32_t epochs[LINK_CACHE_LRU_EPOCH_SLOTS];
};

struct link_cache_lru {
    uint64_t hash_seed;
    unsigned shard_count; /* a power of two */
    struct link_cache_shard shards[LINK_CACHE_LRU_MAX_SHARDS];
};

/* The bucket (low bits), epoch slot and shard (high bits) all come from
 * one hash_bytes(); seeded so that aliases cannot be picked to share one
 * chain (hash.h). */
static uint64_t link_cache_lru_hash(const struct link_cache_lru *lru, const char *code, size_t len)
{
    return hash_bytes(lru->hash_seed, code, len);
}

static struct link_cache_shard *link_cache_lru_shard(struct link_cache_lru *lru, uint64_t hash)
{
    return &lru->shards[(hash >> 40) & (lru->shard_count - 1)];
}

static uint32_t *link_cache_lru_epoch(struct link_cache_shard *shard, uint64_t hash)
{
    return &shard->epochs[(hash >> 16) % LINK_CACHE_LRU_EPOCH_SLOTS];
}

size_t link_cache_lru_entry_bytes(size_t code_len, size_t url_len)
{
    return sizeof(struct link_cache_entry) + code_len + 1 + url_len + 1;
}

static size_t link_cache_lru_round_pow2(size_t n)
{
    size_t p = 1;
    while (p < n && p < LINK_CACHE_LRU_MAX_BUCKETS) {
        p <<= 1;
    }
    return p;
}

static unsigned link_cache_lru_shard_count(size_t max_entries)
{
    unsigned count = 1;
    while (count < LINK_CACHE_LRU_MAX_SHARDS &&
           max_entries / ((size_t)count * 2) >= LINK_CACHE_LRU_MIN_SHARD_ENTRIES) {
        count *= 2;
    }
    return count;
}

int link_cache_lru_create(size_t max_entries, size_t max_bytes, uint64_t hash_seed,
                          struct link_cache_lru **out)
{
    if (max_entries == 0 || max_bytes == 0) {
        return -EINVAL;
    }
    size_t size = (sizeof(struct link_cache_lru) + LINK_CACHE_LRU_CACHE_LINE - 1) /
                  LINK_CACHE_LRU_CACHE_LINE * LINK_CACHE_LRU_CACHE_LINE;
    struct link_cache_lru *lru = aligned_alloc(LINK_CACHE_LRU_CACHE_LINE, size);
    if (lru == NULL) {
        return -ENOMEM;
    }
    memset(lru, 0, size);
    lru->hash_seed = hash_seed;
    lru->shard_count = link_cache_lru_shard_count(max_entries);
    for (unsigned i = 0; i < lru->shard_count; i++) {
        struct link_cache_shard *shard = &lru->shards[i];
        /* Ceilings, so that the shares never add up to less than asked. */
        shard->max_entries = (max_entries + lru->shard_count - 1) / lru->shard_count;
        shard->max_bytes = (max_bytes + lru->shard_count - 1) / lru->shard_count;
        size_t buckets = link_cache_lru_round_pow2(shard->max_entries);
        shard->buckets = calloc(buckets, sizeof(struct link_cache_entry *));
        shard->bucket_mask = buckets - 1;
        pthread_mutex_init(&shard->lock, NULL);
        if (shard->buckets == NULL) {
            lru->shard_count = i + 1;
            link_cache_lru_destroy(lru);
            return -ENOMEM;
        }
    }
    *out = lru;
    return 0;
}

void link_cache_lru_destroy(struct link_cache_lru *lru)
{
    if (lru == NULL) {
        return;
    }
    for (unsigned i = 0; i < lru->shard_count; i++) {
        struct link_cache_shard *shard = &lru->shards[i];
        struct link_cache_entry *lists[] = {shard->newest, shard->dead};
        for (size_t list = 0; list < 2; list++) {
            struct link_cache_entry *entry = lists[list];
            while (entry != NULL) {
                struct link_cache_entry *older = entry->older;
                free(entry);
                entry = older;
            }
        }
        free(shard->buckets);
        pthread_mutex_destroy(&shard->lock);
    }
    free(lru);
}

/* ---- under the shard's lock ----------------------------------------------- */

static struct link_cache_entry **link_cache_shard_find(struct link_cache_shard *shard,
                                                       uint64_t hash, const char *code,
                                                       size_t code_len)
{
    struct link_cache_entry **link = &shard->buckets[hash & shard->bucket_mask];
    while (*link != NULL) {
        struct link_cache_entry *entry = *link;
        if (entry->hash == hash && entry->code_len == code_len &&
            memcmp(entry->text, code, code_len) == 0) {
            return link;
        }
        link = &entry->chain;
    }
    return link;
}

static void link_cache_shard_unlink_lru(struct link_cache_shard *shard,
                                        struct link_cache_entry *entry)
{
    if (entry->newer != NULL) {
        entry->newer->older = entry->older;
    } else {
        shard->newest = entry->older;
    }
    if (entry->older != NULL) {
        entry->older->newer = entry->newer;
    } else {
        shard->oldest = entry->newer;
    }
    entry->newer = NULL;
    entry->older = NULL;
}

static void link_cache_shard_push_newest(struct link_cache_shard *shard,
                                         struct link_cache_entry *entry)
{
    entry->older = shard->newest;
    entry->newer = NULL;
    if (shard->newest != NULL) {
        shard->newest->newer = entry;
    } else {
        shard->oldest = entry;
    }
    shard->newest = entry;
}

static size_t link_cache_entry_size(const struct link_cache_entry *entry)
{
    return link_cache_lru_entry_bytes(entry->code_len, entry->url_len);
}

/* Frees an entry nobody can reach any more, and moves its slot's epoch so
 * that a fill which read the store before now cannot go in (see the header). */
static void link_cache_shard_free(struct link_cache_shard *shard, struct link_cache_entry *entry)
{
    (*link_cache_lru_epoch(shard, entry->hash))++;
    free(entry);
}

static void link_cache_shard_push_dead(struct link_cache_shard *shard,
                                       struct link_cache_entry *entry)
{
    entry->dead = true;
    entry->newer = NULL;
    entry->older = shard->dead;
    if (shard->dead != NULL) {
        shard->dead->newer = entry;
    }
    shard->dead = entry;
}

/* The last pin of a dead entry is gone: off the dead list, and freed. */
static void link_cache_shard_free_dead(struct link_cache_shard *shard,
                                       struct link_cache_entry *entry)
{
    if (entry->newer != NULL) {
        entry->newer->older = entry->older;
    } else {
        shard->dead = entry->older;
    }
    if (entry->older != NULL) {
        entry->older->newer = entry->newer;
    }
    link_cache_shard_free(shard, entry);
}

/* Takes the entry out of the map and the budgets; frees it unless a hit
 * still has it pinned (then the last unpin does). */
static void link_cache_shard_drop(struct link_cache_shard *shard, struct link_cache_entry **link)
{
    struct link_cache_entry *entry = *link;
    if (entry == NULL) {
        return;
    }
    *link = entry->chain;
    entry->chain = NULL;
    link_cache_shard_unlink_lru(shard, entry);
    shard->entries--;
    shard->bytes -= link_cache_entry_size(entry);
    if (entry->pins > 0) {
        link_cache_shard_push_dead(shard, entry);
        return;
    }
    link_cache_shard_free(shard, entry);
}

static void link_cache_shard_evict_oldest(struct link_cache_shard *shard)
{
    struct link_cache_entry *oldest = shard->oldest;
    if (oldest == NULL) {
        return;
    }
    struct link_cache_entry **link =
        link_cache_shard_find(shard, oldest->hash, oldest->text, oldest->code_len);
    link_cache_shard_drop(shard, link);
    shard->evictions++;
}

/* ---- public --------------------------------------------------------------- */

static void link_cache_entry_copy(const struct link_cache_entry *entry, struct link *out)
{
    memcpy(out->code, entry->text, entry->code_len + (size_t)1);
    out->code_len = entry->code_len;
    memcpy(out->url, entry->text + entry->code_len + 1, entry->url_len + (size_t)1);
    out->url_len = entry->url_len;
    out->created_at_ms = entry->created_at_ms;
    out->hit_count = entry->hit_count;
}

bool link_cache_lru_hit(struct link_cache_lru *lru, const char *code, size_t code_len,
                        struct link *out, struct link_cache_entry **pin,
                        struct link_cache_ticket *ticket)
{
    uint64_t hash = link_cache_lru_hash(lru, code, code_len);
    struct link_cache_shard *shard = link_cache_lru_shard(lru, hash);
    pthread_mutex_lock(&shard->lock);
    struct link_cache_entry *entry = *link_cache_shard_find(shard, hash, code, code_len);
    if (entry == NULL) {
        ticket->hash = hash;
        ticket->epoch = *link_cache_lru_epoch(shard, hash);
        pthread_mutex_unlock(&shard->lock);
        return false;
    }
    if (shard->newest != entry) {
        link_cache_shard_unlink_lru(shard, entry);
        link_cache_shard_push_newest(shard, entry);
    }
    entry->hit_count++;
    entry->pins++;
    link_cache_entry_copy(entry, out);
    pthread_mutex_unlock(&shard->lock);
    *pin = entry;
    return true;
}

void link_cache_lru_unpin(struct link_cache_lru *lru, struct link_cache_entry *pin, bool forget)
{
    struct link_cache_shard *shard = link_cache_lru_shard(lru, pin->hash);
    pthread_mutex_lock(&shard->lock);
    pin->pins--;
    if (forget && !pin->dead) {
        link_cache_shard_drop(shard,
                              link_cache_shard_find(shard, pin->hash, pin->text, pin->code_len));
    } else if (pin->dead && pin->pins == 0) {
        link_cache_shard_free_dead(shard, pin);
    }
    pthread_mutex_unlock(&shard->lock);
}

static struct link_cache_entry *link_cache_entry_new(const struct link *link, uint64_t hash)
{
    struct link_cache_entry *entry =
        malloc(link_cache_lru_entry_bytes(link->code_len, link->url_len));
    if (entry == NULL) {
        return NULL;
    }
    memset(entry, 0, sizeof(*entry));
    entry->hash = hash;
    entry->created_at_ms = link->created_at_ms;
    entry->hit_count = link->hit_count;
    entry->url_len = (uint16_t)link->url_len;
    entry->code_len = (uint8_t)link->code_len;
    memcpy(entry->text, link->code, link->code_len);
    entry->text[link->code_len] = '\0';
    memcpy(entry->text + link->code_len + 1, link->url, link->url_len);
    entry->text[link->code_len + 1 + link->url_len] = '\0';
    return entry;
}

int link_cache_lru_put(struct link_cache_lru *lru, const struct link *link,
                       const struct link_cache_ticket *ticket)
{
    if (link->code_len == 0 || link->code_len > LINK_CODE_MAX || link->url_len > LINK_URL_MAX) {
        return -EINVAL;
    }
    struct link_cache_shard *shard = link_cache_lru_shard(lru, ticket->hash);
    size_t size = link_cache_lru_entry_bytes(link->code_len, link->url_len);
    if (size > shard->max_bytes) {
        return -E2BIG;
    }
    /* Allocated before the lock, so no other worker waits on malloc. */
    struct link_cache_entry *entry = link_cache_entry_new(link, ticket->hash);
    if (entry == NULL) {
        return -ENOMEM;
    }
    pthread_mutex_lock(&shard->lock);
    int rc = 0;
    struct link_cache_entry **slot =
        link_cache_shard_find(shard, ticket->hash, link->code, link->code_len);
    if (*slot != NULL) {
        rc = 1; /* another fill won: its count is the one in use */
    } else if (*link_cache_lru_epoch(shard, ticket->hash) != ticket->epoch) {
        rc = -EAGAIN;
    } else {
        while (shard->entries + 1 > shard->max_entries || shard->bytes + size > shard->max_bytes) {
            link_cache_shard_evict_oldest(shard);
        }
        /* The eviction may have emptied the chain `slot` pointed into. */
        slot = link_cache_shard_find(shard, ticket->hash, link->code, link->code_len);
        *slot = entry;
        link_cache_shard_push_newest(shard, entry);
        shard->entries++;
        shard->bytes += size;
        entry = NULL;
    }
    pthread_mutex_unlock(&shard->lock);
    free(entry);
    return rc > 0 ? 0 : rc;
}

void link_cache_lru_remove(struct link_cache_lru *lru, const char *code, size_t code_len)
{
    uint64_t hash = link_cache_lru_hash(lru, code, code_len);
    struct link_cache_shard *shard = link_cache_lru_shard(lru, hash);
    pthread_mutex_lock(&shard->lock);
    struct link_cache_entry **link = link_cache_shard_find(shard, hash, code, code_len);
    if (*link != NULL) {
        link_cache_shard_drop(shard, link);
    }
    pthread_mutex_unlock(&shard->lock);
}

void link_cache_lru_shrink(struct link_cache_lru *lru)
{
    for (unsigned i = 0; i < lru->shard_count; i++) {
        struct link_cache_shard *shard = &lru->shards[i];
        pthread_mutex_lock(&shard->lock);
        size_t keep = shard->entries / 2;
        while (shard->entries > keep) {
            link_cache_shard_evict_oldest(shard);
        }
        pthread_mutex_unlock(&shard->lock);
    }
}

void link_cache_lru_stats(struct link_cache_lru *lru, struct link_cache_lru_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < lru->shard_count; i++) {
        struct link_cache_shard *shard = &lru->shards[i];
        pthread_mutex_lock(&shard->lock);
        out->entries += shard->entries;
        out->bytes += shard->bytes;
        out->evictions += shard->evictions;
        pthread_mutex_unlock(&shard->lock);
    }
}
