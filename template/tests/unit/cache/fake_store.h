/*
 * fake_store.h: a link store for the cache tests that counts what reaches
 * it: reads (get, record_hit with a link) apart from blind hits (record_hit
 * without one), can fail the next blind hit, and can hold every get at a
 * gate (a wait group) until the test opens it, so the tests decide when a
 * read finishes instead of guessing with sleeps. One worker only.
 */
#ifndef HEXSVC_TESTS_UNIT_CACHE_FAKE_STORE_H
#define HEXSVC_TESTS_UNIT_CACHE_FAKE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "domain/link.h"
#include "domain/link_store.h"
#include "platform/runtime/ctx.h"
#include "platform/runtime/fiber.h"
#include "platform/runtime/waitgroup.h"

#define FAKE_STORE_LINKS 16

struct fake_store {
    struct link links[FAKE_STORE_LINKS];
    size_t count;
    int gets;         /* get calls (the cache's fills) */
    int read_hits;    /* record_hit with out != NULL */
    int blind_hits;   /* record_hit with out == NULL */
    bool fail_next_blind_hit;
    bool gated;       /* get parks on `gate` until it opens */
    struct waitgroup gate;
    int parked;       /* gets parked at the gate right now */
};

static struct link *fake_store_find(struct fake_store *store, const char *code, size_t code_len)
{
    for (size_t i = 0; i < store->count; i++) {
        if (store->links[i].code_len == code_len &&
            memcmp(store->links[i].code, code, code_len) == 0) {
            return &store->links[i];
        }
    }
    return NULL;
}

static enum domain_error fake_store_create(void *self, void *call_context, const struct link *link)
{
    (void)call_context;
    struct fake_store *store = self;
    if (fake_store_find(store, link->code, link->code_len) != NULL) {
        return DOMAIN_ERROR_CODE_TAKEN;
    }
    if (store->count == FAKE_STORE_LINKS) {
        return DOMAIN_ERROR_STORE_UNAVAILABLE;
    }
    store->links[store->count++] = *link;
    return DOMAIN_OK;
}

static enum domain_error fake_store_get(void *self, void *call_context, const char *code,
                                        size_t code_len, struct link *out)
{
    struct fake_store *store = self;
    store->gets++;
    if (store->gated) {
        store->parked++;
        int rc = waitgroup_wait(&store->gate, call_context);
        store->parked--;
        if (rc != 0) {
            return DOMAIN_ERROR_STORE_TIMEOUT;
        }
    }
    struct link *found = fake_store_find(store, code, code_len);
    if (found == NULL) {
        return DOMAIN_ERROR_NOT_FOUND;
    }
    *out = *found;
    return DOMAIN_OK;
}

static enum domain_error fake_store_record_hit(void *self, void *call_context, const char *code,
                                               size_t code_len, struct link *out)
{
    (void)call_context;
    struct fake_store *store = self;
    if (out == NULL) {
        store->blind_hits++;
        if (store->fail_next_blind_hit) {
            store->fail_next_blind_hit = false;
            return DOMAIN_ERROR_STORE_UNAVAILABLE;
        }
    } else {
        store->read_hits++;
    }
    struct link *found = fake_store_find(store, code, code_len);
    if (found == NULL) {
        return DOMAIN_ERROR_NOT_FOUND;
    }
    found->hit_count++;
    if (out != NULL) {
        *out = *found;
    }
    return DOMAIN_OK;
}

static inline struct link_store fake_store_port(struct fake_store *store)
{
    return (struct link_store){store, fake_store_create, fake_store_get, fake_store_record_hit};
}

/* Adds a link directly (no call counted). */
static inline void fake_store_add(struct fake_store *store, const char *code, const char *url)
{
    struct link link;
    (void)link_init(&link, code, strlen(code), url, strlen(url), 1700000000000);
    (void)fake_store_create(store, NULL, &link);
}

#endif
