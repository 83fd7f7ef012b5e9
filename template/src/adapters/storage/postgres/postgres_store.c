/*
 * postgres_store.c: per-worker pools of non-blocking libpq connections,
 * the three calls, retries and the breaker around them.
 */
#include "adapters/storage/postgres/postgres_store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "adapters/storage/postgres/postgres_breaker.h"
#include "adapters/storage/postgres/postgres_migrations.h"
#include "adapters/storage/postgres/postgres_timeout.h"
#include "platform/runtime/channel.h"
#include "platform/runtime/ctx.h"
#include "platform/runtime/fd_wait.h"
#include "platform/runtime/fiber.h"
#include "platform/runtime/runtime.h"
#include "platform/runtime/waitgroup.h"

#define POSTGRES_STORE_MAX_WORKERS 1024
#define POSTGRES_STORE_MAX_POOL 64
#define POSTGRES_STORE_MAX_EXTRA 4
/* How long a reclaimer waits for an abandoned statement's end after its
 * cancel request before it gives the connection up. */
#define POSTGRES_RECLAIM_GRACE_MS 2000

struct pg_pool;

struct pg_conn {
    PGconn *pg;
    struct fd_watch *watch;
    int watch_fd;
    unsigned timeout_ms;  /* the session's statement_timeout; 0: unknown */
    struct pg_pool *pool; /* its owner, for the reclaimer */
};

/* One worker's connections; touched only by that worker's fibers. */
struct pg_pool {
    struct postgres_store *store;
    struct pg_conn *conns;
    struct channel *idle;       /* of struct pg_conn * */
    struct waitgroup reclaimers; /* connections out being cancelled and drained */
};

struct postgres_store {
    struct postgres_store_options options;
    char *conninfo;
    struct postgres_breaker breaker;
    struct pg_pool *pools[POSTGRES_STORE_MAX_WORKERS]; /* by worker index, made lazily */
    /* Other adapters' statements (postgres_store_add_statements). */
    const struct postgres_statement *extra[POSTGRES_STORE_MAX_EXTRA];
    size_t extra_count[POSTGRES_STORE_MAX_EXTRA];
    atomic_uint_fast64_t connects;
    atomic_uint_fast64_t timeout_sets;
    atomic_uint_fast64_t cancels;
    atomic_uint_fast64_t reclaimed;
};

/* Outcome of one round trip, before it becomes a domain error. */
enum pg_outcome {
    PG_OK,
    PG_NO_ROWS,
    PG_DUPLICATE, /* unique_violation */
    PG_TIMEOUT,   /* ctx deadline or statement_timeout */
    PG_CANCELLED, /* ctx cancelled: the client left */
    PG_BROKEN,    /* connection lost or unusable: retryable */
    PG_FAILED,    /* the server refused the statement */
};

static const struct {
    const char *name;
    const char *sql;
    int params;
} pg_statements[] = {
    {"hexsvc_create",
     "INSERT INTO links (code, url, created_at_ms, hit_count) VALUES ($1, $2, $3, $4)", 4},
    {"hexsvc_get", "SELECT url, created_at_ms, hit_count FROM links WHERE code = $1", 1},
    {"hexsvc_hit",
     "UPDATE links SET hit_count = hit_count + 1 WHERE code = $1"
     " RETURNING url, created_at_ms, hit_count",
     1},
};

static uint64_t pg_monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

/* ---- waiting on the socket ------------------------------------------------ */

static void pg_conn_drop(struct pg_conn *conn)
{
    /* The watch first: libuv must stop polling before libpq closes the fd. */
    fd_watch_close(conn->watch);
    conn->watch = NULL;
    conn->watch_fd = -1;
    PQfinish(conn->pg);
    conn->pg = NULL;
    conn->timeout_ms = POSTGRES_TIMEOUT_UNKNOWN;
}

static enum pg_outcome pg_outcome_of_wait(int rc)
{
    if (rc == -ETIMEDOUT) {
        return PG_TIMEOUT;
    }
    return rc == -ECANCELED ? PG_CANCELLED : PG_BROKEN;
}

