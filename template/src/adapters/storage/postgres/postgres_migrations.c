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
    /* Idempotency-Keys (postgres_idempotency.h, docs/adr/0018): the keys,
     * a one-row count of them kept by a trigger (so every delete, by hand
     * too, keeps it exact), and the claim as one function: one round trip,
     * one transaction. COLLATE "C": keys and fingerprints compare bytewise. */
    {2, "create idempotency_keys",
     "CREATE TABLE idempotency_keys ("
     " key TEXT COLLATE \"C\" PRIMARY KEY NOT NULL,"
     " url TEXT COLLATE \"C\" NOT NULL,"
     " alias TEXT COLLATE \"C\" NOT NULL,"
     " state SMALLINT NOT NULL,"
     " claimed_at_ms BIGINT NOT NULL,"
     " expires_at_ms BIGINT NOT NULL,"
     " error TEXT,"
     " code TEXT,"
     " created_at_ms BIGINT);"
     "CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at_ms);"
     "CREATE TABLE idempotency_key_count ("
     " one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),"
     " n BIGINT NOT NULL);"
     "INSERT INTO idempotency_key_count (n) VALUES (0);"
     "CREATE OR REPLACE FUNCTION idempotency_keys_counted() RETURNS trigger"
     " LANGUAGE plpgsql AS $$ BEGIN"
     "  UPDATE idempotency_key_count SET n = n + CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END;"
     "  RETURN NULL;"
     " END $$;"
     "CREATE TRIGGER idempotency_keys_counted AFTER INSERT OR DELETE ON idempotency_keys"
     " FOR EACH ROW EXECUTE FUNCTION idempotency_keys_counted();"
     /* o_verdict: 0 the key is taken (o_* is its row: the caller decides
      * with idempotency_decide()), 1 claimed, 2 full, 3 contended. The
      * take-over condition is idempotency_decide()'s CLAIMED, in SQL. */
     "CREATE OR REPLACE FUNCTION idempotency_claim(p_key TEXT, p_url TEXT, p_alias TEXT,"
     " p_now BIGINT, p_expires BIGINT, p_lease BIGINT, p_capacity BIGINT,"
     " OUT o_verdict SMALLINT, OUT o_url TEXT, OUT o_alias TEXT, OUT o_state SMALLINT,"
     " OUT o_claimed_at BIGINT, OUT o_expires_at BIGINT, OUT o_error TEXT, OUT o_code TEXT,"
     " OUT o_created_at BIGINT)"
     " LANGUAGE plpgsql AS $$"
     " DECLARE v_rows BIGINT; v_purged BIGINT;"
     " BEGIN"
     /* The count's row lock is held to the commit; an asynchronous commit
      * keeps that short. Losing a claim in a crash is harmless: the link
      * written after it commits synchronously, which flushes the WAL up to
      * and including the claim. */
     "  PERFORM set_config('synchronous_commit', 'off', true);"
     "  FOR attempt IN 1..4 LOOP"
     "   SELECT k.url, k.alias, k.state, k.claimed_at_ms, k.expires_at_ms, k.error, k.code,"
     "          k.created_at_ms"
     "     INTO o_url, o_alias, o_state, o_claimed_at, o_expires_at, o_error, o_code,"
     "          o_created_at"
     "     FROM idempotency_keys k WHERE k.key = p_key;"
     "   IF FOUND THEN"
     "    IF NOT (o_expires_at <= p_now OR (o_state = 1 AND o_url = p_url"
     "            AND o_alias = p_alias AND p_now - o_claimed_at >= p_lease)) THEN"
     "     o_verdict := 0;"
     "     RETURN;"
     "    END IF;"
     /* Re-checked on the row's latest version: of two racing take-overs
      * one updates, the other finds the row changed and looks again. */
     "    UPDATE idempotency_keys k SET url = p_url, alias = p_alias, state = 1,"
     "           claimed_at_ms = p_now, expires_at_ms = p_expires, error = NULL, code = NULL,"
     "           created_at_ms = NULL"
     "     WHERE k.key = p_key AND (k.expires_at_ms <= p_now OR (k.state = 1"
     "           AND k.url = p_url AND k.alias = p_alias AND p_now - k.claimed_at_ms >= p_lease));"
     "    IF FOUND THEN o_verdict := 1; RETURN; END IF;"
     "   ELSE"
     /* A new row: new keys queue on the count's row, so the bound holds
      * across replicas; replays and refusals never take it. */
     "    SELECT c.n INTO v_rows FROM idempotency_key_count c FOR UPDATE;"
     "    DELETE FROM idempotency_keys WHERE key IN (SELECT k.key FROM idempotency_keys k"
     "     WHERE k.expires_at_ms <= p_now ORDER BY k.expires_at_ms LIMIT 2"
     "     FOR UPDATE SKIP LOCKED);"
     "    GET DIAGNOSTICS v_purged = ROW_COUNT;"
     "    IF v_rows - v_purged >= p_capacity THEN"
     "     DELETE FROM idempotency_keys WHERE key = (SELECT k.key FROM idempotency_keys k"
     "      WHERE k.state = 2 OR k.expires_at_ms <= p_now ORDER BY k.expires_at_ms LIMIT 1"
     "      FOR UPDATE SKIP LOCKED);"
     "     IF NOT FOUND THEN o_verdict := 2; RETURN; END IF;"
     "    END IF;"
     "    INSERT INTO idempotency_keys (key, url, alias, state, claimed_at_ms, expires_at_ms)"
     "     VALUES (p_key, p_url, p_alias, 1, p_now, p_expires) ON CONFLICT (key) DO NOTHING;"
     "    IF FOUND THEN o_verdict := 1; RETURN; END IF;"
     "   END IF;"
     "  END LOOP;"
     "  o_verdict := 3;"
     " END $$;"
     /* Locks in the claim's order, the count's row then the key's: a
      * release deleting a row the claim's INSERT waits on cannot wait for
      * the count the claim holds. */
     "CREATE OR REPLACE FUNCTION idempotency_release(p_key TEXT, p_claimed_at BIGINT)"
     " RETURNS VOID LANGUAGE plpgsql AS $$ BEGIN"
     "  PERFORM 1 FROM idempotency_key_count FOR UPDATE;"
     "  DELETE FROM idempotency_keys"
     "   WHERE key = p_key AND state = 1 AND claimed_at_ms = p_claimed_at;"
     " END $$"},
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
