/*
 * test_idempotency_postgres.c: the idempotency-store contract against the
 * PostgreSQL adapter, on a real server started by tests/integration/pg-server
 * (ctest fixture `postgres`; TEST_POSTGRES_DIR names its directory); and two
 * stores on one database, as two replicas are, see each other's keys while
 * the row count the bound relies on stays exact. Skips, saying why, when no
 * server could be started.
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
#include "adapters/storage/postgres/postgres_idempotency.h"
#include "adapters/storage/postgres/postgres_store.h"
#include "idempotency_contract.h"
#include "pg_test_support.h"
#include "platform/runtime/ctx.h"

#define T0 1700000000000LL

static char pg_url[PG_TEST_URL_MAX];

struct pg_target {
    struct postgres_store *store;
    struct postgres_idempotency *keys;
};

/* The first column of the first row of `sql`, or -1. */
static long long pg_number(const char *sql)
{
    PGconn *pg = PQconnectdb(pg_url);
    long long value = -1;
    if (PQstatus(pg) == CONNECTION_OK) {
        PGresult *result = PQexec(pg, sql);
        if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1) {
            value = strtoll(PQgetvalue(result, 0, 0), NULL, 10);
        }
        PQclear(result);
    }
    PQfinish(pg);
    return value;
}

/* One replica: a store on the shared database and the keys over it. */
static int pg_open_target(size_t capacity, struct pg_target *out, char *why, size_t why_size)
{
    struct postgres_store_options options = postgres_store_default_options();
    options.conninfo = pg_url;
    options.breaker_failures = 1000; /* the breaker has its own test */
    out->keys = NULL;
    if (postgres_store_open(&options, &out->store, why, why_size) != 0) {
        return -1;
    }
    if (postgres_idempotency_create(out->store, capacity, &out->keys, why, why_size) != 0) {
        postgres_store_close(out->store);
        return -1;
    }
    return 0;
}

static void pg_close_target(struct pg_target *target)
{
    postgres_idempotency_destroy(target->keys);
    postgres_store_close(target->store);
}

static int pg_open(size_t capacity, void **handle, struct idempotency_store *port, char *why,
                   size_t why_size)
{
    static struct pg_target target; /* one case at a time */
    if (pg_test_reset(pg_url) != 0) {
        snprintf(why, why_size, "cannot reset the test database at %s", pg_url);
        return -1;
    }
    if (pg_open_target(capacity, &target, why, why_size) != 0) {
        return -1;
    }
    *handle = &target;
    *port = postgres_idempotency_port(target.keys);
    return 0;
}

static void pg_worker_exit(void *handle)
{
    postgres_store_worker_close(((struct pg_target *)handle)->store);
}

static void pg_close(void *handle)
{
    pg_close_target(handle);
}

/* ---- two replicas --------------------------------------------------------- */

struct replicas {
    struct pg_target a;
    struct pg_target b;
};

static int replica_claim(struct pg_target *replica, struct ctx *ctx, const char *key,
                         const char *url, int64_t now_ms, struct idempotency_outcome *outcome)
{
    struct idempotency_store port = postgres_idempotency_port(replica->keys);
    struct idempotency_request request = {.url = url, .url_len = strlen(url)};
    struct idempotency_times times = {
        .now_ms = now_ms, .expires_at_ms = now_ms + 60000, .lease_ms = 5000};
    enum idempotency_verdict verdict = IDEMPOTENCY_BUSY;
    enum domain_error err =
        port.claim(port.self, ctx, key, strlen(key), &request, &times, &verdict, outcome);
    return err == DOMAIN_OK ? (int)verdict : -1 - (int)err;
}

