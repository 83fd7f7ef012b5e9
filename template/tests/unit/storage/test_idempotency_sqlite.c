/*
 * test_idempotency_sqlite.c: the idempotency-store contract against the
 * SQLite adapter, on a file the link store created and migrated; and keys
 * outlive a reopen, as the links do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "adapters/storage/sqlite/sqlite_idempotency.h"
#include "adapters/storage/sqlite/sqlite_store.h"
#include "idempotency_contract.h"

static char sqlite_dir[] = "/tmp/hexsvc-idempotency-test.XXXXXX";
static unsigned sqlite_files;

/* The link store owns the schema: open (and so migrate) it first. */
static int sqlite_open_file(const char *path, size_t capacity, struct sqlite_idempotency **out,
                            char *why, size_t why_size)
{
    struct sqlite_store *links = NULL;
    struct sqlite_store_options options = sqlite_store_default_options();
    options.path = path;
    if (sqlite_store_open(&options, &links, why, why_size) != 0) {
        return -1;
    }
    sqlite_store_close(links);
    return sqlite_idempotency_open(path, capacity, out, why, why_size);
}

static int sqlite_open(size_t capacity, void **handle, struct idempotency_store *port, char *why,
                       size_t why_size)
{
    char path[256];
    struct sqlite_idempotency *store = NULL;
    snprintf(path, sizeof(path), "%s/contract-%u.db", sqlite_dir, sqlite_files++);
    if (sqlite_open_file(path, capacity, &store, why, why_size) != 0) {
        return -1;
    }
    *handle = store;
    *port = sqlite_idempotency_port(store);
    return 0;
}

static void sqlite_close(void *handle)
{
    sqlite_idempotency_close(handle);
}

static void test_keys_survive_a_reopen(void **state)
{
    (void)state;
    char path[256];
    char why[512];
    struct sqlite_idempotency *store = NULL;
    snprintf(path, sizeof(path), "%s/reopen.db", sqlite_dir);
    assert_int_equal(sqlite_open_file(path, 2, &store, why, sizeof(why)), 0);
    struct idempotency_store port = sqlite_idempotency_port(store);
    struct idempotency_request request = {.url = "https://example.com/", .url_len = 20};
    struct idempotency_times times = {.now_ms = 1000, .expires_at_ms = 9000, .lease_ms = 5};
    enum idempotency_verdict verdict;
    struct idempotency_outcome outcome = {
        .error = DOMAIN_OK, .code = "abc", .code_len = 3, .created_at_ms = 1001};
    assert_int_equal(port.claim(port.self, NULL, "k", 1, &request, &times, &verdict, &outcome),
                     DOMAIN_OK);
    assert_int_equal(verdict, IDEMPOTENCY_CLAIMED);
    assert_int_equal(port.complete(port.self, NULL, "k", 1, 1000, &outcome), DOMAIN_OK);
    assert_int_equal(port.claim(port.self, NULL, "p", 1, &request, &times, &verdict, &outcome),
                     DOMAIN_OK);
    sqlite_idempotency_close(store);

    /* Reopened with the table full (one completed, one pending key). */
    assert_int_equal(sqlite_open_file(path, 2, &store, why, sizeof(why)), 0);
    port = sqlite_idempotency_port(store);
    memset(&outcome, 0, sizeof(outcome));
    times.now_ms = 2000;
    assert_int_equal(port.claim(port.self, NULL, "k", 1, &request, &times, &verdict, &outcome),
                     DOMAIN_OK);
    assert_int_equal(verdict, IDEMPOTENCY_REPLAY);
    assert_string_equal(outcome.code, "abc");
    assert_int_equal(outcome.created_at_ms, 1001);
    /* The bound counts the rows already in the file. */
    assert_int_equal(port.claim(port.self, NULL, "n1", 2, &request, &times, &verdict, &outcome),
                     DOMAIN_OK);
    assert_int_equal(port.claim(port.self, NULL, "n2", 2, &request, &times, &verdict, &outcome),
                     DOMAIN_ERROR_IDEMPOTENCY_STORE_FULL);
    sqlite_idempotency_close(store);
}

int main(void)
{
    if (mkdtemp(sqlite_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    const struct idempotency_target target = {
        .name = "idempotency_contract_sqlite",
        .open = sqlite_open,
        .close = sqlite_close,
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_survive_a_reopen),
    };
    int failures = cmocka_run_group_tests(tests, NULL, NULL);
    failures += idempotency_contract_run(&target);
    char command[300];
    snprintf(command, sizeof(command), "rm -rf '%s'", sqlite_dir);
    if (system(command) /* NOLINT(cert-env33-c): a fixed test command */ != 0) {
        fprintf(stderr, "could not remove %s\n", sqlite_dir);
    }
    return failures;
}
