/*
 * sqlite_store.c: connection pool, offloaded calls, batched hit counts.
 */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */

#include "adapters/storage/sqlite/sqlite_store.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "adapters/storage/sqlite/sqlite_hits.h"
#include "adapters/storage/sqlite/sqlite_migrations.h"
#include "platform/runtime/fiber.h"

#define SQLITE_STORE_MAX_CONNECTIONS 64

struct sqlite_conn {
    sqlite3 *db;
    sqlite3_stmt *insert;
    sqlite3_stmt *select;
    sqlite3_stmt *add_hits;
    struct sqlite_conn *next_free;
};

struct sqlite_store {
    struct sqlite_store_options options;
    struct sqlite_conn *conns;
    size_t conn_count;
    struct sqlite_conn *free_conns;
    pthread_mutex_t pool_lock;
    pthread_cond_t pool_freed;

    /* Readers (get, record_hit) hold it shared from their SELECT until they
     * have read or added their pending hits; the flusher holds it exclusive
     * while it moves pending hits into the file. So a reader sees each hit
     * either in the file or in memory, never in both or neither. */
    pthread_rwlock_t hits_lock;
    pthread_mutex_t hits_mutex; /* between readers adding to `hits` */
    struct sqlite_hits hits;
    struct sqlite_conn flush_conn;

    pthread_t flusher;
    bool flusher_running;
    pthread_mutex_t flusher_lock;
    pthread_cond_t flusher_wake;
    bool stopping;
};

/* ---- connections ---------------------------------------------------------- */

static void sqlite_conn_close(struct sqlite_conn *conn)
{
    sqlite3_finalize(conn->insert);
    sqlite3_finalize(conn->select);
    sqlite3_finalize(conn->add_hits);
    sqlite3_close(conn->db);
    memset(conn, 0, sizeof(*conn));
}

/* Opens the file with the pragmas every connection needs. */
static int sqlite_conn_open_db(struct sqlite_conn *conn, const char *path, unsigned busy_ms,
                               char *error, size_t error_size)
{
    /* NOMUTEX: a connection is used by one thread at a time (the pool hands
     * it out), so SQLite's own per-connection mutex would be wasted. */
    int rc = sqlite3_open_v2(
        path, &conn->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(error, error_size,
                 "cannot open the database file '%s': %s; check that its directory exists and "
                 "is writable",
                 path, conn->db != NULL ? sqlite3_errmsg(conn->db) : sqlite3_errstr(rc));
        return -1;
    }
    if (sqlite3_db_readonly(conn->db, "main") == 1) {
        snprintf(error, error_size,
                 "the database file '%s' is read-only; make it writable by the service's user",
                 path);
        return -1;
    }
    sqlite3_busy_timeout(conn->db, (int)busy_ms);
    sqlite3_extended_result_codes(conn->db, 1);
    char *message = NULL;
    rc = sqlite3_exec(conn->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
                      &message);
    if (rc != SQLITE_OK) {
        int primary = rc & 0xff;
        if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) {
            snprintf(error, error_size,
                     "'%s' is not a SQLite database or is corrupt (%s); move it aside and "
                     "restore a backup, or point the data directory elsewhere",
                     path, message != NULL ? message : sqlite3_errstr(rc));
        } else {
            snprintf(error, error_size,
                     "cannot set up the database file '%s': %s; check that "
                     "the file and its directory are writable and the disk is not full",
                     path, message != NULL ? message : sqlite3_errstr(rc));
        }
        sqlite3_free(message);
        return -1;
    }
    return 0;
}

static int sqlite_conn_prepare(struct sqlite_conn *conn, const char *path, char *error,
                               size_t error_size)
{
    static const struct {
        size_t offset;
        const char *sql;
    } statements[] = {
        {offsetof(struct sqlite_conn, insert),
         "INSERT INTO links (code, url, created_at_ms, hit_count) VALUES (?1, ?2, ?3, ?4)"},
        {offsetof(struct sqlite_conn, select),
         "SELECT url, created_at_ms, hit_count FROM links WHERE code = ?1"},
        {offsetof(struct sqlite_conn, add_hits),
         "UPDATE links SET hit_count = hit_count + ?1 WHERE code = ?2"},
    };
    for (size_t i = 0; i < sizeof(statements) / sizeof(statements[0]); i++) {
        sqlite3_stmt **slot = (sqlite3_stmt **)((char *)conn + statements[i].offset);
        if (sqlite3_prepare_v3(conn->db, statements[i].sql, -1, SQLITE_PREPARE_PERSISTENT, slot,
                               NULL) != SQLITE_OK) {
            snprintf(error, error_size, "cannot prepare a statement on '%s': %s", path,
                     sqlite3_errmsg(conn->db));
            return -1;
        }
    }
    return 0;
}