/* Parks until libpq's socket is ready; the socket may change during connect. */
static int pg_wait(struct pg_conn *conn, struct ctx *ctx, int events)
{
    int fd = PQsocket(conn->pg);
    if (fd < 0) {
        return -EBADF;
    }
    if (conn->watch == NULL || conn->watch_fd != fd) {
        fd_watch_close(conn->watch);
        conn->watch = NULL;
        int rc = fd_watch_open(fd, &conn->watch);
        if (rc < 0) {
            return rc;
        }
        conn->watch_fd = fd;
    }
    int rc = fd_watch_wait(conn->watch, ctx, events);
    return rc > 0 ? 0 : rc;
}

/* Waits until a whole result is buffered, then returns it (NULL: no more). */
static enum pg_outcome pg_next_result(struct pg_conn *conn, struct ctx *ctx, PGresult **out)
{
    while (PQisBusy(conn->pg)) {
        int rc = pg_wait(conn, ctx, FD_WAIT_READABLE);
        if (rc < 0) {
            return pg_outcome_of_wait(rc);
        }
        if (!PQconsumeInput(conn->pg)) {
            return PG_BROKEN;
        }
    }
    *out = PQgetResult(conn->pg);
    return PG_OK;
}

/* Sends what libpq has buffered, reading meanwhile so the server never
 * blocks on a full socket towards us. */
static enum pg_outcome pg_flush(struct pg_conn *conn, struct ctx *ctx)
{
    for (;;) {
        int pending = PQflush(conn->pg);
        if (pending == 0) {
            return PG_OK;
        }
        if (pending < 0) {
            return PG_BROKEN;
        }
        int rc = pg_wait(conn, ctx, FD_WAIT_READABLE | FD_WAIT_WRITABLE);
        if (rc < 0) {
            return pg_outcome_of_wait(rc);
        }
        if (!PQconsumeInput(conn->pg)) {
            return PG_BROKEN;
        }
    }
}

static enum pg_outcome pg_classify(const PGresult *result)
{
    ExecStatusType status = PQresultStatus(result);
    if (status == PGRES_TUPLES_OK) {
        return PQntuples(result) > 0 ? PG_OK : PG_NO_ROWS;
    }
    if (status == PGRES_COMMAND_OK) {
        return PG_OK;
    }
    const char *state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    if (state == NULL) {
        return PG_BROKEN;
    }
    if (strcmp(state, "23505") == 0) {
        return PG_DUPLICATE;
    }
    if (strcmp(state, "57014") == 0) {
        return PG_TIMEOUT; /* statement_timeout */
    }
    /* 08: connection exception; 57P: the server is shutting down. */
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0) {
        return PG_BROKEN;
    }
    fprintf(stderr, "postgres_store: %s: %s", state, PQresultErrorMessage(result));
    return PG_FAILED;
}

/* Reads every result of the last query; keeps the first in *first (the
 * caller clears it) and classifies the round trip by it. */
static enum pg_outcome pg_collect(struct pg_conn *conn, struct ctx *ctx, PGresult **first)
{
    *first = NULL;
    enum pg_outcome outcome = PG_BROKEN;
    for (;;) {
        PGresult *result = NULL;
        enum pg_outcome waited = pg_next_result(conn, ctx, &result);
        if (waited != PG_OK) {
            PQclear(*first);
            *first = NULL;
            return waited;
        }
        if (result == NULL) {
            return outcome;
        }
        if (*first == NULL) {
            *first = result;
            outcome = pg_classify(result);
        } else {
            PQclear(result);
        }
    }
}

/* ---- connecting ----------------------------------------------------------- */

/* After a PQsend* call: sends it, waits for its result and drops the rows. */
static enum pg_outcome pg_finish_command(struct pg_conn *conn, struct ctx *ctx)
{
    PGresult *result = NULL;
    enum pg_outcome outcome = pg_flush(conn, ctx);
    if (outcome == PG_OK) {
        outcome = pg_collect(conn, ctx, &result);
    }
    PQclear(result);
    return outcome;
}

static enum pg_outcome pg_simple(struct pg_conn *conn, struct ctx *ctx, const char *sql)
{
    if (!PQsendQuery(conn->pg, sql)) {
        return PG_BROKEN;
    }
    enum pg_outcome outcome = pg_finish_command(conn, ctx);
    return outcome == PG_NO_ROWS ? PG_OK : outcome;
}

