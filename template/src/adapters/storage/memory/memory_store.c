/*
 * memory_store.c: striped open-addressing hash maps over slab memory.
 */
#include "adapters/storage/memory/memory_store.h"

#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "platform/hash/hash.h"

#define MEMORY_STORE_INITIAL_SLOTS 64
#define MEMORY_STORE_CACHE_LINE 64

/* One link; the URL bytes follow the struct in the same slab allocation. */
struct memory_entry {
    int64_t created_at_ms;
    /* Atomic: resolves add to it under the stripe's read lock, side by side. */
    _Atomic uint64_t hit_count;
    uint32_t url_len;
    uint8_t code_len;
    char code[LINK_CODE_MAX];
    char url[];
};

/* A bump allocator's block. Entries are never freed one by one: the whole
 * chain goes at destroy time, which is why carving them is so cheap. */
struct memory_slab {
    struct memory_slab *next;
    size_t used;
    alignas(struct memory_entry) unsigned char bytes[];
};

#define MEMORY_SLAB_CAPACITY (MEMORY_STORE_SLAB_SIZE - offsetof(struct memory_slab, bytes))

/* A table slot keeps the hash next to the pointer, so probing past other
 * codes compares hashes in the table without touching their entries. */
struct memory_slot {
    uint64_t hash;
    struct memory_entry *entry; /* NULL when the slot is free */
};

struct memory_stripe {
    /* Each stripe on its own cache lines, so two workers locking
     * neighbouring stripes do not bounce one line between their cores.
     * Lookups take it shared, creates exclusive, so lookups of one hot
     * stripe never wait for each other, and a worker preempted in the middle
     * of a lookup does not put the other to sleep. Two threads resolving
     * one code made ~100k futex calls in 3 s with a mutex, 4 with this. */
    alignas(MEMORY_STORE_CACHE_LINE) pthread_rwlock_t lock;
    struct memory_slot *slots; /* capacity slots */
    size_t capacity;           /* a power of two */
    size_t count;
    struct memory_slab *slabs; /* newest first; only the head has room */
    size_t allocated_bytes;
};

struct memory_store {
    uint64_t hash_seed;
    struct memory_stripe stripes[MEMORY_STORE_STRIPES];
};

/* Both the low bits (slot) and the high bits (stripe) of one seeded
 * hash_bytes() depend on every byte of the code (hash.h). */
static uint64_t memory_store_hash(const struct memory_store *store, const char *code, size_t len)
{
    return hash_bytes(store->hash_seed, code, len);
}

static struct memory_stripe *memory_store_stripe(struct memory_store *store, uint64_t hash)
{
    return &store->stripes[(hash >> 32) % MEMORY_STORE_STRIPES];
}

/* The slot holding `code`, or the free slot where it would go. */
static struct memory_slot *memory_stripe_slot(const struct memory_stripe *stripe, uint64_t hash,
                                              const char *code, size_t code_len)
{
    size_t mask = stripe->capacity - 1;
    /* Terminates: the load factor stays below 3/4, so a free slot exists. */
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        struct memory_slot *slot = &stripe->slots[i];
        if (slot->entry == NULL || (slot->hash == hash && slot->entry->code_len == code_len &&
                                    memcmp(slot->entry->code, code, code_len) == 0)) {
            return slot;
        }
    }
}

static int memory_stripe_grow(struct memory_stripe *stripe)
{
    size_t new_capacity = stripe->capacity * 2;
    struct memory_slot *new_slots = calloc(new_capacity, sizeof *new_slots);
    if (new_slots == NULL) {
        return -ENOMEM;
    }
    size_t mask = new_capacity - 1;
    for (size_t i = 0; i < stripe->capacity; i++) {
        struct memory_slot old = stripe->slots[i];
        if (old.entry == NULL) {
            continue;
        }
        size_t index = old.hash & mask;
        while (new_slots[index].entry != NULL) {
            index = (index + 1) & mask;
        }
        new_slots[index] = old;
    }
    free(stripe->slots);
    stripe->allocated_bytes += (new_capacity - stripe->capacity) * sizeof *new_slots;
    stripe->slots = new_slots;
    stripe->capacity = new_capacity;
    return 0;
}