static int sqlite_conn_open(struct sqlite_conn *conn, const struct sqlite_store_options *options,
                            char *error, size_t error_size)
{
    if (sqlite_conn_open_db(conn, options->path, options->busy_timeout_ms, error, error_size) !=
            0 ||
        sqlite_conn_prepare(conn, options->path, error, error_size) != 0) {
        sqlite_conn_close(conn);
        return -1;
    }
    return 0;
}

/* Blocks the calling thread (a thread-pool thread, never a worker loop: see
 * sqlite_store_call) until a connection is free. */
static struct sqlite_conn *sqlite_store_acquire(struct sqlite_store *store)
{
    pthread_mutex_lock(&store->pool_lock);
    while (store->free_conns == NULL) {
        pthread_cond_wait(&store->pool_freed, &store->pool_lock);
    }
    struct sqlite_conn *conn = store->free_conns;
    store->free_conns = conn->next_free;
    pthread_mutex_unlock(&store->pool_lock);
    return conn;
}

static void sqlite_store_release(struct sqlite_store *store, struct sqlite_conn *conn)
{
    pthread_mutex_lock(&store->pool_lock);
    conn->next_free = store->free_conns;
    store->free_conns = conn;
    pthread_cond_signal(&store->pool_freed);
    pthread_mutex_unlock(&store->pool_lock);
}

/* ---- error mapping -------------------------------------------------------- */

/* The driver's message goes to the operator's log, never to the client: the
 * caller gets a domain error only. */
static enum domain_error sqlite_store_failed(sqlite3 *db, const char *what)
{
    int rc = sqlite3_extended_errcode(db);
    fprintf(stderr, "sqlite_store: %s: %s (%d)\n", what, sqlite3_errmsg(db), rc);
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
        return DOMAIN_ERROR_STORE_TIMEOUT;
    }
    return DOMAIN_ERROR_STORE_UNAVAILABLE;
}

/* ---- the calls ------------------------------------------------------------ */

enum sqlite_op {
    SQLITE_OP_CREATE,
    SQLITE_OP_GET,
    SQLITE_OP_HIT
};

/* One port call, on the calling fiber's stack while a pool thread runs it. */
struct sqlite_call {
    struct sqlite_store *store;
    enum sqlite_op op;
    const struct link *link;
    const char *code;
    size_t code_len;
    struct link *out;
    enum domain_error result;
    bool finished;
};

static enum domain_error sqlite_store_insert(struct sqlite_conn *conn, const struct link *link)
{
    sqlite3_stmt *stmt = conn->insert;
    int rc = sqlite3_bind_text(stmt, 1, link->code, (int)link->code_len, SQLITE_STATIC);
    if (rc == SQLITE_OK) {
        rc = sqlite3_bind_text(stmt, 2, link->url, (int)link->url_len, SQLITE_STATIC);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_bind_int64(stmt, 3, link->created_at_ms);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_bind_int64(stmt, 4, (sqlite3_int64)link->hit_count);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
    }
    enum domain_error err = DOMAIN_OK;
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        err = DOMAIN_ERROR_CODE_TAKEN;
    } else if (rc != SQLITE_DONE) {
        err = sqlite_store_failed(conn->db, "create");
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return err;
}

/* Reads the stored link (hits as written to the file) into *out. */
static enum domain_error sqlite_store_select(struct sqlite_conn *conn, const char *code,
                                             size_t code_len, struct link *out)
{
    sqlite3_stmt *stmt = conn->select;
    enum domain_error err = DOMAIN_OK;
    int rc = sqlite3_bind_text(stmt, 1, code, (int)code_len, SQLITE_STATIC);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
    }
    if (rc == SQLITE_ROW) {
        const unsigned char *url = sqlite3_column_text(stmt, 0);
        size_t url_len = (size_t)sqlite3_column_bytes(stmt, 0);
        if (url == NULL || url_len > LINK_URL_MAX) {
            fprintf(stderr, "sqlite_store: the stored URL of a link is missing or too long\n");
            err = DOMAIN_ERROR_INTERNAL;
        } else {
            memcpy(out->code, code, code_len);
            out->code[code_len] = '\0';
            out->code_len = code_len;
            memcpy(out->url, url, url_len);
            out->url[url_len] = '\0';
            out->url_len = url_len;
            out->created_at_ms = sqlite3_column_int64(stmt, 1);
            out->hit_count = (uint64_t)sqlite3_column_int64(stmt, 2);
        }
    } else if (rc == SQLITE_DONE) {
        err = DOMAIN_ERROR_NOT_FOUND;
    } else {
        err = sqlite_store_failed(conn->db, "get");
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return err;
}