static enum pg_outcome pg_prepare(struct pg_conn *conn, struct ctx *ctx, const char *name,
                                  const char *sql, int params)
{
    if (!PQsendPrepare(conn->pg, name, sql, params, NULL)) {
        return PG_BROKEN;
    }
    return pg_finish_command(conn, ctx);
}

/* The statements other adapters over this pool registered. */
static enum pg_outcome pg_prepare_extra(struct pg_conn *conn, struct ctx *ctx)
{
    const struct postgres_store *store = conn->pool->store;
    enum pg_outcome outcome = PG_OK;
    for (size_t list = 0; outcome == PG_OK && list < POSTGRES_STORE_MAX_EXTRA; list++) {
        for (size_t i = 0; outcome == PG_OK && i < store->extra_count[list]; i++) {
            const struct postgres_statement *statement = &store->extra[list][i];
            outcome = pg_prepare(conn, ctx, statement->name, statement->sql, statement->params);
        }
    }
    return outcome;
}

static enum pg_outcome pg_prepare_all(struct pg_conn *conn, struct ctx *ctx,
                                      unsigned statement_timeout_ms)
{
    char sql[64];
    snprintf(sql, sizeof(sql), "SET statement_timeout = %u", statement_timeout_ms);
    enum pg_outcome outcome = pg_simple(conn, ctx, sql);
    conn->timeout_ms = outcome == PG_OK ? statement_timeout_ms : POSTGRES_TIMEOUT_UNKNOWN;
    for (size_t i = 0; outcome == PG_OK && i < sizeof(pg_statements) / sizeof(pg_statements[0]);
         i++) {
        outcome = pg_prepare(conn, ctx, pg_statements[i].name, pg_statements[i].sql,
                             pg_statements[i].params);
    }
    return outcome == PG_OK ? pg_prepare_extra(conn, ctx) : outcome;
}

static enum pg_outcome pg_connect_poll(struct pg_conn *conn, struct ctx *ctx)
{
    /* libpq: behave as if PQconnectPoll had asked for writability first. */
    PostgresPollingStatusType polling = PGRES_POLLING_WRITING;
    for (;;) {
        if (polling == PGRES_POLLING_OK) {
            return PG_OK;
        }
        if (polling == PGRES_POLLING_FAILED) {
            return PG_BROKEN;
        }
        int rc = pg_wait(conn, ctx,
                         polling == PGRES_POLLING_READING ? FD_WAIT_READABLE : FD_WAIT_WRITABLE);
        if (rc < 0) {
            return pg_outcome_of_wait(rc);
        }
        polling = PQconnectPoll(conn->pg);
    }
}

static enum pg_outcome pg_connect(struct postgres_store *store, struct pg_conn *conn,
                                  struct ctx *parent)
{
    struct ctx ctx;
    ctx_with_timeout(&ctx, parent, store->options.connect_timeout_ms);
    enum pg_outcome outcome = PG_BROKEN;
    conn->pg = PQconnectStart(store->conninfo);
    if (conn->pg != NULL && PQstatus(conn->pg) != CONNECTION_BAD) {
        outcome = pg_connect_poll(conn, &ctx);
    }
    if (outcome == PG_OK && PQsetnonblocking(conn->pg, 1) != 0) {
        outcome = PG_BROKEN;
    }
    if (outcome == PG_OK) {
        outcome = pg_prepare_all(conn, &ctx, store->options.statement_timeout_ms);
    }
    if (outcome == PG_OK) {
        atomic_fetch_add_explicit(&store->connects, 1, memory_order_relaxed);
    }
    /* The connect timeout is ours, not the request's: a slow server is a
     * broken backend for the breaker, unless the request itself ran out. */
    if (outcome == PG_TIMEOUT && ctx_err(parent) == 0) {
        outcome = PG_BROKEN;
    }
    ctx_release(&ctx);
    if (outcome != PG_OK) {
        if (conn->pg != NULL && outcome == PG_BROKEN) {
            fprintf(stderr, "postgres_store: cannot connect: %s", PQerrorMessage(conn->pg));
        }
        pg_conn_drop(conn);
    }
    return outcome;
}

/* ---- the pool ------------------------------------------------------------- */

