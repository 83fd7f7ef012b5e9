/*
 * test_storage_durability.c: the real binary on its real stores.
 *
 * - kill -9 under a write load, restart: every link whose 201 reached a
 *   client resolves to its URL (SQLite; PostgreSQL when the test server of
 *   tests/integration/pg-server is up).
 * - a corrupt database file or an unwritable data directory: start-up fails
 *   with a message naming the problem, and the file is left as it was.
 * - PostgreSQL stopped mid-load: requests fail fast with 503 JSON that names
 *   no driver detail; started again: the service recovers, no restart.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "pg_test_support.h"
#include "service_process.h"

#define WRITERS 2
#define MAX_LINKS_PER_WRITER 2000
#define KILL_AFTER_ACKS 150
#define WAIT_LIMIT_MS 30000

static char work_dir[] = "/tmp/hexsvc-storage-test.XXXXXX";
static char pg_dir[512];
static char pg_url[PG_TEST_URL_MAX];

struct writer {
    int port;
    int index;
    atomic_int *acked_total;
    int acked;
    char codes[MAX_LINKS_PER_WRITER][16];
};

static struct writer writers[WRITERS];

static void sleep_ms(long ms)
{
    struct timespec pause = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

/* Shortens links with aliases w<writer>-<n> until the service dies; records
 * every alias whose 201 arrived. */
static void *writer_main(void *arg)
{
    struct writer *writer = arg;
    static __thread struct test_http_response response;
    for (int n = 0; n < MAX_LINKS_PER_WRITER; n++) {
        char body[160];
        char alias[16];
        snprintf(alias, sizeof(alias), "w%d-%d", writer->index, n);
        snprintf(body, sizeof(body), "{\"url\":\"https://example.com/%s\",\"alias\":\"%s\"}", alias,
                 alias);
        if (!test_http_request(writer->port, "POST", "/api/v1/links", body, &response)) {
            break; /* the service is gone */
        }
        if (response.status == 201) {
            memcpy(writer->codes[writer->acked++], alias, sizeof(alias));
            atomic_fetch_add(writer->acked_total, 1);
        }
    }
    return NULL;
}

static void start_or_fail(struct test_service *service, const char *const *env)
{
    if (!test_service_start(service, HEXSVC_BINARY, NULL, env)) {
        test_service_drain_output(service);
        fail_msg("the service did not start; its output:\n%s", service->output);
    }
}

static void kill_under_load_and_check(struct test_service *service, const char *const *env)
{
    static struct test_http_response response;
    atomic_int acked_total = 0;
    pthread_t threads[WRITERS];

    start_or_fail(service, env);
    for (int i = 0; i < WRITERS; i++) {
        writers[i] =
            (struct writer){.port = service->port, .index = i, .acked_total = &acked_total};
        assert_int_equal(pthread_create(&threads[i], NULL, writer_main, &writers[i]), 0);
    }
    for (int waited = 0; atomic_load(&acked_total) < KILL_AFTER_ACKS && waited < WAIT_LIMIT_MS;
         waited += 5) {
        sleep_ms(5);
    }
    assert_int_equal(test_service_stop(service, SIGKILL, 10000), 128 + SIGKILL);
    for (int i = 0; i < WRITERS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    }
    assert_true(atomic_load(&acked_total) >= KILL_AFTER_ACKS);

    start_or_fail(service, env);
    for (int i = 0; i < WRITERS; i++) {
        for (int n = 0; n < writers[i].acked; n++) {
            char path[64];
            char expected[64];
            snprintf(path, sizeof(path), "/api/v1/links/%s", writers[i].codes[n]);
            snprintf(expected, sizeof(expected), "\"url\":\"https://example.com/%s\"",
                     writers[i].codes[n]);
            assert_true(test_http_request(service->port, "GET", path, NULL, &response));
            if (response.status != 200 || strstr(response.body, expected) == NULL) {
                fail_msg("acknowledged link %s lost after kill -9: %d %s", writers[i].codes[n],
                         response.status, response.body);
            }
        }
    }
    assert_int_equal(test_service_stop(service, SIGTERM, 15000), 0);
}

static void test_sqlite_keeps_acknowledged_links_through_kill_9(void **state)
{
    char data_dir[600];
    snprintf(data_dir, sizeof(data_dir), "HEXSVC_DATA_DIR=%s/kill", work_dir);
    const char *env[] = {"HEXSVC_STORE=sqlite", data_dir, "HEXSVC_DRAIN_DELAY=0s", NULL};
    kill_under_load_and_check(*state, env);
}

static bool pg_available(void)
{
    return pg_url[0] != '\0';
}

static void test_postgres_keeps_acknowledged_links_through_kill_9(void **state)
{
    if (!pg_available()) {
        skip();
    }
    assert_int_equal(pg_test_reset(pg_url), 0);
    char url[600];
    snprintf(url, sizeof(url), "HEXSVC_DATABASE_URL=%s", pg_url);
    const char *env[] = {"HEXSVC_STORE=postgres", url, "HEXSVC_DRAIN_DELAY=0s", NULL};
    kill_under_load_and_check(*state, env);
}

