/*
 * test_store_postgres.c: the store contract against the PostgreSQL store,
 * on a real server started by tests/integration/pg-server (ctest fixture
 * `postgres`; TEST_POSTGRES_DIR names its directory). Skips, saying
 * why, when no server could be started.
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

#include "adapters/storage/postgres/postgres_store.h"
#include "pg_test_support.h"
#include "store_contract.h"

static char pg_url[PG_TEST_URL_MAX];

static int pg_open(void **handle, struct link_store *port, char *why, size_t why_size)
{
    struct postgres_store *store = NULL;
    if (pg_test_reset(pg_url) != 0) {
        snprintf(why, why_size, "cannot reset the test database at %s", pg_url);
        return -1;
    }
    struct postgres_store_options options = postgres_store_default_options();
    options.conninfo = pg_url;
    options.breaker_failures = 1000; /* the breaker has its own test */
    if (postgres_store_open(&options, &store, why, why_size) != 0) {
        return -1;
    }
    *handle = store;
    *port = postgres_store_port(store);
    return 0;
}

static void pg_worker_exit(void *handle)
{
    postgres_store_worker_close(handle);
}

static void pg_close(void *handle)
{
    postgres_store_close(handle);
}

static int pg_break(void *handle)
{
    (void)handle;
    return pg_test_exec(pg_url, "DROP TABLE links");
}

static void test_no_server(void **state)
{
    (void)state;
    skip();
}

int main(void)
{
    static const struct store_target target = {
        .name = "postgres store contract",
        .open = pg_open,
        .worker_exit = pg_worker_exit,
        .close = pg_close,
        .break_backend = pg_break,
    };
    if (!pg_test_url(pg_url, sizeof(pg_url))) {
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_server)};
        return cmocka_run_group_tests_name("postgres store contract", tests, NULL, NULL);
    }
    return store_contract_run(&target);
}
