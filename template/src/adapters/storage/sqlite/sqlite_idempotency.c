/*
 * sqlite_idempotency.c: one connection, prepared statements, offloaded calls.
 */
#include "adapters/storage/sqlite/sqlite_idempotency.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "platform/runtime/fiber.h"

#define SQLITE_IDEMPOTENCY_BUSY_TIMEOUT_MS 5000

struct sqlite_idempotency {
    pthread_mutex_t lock;
    sqlite3 *db;
    sqlite3_stmt *select;
    sqlite3_stmt *upsert;
    sqlite3_stmt *complete;
    sqlite3_stmt *release;
    sqlite3_stmt *purge;
    sqlite3_stmt *evict;
    size_t capacity;
    size_t rows; /* exact: see the header */
};

static const struct {
    size_t offset;
    const char *sql;
} sqlite_idempotency_statements[] = {
    {offsetof(struct sqlite_idempotency, select),
     "SELECT url, alias, state, claimed_at_ms, expires_at_ms, error, code, created_at_ms"
     " FROM idempotency_keys WHERE key = ?1"},
    {offsetof(struct sqlite_idempotency, upsert),
     "INSERT OR REPLACE INTO idempotency_keys (key, url, alias, state, claimed_at_ms,"
     " expires_at_ms) VALUES (?1, ?2, ?3, 1, ?4, ?5)"},
    {offsetof(struct sqlite_idempotency, complete),
     "UPDATE idempotency_keys SET state = 2, error = ?3, code = ?4, created_at_ms = ?5"
     " WHERE key = ?1 AND state = 1 AND claimed_at_ms = ?2"},
    {offsetof(struct sqlite_idempotency, release),
     "DELETE FROM idempotency_keys WHERE key = ?1 AND state = 1 AND claimed_at_ms = ?2"},
    {offsetof(struct sqlite_idempotency, purge),
     "DELETE FROM idempotency_keys WHERE key IN (SELECT key FROM idempotency_keys"
     " WHERE expires_at_ms <= ?1 ORDER BY expires_at_ms LIMIT 2)"},
    {offsetof(struct sqlite_idempotency, evict),
     "DELETE FROM idempotency_keys WHERE key = (SELECT key FROM idempotency_keys"
     " WHERE state = 2 OR expires_at_ms <= ?1 ORDER BY expires_at_ms LIMIT 1)"},
};

#define SQLITE_IDEMPOTENCY_STATEMENT_COUNT \
    (sizeof(sqlite_idempotency_statements) / sizeof(sqlite_idempotency_statements[0]))

static sqlite3_stmt **sqlite_idempotency_slot(struct sqlite_idempotency *store, size_t i)
{
    return (sqlite3_stmt **)((char *)store + sqlite_idempotency_statements[i].offset);
}

/* The driver's message goes to the operator, a domain error to the caller. */
static enum domain_error sqlite_idempotency_failed(sqlite3 *db, const char *what)
{
    int rc = sqlite3_extended_errcode(db);
    fprintf(stderr, "sqlite_idempotency: %s: %s (%d)\n", what, sqlite3_errmsg(db), rc);
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
        return DOMAIN_ERROR_STORE_TIMEOUT;
    }
    return DOMAIN_ERROR_STORE_UNAVAILABLE;
}

