/*
 * test_store_cached.c: the link-store contract (../storage/store_contract.c)
 * through the read cache, over the memory store and over the SQLite store.
 * The cache must be invisible: same answers, same exact hit counts under
 * concurrent resolves on two workers, same error mapping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../storage/store_contract.h"
#include "adapters/cache/link_cache.h"
#include "adapters/storage/memory/memory_store.h"
#include "adapters/storage/sqlite/sqlite_store.h"

struct cached {
    struct memory_store *memory;
    struct sqlite_store *sqlite;
    struct link_cache *cache;
};

static char cached_dir[] = "/tmp/hexsvc-cache-test.XXXXXX";
static char cached_path[256];
static unsigned cached_files;

static int cached_wrap(struct cached *cached, const struct link_store *inner,
                       struct link_store *port, char *why, size_t why_size)
{
    /* Small enough that the largest link and the contract's codes share it
     * with evictions; large enough to hold the concurrent case's code. */
    struct link_cache_options options = {
        .max_entries = 4, .max_bytes = (size_t)16 * 1024, .hash_seed = 1};
    if (link_cache_create(inner, &options, &cached->cache) != 0) {
        snprintf(why, why_size, "cannot create the cache");
        return -1;
    }
    *port = link_cache_port(cached->cache);
    return 0;
}

static int memory_open(void **handle, struct link_store *port, char *why, size_t why_size)
{
    struct cached *cached = calloc(1, sizeof(*cached));
    if (cached == NULL || memory_store_create(42, &cached->memory) != 0) {
        snprintf(why, why_size, "out of memory");
        free(cached);
        return -1;
    }
    struct link_store inner = memory_store_port(cached->memory);
    *handle = cached;
    return cached_wrap(cached, &inner, port, why, why_size);
}

static int sqlite_open(void **handle, struct link_store *port, char *why, size_t why_size)
{
    struct cached *cached = calloc(1, sizeof(*cached));
    if (cached == NULL) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    *handle = cached;
    snprintf(cached_path, sizeof(cached_path), "%s/contract-%u.db", cached_dir, cached_files++);
    struct sqlite_store_options options = sqlite_store_default_options();
    options.path = cached_path;
    options.hit_flush_interval_ms = 20; /* flushes race the cached hits */
    if (sqlite_store_open(&options, &cached->sqlite, why, why_size) != 0) {
        return -1;
    }
    struct link_store inner = sqlite_store_port(cached->sqlite);
    return cached_wrap(cached, &inner, port, why, why_size);
}

static void cached_close(void *handle)
{
    struct cached *cached = handle;
    link_cache_destroy(cached->cache);
    memory_store_destroy(cached->memory);
    sqlite_store_close(cached->sqlite);
    free(cached);
}

static int sqlite_break(void *handle)
{
    (void)handle;
    sqlite3 *db = NULL;
    int rc = sqlite3_open(cached_path, &db);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        rc = sqlite3_exec(db, "DROP TABLE links", NULL, NULL, NULL);
    }
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

int main(void)
{
    static const struct store_target memory = {
        .name = "cached memory store contract",
        .open = memory_open,
        .close = cached_close,
    };
    static const struct store_target sqlite = {
        .name = "cached sqlite store contract",
        .open = sqlite_open,
        .close = cached_close,
        .break_backend = sqlite_break,
    };
    if (mkdtemp(cached_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    int failures = store_contract_run(&memory);
    failures += store_contract_run(&sqlite);
    char command[300];
    snprintf(command, sizeof(command), "rm -rf '%s'", cached_dir);
    (void)system(command); /* NOLINT(cert-env33-c): a fixed test command */
    return failures;
}