static struct pg_pool *pg_pool_of_worker(struct postgres_store *store)
{
    unsigned index = runtime_worker_index();
    if (index >= POSTGRES_STORE_MAX_WORKERS) {
        return NULL;
    }
    struct pg_pool *pool = store->pools[index];
    if (pool != NULL) {
        return pool;
    }
    /* Only this worker ever reads or writes its slot: no lock needed. */
    pool = calloc(1, sizeof(*pool));
    if (pool == NULL) {
        return NULL;
    }
    pool->store = store;
    waitgroup_init(&pool->reclaimers);
    pool->conns = calloc(store->options.pool_size, sizeof(struct pg_conn));
    pool->idle = channel_create(store->options.pool_size, sizeof(struct pg_conn *));
    if (pool->conns == NULL || pool->idle == NULL) {
        free(pool->conns);
        if (pool->idle != NULL) {
            channel_destroy(pool->idle);
        }
        free(pool);
        return NULL;
    }
    for (unsigned i = 0; i < store->options.pool_size; i++) {
        struct pg_conn *conn = &pool->conns[i];
        conn->watch_fd = -1;
        conn->pool = pool;
        (void)channel_try_send(pool->idle, &conn);
    }
    store->pools[index] = pool;
    return pool;
}

static enum pg_outcome pg_acquire(struct postgres_store *store, struct ctx *ctx,
                                  struct pg_pool **pool_out, struct pg_conn **out)
{
    struct pg_pool *pool = pg_pool_of_worker(store);
    if (pool == NULL) {
        return PG_FAILED;
    }
    int rc = channel_recv(pool->idle, ctx, out);
    if (rc < 0) {
        return pg_outcome_of_wait(rc);
    }
    *pool_out = pool;
    if ((*out)->pg != NULL && PQstatus((*out)->pg) == CONNECTION_OK) {
        return PG_OK;
    }
    if ((*out)->pg != NULL) {
        pg_conn_drop(*out);
    }
    enum pg_outcome outcome = pg_connect(store, *out, ctx);
    if (outcome != PG_OK) {
        (void)channel_try_send(pool->idle, out);
    }
    return outcome;
}

static void pg_pool_put(struct pg_pool *pool, struct pg_conn *conn)
{
    (void)channel_try_send(pool->idle, &conn);
}

/* A statement's result was read to its end: the session is idle and the
 * connection as good as new (a statement the server timed out included). */
static bool pg_conn_idle(const struct pg_conn *conn)
{
    return conn->pg != NULL && PQstatus(conn->pg) == CONNECTION_OK && !PQisBusy(conn->pg) &&
           PQtransactionStatus(conn->pg) == PQTRANS_IDLE;
}

struct pg_cancel_work {
    PGcancel *cancel;
    bool sent;
};

/* On the thread pool: PQcancel opens a connection of its own and blocks
 * until the server took the request. */
static void pg_cancel_work_run(void *arg)
{
    struct pg_cancel_work *work = arg;
    char error[256];
    work->sent = PQcancel(work->cancel, error, (int)sizeof(error)) == 1;
}

/*
 * A detached fiber that owns a connection whose caller gave up mid-statement
 * (deadline or cancellation). The statement may still run on the server, so
 * the connection must not go back to the pool yet: ask the server to cancel
 * it, read what is left of its results (the cancel error, usually), and
 * return the connection only once the session is idle again; otherwise
 * drop it. Its contexts are roots of their own, so a shutdown in progress
 * does not cut the cleanup short (the grace bounds it).
 */
static void pg_reclaim_fiber(void *arg)
{
    struct pg_conn *conn = arg;
    struct pg_pool *pool = conn->pool;
    struct postgres_store *store = pool->store;
    struct ctx grace;
    ctx_with_timeout(&grace, NULL, POSTGRES_RECLAIM_GRACE_MS);
    struct pg_cancel_work work = {.cancel = PQgetCancel(conn->pg)};
    if (work.cancel != NULL) {
        (void)fiber_offload(&grace, pg_cancel_work_run, &work);
        PQfreeCancel(work.cancel);
        if (work.sent) {
            atomic_fetch_add_explicit(&store->cancels, 1, memory_order_relaxed);
        }
    }
    /* The caller may have left with the statement half sent. */
    enum pg_outcome outcome = pg_flush(conn, &grace);
    if (outcome == PG_OK) {
        PGresult *first = NULL;
        outcome = pg_collect(conn, &grace, &first);
        PQclear(first);
    }
    ctx_release(&grace);
    if (outcome != PG_BROKEN && pg_conn_idle(conn)) {
        atomic_fetch_add_explicit(&store->reclaimed, 1, memory_order_relaxed);
    } else {
        pg_conn_drop(conn);
    }
    pg_pool_put(pool, conn);
    waitgroup_done(&pool->reclaimers);
}