/* get and record_hit: the file's count plus what is pending in memory. */
static enum domain_error sqlite_store_read(struct sqlite_store *store, struct sqlite_conn *conn,
                                           const struct sqlite_call *call)
{
    struct link found;
    found.hit_count = 0;
    pthread_rwlock_rdlock(&store->hits_lock);
    enum domain_error err = sqlite_store_select(conn, call->code, call->code_len, &found);
    if (err == DOMAIN_OK) {
        pthread_mutex_lock(&store->hits_mutex);
        uint64_t pending = call->op == SQLITE_OP_HIT
                               ? sqlite_hits_add(&store->hits, call->code, call->code_len, 1)
                               : sqlite_hits_get(&store->hits, call->code, call->code_len);
        pthread_mutex_unlock(&store->hits_mutex);
        if (call->op == SQLITE_OP_HIT && pending == 0) {
            err = DOMAIN_ERROR_STORE_UNAVAILABLE; /* out of memory: nothing counted */
        }
        found.hit_count += pending;
    }
    pthread_rwlock_unlock(&store->hits_lock);
    if (err == DOMAIN_OK && call->out != NULL) {
        *call->out = found;
    }
    return err;
}

static void sqlite_call_run(void *arg)
{
    struct sqlite_call *call = arg;
    struct sqlite_conn *conn = sqlite_store_acquire(call->store);
    call->result = call->op == SQLITE_OP_CREATE ? sqlite_store_insert(conn, call->link)
                                                : sqlite_store_read(call->store, conn, call);
    sqlite_store_release(call->store, conn);
    call->finished = true;
}

static enum domain_error sqlite_store_call(struct sqlite_call *call, void *call_context)
{
    if (fiber_current() == NULL) {
        sqlite_call_run(call);
        return call->result;
    }
    int rc = fiber_offload(call_context, sqlite_call_run, call);
    /* A call that ran to the end counts, even if ctx ended meanwhile: a
     * create that committed must not be reported as failed. */
    if (call->finished) {
        return call->result;
    }
    return rc == -ETIMEDOUT || rc == -ECANCELED ? DOMAIN_ERROR_STORE_TIMEOUT
                                                : DOMAIN_ERROR_STORE_UNAVAILABLE;
}

static bool sqlite_store_code_fits(size_t code_len)
{
    return code_len > 0 && code_len <= LINK_CODE_MAX;
}

static enum domain_error sqlite_store_create_link(void *self, void *call_context,
                                                  const struct link *link)
{
    if (!sqlite_store_code_fits(link->code_len) || link->url_len > LINK_URL_MAX) {
        return DOMAIN_ERROR_INTERNAL;
    }
    struct sqlite_call call = {.store = self, .op = SQLITE_OP_CREATE, .link = link};
    return sqlite_store_call(&call, call_context);
}

static enum domain_error sqlite_store_get(void *self, void *call_context, const char *code,
                                          size_t code_len, struct link *out)
{
    if (!sqlite_store_code_fits(code_len)) {
        return DOMAIN_ERROR_NOT_FOUND;
    }
    struct sqlite_call call = {
        .store = self, .op = SQLITE_OP_GET, .code = code, .code_len = code_len, .out = out};
    return sqlite_store_call(&call, call_context);
}

/* record_hit without `out` (a read cache has the link already): the hit
 * goes straight into the pending counts on the calling thread, with no
 * SELECT and no offload. Only when the flusher holds hits_lock does it
 * return false, and the caller takes the offloaded path, which waits in the
 * thread pool: a worker's loop never blocks on a flush. */
static bool sqlite_store_try_count(struct sqlite_store *store, const char *code, size_t code_len,
                                   enum domain_error *err)
{
    if (pthread_rwlock_tryrdlock(&store->hits_lock) != 0) {
        return false;
    }
    pthread_mutex_lock(&store->hits_mutex);
    uint64_t pending = sqlite_hits_add(&store->hits, code, code_len, 1);
    pthread_mutex_unlock(&store->hits_mutex);
    pthread_rwlock_unlock(&store->hits_lock);
    *err = pending == 0 ? DOMAIN_ERROR_STORE_UNAVAILABLE : DOMAIN_OK; /* 0: out of memory */
    return true;
}

