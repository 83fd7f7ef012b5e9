/*
 * store_contract.h: the link-store contract (domain/link_store.h), written
 * once and run against every adapter: memory, SQLite, PostgreSQL.
 *
 * A test binary describes how to open, reset and close its adapter in a
 * store_target and hands it to store_contract_run(). Every case runs on the
 * real runtime (fibers on two workers, each call given a live ctx), because
 * that is how the service calls a store: SQLite offloads to the thread pool
 * and PostgreSQL parks fibers on its sockets only there.
 */
#ifndef HEXSVC_TESTS_UNIT_STORAGE_STORE_CONTRACT_H
#define HEXSVC_TESTS_UNIT_STORAGE_STORE_CONTRACT_H

#include <stdbool.h>
#include <stddef.h>

#include "domain/link_store.h"

struct store_target {
    const char *name;
    /* Opens an empty store: 0 and *handle and *port, or -1 with a reason in
     * `why` (the suite then fails; a missing backend is the caller's skip). */
    int (*open)(void **handle, struct link_store *port, char *why, size_t why_size);
    /* Called on each worker after the cases that ran there, before the
     * runtime stops (per-worker connections close here). May be NULL. */
    void (*worker_exit)(void *handle);
    void (*close)(void *handle);
    /* Makes the backend fail every later call (drops the table, say), to
     * check that driver errors come out as domain errors. NULL: skipped. */
    int (*break_backend)(void *handle);
};

/* Runs every case against `target`; returns cmocka's failure count. */
int store_contract_run(const struct store_target *target);

#endif
