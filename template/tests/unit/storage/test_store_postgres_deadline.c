/*
 * test_store_postgres_deadline.c: the request's deadline reaches the
 * PostgreSQL server, on a real server (ctest fixture `postgres`).
 *
 * A statement is made slow the way production makes it slow: another
 * session holds the row lock it needs. Then:
 * - a deadline shorter than the wait: the call fails with STORE_TIMEOUT,
 *   the server has ended the statement (pg_stat_activity), and the same
 *   pooled connection serves the next call;
 * - a request cancelled mid-statement (the client left) long before any
 *   timeout: the store cancels the statement on the server (PQcancel) and
 *   the connection comes back to the pool healthy;
 * - steady deadlines cost no SET statement_timeout round trip per call.
 * Every wait is bounded; nothing asserts on elapsed time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "../runtime/runtime_test.h"
#include "adapters/storage/postgres/postgres_store.h"
#include "adapters/storage/postgres/postgres_timeout.h"
#include "domain/domain_error.h"
#include "domain/link.h"
#include "pg_test_support.h"
#include "platform/runtime/ctx.h"
#include "platform/runtime/fiber.h"

/* The statement the lock holds up (record_hit's UPDATE). */
#define SLOW_QUERY "UPDATE links SET hit_count = hit_count + 1%"
#define POLL_MS 20
#define POLL_LIMIT 250 /* 5 s of polls */

static char pg_url[PG_TEST_URL_MAX];

struct deadline_env {
    struct postgres_store *store;
    struct link_store port;
    struct ctx *request; /* the call the canceller cuts short */
    int seen_active;     /* the canceller saw the statement running */
};

/* A plain blocking session of the test's own (it blocks the worker only
 * for a loopback round trip). */
static PGconn *session_open(void)
{
    PGconn *pg = PQconnectdb(pg_url);
    CHECK(PQstatus(pg) == CONNECTION_OK);
    return pg;
}

static int session_exec(PGconn *pg, const char *sql)
{
    PGresult *result = PQexec(pg, sql);
    ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(pg));
    }
    PQclear(result);
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ? 0 : -1;
}

/* How many backends run the slow statement right now. A session of its
 * own each time: pg_stat_activity is a snapshot per transaction. */
static long active_slow_statements(void)
{
    PGconn *pg = session_open();
    PGresult *result = PQexec(pg, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
                                  " AND query LIKE '" SLOW_QUERY "'");
    long count = -1;
    if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1) {
        count = strtol(PQgetvalue(result, 0, 0), NULL, 10);
    }
    PQclear(result);
    PQfinish(pg);
    return count;
}

/* Polls (bounded) until `want` backends run the slow statement. */
static bool wait_for_active(long want)
{
    for (int i = 0; i < POLL_LIMIT; i++) {
        if (active_slow_statements() == want) {
            return true;
        }
        fiber_sleep(NULL, POLL_MS);
    }
    return false;
}

/* A store with one connection, so "the same connection" is checkable, on
 * an empty schema with the link "slow". */
static void open_store(struct deadline_env *env, unsigned ceiling_ms)
{
    CHECK_EQ(pg_test_reset(pg_url), 0);
    struct postgres_store_options options = postgres_store_default_options();
    options.conninfo = pg_url;
    options.pool_size = 1;
    options.statement_timeout_ms = ceiling_ms;
    options.breaker_failures = 1000; /* the breaker has its own test */
    char why[512] = "";
    int rc = postgres_store_open(&options, &env->store, why, sizeof(why));
    if (rc != 0) {
        fprintf(stderr, "cannot open the store: %s\n", why);
    }
    CHECK_EQ(rc, 0);
    env->port = postgres_store_port(env->store);
    struct link link;
    CHECK_EQ(link_init(&link, "slow", 4, "https://slow.example/", 21, 1700000000000), DOMAIN_OK);
    struct ctx ctx;
    ctx_with_timeout(&ctx, NULL, 20000);
    CHECK_EQ(env->port.create(env->port.self, &ctx, &link), DOMAIN_OK);
    ctx_release(&ctx);
}