static void test_corrupt_file_is_refused_and_kept(void **state)
{
    struct test_service *service = *state;
    char dir[600];
    char file[640];
    char data_dir[640];
    static const char garbage[] = "not a database, and it must still be here afterwards\n";
    snprintf(dir, sizeof(dir), "%s/corrupt", work_dir);
    snprintf(file, sizeof(file), "%s/hexsvc.db", dir);
    snprintf(data_dir, sizeof(data_dir), "HEXSVC_DATA_DIR=%s", dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    FILE *out = fopen(file, "w");
    assert_non_null(out);
    fputs(garbage, out);
    fclose(out);

    const char *env[] = {data_dir, NULL};
    assert_false(test_service_start(service, HEXSVC_BINARY, NULL, env));
    sleep_ms(50);
    test_service_drain_output(service);
    assert_non_null(strstr(service->output, "not a SQLite database"));
    char content[128] = "";
    out = fopen(file, "r");
    assert_non_null(out);
    assert_non_null(fgets(content, sizeof(content), out));
    fclose(out);
    assert_string_equal(content, garbage);
}

static void test_unwritable_data_dir_is_refused(void **state)
{
    struct test_service *service = *state;
    char data_dir[640];
    /* A path below a regular file can be created by nobody, root included. */
    snprintf(data_dir, sizeof(data_dir), "HEXSVC_DATA_DIR=%s/file/data", work_dir);
    char file[600];
    snprintf(file, sizeof(file), "%s/file", work_dir);
    FILE *out = fopen(file, "w");
    assert_non_null(out);
    fclose(out);
    const char *env[] = {data_dir, NULL};
    assert_false(test_service_start(service, HEXSVC_BINARY, NULL, env));
    sleep_ms(50);
    test_service_drain_output(service);
    assert_non_null(strstr(service->output, "HEXSVC_DATA_DIR"));
    assert_non_null(strstr(service->output, "writable directory"));
}

static void pg_server(const char *command)
{
    char line[800];
    snprintf(line, sizeof(line), "sh '%s' %s '%s' >/dev/null", HEXSVC_PG_SERVER, command, pg_dir);
    assert_int_equal(system(line) /* NOLINT(cert-env33-c): a fixed test command */, 0);
}

static void test_postgres_outage_fails_fast_and_recovers(void **state)
{
    struct test_service *service = *state;
    static struct test_http_response response;
    if (!pg_available()) {
        skip();
    }
    assert_int_equal(pg_test_reset(pg_url), 0);
    char url[600];
    snprintf(url, sizeof(url), "HEXSVC_DATABASE_URL=%s", pg_url);
    const char *env[] = {"HEXSVC_STORE=postgres", url, "HEXSVC_DRAIN_DELAY=0s", NULL};
    start_or_fail(service, env);
    assert_true(test_http_request(service->port, "POST", "/api/v1/links",
                                  "{\"url\":\"https://example.com/up\",\"alias\":\"still-up\"}",
                                  &response));
    assert_int_equal(response.status, 201);

    pg_server("stop");
    for (int i = 0; i < 20; i++) {
        assert_true(
            test_http_request(service->port, "GET", "/api/v1/links/still-up", NULL, &response));
        assert_int_equal(response.status, 503);
        assert_non_null(strstr(response.body, "{\"error\":{\"code\":\"store_unavailable\""));
        /* No driver detail reaches the client. */
        assert_null(strstr(response.body, "connect"));
        assert_null(strstr(response.body, "server"));
        assert_null(strstr(response.body, "5432"));
    }

    pg_server("start");
    bool recovered = false;
    for (int waited = 0; !recovered && waited < WAIT_LIMIT_MS; waited += 100) {
        assert_true(
            test_http_request(service->port, "GET", "/api/v1/links/still-up", NULL, &response));
        recovered = response.status == 200;
        if (!recovered) {
            sleep_ms(100);
        }
    }
    assert_true(recovered);
    assert_non_null(strstr(response.body, "\"url\":\"https://example.com/up\""));
    assert_int_equal(test_service_stop(service, SIGTERM, 15000), 0);
}

/* The fixture's URL and directory (pg_server() stops and starts it); an
 * empty URL skips the PostgreSQL cases. */
static void read_pg_url(void)
{
    if (!pg_test_url(pg_url, sizeof(pg_url))) {
        pg_url[0] = '\0';
        return;
    }
    snprintf(pg_dir, sizeof(pg_dir), "%s", getenv("TEST_POSTGRES_DIR"));
}

int main(void)
{
    if (mkdtemp(work_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    read_pg_url();
    const struct CMUnitTest tests[] = {
        test_service_unit_test(test_sqlite_keeps_acknowledged_links_through_kill_9),
        test_service_unit_test(test_corrupt_file_is_refused_and_kept),
        test_service_unit_test(test_unwritable_data_dir_is_refused),
        test_service_unit_test(test_postgres_keeps_acknowledged_links_through_kill_9),
        test_service_unit_test(test_postgres_outage_fails_fast_and_recovers),
    };
    int failures = cmocka_run_group_tests_name("storage durability", tests, NULL, NULL);
    char command[600];
    snprintf(command, sizeof(command), "rm -rf '%s'", work_dir);
    if (system(command) /* NOLINT(cert-env33-c): a fixed test command */ != 0) {
        fprintf(stderr, "could not remove %s\n", work_dir);
    }
    return failures;
}