/* Carves `size` bytes, aligned for an entry, from the head slab, starting a
 * new slab when the head cannot hold them. NULL on ENOMEM. */
static void *memory_stripe_carve(struct memory_stripe *stripe, size_t size)
{
    size_t align = alignof(struct memory_entry);
    struct memory_slab *slab = stripe->slabs;
    size_t offset = slab != NULL ? (slab->used + align - 1) & ~(align - 1) : 0;
    if (slab == NULL || offset + size > MEMORY_SLAB_CAPACITY) {
        slab = malloc(MEMORY_STORE_SLAB_SIZE);
        if (slab == NULL) {
            return NULL;
        }
        slab->next = stripe->slabs;
        slab->used = 0;
        stripe->slabs = slab;
        stripe->allocated_bytes += MEMORY_STORE_SLAB_SIZE;
        offset = 0;
    }
    slab->used = offset + size;
    return slab->bytes + offset;
}

static void memory_entry_to_link(const struct memory_entry *entry, struct link *out)
{
    memcpy(out->code, entry->code, entry->code_len);
    out->code[entry->code_len] = '\0';
    out->code_len = entry->code_len;
    memcpy(out->url, entry->url, entry->url_len);
    out->url[entry->url_len] = '\0';
    out->url_len = entry->url_len;
    out->created_at_ms = entry->created_at_ms;
    out->hit_count = atomic_load_explicit(&entry->hit_count, memory_order_relaxed);
}

/* Called with the stripe locked exclusive; `slot` is the free slot found for the code. */
static enum domain_error memory_stripe_insert(struct memory_stripe *stripe, uint64_t hash,
                                              struct memory_slot *slot, const struct link *link)
{
    if ((stripe->count + 1) * 4 > stripe->capacity * 3) {
        if (memory_stripe_grow(stripe) != 0) {
            return DOMAIN_ERROR_STORE_UNAVAILABLE;
        }
        slot = memory_stripe_slot(stripe, hash, link->code, link->code_len);
    }
    struct memory_entry *entry = memory_stripe_carve(stripe, sizeof *entry + link->url_len);
    if (entry == NULL) {
        return DOMAIN_ERROR_STORE_UNAVAILABLE;
    }
    entry->created_at_ms = link->created_at_ms;
    atomic_init(&entry->hit_count, link->hit_count);
    entry->url_len = (uint32_t)link->url_len;
    entry->code_len = (uint8_t)link->code_len;
    memcpy(entry->code, link->code, link->code_len);
    memcpy(entry->url, link->url, link->url_len);
    slot->hash = hash;
    slot->entry = entry;
    stripe->count++;
    return DOMAIN_OK;
}

static bool memory_store_code_fits(size_t code_len)
{
    return code_len > 0 && code_len <= LINK_CODE_MAX;
}

static enum domain_error memory_store_create_link(void *self, void *call_context,
                                                  const struct link *link)
{
    (void)call_context;
    struct memory_store *store = self;
    if (!memory_store_code_fits(link->code_len) || link->url_len > LINK_URL_MAX) {
        return DOMAIN_ERROR_INTERNAL;
    }
    uint64_t hash = memory_store_hash(store, link->code, link->code_len);
    struct memory_stripe *stripe = memory_store_stripe(store, hash);
    pthread_rwlock_wrlock(&stripe->lock);
    struct memory_slot *slot = memory_stripe_slot(stripe, hash, link->code, link->code_len);
    enum domain_error err = slot->entry != NULL ? DOMAIN_ERROR_CODE_TAKEN
                                                : memory_stripe_insert(stripe, hash, slot, link);
    pthread_rwlock_unlock(&stripe->lock);
    return err;
}

/* Shared by get and record_hit: `hits` is added atomically under the read
 * lock (entries never move or go while it is held). */