/* Back to the pool: as it is when the round trip ended cleanly (a
 * statement the server timed out ends cleanly), through a reclaimer when
 * the caller left mid-statement, closed when the connection broke. */
static void pg_release(struct pg_pool *pool, struct pg_conn *conn, enum pg_outcome outcome)
{
    if (conn->pg == NULL) {
        /* never connected or already dropped: nothing to clean */
    } else if (outcome == PG_BROKEN || PQstatus(conn->pg) != CONNECTION_OK) {
        pg_conn_drop(conn);
    } else if ((outcome == PG_TIMEOUT || outcome == PG_CANCELLED) && !pg_conn_idle(conn)) {
        waitgroup_add(&pool->reclaimers, 1);
        if (fiber_go("pg-reclaim", pg_reclaim_fiber, conn) == 0) {
            return;
        }
        waitgroup_done(&pool->reclaimers);
        pg_conn_drop(conn);
    }
    pg_pool_put(pool, conn);
}

/* Gives the session the statement_timeout this caller's deadline calls for,
 * when the one it has does not fit (postgres_timeout.h): usually nothing to
 * do. *from_deadline says whether the value is below the ceiling, so that
 * the server timing the statement out is the caller's deadline, not a
 * database too slow for the ceiling. */
static enum pg_outcome pg_apply_timeout(struct postgres_store *store, struct pg_conn *conn,
                                        struct ctx *ctx, bool *from_deadline)
{
    unsigned ceiling = store->options.statement_timeout_ms;
    unsigned want = postgres_timeout_pick(conn->timeout_ms, ctx_remaining_ms(ctx), ceiling);
    *from_deadline = want < ceiling;
    if (want == conn->timeout_ms) {
        return PG_OK;
    }
    char sql[64];
    snprintf(sql, sizeof(sql), "SET statement_timeout = %u", want);
    conn->timeout_ms = POSTGRES_TIMEOUT_UNKNOWN; /* until the server confirmed it */
    atomic_fetch_add_explicit(&store->timeout_sets, 1, memory_order_relaxed);
    enum pg_outcome outcome = pg_simple(conn, ctx, sql);
    if (outcome == PG_OK) {
        conn->timeout_ms = want;
    }
    return outcome;
}

/* ---- one call ------------------------------------------------------------- */

struct pg_call {
    const char *statement;
    int param_count;
    const char *params[POSTGRES_QUERY_MAX_PARAMS];
    bool idempotent;
    bool deadline_bound; /* set: the statement ran with a timeout from the deadline */
    PGresult *result;    /* on PG_OK or PG_NO_ROWS, for the caller to read and clear */
};

static enum pg_outcome pg_round_trip(struct postgres_store *store, struct ctx *ctx,
                                     struct pg_call *call)
{
    struct pg_pool *pool = NULL;
    struct pg_conn *conn = NULL;
    enum pg_outcome outcome = pg_acquire(store, ctx, &pool, &conn);
    if (outcome != PG_OK) {
        return outcome;
    }
    outcome = pg_apply_timeout(store, conn, ctx, &call->deadline_bound);
    if (outcome != PG_OK) {
        pg_release(pool, conn, outcome);
        return outcome;
    }
    if (!PQsendQueryPrepared(conn->pg, call->statement, call->param_count, call->params, NULL, NULL,
                             0)) {
        outcome = PG_BROKEN;
    } else {
        outcome = pg_flush(conn, ctx);
    }
    if (outcome == PG_OK) {
        outcome = pg_collect(conn, ctx, &call->result);
    }
    pg_release(pool, conn, outcome);
    return outcome;
}

/* Full jitter: a uniform wait in [0, base * 2^attempt), so retrying
 * replicas do not hammer a recovering server in lockstep. */
