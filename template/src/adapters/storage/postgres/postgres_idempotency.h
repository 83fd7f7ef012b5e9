/*
 * postgres_idempotency.h: Idempotency-Keys in the PostgreSQL database of
 * the links, shared by every replica.
 *
 * Implements application/idempotency_store.h (see there for the contract)
 * over the idempotency_keys table (migration 2 in postgres_migrations.c),
 * so a retry that lands on another replica than the first attempt is
 * still recognised. call_context is the request's `struct ctx *` (or NULL
 * for the worker's background context). Calls must run on a runtime fiber.
 *
 * Design
 * - Rides on the link store's per-worker pools (postgres_store_query()):
 *   non-blocking libpq on the fiber, statements prepared once per
 *   connection, the statement_timeout from the request's deadline, and the
 *   same circuit breaker, since it is the same database.
 * - A claim is one round trip: SELECT idempotency_claim(...), a PL/pgSQL
 *   function doing read-decide-write in one transaction. A key whose row
 *   may not be taken (the common replay, refusal or busy) is only read:
 *   the function returns the row and idempotency_decide() here gives the
 *   verdict, as in every other adapter. A take-over is an UPDATE that
 *   re-checks its condition on the row's latest version, a new key an
 *   INSERT ... ON CONFLICT DO NOTHING; a loser of either race looks again.
 *   Two replicas racing one key thus get exactly one CLAIMED.
 * - Bounded exactly, across replicas, like the other adapters: a one-row
 *   count kept by a trigger. A new key locks that row for its claim's
 *   transaction (committed asynchronously, so the lock is held for
 *   microseconds, not an fsync; see the migration for why that is safe),
 *   deletes up to two expired rows (index on expires_at_ms), and past
 *   `capacity` evicts the completed or expired row nearest expiry or
 *   fails with DOMAIN_ERROR_IDEMPOTENCY_STORE_FULL. New keys therefore
 *   queue on that one row, fleet-wide: a ceiling in the tens of thousands
 *   of new keys a second, far above what one database's link inserts
 *   sustain.
 * - complete and release are single statements matched on claimed_at_ms
 *   and safe to repeat, so they are retried like reads; a claim is never
 *   retried (a lost reply may hide a committed claim, which the retry
 *   would then find busy).
 * - Times are the replicas' wall clocks (the use case's clock): a skew
 *   between replicas shortens or lengthens a lease by as much; keep them
 *   NTP-synchronised.
 *
 * Thread-safety: the port's calls may run on any worker at any time.
 */
#ifndef HEXSVC_ADAPTERS_STORAGE_POSTGRES_IDEMPOTENCY_H
#define HEXSVC_ADAPTERS_STORAGE_POSTGRES_IDEMPOTENCY_H

#include <stddef.h>

#include "adapters/storage/postgres/postgres_store.h"
#include "application/idempotency_store.h"

struct postgres_idempotency;

/*
 * Keys in `store`'s database (postgres_store_open() has migrated it), at
 * most `capacity` (>= 1) rows. Before the workers start: it adds its
 * statements to the store's. 0 and *out, or -1 with a sentence in `error`.
 */
int postgres_idempotency_create(struct postgres_store *store, size_t capacity,
                                struct postgres_idempotency **out, char *error, size_t error_size);

/* After the workers stopped. NULL is a no-op. */
void postgres_idempotency_destroy(struct postgres_idempotency *keys);

/* The port over `keys`; `keys` must outlive every copy. */
struct idempotency_store postgres_idempotency_port(struct postgres_idempotency *keys);

#endif
