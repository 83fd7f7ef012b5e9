/*
 * pg_test_support.h: the test PostgreSQL that tests/integration/pg-server
 * starts for the ctest fixture `postgres` (TEST_POSTGRES_DIR names its
 * directory, whose file `url` holds the connection URL).
 *
 * For the storage unit tests and the integration tests that run the
 * service on PostgreSQL. Without that server they skip their PostgreSQL
 * cases: pg_test_url() says why on stderr.
 */
#ifndef HEXSVC_TESTS_PG_TEST_SUPPORT_H
#define HEXSVC_TESTS_PG_TEST_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>

#define PG_TEST_URL_MAX 512

/* The server's URL from $TEST_POSTGRES_DIR/url into url (len bytes). False,
 * with a SKIP line on stderr naming what is missing, when there is none. */
bool pg_test_url(char *url, size_t len);

/* Runs one statement that returns no rows on a connection of its own.
 * 0, or -1 with the statement and the server's message on stderr (also
 * when the tests were built without libpq). */
int pg_test_exec(const char *url, const char *sql);

/* An empty database: drops every table the service creates (links,
 * schema_migrations, idempotency_keys, idempotency_key_count), so the next
 * open migrates from scratch and fixed test keys are new. 0 or -1. */
int pg_test_reset(const char *url);

#endif