static uint64_t pg_backoff_ms(const struct postgres_store *store, unsigned attempt, unsigned *seed)
{
    uint64_t cap = (uint64_t)store->options.backoff_base_ms << (attempt < 10 ? attempt : 10);
    *seed = *seed * 1103515245U + 12345U;
    return cap == 0 ? 0 : (*seed >> 8) % cap;
}

static bool pg_counts_against_breaker(enum pg_outcome outcome)
{
    return outcome == PG_BROKEN || outcome == PG_TIMEOUT;
}

/* The breaker, the retries, and the mapping to domain errors. */
static enum domain_error pg_call_run(struct postgres_store *store, void *call_context,
                                     struct pg_call *call)
{
    struct ctx *ctx = call_context;
    if (fiber_current() == NULL) {
        return DOMAIN_ERROR_INTERNAL; /* contract of this adapter: fibers only */
    }
    unsigned attempts = call->idempotent ? store->options.max_attempts : 1;
    unsigned seed = (unsigned)(pg_monotonic_ms() ^ fiber_id(fiber_current()));
    enum pg_outcome outcome = PG_BROKEN;
    for (unsigned attempt = 0; attempt < attempts; attempt++) {
        if (attempt > 0 && fiber_sleep(ctx, pg_backoff_ms(store, attempt - 1, &seed)) != 0) {
            break; /* the deadline came first: report the last failure */
        }
        if (!postgres_breaker_allow(&store->breaker, pg_monotonic_ms())) {
            return DOMAIN_ERROR_STORE_UNAVAILABLE;
        }
        call->result = NULL;
        outcome = pg_round_trip(store, ctx, call);
        /* A timeout the caller's deadline set (ours or the server's, from
         * it) says nothing about the database's health. */
        bool deadline = outcome == PG_TIMEOUT && (ctx_done(ctx) || call->deadline_bound);
        if (pg_counts_against_breaker(outcome) && !deadline) {
            postgres_breaker_failure(&store->breaker, pg_monotonic_ms());
        } else if (outcome == PG_CANCELLED || outcome == PG_TIMEOUT) {
            postgres_breaker_abandon(&store->breaker);
        } else {
            postgres_breaker_success(&store->breaker);
        }
        if (outcome != PG_BROKEN) {
            break;
        }
        PQclear(call->result);
        call->result = NULL;
    }
    switch (outcome) {
    case PG_OK:
        return DOMAIN_OK;
    case PG_NO_ROWS:
        return DOMAIN_ERROR_NOT_FOUND;
    case PG_DUPLICATE:
        return DOMAIN_ERROR_CODE_TAKEN;
    case PG_TIMEOUT:
    case PG_CANCELLED:
        return DOMAIN_ERROR_STORE_TIMEOUT;
    case PG_BROKEN:
    case PG_FAILED:
    default:
        return DOMAIN_ERROR_STORE_UNAVAILABLE;
    }
}

/* ---- the port ------------------------------------------------------------- */

static bool pg_code_fits(size_t code_len)
{
    return code_len > 0 && code_len <= LINK_CODE_MAX;
}

static enum domain_error pg_read_link(const PGresult *result, const char *code, size_t code_len,
                                      struct link *out)
{
    if (PQnfields(result) != 3) {
        return DOMAIN_ERROR_INTERNAL;
    }
    size_t url_len = (size_t)PQgetlength(result, 0, 0);
    if (url_len > LINK_URL_MAX) {
        return DOMAIN_ERROR_INTERNAL;
    }
    memcpy(out->code, code, code_len);
    out->code[code_len] = '\0';
    out->code_len = code_len;
    memcpy(out->url, PQgetvalue(result, 0, 0), url_len);
    out->url[url_len] = '\0';
    out->url_len = url_len;
    out->created_at_ms = strtoll(PQgetvalue(result, 0, 1), NULL, 10);
    out->hit_count = strtoull(PQgetvalue(result, 0, 2), NULL, 10);
    return DOMAIN_OK;
}

static enum domain_error pg_store_create(void *self, void *call_context, const struct link *link)
{
    if (!pg_code_fits(link->code_len) || link->url_len > LINK_URL_MAX) {
        return DOMAIN_ERROR_INTERNAL;
    }
    char created[24];
    char hits[24];
    snprintf(created, sizeof(created), "%" PRId64, link->created_at_ms);
    snprintf(hits, sizeof(hits), "%" PRIu64, link->hit_count);
    struct pg_call call = {.statement = "hexsvc_create",
                           .param_count = 4,
                           .params = {link->code, link->url, created, hits}};
    enum domain_error err = pg_call_run(self, call_context, &call);
    PQclear(call.result);
    return err;
}

