/*
 * sqlite_migrations.h: the SQLite store's schema, as numbered migrations.
 *
 * Each migration runs once, in order, inside its own IMMEDIATE transaction
 * that also records it in schema_migrations, so a crash leaves the database
 * at the previous version, never half-way, and two processes starting at
 * once serialise on SQLite's write lock (the second finds nothing to do).
 *
 * Migrations are append-only: a released one is never edited; a schema
 * change is a new entry at the end of the list in sqlite_migrations.c.
 */
#ifndef HEXSVC_ADAPTERS_STORAGE_SQLITE_MIGRATIONS_H
#define HEXSVC_ADAPTERS_STORAGE_SQLITE_MIGRATIONS_H

#include <stddef.h>

#include <sqlite3.h>

/* The version the code expects: that of the last migration. */
int sqlite_migrations_latest(void);

/*
 * Brings `db` up to the latest version. *applied (may be NULL) gets how many
 * migrations ran. Returns 0, or -1 with a sentence for an operator in
 * `error`: a file that is not SQLite, a database of another application (it
 * has tables but no schema_migrations), one migrated by a newer version of
 * this service, or the SQLite error that stopped a migration.
 */
int sqlite_migrations_apply(sqlite3 *db, int *applied, char *error, size_t error_size);

#endif
