/*
 * sqlite_store.h: the link store in a SQLite file, the embedded default.
 *
 * Implements domain/link_store.h (see there for the contract of each call).
 * call_context is the request's `struct ctx *` (or NULL).
 *
 * Design
 * - Every SQLite call is blocking, so on a fiber each port call runs on
 *   libuv's thread pool through fiber_offload(): the worker's loop never
 *   waits on the disk. Called off the runtime (tests, tools) it runs inline.
 *   A call whose ctx ends while its statement runs still finishes; its
 *   result is returned if it finished, so an acknowledged create is stored.
 * - A small pool of connections, each with its statements prepared once.
 *   WAL journal (readers never block the writer), synchronous=NORMAL (a
 *   commit survives the process being killed; an OS crash may lose the last
 *   commits, see docs/reference/storage.md), busy timeout for the moments
 *   two writers meet.
 * - Creates commit at once. Resolves do not write: hits are summed in memory
 *   (sqlite_hits.h) and a background thread writes them every
 *   hit_flush_interval_ms in one transaction, and once more on close. Reads
 *   add the pending sums, so counts are exact while the process lives; a
 *   crash loses at most one interval of hit counts, never a link.
 * - Migrations (sqlite_migrations.h) run at open.
 *
 * Thread-safety: every function except sqlite_store_close() may be called
 * from any thread at any time.
 */
#ifndef HEXSVC_ADAPTERS_STORAGE_SQLITE_STORE_H
#define HEXSVC_ADAPTERS_STORAGE_SQLITE_STORE_H

#include <stddef.h>

#include "domain/link_store.h"

#define SQLITE_STORE_DEFAULT_CONNECTIONS 4
#define SQLITE_STORE_DEFAULT_BUSY_TIMEOUT_MS 5000
#define SQLITE_STORE_DEFAULT_FLUSH_INTERVAL_MS 1000

struct sqlite_store;

struct sqlite_store_options {
    const char *path;              /* the database file; created if missing */
    unsigned connections;          /* pool size, 1..64 */
    unsigned busy_timeout_ms;      /* how long a write waits for the lock */
    unsigned hit_flush_interval_ms; /* how often pending hits are written */
};

/* The defaults above, path NULL. */
struct sqlite_store_options sqlite_store_default_options(void);

/*
 * Opens (creating if needed) and migrates the database, prepares the pool
 * and starts the hit flusher. Returns 0 and *out, or -1 with a sentence
 * naming the file, the problem and the fix in `error` (unwritable
 * directory, read-only file, not a SQLite file, another application's
 * database, a newer schema).
 */
int sqlite_store_open(const struct sqlite_store_options *options, struct sqlite_store **out,
                      char *error, size_t error_size);

/* Only migrates, then closes: `hexsvc migrate`. *applied gets how many ran.
 * 0, or -1 with `error` as for open. */
int sqlite_store_migrate(const char *path, int *applied, char *error, size_t error_size);

/* Writes pending hits, stops the flusher, closes every connection. Only
 * once no call is in flight. NULL is a no-op. */
void sqlite_store_close(struct sqlite_store *store);

/* Writes pending hits now. 0, or -1 (they stay pending for the next try). */
int sqlite_store_flush_hits(struct sqlite_store *store);

/* The link_store port over `store`; `store` must outlive every copy. */
struct link_store sqlite_store_port(struct sqlite_store *store);

#endif
