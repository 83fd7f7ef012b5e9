/*
 * postgres_breaker.h: a circuit breaker (closed, open, half-open) shared by
 * every worker, so a database that is down costs one failed call per
 * cooldown instead of one per request.
 *
 *   closed     calls go through; `failures` failures in a row open it.
 *   open       calls are refused at once until `cooldown_ms` have passed.
 *   half-open  one probe call goes through, the rest are refused; the
 *              probe's success closes the breaker, its failure reopens it.
 *
 * Thread-safe (a mutex; the critical sections are a few instructions).
 */
#ifndef HEXSVC_ADAPTERS_STORAGE_POSTGRES_BREAKER_H
#define HEXSVC_ADAPTERS_STORAGE_POSTGRES_BREAKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "adapters/storage/postgres/postgres_store.h"

struct postgres_breaker {
    pthread_mutex_t lock;
    enum postgres_breaker_state state;
    unsigned failures_in_a_row;
    unsigned threshold;
    uint64_t cooldown_ms;
    uint64_t opened_at_ms;
    bool probe_in_flight;
};

void postgres_breaker_init(struct postgres_breaker *breaker, unsigned threshold,
                           uint64_t cooldown_ms);
void postgres_breaker_destroy(struct postgres_breaker *breaker);

/* May this call go to the database? now_ms: any monotonic clock. */
bool postgres_breaker_allow(struct postgres_breaker *breaker, uint64_t now_ms);
void postgres_breaker_success(struct postgres_breaker *breaker);
void postgres_breaker_failure(struct postgres_breaker *breaker, uint64_t now_ms);
/* A call let through that ended without telling (cancelled by its client):
 * frees the probe slot without judging the database. */
void postgres_breaker_abandon(struct postgres_breaker *breaker);
enum postgres_breaker_state postgres_breaker_state(struct postgres_breaker *breaker);

#endif