static void close_store(struct deadline_env *env)
{
    postgres_store_worker_close(env->store);
    postgres_store_close(env->store);
}

/* Another session takes the row lock of "slow" and keeps it. */
static PGconn *hold_row_lock(void)
{
    PGconn *holder = session_open();
    CHECK_EQ(session_exec(holder, "BEGIN"), 0);
    CHECK_EQ(session_exec(holder, "SELECT 1 FROM links WHERE code = 'slow' FOR UPDATE"), 0);
    return holder;
}

static void release_row_lock(PGconn *holder)
{
    CHECK_EQ(session_exec(holder, "ROLLBACK"), 0);
    PQfinish(holder);
}

/* The lock is gone: the same (only) connection answers, not a new one. */
static void check_connection_healthy(struct deadline_env *env, uint64_t hits)
{
    struct ctx ctx;
    struct link got;
    ctx_with_timeout(&ctx, NULL, 20000);
    CHECK_EQ(env->port.record_hit(env->port.self, &ctx, "slow", 4, &got), DOMAIN_OK);
    CHECK_EQ(got.hit_count, hits);
    ctx_release(&ctx);
    struct postgres_store_counters counters;
    postgres_store_counters(env->store, &counters);
    CHECK_EQ(counters.connects, 1);
}

static void body_deadline_shorter_than_statement(void *arg)
{
    struct deadline_env *env = arg;
    open_store(env, 30000); /* far beyond the test's waits: only the deadline can end it */
    PGconn *holder = hold_row_lock();
    struct ctx ctx;
    struct link got;
    ctx_with_timeout(&ctx, NULL, 400);
    CHECK_EQ(env->port.record_hit(env->port.self, &ctx, "slow", 4, &got),
             DOMAIN_ERROR_STORE_TIMEOUT);
    ctx_release(&ctx);
    /* The server ended the statement: no backend still waits on the lock
     * for a request that has gone. */
    CHECK(wait_for_active(0));
    struct postgres_store_counters counters;
    postgres_store_counters(env->store, &counters);
    CHECK(counters.timeout_sets >= 1); /* 400 ms is below the ceiling */
    release_row_lock(holder);
    check_connection_healthy(env, 1);
    close_store(env);
}

/* Cancels the request once its statement is seen running. */
static void canceller(void *arg)
{
    struct deadline_env *env = arg;
    env->seen_active = wait_for_active(1);
    ctx_cancel(env->request);
}

static void body_cancelled_request(void *arg)
{
    struct deadline_env *env = arg;
    open_store(env, 30000); /* a ceiling far beyond the test's waits */
    PGconn *holder = hold_row_lock();
    struct ctx ctx;
    struct link got;
    ctx_with_timeout(&ctx, NULL, 20000);
    env->request = &ctx;
    struct fiber *cutter = fiber_spawn("canceller", canceller, env);
    CHECK(cutter != NULL);
    CHECK_EQ(env->port.record_hit(env->port.self, &ctx, "slow", 4, &got),
             DOMAIN_ERROR_STORE_TIMEOUT);
    CHECK_EQ(fiber_join(cutter), 0);
    CHECK(env->seen_active);
    ctx_release(&ctx);
    /* Gone well before any timeout could have ended it: PQcancel did. */
    CHECK(wait_for_active(0));
    release_row_lock(holder);
    check_connection_healthy(env, 1);
    struct postgres_store_counters counters;
    postgres_store_counters(env->store, &counters);
    CHECK_EQ(counters.cancels, 1);
    CHECK_EQ(counters.reclaimed, 1);
    close_store(env);
}

/* Calls with the same deadline share one SET; the default request deadline
 * (above the ceiling) needs none at all. */
