/*
 * sqlite_idempotency.h: Idempotency-Keys in the SQLite file of the links.
 *
 * Implements application/idempotency_store.h (see there for the contract)
 * over the idempotency_keys table (migration 2 in sqlite_migrations.c), so
 * keys survive a restart exactly as long as the links they protect.
 * call_context is a `struct ctx *` (or NULL): the request's for claim, the
 * use case's finish ctx for complete and release (see the port), so that a
 * request ctx that ended does not keep them from running: fiber_offload()
 * returns at once under an ended ctx.
 *
 * Design
 * - One connection of its own, behind a mutex: every call writes (a claim
 *   is read-decide-write in one IMMEDIATE transaction), and SQLite has one
 *   writer at a time anyway. Calls run on libuv's thread pool through
 *   fiber_offload(), like the link store's; off the runtime, inline.
 * - The link insert and the key's completion are separate transactions:
 *   a crash between them leaves the key pending until its lease ends, and
 *   the retry after that makes a second link (docs/adr/0018).
 * - Bounded like the memory adapter: each claim deletes up to two expired
 *   rows; a new key past `capacity` rows evicts the completed or expired
 *   row nearest expiry, or fails with DOMAIN_ERROR_IDEMPOTENCY_STORE_FULL.
 *   The row count is kept in memory (read once at open), which is exact
 *   while this process is the file's only writer, as it is by design.
 *
 * Thread-safety: every function except sqlite_idempotency_close() may be
 * called from any thread at any time.
 */
#ifndef HEXSVC_ADAPTERS_STORAGE_SQLITE_IDEMPOTENCY_H
#define HEXSVC_ADAPTERS_STORAGE_SQLITE_IDEMPOTENCY_H

#include <stddef.h>

#include "application/idempotency_store.h"

struct sqlite_idempotency;

/*
 * Opens `path`, which sqlite_store_open() has already created and
 * migrated. 0 and *out, or -1 with a sentence in `error` naming the file
 * and the fix.
 */
int sqlite_idempotency_open(const char *path, size_t capacity, struct sqlite_idempotency **out,
                            char *error, size_t error_size);

/* Only once no call is in flight. NULL is a no-op. */
void sqlite_idempotency_close(struct sqlite_idempotency *store);

/* The port over `store`; `store` must outlive every copy. */
struct idempotency_store sqlite_idempotency_port(struct sqlite_idempotency *store);

#endif
