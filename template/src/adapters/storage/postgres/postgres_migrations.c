/*
 * postgres_migrations.c: the list of migrations and the code applying it.
 */
#include "adapters/storage/postgres/postgres_migrations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Any constant works as long as it is this service's own; spelled from
 * "hexsvc" so a DBA reading pg_locks can guess whose it is. */
#define POSTGRES_MIGRATIONS_LOCK "7262737669"

struct postgres_migration {
    int version;
    const char *name;
    const char *sql;
};

static const struct postgres_migration postgres_migrations[] = {
    {1, "create links",
     "CREATE TABLE links ("
     " code TEXT PRIMARY KEY NOT NULL,"
     " url TEXT NOT NULL,"
     " created_at_ms BIGINT NOT NULL,"
     " hit_count BIGINT NOT NULL DEFAULT 0)"},
};

#define POSTGRES_MIGRATION_COUNT (sizeof(postgres_migrations) / sizeof(postgres_migrations[0]))

int postgres_migrations_latest(void)
{
    return postgres_migrations[POSTGRES_MIGRATION_COUNT - 1].version;
}

/* Runs one statement; false with the server's message in `error`. */
static int postgres_migrations_exec(PGconn *conn, const char *sql, char *error, size_t size)
{
    PGresult *result = PQexec(conn, sql);
    ExecStatusType status = PQresultStatus(result);
    int ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
    if (!ok) {
        snprintf(error, size, "%s", PQerrorMessage(conn));
        error[strcspn(error, "\n")] = '\0';
    }
    PQclear(result);
    return ok;
}

static long postgres_migrations_current(PGconn *conn)
{
    PGresult *result = PQexec(conn, "SELECT coalesce(max(version), 0) FROM schema_migrations");
    long version = -1;
    if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1) {
        version = strtol(PQgetvalue(result, 0, 0), NULL, 10);
    }
    PQclear(result);
    return version;
}

static int postgres_migrations_step(PGconn *conn, const struct postgres_migration *migration,
                                    char *error, size_t size)
{
    char record[256];
    snprintf(record, sizeof(record),
             "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%d, '%s', now())",
             migration->version, migration->name);
    char reason[512] = "";
    if (postgres_migrations_exec(conn, "BEGIN", reason, sizeof(reason)) &&
        postgres_migrations_exec(conn, migration->sql, reason, sizeof(reason)) &&
        postgres_migrations_exec(conn, record, reason, sizeof(reason)) &&
        postgres_migrations_exec(conn, "COMMIT", reason, sizeof(reason))) {
        return 0;
    }
    snprintf(error, size, "migration %d (%s) failed: %s", migration->version, migration->name,
             reason);
    PQclear(PQexec(conn, "ROLLBACK"));
    return -1;
}

static int postgres_migrations_locked(PGconn *conn, int *applied, char *error, size_t size)
{
    if (!postgres_migrations_exec(conn,
                                  "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                  " version INTEGER PRIMARY KEY,"
                                  " name TEXT NOT NULL,"
                                  " applied_at TIMESTAMPTZ NOT NULL)",
                                  error, size)) {
        return -1;
    }
    long current = postgres_migrations_current(conn);
    if (current < 0) {
        snprintf(error, size, "cannot read schema_migrations");
        return -1;
    }
    if (current > postgres_migrations_latest()) {
        snprintf(error, size,
                 "the database is at schema version %ld but this build knows only up to %d; "
                 "run a newer release of the service",
                 current, postgres_migrations_latest());
        return -1;
    }
    for (size_t i = 0; i < POSTGRES_MIGRATION_COUNT; i++) {
        if (postgres_migrations[i].version <= current) {
            continue;
        }
        if (postgres_migrations_step(conn, &postgres_migrations[i], error, size) != 0) {
            return -1;
        }
        if (applied != NULL) {
            (*applied)++;
        }
    }
    return 0;
}

int postgres_migrations_apply(PGconn *conn, int *applied, char *error, size_t error_size)
{
    if (applied != NULL) {
        *applied = 0;
    }
    if (!postgres_migrations_exec(conn, "SELECT pg_advisory_lock(" POSTGRES_MIGRATIONS_LOCK ")",
                                  error, error_size)) {
        return -1;
    }
    int rc = postgres_migrations_locked(conn, applied, error, error_size);
    char ignored[128];
    (void)postgres_migrations_exec(conn, "SELECT pg_advisory_unlock(" POSTGRES_MIGRATIONS_LOCK ")",
                                   ignored, sizeof(ignored));
    return rc;
}
