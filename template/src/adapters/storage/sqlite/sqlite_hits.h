/*
 * sqlite_hits.h: resolves counted in memory, not yet written to the file.
 *
 * Writing one UPDATE per redirect would make every resolve a disk write and
 * serialise all of them on SQLite's single writer. Instead resolves add to
 * this table and a background thread writes the sums in one transaction
 * every flush interval (sqlite_store.c).
 *
 * A plain open-addressing map from code to count. Not thread-safe: its
 * owner locks around every call.
 */
#ifndef HEXSVC_ADAPTERS_STORAGE_SQLITE_HITS_H
#define HEXSVC_ADAPTERS_STORAGE_SQLITE_HITS_H

#include <stddef.h>
#include <stdint.h>

#include "domain/link.h"

struct sqlite_hit {
    uint64_t count; /* 0: the slot is free */
    uint8_t code_len;
    char code[LINK_CODE_MAX];
};

struct sqlite_hits {
    struct sqlite_hit *slots;
    size_t capacity; /* a power of two, or 0 before the first add */
    size_t count;
};

void sqlite_hits_init(struct sqlite_hits *hits);
void sqlite_hits_release(struct sqlite_hits *hits);

/* Adds `delta` to the code's count; the new count, or 0 when out of memory
 * (nothing was added). code_len is 1..LINK_CODE_MAX. */
uint64_t sqlite_hits_add(struct sqlite_hits *hits, const char *code, size_t code_len,
                         uint64_t delta);

/* The code's pending count (0 if none). */
uint64_t sqlite_hits_get(const struct sqlite_hits *hits, const char *code, size_t code_len);

/* Forgets every count, keeping the table's memory for the next batch. */
void sqlite_hits_clear(struct sqlite_hits *hits);

#endif
