/*
 * postgres_store.h: the link store in PostgreSQL (or a PostgreSQL-compatible
 * distributed SQL database), for production and many replicas.
 *
 * Implements domain/link_store.h (see there for the contract of each call).
 * call_context is the request's `struct ctx *` (or NULL for the worker's
 * background context). Port calls must run on a runtime fiber.
 *
 * Design
 * - libpq in non-blocking mode; while a query is on the wire the fiber
 *   parks on the connection's socket (platform/runtime/fd_wait.h) and the
 *   worker serves other requests.
 * - A pool of `pool_size` connections per worker, opened lazily, with every
 *   statement prepared once per connection. A fiber that finds the pool
 *   empty parks (bounded by its ctx) until a connection is returned.
 * - Deadlines: every statement runs with a server-side statement_timeout
 *   from the request ctx's remaining time (postgres_timeout.h: less a
 *   margin, capped by statement_timeout_ms, and SET only when the pooled
 *   session's value does not fit, so steady deadlines cost no round trip).
 *   The server thus ends the statement before the request gives up, and
 *   the connection, idle again, goes back to the pool. The ctx also bounds
 *   every wait: when it ends first (cancelled: the client left; or the
 *   error is late), the call returns DOMAIN_ERROR_STORE_TIMEOUT at once and
 *   a reclaimer fiber keeps the connection out of the pool, sends PQcancel,
 *   reads the statement's end and only then returns it (or drops it).
 * - Circuit breaker shared by all workers: after breaker_failures failures
 *   in a row it opens and calls fail at once with STORE_UNAVAILABLE (the
 *   HTTP adapter answers 503); after breaker_cooldown_ms one probe call is
 *   let through (half-open); its success closes the breaker. Recovery needs
 *   no restart.
 * - Only idempotent calls (get) are retried, up to max_attempts, with full
 *   jitter exponential backoff, within the ctx's deadline. create and
 *   record_hit are never retried: a lost reply may hide a committed write.
 * - Migrations (postgres_migrations.h) run at open under an advisory lock,
 *   so replicas starting together apply each migration once.
 */
#ifndef HEXSVC_ADAPTERS_STORAGE_POSTGRES_STORE_H
#define HEXSVC_ADAPTERS_STORAGE_POSTGRES_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/link_store.h"

struct postgres_store;

enum postgres_breaker_state {
    POSTGRES_BREAKER_CLOSED = 0,
    POSTGRES_BREAKER_OPEN = 1,
    POSTGRES_BREAKER_HALF_OPEN = 2,
};

struct postgres_store_options {
    const char *conninfo;          /* libpq URI or key=value string */
    unsigned pool_size;            /* connections per worker, 1..64 (default 4) */
    unsigned connect_timeout_ms;   /* per connection attempt (default 2000) */
    unsigned statement_timeout_ms; /* ceiling of the per-statement timeout (default 5000) */
    unsigned breaker_failures;     /* failures in a row that open it (default 5) */
    unsigned breaker_cooldown_ms;  /* open -> half-open (default 1000) */
    unsigned max_attempts;         /* for idempotent calls, 1..10 (default 3) */
    unsigned backoff_base_ms;      /* first retry waits up to this (default 20) */
};

struct postgres_store_options postgres_store_default_options(void);

/*
 * Connects once (blocking: start-up, before the runtime), applies the
 * migrations and returns the store. 0 and *out, or -1 with a sentence for
 * the operator in `error` (no URL, server unreachable, authentication,
 * a newer schema...). The password is never copied into `error`.
 */
int postgres_store_open(const struct postgres_store_options *options, struct postgres_store **out,
                        char *error, size_t error_size);

/* Only migrates (blocking): `hexsvc migrate`. 0, or -1 with `error`. */
int postgres_store_migrate(const char *conninfo, int *applied, char *error, size_t error_size);

/* Closes the calling worker's connections. Call on every worker that used
 * the store, from a fiber, once its requests are done. */
void postgres_store_worker_close(struct postgres_store *store);

/* Frees the store (after every worker has stopped). NULL is a no-op. */
void postgres_store_close(struct postgres_store *store);

struct link_store postgres_store_port(struct postgres_store *store);

/* The breaker's state now: the store's health for /readyz and metrics. */
enum postgres_breaker_state postgres_store_breaker_state(struct postgres_store *store);

/* Totals since open, all workers; for tests and metrics. */
struct postgres_store_counters {
    uint64_t connects;     /* connections opened (and prepared) */
    uint64_t timeout_sets; /* SET statement_timeout round trips for a deadline */
    uint64_t cancels;      /* cancel requests sent for abandoned statements */
    uint64_t reclaimed;    /* abandoned connections back in the pool, healthy */
};
void postgres_store_counters(struct postgres_store *store, struct postgres_store_counters *out);

/* ---- for other adapters over the same pool (postgres_idempotency.h) ------- */

#define POSTGRES_QUERY_MAX_PARAMS 8

/* A statement every pooled connection prepares when it opens. */
struct postgres_statement {
    const char *name; /* unique on the connection: prefix it with hexsvc_ */
    const char *sql;
    int params;
};

/*
 * Adds `statements` (static, outliving the store) to what each new
 * connection prepares. Only before any worker uses the store: it is not
 * synchronised. 0, or -1 past a few lists.
 */
int postgres_store_add_statements(struct postgres_store *store,
                                  const struct postgres_statement *statements, size_t count);

struct pg_result; /* libpq's PGresult */

/*
 * Runs one prepared statement exactly as the store's own calls run: a
 * pooled connection of this worker, the statement_timeout from ctx's
 * remaining time, the breaker, and (only with `retry`, for statements that
 * are safe to run twice) the retries. On a fiber. DOMAIN_OK and *result
 * (possibly with no rows; the caller PQclear()s it), or
 * DOMAIN_ERROR_STORE_UNAVAILABLE, _STORE_TIMEOUT or _INTERNAL and NULL.
 */
enum domain_error postgres_store_query(struct postgres_store *store, void *call_context,
                                       const char *statement, int param_count,
                                       const char *const *params, bool retry,
                                       struct pg_result **result);

#endif