static enum domain_error memory_store_lookup(struct memory_store *store, const char *code,
                                             size_t code_len, uint64_t hits, struct link *out)
{
    if (!memory_store_code_fits(code_len)) {
        return DOMAIN_ERROR_NOT_FOUND;
    }
    uint64_t hash = memory_store_hash(store, code, code_len);
    struct memory_stripe *stripe = memory_store_stripe(store, hash);
    pthread_rwlock_rdlock(&stripe->lock);
    struct memory_entry *entry = memory_stripe_slot(stripe, hash, code, code_len)->entry;
    if (entry != NULL) {
        if (hits > 0) {
            atomic_fetch_add_explicit(&entry->hit_count, hits, memory_order_relaxed);
        }
        if (out != NULL) {
            memory_entry_to_link(entry, out);
        }
    }
    pthread_rwlock_unlock(&stripe->lock);
    return entry != NULL ? DOMAIN_OK : DOMAIN_ERROR_NOT_FOUND;
}

static enum domain_error memory_store_get(void *self, void *call_context, const char *code,
                                          size_t code_len, struct link *out)
{
    (void)call_context;
    return memory_store_lookup(self, code, code_len, 0, out);
}

static enum domain_error memory_store_record_hit(void *self, void *call_context, const char *code,
                                                 size_t code_len, struct link *out)
{
    (void)call_context;
    return memory_store_lookup(self, code, code_len, 1, out);
}

static void memory_stripe_release(struct memory_stripe *stripe)
{
    struct memory_slab *slab = stripe->slabs;
    while (slab != NULL) {
        struct memory_slab *next = slab->next;
        free(slab);
        slab = next;
    }
    free(stripe->slots);
    pthread_rwlock_destroy(&stripe->lock);
}

static int memory_stripe_init(struct memory_stripe *stripe)
{
    stripe->slots = calloc(MEMORY_STORE_INITIAL_SLOTS, sizeof *stripe->slots);
    if (stripe->slots == NULL) {
        return -ENOMEM;
    }
    int rc = pthread_rwlock_init(&stripe->lock, NULL);
    if (rc != 0) {
        free(stripe->slots);
        return -rc;
    }
    stripe->capacity = MEMORY_STORE_INITIAL_SLOTS;
    stripe->count = 0;
    stripe->slabs = NULL;
    stripe->allocated_bytes = MEMORY_STORE_INITIAL_SLOTS * sizeof *stripe->slots;
    return 0;
}

int memory_store_create(uint64_t hash_seed, struct memory_store **out)
{
    /* aligned_alloc wants a size that is a multiple of the alignment, which
     * the cache-line aligned stripes make sizeof already. */
    struct memory_store *store = aligned_alloc(alignof(struct memory_store), sizeof *store);
    if (store == NULL) {
        return -ENOMEM;
    }
    store->hash_seed = hash_seed;
    for (size_t i = 0; i < MEMORY_STORE_STRIPES; i++) {
        int rc = memory_stripe_init(&store->stripes[i]);
        if (rc != 0) {
            while (i-- > 0) {
                memory_stripe_release(&store->stripes[i]);
            }
            free(store);
            return rc;
        }
    }
    *out = store;
    return 0;
}

void memory_store_destroy(struct memory_store *store)
{
    if (store == NULL) {
        return;
    }
    for (size_t i = 0; i < MEMORY_STORE_STRIPES; i++) {
        memory_stripe_release(&store->stripes[i]);
    }
    free(store);
}

struct link_store memory_store_port(struct memory_store *store)
{
    struct link_store port = {
        .self = store,
        .create = memory_store_create_link,
        .get = memory_store_get,
        .record_hit = memory_store_record_hit,
    };
    return port;
}

/* Totals over the stripes, each read under its own lock. */
static void memory_store_totals(struct memory_store *store, size_t *count, size_t *allocated_bytes)
{
    *count = 0;
    *allocated_bytes = sizeof *store;
    for (size_t i = 0; i < MEMORY_STORE_STRIPES; i++) {
        struct memory_stripe *stripe = &store->stripes[i];
        pthread_rwlock_rdlock(&stripe->lock);
        *count += stripe->count;
        *allocated_bytes += stripe->allocated_bytes;
        pthread_rwlock_unlock(&stripe->lock);
    }
}

size_t memory_store_count(struct memory_store *store)
{
    size_t count;
    size_t allocated_bytes;
    memory_store_totals(store, &count, &allocated_bytes);
    return count;
}

size_t memory_store_allocated_bytes(struct memory_store *store)
{
    size_t count;
    size_t allocated_bytes;
    memory_store_totals(store, &count, &allocated_bytes);
    return allocated_bytes;
}
