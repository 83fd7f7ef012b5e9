/*
 * postgres_migrations.h: the PostgreSQL store's schema, as numbered
 * migrations, applied with a blocking connection at start-up.
 *
 * A session advisory lock serialises replicas that start together: the
 * first applies what is missing, the others wait, then find nothing to do.
 * Each migration and its schema_migrations row commit in one transaction.
 * Append-only, like sqlite_migrations.c; the version numbers match.
 */
#ifndef HEXSVC_ADAPTERS_STORAGE_POSTGRES_MIGRATIONS_H
#define HEXSVC_ADAPTERS_STORAGE_POSTGRES_MIGRATIONS_H

#include <stddef.h>

#include <libpq-fe.h>

int postgres_migrations_latest(void);

/* 0 (and *applied, may be NULL), or -1 with the reason in `error`. */
int postgres_migrations_apply(PGconn *conn, int *applied, char *error, size_t error_size);

#endif