static enum domain_error pg_store_lookup(void *self, void *call_context, const char *statement,
                                         const char *code, size_t code_len, struct link *out)
{
    if (!pg_code_fits(code_len)) {
        return DOMAIN_ERROR_NOT_FOUND;
    }
    char key[LINK_CODE_MAX + 1];
    memcpy(key, code, code_len);
    key[code_len] = '\0';
    struct pg_call call = {.statement = statement,
                           .param_count = 1,
                           .params = {key},
                           .idempotent = strcmp(statement, "hexsvc_get") == 0};
    enum domain_error err = pg_call_run(self, call_context, &call);
    if (err == DOMAIN_OK && out != NULL) {
        err = pg_read_link(call.result, code, code_len, out);
    }
    PQclear(call.result);
    return err;
}

static enum domain_error pg_store_get(void *self, void *call_context, const char *code,
                                      size_t code_len, struct link *out)
{
    return pg_store_lookup(self, call_context, "hexsvc_get", code, code_len, out);
}

static enum domain_error pg_store_record_hit(void *self, void *call_context, const char *code,
                                             size_t code_len, struct link *out)
{
    return pg_store_lookup(self, call_context, "hexsvc_hit", code, code_len, out);
}

struct link_store postgres_store_port(struct postgres_store *store)
{
    struct link_store port = {
        .self = store,
        .create = pg_store_create,
        .get = pg_store_get,
        .record_hit = pg_store_record_hit,
    };
    return port;
}

int postgres_store_add_statements(struct postgres_store *store,
                                  const struct postgres_statement *statements, size_t count)
{
    for (size_t list = 0; list < POSTGRES_STORE_MAX_EXTRA; list++) {
        if (store->extra[list] == NULL) {
            store->extra[list] = statements;
            store->extra_count[list] = count;
            return 0;
        }
    }
    return -1;
}

enum domain_error postgres_store_query(struct postgres_store *store, void *call_context,
                                       const char *statement, int param_count,
                                       const char *const *params, bool retry,
                                       struct pg_result **result)
{
    *result = NULL;
    if (param_count < 0 || param_count > POSTGRES_QUERY_MAX_PARAMS) {
        return DOMAIN_ERROR_INTERNAL;
    }
    struct pg_call call = {.statement = statement, .param_count = param_count, .idempotent = retry};
    for (int i = 0; i < param_count; i++) {
        call.params[i] = params[i];
    }
    enum domain_error err = pg_call_run(store, call_context, &call);
    if (err == DOMAIN_ERROR_NOT_FOUND) {
        err = DOMAIN_OK; /* no rows is an answer here; the caller reads the result */
    } else if (err == DOMAIN_ERROR_CODE_TAKEN) {
        err = DOMAIN_ERROR_INTERNAL; /* a unique_violation the caller's SQL did not expect */
    }
    if (err == DOMAIN_OK) {
        *result = call.result;
    } else {
        PQclear(call.result);
    }
    return err;
}

enum postgres_breaker_state postgres_store_breaker_state(struct postgres_store *store)
{
    return postgres_breaker_state(&store->breaker);
}

void postgres_store_counters(struct postgres_store *store, struct postgres_store_counters *out)
{
    out->connects = atomic_load_explicit(&store->connects, memory_order_relaxed);
    out->timeout_sets = atomic_load_explicit(&store->timeout_sets, memory_order_relaxed);
    out->cancels = atomic_load_explicit(&store->cancels, memory_order_relaxed);
    out->reclaimed = atomic_load_explicit(&store->reclaimed, memory_order_relaxed);
}

/* ---- lifecycle ------------------------------------------------------------ */

struct postgres_store_options postgres_store_default_options(void)
{
    struct postgres_store_options options = {
        .conninfo = NULL,
        .pool_size = 4,
        .connect_timeout_ms = 2000,
        .statement_timeout_ms = 5000,
        .breaker_failures = 5,
        .breaker_cooldown_ms = 1000,
        .max_attempts = 3,
        .backoff_base_ms = 20,
    };
    return options;
}