/* Steps a statement that returns no row, then resets it. */
static int sqlite_idempotency_step_done(sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- claim ---------------------------------------------------------------- */

struct sqlite_idempotency_call {
    struct sqlite_idempotency *store;
    int op; /* 0 claim, 1 complete, 2 release */
    const char *key;
    size_t key_len;
    const struct idempotency_request *request;
    const struct idempotency_times *times;
    enum idempotency_verdict *verdict;
    struct idempotency_outcome *outcome;
    const struct idempotency_outcome *recorded;
    int64_t claimed_at_ms;
    enum domain_error result;
    bool finished;
};

static void sqlite_idempotency_read_outcome(sqlite3_stmt *stmt, struct idempotency_outcome *out)
{
    memset(out, 0, sizeof(*out));
    const char *error = (const char *)sqlite3_column_text(stmt, 5);
    size_t error_len = (size_t)sqlite3_column_bytes(stmt, 5);
    out->error =
        error != NULL ? idempotency_error_from_code(error, error_len) : DOMAIN_ERROR_INTERNAL;
    const unsigned char *code = sqlite3_column_text(stmt, 6);
    size_t code_len = (size_t)sqlite3_column_bytes(stmt, 6);
    if (code != NULL && code_len <= LINK_CODE_MAX) {
        memcpy(out->code, code, code_len);
        out->code[code_len] = '\0';
        out->code_len = code_len;
    } else {
        out->error = DOMAIN_ERROR_INTERNAL;
    }
    out->created_at_ms = sqlite3_column_int64(stmt, 7);
}

/* Reads the key's row (if any) and decides; *exists tells whether a row
 * was there. Runs inside the claim's transaction. */
static enum domain_error sqlite_idempotency_decide(struct sqlite_idempotency_call *call,
                                                   bool *exists)
{
    sqlite3_stmt *stmt = call->store->select;
    enum domain_error err = DOMAIN_OK;
    *exists = false;
    int rc = sqlite3_bind_text(stmt, 1, call->key, (int)call->key_len, SQLITE_STATIC);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
    }
    if (rc == SQLITE_ROW) {
        struct idempotency_entry entry = {
            .url = (const char *)sqlite3_column_text(stmt, 0),
            .url_len = (size_t)sqlite3_column_bytes(stmt, 0),
            .alias = (const char *)sqlite3_column_text(stmt, 1),
            .alias_len = (size_t)sqlite3_column_bytes(stmt, 1),
            .state = sqlite3_column_int(stmt, 2) == IDEMPOTENCY_COMPLETED ? IDEMPOTENCY_COMPLETED
                                                                          : IDEMPOTENCY_PENDING,
            .claimed_at_ms = sqlite3_column_int64(stmt, 3),
            .expires_at_ms = sqlite3_column_int64(stmt, 4),
        };
        *exists = true;
        *call->verdict = idempotency_decide(&entry, call->request, call->times);
        if (*call->verdict == IDEMPOTENCY_REPLAY) {
            sqlite_idempotency_read_outcome(stmt, call->outcome);
        }
    } else if (rc == SQLITE_DONE) {
        *call->verdict = IDEMPOTENCY_CLAIMED;
    } else {
        err = sqlite_idempotency_failed(call->store->db, "claim");
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return err;
}

/* Room for one more row in a full table: the completed or expired row
 * nearest expiry goes; pending rows are requests still running. */
static enum domain_error sqlite_idempotency_make_room(struct sqlite_idempotency *store,
                                                      int64_t now_ms)
{
    sqlite3_bind_int64(store->evict, 1, now_ms);
    if (sqlite_idempotency_step_done(store->evict) != 0) {
        return sqlite_idempotency_failed(store->db, "evict");
    }
    if (sqlite3_changes(store->db) == 0) {
        return DOMAIN_ERROR_IDEMPOTENCY_STORE_FULL;
    }
    store->rows--;
    return DOMAIN_OK;
}

static enum domain_error sqlite_idempotency_write_claim(struct sqlite_idempotency_call *call)
{
    sqlite3_stmt *stmt = call->store->upsert;
    const struct idempotency_request *request = call->request;
    int rc = sqlite3_bind_text(stmt, 1, call->key, (int)call->key_len, SQLITE_STATIC);
    if (rc == SQLITE_OK) {
        rc = sqlite3_bind_text(stmt, 2, request->url, (int)request->url_len, SQLITE_STATIC);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_bind_text(stmt, 3, request->alias_len > 0 ? request->alias : "",
                               (int)request->alias_len, SQLITE_STATIC);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_bind_int64(stmt, 4, call->times->now_ms);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_bind_int64(stmt, 5, call->times->expires_at_ms);
    }
    if (rc != SQLITE_OK || sqlite_idempotency_step_done(stmt) != 0) {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
        return sqlite_idempotency_failed(call->store->db, "claim");
    }
    return DOMAIN_OK;
}

static enum domain_error sqlite_idempotency_claim_in_tx(struct sqlite_idempotency_call *call)
{
    struct sqlite_idempotency *store = call->store;
    bool exists = false;
    enum domain_error err = sqlite_idempotency_decide(call, &exists);
    if (err != DOMAIN_OK || *call->verdict != IDEMPOTENCY_CLAIMED) {
        return err;
    }
    if (!exists) {
        err = store->rows >= store->capacity
                  ? sqlite_idempotency_make_room(store, call->times->now_ms)
                  : DOMAIN_OK;
    }
    if (err == DOMAIN_OK) {
        /* Takes over an expired or leased-out row in place (REPLACE). */
        err = sqlite_idempotency_write_claim(call);
    }
    if (err == DOMAIN_OK && !exists) {
        store->rows++;
    }
    return err;
}

static enum domain_error sqlite_idempotency_run_claim(struct sqlite_idempotency_call *call)
{
    struct sqlite_idempotency *store = call->store;
    if (sqlite3_exec(store->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        return sqlite_idempotency_failed(store->db, "claim");
    }
    /* Forget a little of the past on every claim, so rows do not pile up
     * until the table is full. */
    sqlite3_bind_int64(store->purge, 1, call->times->now_ms);
    enum domain_error err = DOMAIN_OK;
    if (sqlite_idempotency_step_done(store->purge) != 0) {
        err = sqlite_idempotency_failed(store->db, "purge");
    } else {
        size_t purged = (size_t)sqlite3_changes(store->db);
        store->rows = purged > store->rows ? 0 : store->rows - purged;
        err = sqlite_idempotency_claim_in_tx(call);
    }
    if (err == DOMAIN_OK || err == DOMAIN_ERROR_IDEMPOTENCY_STORE_FULL) {
        if (sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) {
            return err;
        }
        err = sqlite_idempotency_failed(store->db, "claim commit");
    }
    sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
    return err;
}

/* ---- complete and release ------------------------------------------------- */

static enum domain_error sqlite_idempotency_run_complete(struct sqlite_idempotency_call *call)
{
    sqlite3_stmt *stmt = call->store->complete;
    const struct idempotency_outcome *outcome = call->recorded;
    const char *error = domain_error_code(outcome->error);
    int rc = sqlite3_bind_text(stmt, 1, call->key, (int)call->key_len, SQLITE_STATIC);
    if (rc == SQLITE_OK) {
        rc = sqlite3_bind_int64(stmt, 2, call->claimed_at_ms);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_bind_text(stmt, 3, error, -1, SQLITE_STATIC);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_bind_text(stmt, 4, outcome->code, (int)outcome->code_len, SQLITE_STATIC);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_bind_int64(stmt, 5, outcome->created_at_ms);
    }
    if (rc != SQLITE_OK || sqlite_idempotency_step_done(stmt) != 0) {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
        return sqlite_idempotency_failed(call->store->db, "complete");
    }
    return DOMAIN_OK;
}

static enum domain_error sqlite_idempotency_run_release(struct sqlite_idempotency_call *call)
{
    struct sqlite_idempotency *store = call->store;
    sqlite3_stmt *stmt = store->release;
    int rc = sqlite3_bind_text(stmt, 1, call->key, (int)call->key_len, SQLITE_STATIC);
    if (rc == SQLITE_OK) {
        rc = sqlite3_bind_int64(stmt, 2, call->claimed_at_ms);
    }
    if (rc != SQLITE_OK || sqlite_idempotency_step_done(stmt) != 0) {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
        return sqlite_idempotency_failed(store->db, "release");
    }
    if (sqlite3_changes(store->db) > 0 && store->rows > 0) {
        store->rows--;
    }
    return DOMAIN_OK;
}

/* ---- offloading ----------------------------------------------------------- */

static void sqlite_idempotency_call_run(void *arg)
{
    struct sqlite_idempotency_call *call = arg;
    pthread_mutex_lock(&call->store->lock);
    if (call->op == 0) {
        call->result = sqlite_idempotency_run_claim(call);
    } else if (call->op == 1) {
        call->result = sqlite_idempotency_run_complete(call);
    } else {
        call->result = sqlite_idempotency_run_release(call);
    }
    pthread_mutex_unlock(&call->store->lock);
    call->finished = true;
}

static enum domain_error sqlite_idempotency_call(struct sqlite_idempotency_call *call,
                                                 void *call_context)
{
    if (call->key_len == 0 || call->key_len > IDEMPOTENCY_KEY_MAX) {
        return DOMAIN_ERROR_INTERNAL;
    }
    if (fiber_current() == NULL) {
        sqlite_idempotency_call_run(call);
        return call->result;
    }
    int rc = fiber_offload(call_context, sqlite_idempotency_call_run, call);
    /* A call that ran to the end counts even if ctx ended meanwhile. */
    if (call->finished) {
        return call->result;
    }
    return rc == -ETIMEDOUT || rc == -ECANCELED ? DOMAIN_ERROR_STORE_TIMEOUT
                                                : DOMAIN_ERROR_STORE_UNAVAILABLE;
}

static enum domain_error sqlite_idempotency_claim(void *self, void *call_context, const char *key,
                                                  size_t key_len,
                                                  const struct idempotency_request *request,
                                                  const struct idempotency_times *times,
                                                  enum idempotency_verdict *verdict,
                                                  struct idempotency_outcome *outcome)
{
    struct sqlite_idempotency_call call = {.store = self,
                                           .op = 0,
                                           .key = key,
                                           .key_len = key_len,
                                           .request = request,
                                           .times = times,
                                           .verdict = verdict,
                                           .outcome = outcome};
    return sqlite_idempotency_call(&call, call_context);
}

static enum domain_error sqlite_idempotency_complete(void *self, void *call_context,
                                                     const char *key, size_t key_len,
                                                     int64_t claimed_at_ms,
                                                     const struct idempotency_outcome *outcome)
{
    struct sqlite_idempotency_call call = {.store = self,
                                           .op = 1,
                                           .key = key,
                                           .key_len = key_len,
                                           .recorded = outcome,
                                           .claimed_at_ms = claimed_at_ms};
    return sqlite_idempotency_call(&call, call_context);
}

static enum domain_error sqlite_idempotency_release(void *self, void *call_context, const char *key,
                                                    size_t key_len, int64_t claimed_at_ms)
{
    struct sqlite_idempotency_call call = {
        .store = self, .op = 2, .key = key, .key_len = key_len, .claimed_at_ms = claimed_at_ms};
    return sqlite_idempotency_call(&call, call_context);
}

struct idempotency_store sqlite_idempotency_port(struct sqlite_idempotency *store)
{
    struct idempotency_store port = {
        .self = store,
        .claim = sqlite_idempotency_claim,
        .complete = sqlite_idempotency_complete,
        .release = sqlite_idempotency_release,
    };
    return port;
}

/* ---- lifecycle ------------------------------------------------------------ */

static int sqlite_idempotency_prepare(struct sqlite_idempotency *store, const char *path,
                                      char *error, size_t error_size)
{
    for (size_t i = 0; i < SQLITE_IDEMPOTENCY_STATEMENT_COUNT; i++) {
        if (sqlite3_prepare_v3(store->db, sqlite_idempotency_statements[i].sql, -1,
                               SQLITE_PREPARE_PERSISTENT, sqlite_idempotency_slot(store, i),
                               NULL) != SQLITE_OK) {
            snprintf(error, error_size,
                     "cannot prepare the idempotency statements on '%s': %s; run `hexsvc "
                     "migrate` or let the link store open the file first",
                     path, sqlite3_errmsg(store->db));
            return -1;
        }
    }
    sqlite3_stmt *count = NULL;
    int rc =
        sqlite3_prepare_v2(store->db, "SELECT count(*) FROM idempotency_keys", -1, &count, NULL);
    if (rc == SQLITE_OK && sqlite3_step(count) == SQLITE_ROW) {
        store->rows = (size_t)sqlite3_column_int64(count, 0);
        rc = SQLITE_OK;
    } else {
        snprintf(error, error_size, "cannot count the idempotency keys in '%s': %s", path,
                 sqlite3_errmsg(store->db));
        rc = SQLITE_ERROR;
    }
    sqlite3_finalize(count);
    return rc == SQLITE_OK ? 0 : -1;
}

int sqlite_idempotency_open(const char *path, size_t capacity, struct sqlite_idempotency **out,
                            char *error, size_t error_size)
{
    error[0] = '\0';
    if (capacity < 1) {
        snprintf(error, error_size, "the idempotency key bound must be at least 1");
        return -1;
    }
    struct sqlite_idempotency *store = calloc(1, sizeof(*store));
    if (store == NULL || pthread_mutex_init(&store->lock, NULL) != 0) {
        free(store);
        snprintf(error, error_size, "out of memory");
        return -1;
    }
    store->capacity = capacity;
    /* NOMUTEX: our own mutex serialises every use of the connection. */
    int rc = sqlite3_open_v2(path, &store->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(error, error_size, "cannot open the database file '%s': %s", path,
                 store->db != NULL ? sqlite3_errmsg(store->db) : sqlite3_errstr(rc));
        sqlite_idempotency_close(store);
        return -1;
    }
    sqlite3_busy_timeout(store->db, SQLITE_IDEMPOTENCY_BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(store->db, 1);
    if (sqlite3_exec(store->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite_idempotency_prepare(store, path, error, error_size) != 0) {
        if (error[0] == '\0') {
            snprintf(error, error_size, "cannot set up '%s': %s", path, sqlite3_errmsg(store->db));
        }
        sqlite_idempotency_close(store);
        return -1;
    }
    *out = store;
    return 0;
}

void sqlite_idempotency_close(struct sqlite_idempotency *store)
{
    if (store == NULL) {
        return;
    }
    for (size_t i = 0; i < SQLITE_IDEMPOTENCY_STATEMENT_COUNT; i++) {
        sqlite3_finalize(*sqlite_idempotency_slot(store, i));
    }
    sqlite3_close(store->db);
    pthread_mutex_destroy(&store->lock);
    free(store);
}
