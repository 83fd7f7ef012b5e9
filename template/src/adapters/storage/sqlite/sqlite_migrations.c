/*
 * sqlite_migrations.c: the list of migrations and the code that applies it.
 */
#include "adapters/storage/sqlite/sqlite_migrations.h"

#include <stdio.h>
#include <time.h>

struct sqlite_migration {
    int version;
    const char *name;
    const char *sql;
};

/* Append only; see the header. WITHOUT ROWID: the code is the key, so the
 * table is one B-tree instead of a table plus an index. */
static const struct sqlite_migration sqlite_migrations[] = {
    {1, "create links",
     "CREATE TABLE links ("
     " code TEXT PRIMARY KEY NOT NULL,"
     " url TEXT NOT NULL,"
     " created_at_ms INTEGER NOT NULL,"
     " hit_count INTEGER NOT NULL DEFAULT 0"
     ") WITHOUT ROWID;"},
    /* Idempotency-Keys of shorten (sqlite_idempotency.h). The outcome's
     * error is kept as its stable code string, never the enum's value. */
    {2, "create idempotency_keys",
     "CREATE TABLE idempotency_keys ("
     " key TEXT PRIMARY KEY NOT NULL,"
     " url TEXT NOT NULL,"
     " alias TEXT NOT NULL,"
     " state INTEGER NOT NULL,"
     " claimed_at_ms INTEGER NOT NULL,"
     " expires_at_ms INTEGER NOT NULL,"
     " error TEXT NOT NULL DEFAULT '',"
     " code TEXT NOT NULL DEFAULT '',"
     " created_at_ms INTEGER NOT NULL DEFAULT 0"
     ") WITHOUT ROWID;"
     "CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at_ms);"},
};

#define SQLITE_MIGRATION_COUNT (sizeof(sqlite_migrations) / sizeof(sqlite_migrations[0]))

int sqlite_migrations_latest(void)
{
    return sqlite_migrations[SQLITE_MIGRATION_COUNT - 1].version;
}

static int sqlite_migrations_fail(sqlite3 *db, const char *what, char *error, size_t error_size)
{
    int code = sqlite3_errcode(db);
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) {
        snprintf(error, error_size,
                 "the database file is not a SQLite database or is corrupt (%s); move it "
                 "aside and restore a backup, or point the data directory elsewhere",
                 sqlite3_errmsg(db));
    } else {
        snprintf(error, error_size, "%s: %s", what, sqlite3_errmsg(db));
    }
    return -1;
}

/* One integer from a query without parameters; -1 on error. */
static long long sqlite_migrations_scalar(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    long long value = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
        value = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return value;
}

/* Creates schema_migrations unless the file belongs to someone else. */
static int sqlite_migrations_prepare(sqlite3 *db, char *error, size_t error_size)
{
    long long ours = sqlite_migrations_scalar(
        db, "SELECT count(*) FROM sqlite_schema WHERE name = 'schema_migrations'");
    if (ours < 0) {
        return sqlite_migrations_fail(db, "cannot read the schema", error, error_size);
    }
    if (ours == 0) {
        long long tables = sqlite_migrations_scalar(
            db, "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'");
        if (tables != 0) {
            snprintf(error, error_size,
                     "the database file belongs to another application (it has tables but "
                     "no schema_migrations); point the data directory at an empty one");
            return -1;
        }
    }
    if (sqlite3_exec(db,
                     "CREATE TABLE IF NOT EXISTS schema_migrations ("
                     " version INTEGER PRIMARY KEY NOT NULL,"
                     " name TEXT NOT NULL,"
                     " applied_at_ms INTEGER NOT NULL)",
                     NULL, NULL, NULL) != SQLITE_OK) {
        return sqlite_migrations_fail(db, "cannot create schema_migrations", error, error_size);
    }
    return 0;
}

static long long sqlite_migrations_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Runs one migration if it is still missing; *ran tells whether it did. */
static int sqlite_migrations_step(sqlite3 *db, const struct sqlite_migration *migration, int *ran,
                                  char *error, size_t error_size)
{
    *ran = 0;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        return sqlite_migrations_fail(db, "cannot start a migration", error, error_size);
    }
    /* Read the version inside the write lock: another process may have
     * migrated since we looked. */
    long long current =
        sqlite_migrations_scalar(db, "SELECT coalesce(max(version), 0) FROM schema_migrations");
    if (current < 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return sqlite_migrations_fail(db, "cannot read schema_migrations", error, error_size);
    }
    if (current >= migration->version) {
        return sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK
                   ? 0
                   : sqlite_migrations_fail(db, "cannot commit", error, error_size);
    }
    sqlite3_stmt *record = NULL;
    int ok = sqlite3_exec(db, migration->sql, NULL, NULL, NULL) == SQLITE_OK &&
             sqlite3_prepare_v2(db,
                                "INSERT INTO schema_migrations (version, name, applied_at_ms)"
                                " VALUES (?1, ?2, ?3)",
                                -1, &record, NULL) == SQLITE_OK &&
             sqlite3_bind_int(record, 1, migration->version) == SQLITE_OK &&
             sqlite3_bind_text(record, 2, migration->name, -1, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_bind_int64(record, 3, sqlite_migrations_now_ms()) == SQLITE_OK &&
             sqlite3_step(record) == SQLITE_DONE;
    sqlite3_finalize(record);
    if (!ok || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        char what[128];
        snprintf(what, sizeof(what), "migration %d (%s) failed", migration->version,
                 migration->name);
        sqlite_migrations_fail(db, what, error, error_size);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    *ran = 1;
    return 0;
}

int sqlite_migrations_apply(sqlite3 *db, int *applied, char *error, size_t error_size)
{
    if (applied != NULL) {
        *applied = 0;
    }
    if (sqlite_migrations_prepare(db, error, error_size) != 0) {
        return -1;
    }
    long long current =
        sqlite_migrations_scalar(db, "SELECT coalesce(max(version), 0) FROM schema_migrations");
    if (current > sqlite_migrations_latest()) {
        snprintf(error, error_size,
                 "the database is at schema version %lld but this build knows only up to %d; "
                 "run a newer release of the service",
                 current, sqlite_migrations_latest());
        return -1;
    }
    for (size_t i = 0; i < SQLITE_MIGRATION_COUNT; i++) {
        int ran = 0;
        if (sqlite_migrations_step(db, &sqlite_migrations[i], &ran, error, error_size) != 0) {
            return -1;
        }
        if (applied != NULL) {
            *applied += ran;
        }
    }
    return 0;
}
