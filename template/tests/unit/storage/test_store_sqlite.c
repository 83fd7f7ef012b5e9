/*
 * test_store_sqlite.c: the store contract against the SQLite store, plus
 * what only SQLite has: hits batched in memory reach the file, survive a
 * reopen, and bad files are refused with a clear error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "adapters/storage/sqlite/sqlite_store.h"
#include "store_contract.h"

static char sqlite_dir[] = "/tmp/hexsvc-sqlite-test.XXXXXX";
static char sqlite_path[256];
static unsigned sqlite_files;

static int sqlite_open_at(const char *path, struct sqlite_store **store, char *why, size_t size)
{
    struct sqlite_store_options options = sqlite_store_default_options();
    options.path = path;
    options.hit_flush_interval_ms = 20; /* exercise the flusher during the cases */
    return sqlite_store_open(&options, store, why, size);
}

static int sqlite_open(void **handle, struct link_store *port, char *why, size_t why_size)
{
    struct sqlite_store *store = NULL;
    snprintf(sqlite_path, sizeof(sqlite_path), "%s/contract-%u.db", sqlite_dir, sqlite_files++);
    if (sqlite_open_at(sqlite_path, &store, why, why_size) != 0) {
        return -1;
    }
    *handle = store;
    *port = sqlite_store_port(store);
    return 0;
}

static void sqlite_close(void *handle)
{
    sqlite_store_close(handle);
}

/* Drops the table behind the store's back, from a connection of its own. */
static int sqlite_break(void *handle)
{
    (void)handle;
    sqlite3 *db = NULL;
    int rc = sqlite3_open(sqlite_path, &db);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        rc = sqlite3_exec(db, "DROP TABLE links", NULL, NULL, NULL);
    }
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}

static void test_hits_are_flushed_and_survive_reopen(void **state)
{
    (void)state;
    char path[256];
    char why[512];
    struct sqlite_store *store = NULL;
    struct link link;
    struct link got;
    snprintf(path, sizeof(path), "%s/reopen.db", sqlite_dir);
    assert_int_equal(sqlite_open_at(path, &store, why, sizeof(why)), 0);
    struct link_store port = sqlite_store_port(store);
    assert_int_equal(link_init(&link, "keep", 4, "https://keep.example/", 21, 9), DOMAIN_OK);
    assert_int_equal(port.create(port.self, NULL, &link), DOMAIN_OK);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(port.record_hit(port.self, NULL, "keep", 4, &got), DOMAIN_OK);
    }
    assert_int_equal(got.hit_count, 10);
    sqlite_store_close(store); /* writes what is still pending */

    assert_int_equal(sqlite_open_at(path, &store, why, sizeof(why)), 0);
    port = sqlite_store_port(store);
    assert_int_equal(port.get(port.self, NULL, "keep", 4, &got), DOMAIN_OK);
    assert_int_equal(got.hit_count, 10);
    assert_string_equal(got.url, "https://keep.example/");
    assert_int_equal(port.record_hit(port.self, NULL, "keep", 4, &got), DOMAIN_OK);
    assert_int_equal(sqlite_store_flush_hits(store), 0);
    assert_int_equal(port.get(port.self, NULL, "keep", 4, &got), DOMAIN_OK);
    assert_int_equal(got.hit_count, 11);
    sqlite_store_close(store);
}

static void test_refuses_a_file_that_is_not_sqlite(void **state)
{
    (void)state;
    char path[256];
    char why[512] = "";
    struct sqlite_store *store = NULL;
    snprintf(path, sizeof(path), "%s/garbage.db", sqlite_dir);
    write_file(path, "this is not a database, just some text long enough to look like a page");
    assert_int_equal(sqlite_open_at(path, &store, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "not a SQLite database"));
    assert_non_null(strstr(why, path));
}

static void test_refuses_another_applications_database(void **state)
{
    (void)state;
    char path[256];
    char why[512] = "";
    sqlite3 *db = NULL;
    struct sqlite_store *store = NULL;
    snprintf(path, sizeof(path), "%s/foreign.db", sqlite_dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE invoices (id INTEGER); INSERT INTO invoices "
                                  "VALUES (1)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(sqlite_open_at(path, &store, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "another application"));
    /* Nothing of theirs was touched. */
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "SELECT id FROM invoices", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_refuses_a_newer_schema(void **state)
{
    (void)state;
    char path[256];
    char why[512] = "";
    int applied = -1;
    sqlite3 *db = NULL;
    struct sqlite_store *store = NULL;
    snprintf(path, sizeof(path), "%s/newer.db", sqlite_dir);
    assert_int_equal(sqlite_store_migrate(path, &applied, why, sizeof(why)), 0);
    assert_int_equal(applied, 2); /* links, idempotency_keys */
    assert_int_equal(sqlite_store_migrate(path, &applied, why, sizeof(why)), 0);
    assert_int_equal(applied, 0); /* idempotent */
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (999, 'x', 0)", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(sqlite_open_at(path, &store, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "newer release"));
}

static void test_refuses_a_read_only_file(void **state)
{
    (void)state;
    char path[256];
    char why[512] = "";
    struct sqlite_store *store = NULL;
    if (geteuid() == 0) {
        skip(); /* root writes through file modes; the integration test covers a ro mount */
    }
    snprintf(path, sizeof(path), "%s/readonly.db", sqlite_dir);
    assert_int_equal(sqlite_store_migrate(path, NULL, why, sizeof(why)), 0);
    assert_int_equal(chmod(path, 0444), 0);
    assert_int_equal(sqlite_open_at(path, &store, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "read-only"));
}

static int remove_dir(void)
{
    char command[300];
    snprintf(command, sizeof(command), "rm -rf '%s'", sqlite_dir);
    return system(command) /* NOLINT(cert-env33-c): a fixed test command */;
}

int main(void)
{
    static const struct store_target target = {
        .name = "sqlite store contract",
        .open = sqlite_open,
        .close = sqlite_close,
        .break_backend = sqlite_break,
    };
    if (mkdtemp(sqlite_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hits_are_flushed_and_survive_reopen),
        cmocka_unit_test(test_refuses_a_file_that_is_not_sqlite),
        cmocka_unit_test(test_refuses_another_applications_database),
        cmocka_unit_test(test_refuses_a_newer_schema),
        cmocka_unit_test(test_refuses_a_read_only_file),
    };
    int failures = store_contract_run(&target);
    failures += cmocka_run_group_tests_name("sqlite store", tests, NULL, NULL);
    (void)remove_dir();
    return failures;
}
