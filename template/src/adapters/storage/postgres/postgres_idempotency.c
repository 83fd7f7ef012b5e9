/*
 * postgres_idempotency.c: three prepared statements over the link store's
 * pool, and the reading of what they return.
 */
#include "adapters/storage/postgres/postgres_idempotency.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

struct postgres_idempotency {
    struct postgres_store *store;
    size_t capacity;
};

/* What idempotency_claim() says in o_verdict (postgres_migrations.c). */
enum pg_claim_verdict {
    PG_CLAIM_TAKEN = 0, /* the key has a row that may not be taken: decide on it */
    PG_CLAIM_CLAIMED = 1,
    PG_CLAIM_FULL = 2,
    PG_CLAIM_CONTENDED = 3, /* changed under us every time it looked */
};

/* The columns of idempotency_claim()'s row, in order. */
enum pg_claim_column {
    PG_COL_VERDICT,
    PG_COL_URL,
    PG_COL_ALIAS,
    PG_COL_STATE,
    PG_COL_CLAIMED_AT,
    PG_COL_EXPIRES_AT,
    PG_COL_ERROR,
    PG_COL_CODE,
    PG_COL_CREATED_AT,
    PG_COL_COUNT,
};

static const struct postgres_statement pg_idempotency_statements[] = {
    {"hexsvc_idempotency_claim",
     "SELECT * FROM idempotency_claim($1, $2, $3, $4::bigint, $5::bigint, $6::bigint,"
     " $7::bigint)",
     7},
    {"hexsvc_idempotency_complete",
     "UPDATE idempotency_keys SET state = 2, error = $3, code = $4, created_at_ms = $5::bigint"
     " WHERE key = $1 AND state = 1 AND claimed_at_ms = $2::bigint",
     5},
    {"hexsvc_idempotency_release", "SELECT idempotency_release($1, $2::bigint)", 2},
};

/* A NUL-terminated copy of bytes[0..len) in out[size]: libpq's text
 * parameters end at a NUL, the port's strings need not. */
static const char *pg_text(char *out, size_t size, const char *bytes, size_t len)
{
    if (len >= size) {
        return NULL;
    }
    if (len > 0) {
        memcpy(out, bytes, len);
    }
    out[len] = '\0';
    return out;
}

static int64_t pg_column_int64(const PGresult *result, int column)
{
    return strtoll(PQgetvalue(result, 0, column), NULL, 10);
}

/* ---- claim ---------------------------------------------------------------- */

static void pg_read_outcome(const PGresult *result, struct idempotency_outcome *out)
{
    memset(out, 0, sizeof(*out));
    out->error = idempotency_error_from_code(PQgetvalue(result, 0, PG_COL_ERROR),
                                             (size_t)PQgetlength(result, 0, PG_COL_ERROR));
    size_t code_len = (size_t)PQgetlength(result, 0, PG_COL_CODE);
    if (PQgetisnull(result, 0, PG_COL_ERROR) || PQgetisnull(result, 0, PG_COL_CODE) ||
        code_len > LINK_CODE_MAX) {
        out->error = DOMAIN_ERROR_INTERNAL; /* a completed row always has both */
        return;
    }
    memcpy(out->code, PQgetvalue(result, 0, PG_COL_CODE), code_len);
    out->code[code_len] = '\0';
    out->code_len = code_len;
    out->created_at_ms = pg_column_int64(result, PG_COL_CREATED_AT);
}

/* The verdict for a row the function would not take, by the rule every
 * adapter shares. */
static enum idempotency_verdict pg_decide(const PGresult *result,
                                          const struct idempotency_request *request,
                                          const struct idempotency_times *times,
                                          struct idempotency_outcome *outcome)
{
    struct idempotency_entry entry = {
        .state = pg_column_int64(result, PG_COL_STATE) == IDEMPOTENCY_COMPLETED
                     ? IDEMPOTENCY_COMPLETED
                     : IDEMPOTENCY_PENDING,
        .url = PQgetvalue(result, 0, PG_COL_URL),
        .url_len = (size_t)PQgetlength(result, 0, PG_COL_URL),
        .alias = PQgetvalue(result, 0, PG_COL_ALIAS),
        .alias_len = (size_t)PQgetlength(result, 0, PG_COL_ALIAS),
        .claimed_at_ms = pg_column_int64(result, PG_COL_CLAIMED_AT),
        .expires_at_ms = pg_column_int64(result, PG_COL_EXPIRES_AT),
    };
    enum idempotency_verdict verdict = idempotency_decide(&entry, request, times);
    if (verdict == IDEMPOTENCY_REPLAY) {
        pg_read_outcome(result, outcome);
    }
    /* The SQL and the C rule are one rule written twice; should they ever
     * disagree, a wait-and-retry is the answer that cannot do harm. */
    return verdict == IDEMPOTENCY_CLAIMED ? IDEMPOTENCY_BUSY : verdict;
}

static enum domain_error pg_read_claim(const PGresult *result,
                                       const struct idempotency_request *request,
                                       const struct idempotency_times *times,
                                       enum idempotency_verdict *verdict,
                                       struct idempotency_outcome *outcome)
{
    if (PQntuples(result) != 1 || PQnfields(result) != PG_COL_COUNT) {
        return DOMAIN_ERROR_INTERNAL;
    }
    switch (pg_column_int64(result, PG_COL_VERDICT)) {
    case PG_CLAIM_TAKEN:
        *verdict = pg_decide(result, request, times, outcome);
        return DOMAIN_OK;
    case PG_CLAIM_CLAIMED:
        *verdict = IDEMPOTENCY_CLAIMED;
        return DOMAIN_OK;
    case PG_CLAIM_FULL:
        return DOMAIN_ERROR_IDEMPOTENCY_STORE_FULL;
    case PG_CLAIM_CONTENDED:
        *verdict = IDEMPOTENCY_BUSY;
        return DOMAIN_OK;
    default:
        return DOMAIN_ERROR_INTERNAL;
    }
}

