/*
 * sqlite_hits.c: linear probing over fixed-size slots; no deletes, only a
 * clear of the whole table, so no tombstones.
 */
#include "adapters/storage/sqlite/sqlite_hits.h"

#include <stdlib.h>
#include <string.h>

#include "platform/hash/hash.h"

#define SQLITE_HITS_INITIAL_CAPACITY 64

/* Unseeded (hash.h, seed 0). The table lives for one flush interval and
 * holds only codes that exist (they were found before being counted), so
 * hostile collisions are bounded by the number of links an attacker can
 * create. */
static uint64_t sqlite_hits_hash(const char *code, size_t len)
{
    return hash_bytes(0, code, len);
}

static struct sqlite_hit *sqlite_hits_slot(const struct sqlite_hits *hits, const char *code,
                                           size_t code_len)
{
    size_t mask = hits->capacity - 1;
    for (size_t i = sqlite_hits_hash(code, code_len) & mask;; i = (i + 1) & mask) {
        struct sqlite_hit *slot = &hits->slots[i];
        if (slot->count == 0 ||
            (slot->code_len == code_len && memcmp(slot->code, code, code_len) == 0)) {
            return slot;
        }
    }
}

static int sqlite_hits_grow(struct sqlite_hits *hits)
{
    size_t capacity = hits->capacity == 0 ? SQLITE_HITS_INITIAL_CAPACITY : hits->capacity * 2;
    struct sqlite_hits grown = {.slots = calloc(capacity, sizeof(struct sqlite_hit)),
                                .capacity = capacity};
    if (grown.slots == NULL) {
        return -1;
    }
    for (size_t i = 0; i < hits->capacity; i++) {
        const struct sqlite_hit *old = &hits->slots[i];
        if (old->count != 0) {
            *sqlite_hits_slot(&grown, old->code, old->code_len) = *old;
            grown.count++;
        }
    }
    free(hits->slots);
    *hits = grown;
    return 0;
}

void sqlite_hits_init(struct sqlite_hits *hits)
{
    memset(hits, 0, sizeof(*hits));
}

void sqlite_hits_release(struct sqlite_hits *hits)
{
    free(hits->slots);
    sqlite_hits_init(hits);
}

uint64_t sqlite_hits_add(struct sqlite_hits *hits, const char *code, size_t code_len,
                         uint64_t delta)
{
    if ((hits->count + 1) * 4 > hits->capacity * 3 && sqlite_hits_grow(hits) != 0) {
        return 0;
    }
    struct sqlite_hit *slot = sqlite_hits_slot(hits, code, code_len);
    if (slot->count == 0) {
        slot->code_len = (uint8_t)code_len;
        memcpy(slot->code, code, code_len);
        hits->count++;
    }
    slot->count += delta;
    return slot->count;
}

uint64_t sqlite_hits_get(const struct sqlite_hits *hits, const char *code, size_t code_len)
{
    if (hits->capacity == 0) {
        return 0;
    }
    return sqlite_hits_slot(hits, code, code_len)->count;
}

void sqlite_hits_clear(struct sqlite_hits *hits)
{
    if (hits->count != 0) {
        memset(hits->slots, 0, hits->capacity * sizeof(struct sqlite_hit));
        hits->count = 0;
    }
}
