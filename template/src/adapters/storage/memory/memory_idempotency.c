/*
 * memory_idempotency.c: a bounded slot table, a hash index and an age list.
 */
#include "adapters/storage/memory/memory_idempotency.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "platform/hash/hash.h"

#define MEMORY_IDEMPOTENCY_NONE UINT32_MAX
#define MEMORY_IDEMPOTENCY_PURGE_PER_CLAIM 2

/* A slot in use holds one key; its bytes (key, URL, alias) are in `bytes`. */
struct memory_idempotency_slot {
    char *bytes;
    uint32_t key_len;
    uint32_t url_len;
    uint32_t alias_len;
    uint32_t hash_next; /* next slot in the same bucket */
    uint32_t older;     /* age list neighbours */
    uint32_t newer;
    uint64_t hash;
    enum idempotency_state state;
    int64_t claimed_at_ms;
    int64_t expires_at_ms;
    struct idempotency_outcome outcome; /* when completed */
};

struct memory_idempotency {
    pthread_mutex_t lock;
    uint64_t hash_seed;
    struct memory_idempotency_slot *slots;
    size_t capacity;
    size_t used;       /* slots holding a key */
    size_t fresh;      /* slots [fresh, capacity) were never used */
    uint32_t free_list; /* released slots, linked through hash_next */
    uint32_t *buckets; /* first slot of each chain, or NONE */
    size_t bucket_mask;
    uint32_t oldest;
    uint32_t newest;
};

/* ---- the index ------------------------------------------------------------ */

/* Seeded: clients choose their keys (hash.h). */
static uint64_t memory_idempotency_hash(const struct memory_idempotency *store, const char *key,
                                        size_t key_len)
{
    return hash_bytes(store->hash_seed, key, key_len);
}

static uint32_t memory_idempotency_find(const struct memory_idempotency *store, uint64_t hash,
                                        const char *key, size_t key_len)
{
    uint32_t index = store->buckets[hash & store->bucket_mask];
    while (index != MEMORY_IDEMPOTENCY_NONE) {
        const struct memory_idempotency_slot *slot = &store->slots[index];
        if (slot->hash == hash && slot->key_len == key_len &&
            memcmp(slot->bytes, key, key_len) == 0) {
            return index;
        }
        index = slot->hash_next;
    }
    return MEMORY_IDEMPOTENCY_NONE;
}

static void memory_idempotency_age_append(struct memory_idempotency *store, uint32_t index)
{
    struct memory_idempotency_slot *slot = &store->slots[index];
    slot->older = store->newest;
    slot->newer = MEMORY_IDEMPOTENCY_NONE;
    if (store->newest != MEMORY_IDEMPOTENCY_NONE) {
        store->slots[store->newest].newer = index;
    } else {
        store->oldest = index;
    }
    store->newest = index;
}

static void memory_idempotency_age_unlink(struct memory_idempotency *store, uint32_t index)
{
    struct memory_idempotency_slot *slot = &store->slots[index];
    if (slot->older != MEMORY_IDEMPOTENCY_NONE) {
        store->slots[slot->older].newer = slot->newer;
    } else {
        store->oldest = slot->newer;
    }
    if (slot->newer != MEMORY_IDEMPOTENCY_NONE) {
        store->slots[slot->newer].older = slot->older;
    } else {
        store->newest = slot->older;
    }
}

static void memory_idempotency_remove(struct memory_idempotency *store, uint32_t index)
{
    struct memory_idempotency_slot *slot = &store->slots[index];
    uint32_t *link = &store->buckets[slot->hash & store->bucket_mask];
    while (*link != index) {
        link = &store->slots[*link].hash_next;
    }
    *link = slot->hash_next;
    memory_idempotency_age_unlink(store, index);
    free(slot->bytes);
    memset(slot, 0, sizeof(*slot));
    slot->hash_next = store->free_list;
    store->free_list = index;
    store->used--;
}

/* ---- entries -------------------------------------------------------------- */

static struct idempotency_entry memory_idempotency_view(const struct memory_idempotency_slot *slot)
{
    struct idempotency_entry entry = {
        .state = slot->state,
        .url = slot->bytes + slot->key_len,
        .url_len = slot->url_len,
        .alias = slot->bytes + slot->key_len + slot->url_len,
        .alias_len = slot->alias_len,
        .claimed_at_ms = slot->claimed_at_ms,
        .expires_at_ms = slot->expires_at_ms,
    };
    return entry;
}

/* Forgets expired keys at the head of the age list, a few per call, so
 * the table drains as time passes without a sweeper thread. */
static void memory_idempotency_purge(struct memory_idempotency *store, int64_t now_ms)
{
    for (int i = 0; i < MEMORY_IDEMPOTENCY_PURGE_PER_CLAIM; i++) {
        uint32_t index = store->oldest;
        if (index == MEMORY_IDEMPOTENCY_NONE || store->slots[index].expires_at_ms > now_ms) {
            return;
        }
        memory_idempotency_remove(store, index);
    }
}