static enum domain_error pg_idempotency_claim(void *self, void *call_context, const char *key,
                                              size_t key_len,
                                              const struct idempotency_request *request,
                                              const struct idempotency_times *times,
                                              enum idempotency_verdict *verdict,
                                              struct idempotency_outcome *outcome)
{
    struct postgres_idempotency *keys = self;
    char key_text[IDEMPOTENCY_KEY_MAX + 1];
    char url_text[LINK_URL_MAX + 1];
    char alias_text[LINK_CODE_MAX + 1];
    char now[24], expires[24], lease[24], capacity[24];
    const char *params[7] = {
        pg_text(key_text, sizeof(key_text), key, key_len),
        pg_text(url_text, sizeof(url_text), request->url, request->url_len),
        pg_text(alias_text, sizeof(alias_text), request->alias, request->alias_len),
        now,
        expires,
        lease,
        capacity,
    };
    if (key_len == 0 || params[0] == NULL || params[1] == NULL || params[2] == NULL) {
        return DOMAIN_ERROR_INTERNAL;
    }
    snprintf(now, sizeof(now), "%" PRId64, times->now_ms);
    snprintf(expires, sizeof(expires), "%" PRId64, times->expires_at_ms);
    snprintf(lease, sizeof(lease), "%" PRId64, times->lease_ms);
    snprintf(capacity, sizeof(capacity), "%zu", keys->capacity);
    struct pg_result *result = NULL;
    enum domain_error err = postgres_store_query(
        keys->store, call_context, "hexsvc_idempotency_claim", 7, params, false, &result);
    if (err == DOMAIN_OK) {
        err = pg_read_claim(result, request, times, verdict, outcome);
    }
    PQclear(result);
    return err;
}

/* ---- complete and release ------------------------------------------------- */

static enum domain_error pg_idempotency_complete(void *self, void *call_context, const char *key,
                                                 size_t key_len, int64_t claimed_at_ms,
                                                 const struct idempotency_outcome *outcome)
{
    struct postgres_idempotency *keys = self;
    char key_text[IDEMPOTENCY_KEY_MAX + 1];
    char code_text[LINK_CODE_MAX + 1];
    char claimed_at[24], created_at[24];
    /* The error by its stable code, not the enum's value, which moves when
     * errors are added (ADR 0018). */
    const char *params[5] = {
        pg_text(key_text, sizeof(key_text), key, key_len),
        claimed_at,
        domain_error_code(outcome->error),
        pg_text(code_text, sizeof(code_text), outcome->code, outcome->code_len),
        created_at,
    };
    if (key_len == 0 || params[0] == NULL || params[3] == NULL) {
        return DOMAIN_ERROR_INTERNAL;
    }
    snprintf(claimed_at, sizeof(claimed_at), "%" PRId64, claimed_at_ms);
    snprintf(created_at, sizeof(created_at), "%" PRId64, outcome->created_at_ms);
    struct pg_result *result = NULL;
    enum domain_error err = postgres_store_query(
        keys->store, call_context, "hexsvc_idempotency_complete", 5, params, true, &result);
    PQclear(result);
    return err;
}

static enum domain_error pg_idempotency_release(void *self, void *call_context, const char *key,
                                                size_t key_len, int64_t claimed_at_ms)
{
    struct postgres_idempotency *keys = self;
    char key_text[IDEMPOTENCY_KEY_MAX + 1];
    char claimed_at[24];
    const char *params[2] = {pg_text(key_text, sizeof(key_text), key, key_len), claimed_at};
    if (key_len == 0 || params[0] == NULL) {
        return DOMAIN_ERROR_INTERNAL;
    }
    snprintf(claimed_at, sizeof(claimed_at), "%" PRId64, claimed_at_ms);
    struct pg_result *result = NULL;
    enum domain_error err = postgres_store_query(
        keys->store, call_context, "hexsvc_idempotency_release", 2, params, true, &result);
    PQclear(result);
    return err;
}

struct idempotency_store postgres_idempotency_port(struct postgres_idempotency *keys)
{
    struct idempotency_store port = {
        .self = keys,
        .claim = pg_idempotency_claim,
        .complete = pg_idempotency_complete,
        .release = pg_idempotency_release,
    };
    return port;
}

/* ---- lifecycle ------------------------------------------------------------ */

int postgres_idempotency_create(struct postgres_store *store, size_t capacity,
                                struct postgres_idempotency **out, char *error, size_t error_size)
{
    if (capacity < 1) {
        snprintf(error, error_size, "the idempotency key bound must be at least 1");
        return -1;
    }
    struct postgres_idempotency *keys = calloc(1, sizeof(*keys));
    if (keys == NULL) {
        snprintf(error, error_size, "out of memory");
        return -1;
    }
    if (postgres_store_add_statements(store, pg_idempotency_statements,
                                      sizeof(pg_idempotency_statements) /
                                          sizeof(pg_idempotency_statements[0])) != 0) {
        free(keys);
        snprintf(error, error_size, "the PostgreSQL store takes no more statements");
        return -1;
    }
    keys->store = store;
    keys->capacity = capacity;
    *out = keys;
    return 0;
}

void postgres_idempotency_destroy(struct postgres_idempotency *keys)
{
    free(keys);
}