/* The first line of libpq's message; it never contains the password. */
static void pg_describe(PGconn *pg, char *error, size_t error_size, const char *what)
{
    char message[512];
    snprintf(message, sizeof(message), "%s", pg != NULL ? PQerrorMessage(pg) : "out of memory");
    message[strcspn(message, "\n")] = '\0';
    snprintf(error, error_size, "%s: %s", what, message);
}

static void pg_ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

int postgres_store_migrate(const char *conninfo, int *applied, char *error, size_t error_size)
{
    if (conninfo == NULL || conninfo[0] == '\0') {
        snprintf(error, error_size,
                 "no database URL: set HEXSVC_DATABASE_URL (--database-url), e.g. "
                 "postgresql://user@host:5432/dbname");
        return -1;
    }
    PGconn *pg = PQconnectdb(conninfo);
    if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
        pg_describe(pg, error, error_size,
                    "cannot connect to PostgreSQL (check HEXSVC_DATABASE_URL and that the "
                    "server is up)");
        PQfinish(pg);
        return -1;
    }
    /* "already exists, skipping" notices are expected on every start. */
    PQsetNoticeProcessor(pg, pg_ignore_notice, NULL);
    int rc = postgres_migrations_apply(pg, applied, error, error_size);
    PQfinish(pg);
    return rc;
}

int postgres_store_open(const struct postgres_store_options *options, struct postgres_store **out,
                        char *error, size_t error_size)
{
    if (options->pool_size < 1 || options->pool_size > POSTGRES_STORE_MAX_POOL ||
        options->max_attempts < 1 || options->max_attempts > 10) {
        snprintf(error, error_size, "the pool size must be 1..%d and attempts 1..10",
                 POSTGRES_STORE_MAX_POOL);
        return -1;
    }
    if (postgres_store_migrate(options->conninfo, NULL, error, error_size) != 0) {
        return -1;
    }
    struct postgres_store *store = calloc(1, sizeof(*store));
    char *conninfo = strdup(options->conninfo);
    if (store == NULL || conninfo == NULL) {
        free(conninfo);
        free(store);
        snprintf(error, error_size, "out of memory");
        return -1;
    }
    store->conninfo = conninfo;
    atomic_init(&store->connects, 0);
    atomic_init(&store->timeout_sets, 0);
    atomic_init(&store->cancels, 0);
    atomic_init(&store->reclaimed, 0);
    store->options = *options;
    store->options.conninfo = store->conninfo;
    postgres_breaker_init(&store->breaker, options->breaker_failures, options->breaker_cooldown_ms);
    *out = store;
    return 0;
}

void postgres_store_worker_close(struct postgres_store *store)
{
    unsigned index = runtime_worker_index();
    if (store == NULL || index >= POSTGRES_STORE_MAX_WORKERS || store->pools[index] == NULL) {
        return;
    }
    struct pg_pool *pool = store->pools[index];
    /* Reclaimers hold connections and the pool: let them finish (each is
     * bounded by its grace). A root ctx: shutdown must not cut this short. */
    struct ctx wait;
    ctx_with_cancel(&wait, NULL);
    (void)waitgroup_wait(&pool->reclaimers, &wait);
    ctx_release(&wait);
    for (unsigned i = 0; i < store->options.pool_size; i++) {
        if (pool->conns[i].pg != NULL) {
            pg_conn_drop(&pool->conns[i]);
        }
    }
    channel_destroy(pool->idle);
    free(pool->conns);
    free(pool);
    store->pools[index] = NULL;
}

void postgres_store_close(struct postgres_store *store)
{
    if (store == NULL) {
        return;
    }
    /* Pools a worker did not close: their watches went with the loop. */
    for (size_t i = 0; i < POSTGRES_STORE_MAX_WORKERS; i++) {
        struct pg_pool *pool = store->pools[i];
        if (pool == NULL) {
            continue;
        }
        for (unsigned c = 0; c < store->options.pool_size; c++) {
            PQfinish(pool->conns[c].pg);
        }
        channel_destroy(pool->idle);
        free(pool->conns);
        free(pool);
    }
    postgres_breaker_destroy(&store->breaker);
    free(store->conninfo);
    free(store);
}