static void body_steady_deadlines(void *arg)
{
    struct deadline_env *env = arg;
    open_store(env, 5000);
    struct postgres_store_counters before;
    struct postgres_store_counters after;
    struct link got;
    postgres_store_counters(env->store, &before);
    for (int i = 0; i < 40; i++) {
        struct ctx ctx;
        ctx_with_timeout(&ctx, NULL, 30000);
        CHECK_EQ(env->port.get(env->port.self, &ctx, "slow", 4, &got), DOMAIN_OK);
        ctx_release(&ctx);
    }
    postgres_store_counters(env->store, &after);
    CHECK_EQ(after.timeout_sets, before.timeout_sets);
    for (int i = 0; i < 40; i++) {
        struct ctx ctx;
        ctx_with_timeout(&ctx, NULL, 1000);
        CHECK_EQ(env->port.get(env->port.self, &ctx, "slow", 4, &got), DOMAIN_OK);
        ctx_release(&ctx);
    }
    postgres_store_counters(env->store, &after);
    CHECK(after.timeout_sets - before.timeout_sets <= 2);
    CHECK_EQ(after.connects, 1);
    close_store(env);
}

static void test_deadline_shorter_than_statement(void **state)
{
    (void)state;
    struct deadline_env env = {0};
    run_in_runtime(body_deadline_shorter_than_statement, &env);
}

static void test_cancelled_request_cancels_the_statement(void **state)
{
    (void)state;
    struct deadline_env env = {0};
    run_in_runtime(body_cancelled_request, &env);
}

static void test_steady_deadlines_cost_no_round_trip(void **state)
{
    (void)state;
    struct deadline_env env = {0};
    run_in_runtime(body_steady_deadlines, &env);
}

/* The policy alone (postgres_timeout.h), no server needed. */
static void test_timeout_policy(void **state)
{
    (void)state;
    /* No deadline, or one beyond the ceiling: the ceiling. */
    assert_int_equal(postgres_timeout_pick(0, POSTGRES_TIMEOUT_NO_DEADLINE, 5000), 5000);
    assert_int_equal(postgres_timeout_pick(5000, 30000, 5000), 5000);
    assert_int_equal(postgres_timeout_pick(0, 5100, 5000), 5000);
    /* A session left at 75-100% of the ceiling by an earlier, shorter
     * deadline is not good enough for a caller with time to spare. */
    assert_int_equal(postgres_timeout_pick(3840, 30000, 5000), 5000);
    assert_int_equal(postgres_timeout_pick(4999, POSTGRES_TIMEOUT_NO_DEADLINE, 5000), 5000);
    /* Below it: less a margin, rounded down to a coarse step. */
    unsigned pick = postgres_timeout_pick(5000, 400, 5000);
    assert_true(pick < 400 && pick >= 300);
    /* A value that still fits is kept; one too long or far too short not. */
    assert_int_equal(postgres_timeout_pick(pick, 390, 5000), pick);
    assert_int_not_equal(postgres_timeout_pick(pick, 200, 5000), pick);
    assert_int_not_equal(postgres_timeout_pick(pick, 2000, 5000), pick);
    /* Never 0 (the server would read "no timeout"). */
    assert_int_equal(postgres_timeout_pick(0, 0, 5000), 1);
    assert_int_equal(postgres_timeout_pick(0, 1, 5000), 1);
    assert_int_equal(postgres_timeout_pick(0, 1000, 0), 1);
    assert_true(postgres_timeout_budget(1000, 5000) < 1000);
}

static void test_no_server(void **state)
{
    (void)state;
    skip();
}

int main(void)
{
    const struct CMUnitTest policy[] = {cmocka_unit_test(test_timeout_policy)};
    int failures = cmocka_run_group_tests_name("postgres timeout policy", policy, NULL, NULL);
    if (!pg_test_url(pg_url, sizeof(pg_url))) {
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_server)};
        return failures + cmocka_run_group_tests_name("postgres deadlines", tests, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadline_shorter_than_statement),
        cmocka_unit_test(test_cancelled_request_cancels_the_statement),
        cmocka_unit_test(test_steady_deadlines_cost_no_round_trip),
    };
    return failures + cmocka_run_group_tests_name("postgres deadlines", tests, NULL, NULL);
}