static void replicas_body(void *arg)
{
    struct replicas *replicas = arg;
    struct ctx ctx;
    ctx_with_timeout(&ctx, NULL, 20000);
    struct idempotency_outcome got;
    struct idempotency_store a = postgres_idempotency_port(replicas->a.keys);
    struct idempotency_store b = postgres_idempotency_port(replicas->b.keys);

    /* Claimed on one replica: the retry on the other waits, then replays. */
    CHECK_EQ(replica_claim(&replicas->a, &ctx, "shared", "https://example.com/s", T0, &got),
             IDEMPOTENCY_CLAIMED);
    CHECK_EQ(replica_claim(&replicas->b, &ctx, "shared", "https://example.com/s", T0 + 1, &got),
             IDEMPOTENCY_BUSY);
    CHECK_EQ(replica_claim(&replicas->b, &ctx, "shared", "https://example.com/x", T0 + 1, &got),
             IDEMPOTENCY_MISMATCH);
    struct idempotency_outcome done = {
        .error = DOMAIN_OK, .code = "abc1234", .code_len = 7, .created_at_ms = T0 + 2};
    CHECK_EQ(a.complete(a.self, &ctx, "shared", 6, T0, &done), DOMAIN_OK);
    memset(&got, 0, sizeof(got));
    CHECK_EQ(replica_claim(&replicas->b, &ctx, "shared", "https://example.com/s", T0 + 3, &got),
             IDEMPOTENCY_REPLAY);
    CHECK(strcmp(got.code, "abc1234") == 0);
    CHECK_EQ(got.created_at_ms, T0 + 2);

    /* A release on one replica frees the key for the other. */
    CHECK_EQ(replica_claim(&replicas->b, &ctx, "freed", "https://example.com/f", T0, &got),
             IDEMPOTENCY_CLAIMED);
    CHECK_EQ(b.release(b.self, &ctx, "freed", 5, T0), DOMAIN_OK);
    CHECK_EQ(replica_claim(&replicas->a, &ctx, "freed", "https://example.com/f", T0 + 1, &got),
             IDEMPOTENCY_CLAIMED);

    /* The bound (3) counts both replicas' keys: 2 held, 1 more, then full. */
    CHECK_EQ(replica_claim(&replicas->b, &ctx, "third", "https://example.com/t", T0 + 4, &got),
             IDEMPOTENCY_CLAIMED);
    CHECK_EQ(replica_claim(&replicas->a, &ctx, "fourth", "https://example.com/t", T0 + 5, &got),
             IDEMPOTENCY_CLAIMED); /* evicts "shared", the completed one */
    CHECK_EQ(replica_claim(&replicas->b, &ctx, "fifth", "https://example.com/t", T0 + 6, &got),
             -1 - (int)DOMAIN_ERROR_IDEMPOTENCY_STORE_FULL);
    ctx_release(&ctx);
    postgres_store_worker_close(replicas->a.store);
    postgres_store_worker_close(replicas->b.store);
}

static void test_replicas_share_keys_and_bound(void **state)
{
    (void)state;
    static struct replicas replicas;
    char why[512] = "";
    assert_int_equal(pg_test_reset(pg_url), 0);
    if (pg_open_target(3, &replicas.a, why, sizeof(why)) != 0 ||
        pg_open_target(3, &replicas.b, why, sizeof(why)) != 0) {
        fail_msg("cannot open the stores: %s", why);
    }
    run_in_runtime(replicas_body, &replicas);
    pg_close_target(&replicas.a);
    pg_close_target(&replicas.b);
    /* The count the bound reads is the table's, exactly. */
    assert_int_equal(pg_number("SELECT count(*) FROM idempotency_keys"), 3);
    assert_int_equal(pg_number("SELECT n FROM idempotency_key_count"), 3);
}

static void test_no_server(void **state)
{
    (void)state;
    skip();
}

int main(void)
{
    static const struct idempotency_target target = {
        .name = "idempotency_contract_postgres",
        .open = pg_open,
        .worker_exit = pg_worker_exit,
        .close = pg_close,
    };
    if (!pg_test_url(pg_url, sizeof(pg_url))) {
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_server)};
        return cmocka_run_group_tests_name("idempotency postgres", tests, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replicas_share_keys_and_bound),
    };
    int failures = cmocka_run_group_tests_name("idempotency postgres replicas", tests, NULL, NULL);
    return failures + idempotency_contract_run(&target);
}
