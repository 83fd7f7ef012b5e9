/*
 * postgres_timeout.h: which statement_timeout a query runs with.
 *
 * The server must give up on a statement by the time the request that sent
 * it gives up waiting, or the statement keeps a backend (and its locks)
 * busy for nobody. So each statement runs with the caller's remaining time,
 * less a margin for the error to travel back, capped by the configured
 * ceiling. A `SET statement_timeout` costs a round trip, so the value a
 * pooled session already has is kept while it still fits: it must not
 * exceed the budget, and may undercut it by at most a quarter, except that
 * a budget of the whole ceiling takes the ceiling itself (a statement with
 * time to spare runs with the full ceiling, and its timeout is the
 * database's fault, not the caller's deadline). New values
 * are rounded down to a coarse step (1/8 of the budget, a power of two), so
 * requests with about the same deadline agree on one value and pay the SET
 * once per connection, not once per request. With the default request
 * deadline (30 s) above the ceiling (5 s), every statement runs with the
 * ceiling, which the session got when it connected: no SET at all.
 */
#ifndef HEXSVC_ADAPTERS_STORAGE_POSTGRES_TIMEOUT_H
#define HEXSVC_ADAPTERS_STORAGE_POSTGRES_TIMEOUT_H

#include <stdint.h>

/* A session whose statement_timeout is not known (a SET was cut short). */
#define POSTGRES_TIMEOUT_UNKNOWN 0U
/* remaining_ms when the caller has no deadline. */
#define POSTGRES_TIMEOUT_NO_DEADLINE UINT64_MAX

/* The statement_timeout in ms (>= 1) to run the next statement with, given
 * the session's `current` one, the caller's `remaining_ms` and the ceiling
 * (>= 1). Returns `current` when it still fits: then no SET is needed. */
unsigned postgres_timeout_pick(unsigned current, uint64_t remaining_ms, unsigned ceiling_ms);

/* The time the server gets: remaining_ms less the margin the error needs
 * to reach us before our own deadline; the ceiling when that is larger. */
uint64_t postgres_timeout_budget(uint64_t remaining_ms, unsigned ceiling_ms);

#endif