/* Makes room in a full table: the oldest key that is expired or completed
 * goes; a pending one is a request still running and stays. */
static bool memory_idempotency_evict(struct memory_idempotency *store, int64_t now_ms)
{
    uint32_t index = store->oldest;
    while (index != MEMORY_IDEMPOTENCY_NONE) {
        const struct memory_idempotency_slot *slot = &store->slots[index];
        if (slot->state == IDEMPOTENCY_COMPLETED || slot->expires_at_ms <= now_ms) {
            memory_idempotency_remove(store, index);
            return true;
        }
        index = slot->newer;
    }
    return false;
}

static uint32_t memory_idempotency_take_slot(struct memory_idempotency *store, int64_t now_ms)
{
    if (store->used == store->capacity && !memory_idempotency_evict(store, now_ms)) {
        return MEMORY_IDEMPOTENCY_NONE;
    }
    uint32_t index = store->free_list;
    if (index != MEMORY_IDEMPOTENCY_NONE) {
        store->free_list = store->slots[index].hash_next;
    } else {
        index = (uint32_t)store->fresh++;
    }
    return index;
}

static void memory_idempotency_give_back(struct memory_idempotency *store, uint32_t index)
{
    store->slots[index].hash_next = store->free_list;
    store->free_list = index;
}

/* A new pending entry. DOMAIN_OK, STORE_FULL or STORE_UNAVAILABLE (no memory). */
static enum domain_error memory_idempotency_insert(struct memory_idempotency *store, uint64_t hash,
                                                   const char *key, size_t key_len,
                                                   const struct idempotency_request *request,
                                                   const struct idempotency_times *times)
{
    uint32_t index = memory_idempotency_take_slot(store, times->now_ms);
    if (index == MEMORY_IDEMPOTENCY_NONE) {
        return DOMAIN_ERROR_IDEMPOTENCY_STORE_FULL;
    }
    char *bytes = malloc(key_len + request->url_len + request->alias_len + 1);
    if (bytes == NULL) {
        memory_idempotency_give_back(store, index);
        return DOMAIN_ERROR_STORE_UNAVAILABLE;
    }
    memcpy(bytes, key, key_len);
    memcpy(bytes + key_len, request->url, request->url_len);
    if (request->alias_len > 0) {
        memcpy(bytes + key_len + request->url_len, request->alias, request->alias_len);
    }
    struct memory_idempotency_slot *slot = &store->slots[index];
    memset(slot, 0, sizeof(*slot));
    slot->bytes = bytes;
    slot->key_len = (uint32_t)key_len;
    slot->url_len = (uint32_t)request->url_len;
    slot->alias_len = (uint32_t)request->alias_len;
    slot->hash = hash;
    slot->state = IDEMPOTENCY_PENDING;
    slot->claimed_at_ms = times->now_ms;
    slot->expires_at_ms = times->expires_at_ms;
    size_t bucket = hash & store->bucket_mask;
    slot->hash_next = store->buckets[bucket];
    store->buckets[bucket] = index;
    memory_idempotency_age_append(store, index);
    store->used++;
    return DOMAIN_OK;
}

/* ---- the port ------------------------------------------------------------- */

static bool memory_idempotency_fits(size_t key_len, const struct idempotency_request *request)
{
    return key_len > 0 && key_len <= IDEMPOTENCY_KEY_MAX && request->url_len <= LINK_URL_MAX &&
           request->alias_len <= LINK_CODE_MAX;
}

/* With the lock held: the verdict for `key`, inserting or taking over. */
static enum domain_error memory_idempotency_claim_locked(struct memory_idempotency *store,
                                                         const char *key, size_t key_len,
                                                         const struct idempotency_request *request,
                                                         const struct idempotency_times *times,
                                                         enum idempotency_verdict *verdict,
                                                         struct idempotency_outcome *outcome)
{
    memory_idempotency_purge(store, times->now_ms);
    uint64_t hash = memory_idempotency_hash(store, key, key_len);
    uint32_t index = memory_idempotency_find(store, hash, key, key_len);
    if (index != MEMORY_IDEMPOTENCY_NONE) {
        struct memory_idempotency_slot *slot = &store->slots[index];
        struct idempotency_entry entry = memory_idempotency_view(slot);
        *verdict = idempotency_decide(&entry, request, times);
        if (*verdict == IDEMPOTENCY_REPLAY) {
            *outcome = slot->outcome;
        }
        if (*verdict != IDEMPOTENCY_CLAIMED) {
            return DOMAIN_OK;
        }
        if (!idempotency_expired(&entry, times->now_ms)) {
            /* A takeover: same request, so only the claim moves on. */
            slot->claimed_at_ms = times->now_ms;
            slot->expires_at_ms = times->expires_at_ms;
            memory_idempotency_age_unlink(store, index);
            memory_idempotency_age_append(store, index);
            return DOMAIN_OK;
        }
        memory_idempotency_remove(store, index);
    }
    *verdict = IDEMPOTENCY_CLAIMED;
    return memory_idempotency_insert(store, hash, key, key_len, request, times);
}

