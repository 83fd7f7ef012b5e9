/*
 * idempotency_contract.h: the idempotency-store contract
 * (application/idempotency_store.h), written once and run against every
 * adapter: memory, SQLite, PostgreSQL.
 *
 * Like store_contract.h, every case runs on the real runtime (fibers on two
 * workers, each call given a live ctx): that is how the service calls it.
 */
#ifndef HEXSVC_TESTS_UNIT_STORAGE_IDEMPOTENCY_CONTRACT_H
#define HEXSVC_TESTS_UNIT_STORAGE_IDEMPOTENCY_CONTRACT_H

#include <stddef.h>

#include "application/idempotency_store.h"

/* The bound every case opens its store with. */
#define IDEMPOTENCY_CONTRACT_CAPACITY 4

struct idempotency_target {
    const char *name;
    /* Opens an empty store bounded to `capacity` keys: 0 and *handle and
     * *port, or -1 with a reason in `why`. */
    int (*open)(size_t capacity, void **handle, struct idempotency_store *port, char *why,
                size_t why_size);
    /* Called on each worker after its cases, before the runtime stops. May
     * be NULL. */
    void (*worker_exit)(void *handle);
    void (*close)(void *handle);
};

/* Runs every case against `target`; returns cmocka's failure count. */
int idempotency_contract_run(const struct idempotency_target *target);

#endif