static enum domain_error sqlite_store_record_hit(void *self, void *call_context, const char *code,
                                                 size_t code_len, struct link *out)
{
    if (!sqlite_store_code_fits(code_len)) {
        return DOMAIN_ERROR_NOT_FOUND;
    }
    enum domain_error counted = DOMAIN_OK;
    if (out == NULL && sqlite_store_try_count(self, code, code_len, &counted)) {
        return counted;
    }
    struct sqlite_call call = {
        .store = self, .op = SQLITE_OP_HIT, .code = code, .code_len = code_len, .out = out};
    return sqlite_store_call(&call, call_context);
}

struct link_store sqlite_store_port(struct sqlite_store *store)
{
    struct link_store port = {
        .self = store,
        .create = sqlite_store_create_link,
        .get = sqlite_store_get,
        .record_hit = sqlite_store_record_hit,
    };
    return port;
}

/* ---- hit flushing --------------------------------------------------------- */

/* Writes every pending count in one transaction; called with hits_lock held
 * exclusively, so no reader is between its SELECT and its pending add. */
static int sqlite_store_write_hits(struct sqlite_store *store)
{
    sqlite3 *db = store->flush_conn.db;
    sqlite3_stmt *stmt = store->flush_conn.add_hits;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite_store_failed(db, "flush hits");
        return -1;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < store->hits.capacity; i++) {
        const struct sqlite_hit *hit = &store->hits.slots[i];
        if (hit->count == 0) {
            continue;
        }
        ok = sqlite3_bind_int64(stmt, 1, (sqlite3_int64)hit->count) == SQLITE_OK &&
             sqlite3_bind_text(stmt, 2, hit->code, hit->code_len, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_step(stmt) == SQLITE_DONE;
        sqlite3_reset(stmt);
    }
    sqlite3_clear_bindings(stmt);
    if (!ok || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite_store_failed(db, "flush hits");
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

int sqlite_store_flush_hits(struct sqlite_store *store)
{
    pthread_rwlock_wrlock(&store->hits_lock);
    int rc = 0;
    if (store->hits.count != 0) {
        rc = sqlite_store_write_hits(store);
        if (rc == 0) {
            sqlite_hits_clear(&store->hits);
        }
    }
    pthread_rwlock_unlock(&store->hits_lock);
    return rc;
}

static void *sqlite_store_flusher(void *arg)
{
    struct sqlite_store *store = arg;
    pthread_mutex_lock(&store->flusher_lock);
    while (!store->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        uint64_t ns =
            (uint64_t)until.tv_nsec + (uint64_t)store->options.hit_flush_interval_ms * 1000000ULL;
        until.tv_sec += (time_t)(ns / 1000000000ULL);
        until.tv_nsec = (long)(ns % 1000000000ULL);
        pthread_cond_timedwait(&store->flusher_wake, &store->flusher_lock, &until);
        if (store->stopping) {
            break;
        }
        pthread_mutex_unlock(&store->flusher_lock);
        (void)sqlite_store_flush_hits(store); /* a failure keeps them for next time */
        pthread_mutex_lock(&store->flusher_lock);
    }
    pthread_mutex_unlock(&store->flusher_lock);
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------ */

struct sqlite_store_options sqlite_store_default_options(void)
{
    struct sqlite_store_options options = {
        .path = NULL,
        .connections = SQLITE_STORE_DEFAULT_CONNECTIONS,
        .busy_timeout_ms = SQLITE_STORE_DEFAULT_BUSY_TIMEOUT_MS,
        .hit_flush_interval_ms = SQLITE_STORE_DEFAULT_FLUSH_INTERVAL_MS,
    };
    return options;
}

int sqlite_store_migrate(const char *path, int *applied, char *error, size_t error_size)
{
    struct sqlite_conn conn = {0};
    int rc =
        sqlite_conn_open_db(&conn, path, SQLITE_STORE_DEFAULT_BUSY_TIMEOUT_MS, error, error_size);
    if (rc == 0 && sqlite_migrations_apply(conn.db, applied, error, error_size) != 0) {
        char reason[512];
        snprintf(reason, sizeof(reason), "%s", error);
        snprintf(error, error_size, "database '%s': %s", path, reason);
        rc = -1;
    }
    sqlite_conn_close(&conn);
    return rc;
}

static int sqlite_store_init_sync(struct sqlite_store *store)
{
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
#if defined(__GLIBC__)
    /* glibc prefers readers by default: under a steady stream of resolves
     * the flusher would never get the lock. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
    int rc = pthread_rwlock_init(&store->hits_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rc != 0) {
        return -rc;
    }
    pthread_mutex_init(&store->hits_mutex, NULL);
    pthread_mutex_init(&store->pool_lock, NULL);
    pthread_cond_init(&store->pool_freed, NULL);
    pthread_mutex_init(&store->flusher_lock, NULL);
    pthread_cond_init(&store->flusher_wake, NULL);
    return 0;
}

static bool sqlite_store_options_valid(const struct sqlite_store_options *options, char *error,
                                       size_t error_size)
{
    if (options->path == NULL || options->path[0] == '\0') {
        snprintf(error, error_size, "no database path given");
        return false;
    }
    if (options->connections < 1 || options->connections > SQLITE_STORE_MAX_CONNECTIONS) {
        snprintf(error, error_size, "the SQLite pool size must be 1..%d, not %u",
                 SQLITE_STORE_MAX_CONNECTIONS, options->connections);
        return false;
    }
    if (options->hit_flush_interval_ms == 0) {
        snprintf(error, error_size, "the hit flush interval must be at least 1 ms");
        return false;
    }
    return true;
}

static int sqlite_store_open_pool(struct sqlite_store *store, char *error, size_t error_size)
{
    if (sqlite_conn_open(&store->flush_conn, &store->options, error, error_size) != 0) {
        return -1;
    }
    for (size_t i = 0; i < store->options.connections; i++) {
        if (sqlite_conn_open(&store->conns[i], &store->options, error, error_size) != 0) {
            return -1;
        }
        store->conn_count = i + 1;
        store->conns[i].next_free = store->free_conns;
        store->free_conns = &store->conns[i];
    }
    return 0;
}

int sqlite_store_open(const struct sqlite_store_options *options, struct sqlite_store **out,
                      char *error, size_t error_size)
{
    if (!sqlite_store_options_valid(options, error, error_size) ||
        sqlite_store_migrate(options->path, NULL, error, error_size) != 0) {
        return -1;
    }
    struct sqlite_store *store = calloc(1, sizeof(*store));
    if (store == NULL) {
        snprintf(error, error_size, "out of memory");
        return -1;
    }
    store->options = *options;
    sqlite_hits_init(&store->hits);
    store->conns = calloc(options->connections, sizeof(struct sqlite_conn));
    if (store->conns == NULL || sqlite_store_init_sync(store) != 0) {
        free(store->conns);
        free(store);
        snprintf(error, error_size, "out of memory");
        return -1;
    }
    if (sqlite_store_open_pool(store, error, error_size) != 0) {
        sqlite_store_close(store);
        return -1;
    }
    int rc = pthread_create(&store->flusher, NULL, sqlite_store_flusher, store);
    if (rc != 0) {
        snprintf(error, error_size, "cannot start the hit flusher thread: %s", strerror(rc));
        sqlite_store_close(store);
        return -1;
    }
    store->flusher_running = true;
    *out = store;
    return 0;
}

void sqlite_store_close(struct sqlite_store *store)
{
    if (store == NULL) {
        return;
    }
    if (store->flusher_running) {
        pthread_mutex_lock(&store->flusher_lock);
        store->stopping = true;
        pthread_cond_signal(&store->flusher_wake);
        pthread_mutex_unlock(&store->flusher_lock);
        pthread_join(store->flusher, NULL);
    }
    if (store->flush_conn.db != NULL && sqlite_store_flush_hits(store) != 0) {
        fprintf(stderr, "sqlite_store: hit counts of the last %u ms could not be written\n",
                store->options.hit_flush_interval_ms);
    }
    for (size_t i = 0; i < store->conn_count; i++) {
        sqlite_conn_close(&store->conns[i]);
    }
    sqlite_conn_close(&store->flush_conn);
    sqlite_hits_release(&store->hits);
    pthread_rwlock_destroy(&store->hits_lock);
    pthread_mutex_destroy(&store->hits_mutex);
    pthread_mutex_destroy(&store->pool_lock);
    pthread_cond_destroy(&store->pool_freed);
    pthread_mutex_destroy(&store->flusher_lock);
    pthread_cond_destroy(&store->flusher_wake);
    free(store->conns);
    free(store);
}