static enum domain_error memory_idempotency_claim(void *self, void *call_context, const char *key,
                                                  size_t key_len,
                                                  const struct idempotency_request *request,
                                                  const struct idempotency_times *times,
                                                  enum idempotency_verdict *verdict,
                                                  struct idempotency_outcome *outcome)
{
    struct memory_idempotency *store = self;
    (void)call_context;
    if (!memory_idempotency_fits(key_len, request)) {
        return DOMAIN_ERROR_INTERNAL;
    }
    pthread_mutex_lock(&store->lock);
    enum domain_error err =
        memory_idempotency_claim_locked(store, key, key_len, request, times, verdict, outcome);
    pthread_mutex_unlock(&store->lock);
    return err;
}

/* The slot of a key still pending under this claim, or NONE. */
static uint32_t memory_idempotency_find_claim(const struct memory_idempotency *store,
                                              const char *key, size_t key_len,
                                              int64_t claimed_at_ms)
{
    uint64_t hash = memory_idempotency_hash(store, key, key_len);
    uint32_t index = memory_idempotency_find(store, hash, key, key_len);
    if (index == MEMORY_IDEMPOTENCY_NONE || store->slots[index].state != IDEMPOTENCY_PENDING ||
        store->slots[index].claimed_at_ms != claimed_at_ms) {
        return MEMORY_IDEMPOTENCY_NONE;
    }
    return index;
}

static enum domain_error memory_idempotency_complete(void *self, void *call_context,
                                                     const char *key, size_t key_len,
                                                     int64_t claimed_at_ms,
                                                     const struct idempotency_outcome *outcome)
{
    struct memory_idempotency *store = self;
    (void)call_context;
    pthread_mutex_lock(&store->lock);
    uint32_t index = memory_idempotency_find_claim(store, key, key_len, claimed_at_ms);
    if (index != MEMORY_IDEMPOTENCY_NONE) {
        store->slots[index].state = IDEMPOTENCY_COMPLETED;
        store->slots[index].outcome = *outcome;
    }
    pthread_mutex_unlock(&store->lock);
    return DOMAIN_OK;
}

static enum domain_error memory_idempotency_release(void *self, void *call_context, const char *key,
                                                    size_t key_len, int64_t claimed_at_ms)
{
    struct memory_idempotency *store = self;
    (void)call_context;
    pthread_mutex_lock(&store->lock);
    uint32_t index = memory_idempotency_find_claim(store, key, key_len, claimed_at_ms);
    if (index != MEMORY_IDEMPOTENCY_NONE) {
        memory_idempotency_remove(store, index);
    }
    pthread_mutex_unlock(&store->lock);
    return DOMAIN_OK;
}

struct idempotency_store memory_idempotency_port(struct memory_idempotency *store)
{
    struct idempotency_store port = {
        .self = store,
        .claim = memory_idempotency_claim,
        .complete = memory_idempotency_complete,
        .release = memory_idempotency_release,
    };
    return port;
}

/* ---- lifecycle ------------------------------------------------------------ */

int memory_idempotency_create(size_t capacity, uint64_t hash_seed, struct memory_idempotency **out)
{
    if (capacity < 1 || capacity > MEMORY_IDEMPOTENCY_MAX_CAPACITY) {
        return -EINVAL;
    }
    size_t buckets = 1;
    while (buckets < capacity) {
        buckets <<= 1;
    }
    struct memory_idempotency *store = calloc(1, sizeof(*store));
    if (store == NULL) {
        return -ENOMEM;
    }
    store->slots = calloc(capacity, sizeof(*store->slots));
    store->buckets = malloc(buckets * sizeof(*store->buckets));
    if (store->slots == NULL || store->buckets == NULL ||
        pthread_mutex_init(&store->lock, NULL) != 0) {
        free(store->slots);
        free(store->buckets);
        free(store);
        return -ENOMEM;
    }
    memset(store->buckets, 0xff, buckets * sizeof(*store->buckets)); /* all NONE */
    store->capacity = capacity;
    store->bucket_mask = buckets - 1;
    store->hash_seed = hash_seed;
    store->free_list = MEMORY_IDEMPOTENCY_NONE;
    store->oldest = MEMORY_IDEMPOTENCY_NONE;
    store->newest = MEMORY_IDEMPOTENCY_NONE;
    *out = store;
    return 0;
}

size_t memory_idempotency_count(struct memory_idempotency *store)
{
    pthread_mutex_lock(&store->lock);
    size_t used = store->used;
    pthread_mutex_unlock(&store->lock);
    return used;
}

void memory_idempotency_destroy(struct memory_idempotency *store)
{
    if (store == NULL) {
        return;
    }
    for (size_t i = 0; i < store->fresh; i++) {
        free(store->slots[i].bytes);
    }
    pthread_mutex_destroy(&store->lock);
    free(store->slots);
    free(store->buckets);
    free(store);
}
