/*
 * pg_test_support.c: libpq when the build has it (HEXSVC_TEST_HAVE_LIBPQ);
 * without it there is no fixture either, so pg_test_url() already fails.
 */
#include "pg_test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HEXSVC_TEST_HAVE_LIBPQ
#include <libpq-fe.h>
#endif

bool pg_test_url(char *url, size_t len)
{
    const char *dir = getenv("TEST_POSTGRES_DIR");
    if (dir == NULL) {
        fprintf(stderr, "SKIP: no test PostgreSQL (TEST_POSTGRES_DIR is not set; "
                        "see tests/integration/pg-server)\n");
        return false;
    }
    char path[PG_TEST_URL_MAX + 16];
    snprintf(path, sizeof(path), "%s/url", dir);
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        fprintf(stderr, "SKIP: no test PostgreSQL (no %s; see tests/integration/pg-server)\n",
                path);
        return false;
    }
    bool ok = fgets(url, (int)len, file) != NULL;
    fclose(file);
    if (!ok) {
        url[0] = '\0';
    }
    url[strcspn(url, "\n")] = '\0';
    if (url[0] == '\0') {
        fprintf(stderr, "SKIP: no test PostgreSQL (%s is empty)\n", path);
        return false;
    }
    return true;
}

int pg_test_exec(const char *url, const char *sql)
{
#ifdef HEXSVC_TEST_HAVE_LIBPQ
    PGconn *pg = PQconnectdb(url);
    int ok = PQstatus(pg) == CONNECTION_OK;
    if (ok) {
        PGresult *result = PQexec(pg, sql);
        ok = PQresultStatus(result) == PGRES_COMMAND_OK;
        PQclear(result);
    }
    if (!ok) {
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(pg));
    }
    PQfinish(pg);
    return ok ? 0 : -1;
#else
    (void)url;
    fprintf(stderr, "%s: the tests were built without libpq\n", sql);
    return -1;
#endif
}

int pg_test_reset(const char *url)
{
    /* Quietly: "does not exist, skipping" notices are the normal case. */
    return pg_test_exec(url, "SET client_min_messages = warning; DROP TABLE IF EXISTS links, "
                             "schema_migrations, idempotency_keys, idempotency_key_count");
}
