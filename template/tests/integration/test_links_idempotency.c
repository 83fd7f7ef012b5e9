/*
 * test_links_idempotency.c: Idempotency-Key on POST /api/v1/links over real
 * sockets against the real binary, with the SQLite store (the default), the
 * memory store and, when the `postgres` fixture is up, PostgreSQL: a retry
 * replays the first answer, another body is refused, bad keys are named,
 * and a burst of the same request from many threads at once makes exactly
 * one link. With PostgreSQL also across two replicas (two processes on one
 * database): the burst split between them still makes one link.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_client.h"
#include "pg_test_support.h"
#include "service_process.h"

#define RACERS 16

static struct test_service service;
static const char *const *service_env;

static int start_service(void **state)
{
    (void)state;
    return test_service_start(&service, HEXSVC_BINARY, NULL, service_env) ? 0 : -1;
}

static int stop_service(void **state)
{
    (void)state;
    return test_service_stop_clean(&service, SIGTERM, 15000) ? 0 : -1;
}

static bool post_link_to(int port, const char *key, const char *body,
                         struct test_http_response *response);

/* POST /api/v1/links with `key` (NULL: no header) on a fresh connection. */
static bool post_link(const char *key, const char *body, struct test_http_response *response)
{
    return post_link_to(service.port, key, body, response);
}

static bool post_link_to(int port, const char *key, const char *body,
                         struct test_http_response *response)
{
    char request[2048];
    char key_header[400] = "";
    if (key != NULL) {
        snprintf(key_header, sizeof(key_header), "Idempotency-Key: %s\r\n", key);
    }
    int len = snprintf(request, sizeof(request),
                       "POST /api/v1/links HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
                       "Content-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n%s",
                       key_header, strlen(body), body);
    return len > 0 && (size_t)len < sizeof(request) &&
           test_http_exchange(port, request, (size_t)len, response);
}

static void json_field(const char *body, const char *key, char *out, size_t len)
{
    assert_true(test_http_json_string(body, key, out, len));
}

static bool replayed(const struct test_http_response *response)
{
    char value[16];
    return test_http_header(response, "Idempotent-Replayed", value, sizeof(value)) &&
           strcmp(value, "true") == 0;
}

static void assert_error(const struct test_http_response *response, int status, const char *code)
{
    char expected[96];
    assert_int_equal(response->status, status);
    snprintf(expected, sizeof(expected), "{\"error\":{\"code\":\"%s\",", code);
    assert_non_null(strstr(response->body, expected));
}

static void test_retry_replays_the_first_answer(void **state)
{
    static struct test_http_response first;
    static struct test_http_response again;
    char code[80], again_code[80], created[64], again_created[64];
    (void)state;
    assert_true(post_link("retry-1", "{\"url\":\"https://example.com/idem\"}", &first));
    assert_int_equal(first.status, 201);
    assert_false(replayed(&first));
    json_field(first.body, "code", code, sizeof(code));
    json_field(first.body, "created_at", created, sizeof(created));

    /* The same request written differently is the same request. */
    assert_true(post_link("retry-1", "{ \"url\" : \"https:\\/\\/example.com\\/idem\" }", &again));
    assert_int_equal(again.status, 201);
    assert_true(replayed(&again));
    json_field(again.body, "code", again_code, sizeof(again_code));
    json_field(again.body, "created_at", again_created, sizeof(again_created));
    assert_string_equal(again_code, code);
    assert_string_equal(again_created, created);

    /* Without the key the same body makes a new link. */
    assert_true(post_link(NULL, "{\"url\":\"https://example.com/idem\"}", &again));
    assert_int_equal(again.status, 201);
    json_field(again.body, "code", again_code, sizeof(again_code));
    assert_string_not_equal(again_code, code);
}

static void test_same_key_other_body_is_refused(void **state)
{
    static struct test_http_response response;
    (void)state;
    assert_true(post_link("reuse-1", "{\"url\":\"https://example.com/one\"}", &response));
    assert_int_equal(response.status, 201);
    assert_true(post_link("reuse-1", "{\"url\":\"https://example.com/two\"}", &response));
    assert_error(&response, 422, "idempotency_key_reused");
    assert_true(post_link("reuse-1", "{\"url\":\"https://example.com/one\",\"alias\":\"my-one\"}",
                          &response));
    assert_error(&response, 422, "idempotency_key_reused");
}

static void test_recorded_conflict_is_replayed(void **state)
{
    static struct test_http_response response;
    (void)state;
    assert_true(
        post_link(NULL, "{\"url\":\"https://example.com/a\",\"alias\":\"idem-taken\"}", &response));
    assert_int_equal(response.status, 201);
    const char *body = "{\"url\":\"https://example.com/b\",\"alias\":\"idem-taken\"}";
    assert_true(post_link("conflict-1", body, &response));
    assert_error(&response, 409, "alias_taken");
    assert_false(replayed(&response));
    assert_true(post_link("conflict-1", body, &response));
    assert_error(&response, 409, "alias_taken");
    assert_true(replayed(&response));
}

static void test_bad_keys_are_named(void **state)
{
    static struct test_http_response response;
    char long_key[300];
    (void)state;
    memset(long_key, 'k', 256);
    long_key[256] = '\0';
    assert_true(post_link("two words", "{\"url\":\"https://example.com/\"}", &response));
    assert_error(&response, 400, "invalid_idempotency_key");
    assert_non_null(strstr(response.body, "Idempotency-Key"));
    assert_true(post_link(long_key, "{\"url\":\"https://example.com/\"}", &response));
    assert_error(&response, 400, "invalid_idempotency_key");
    long_key[255] = '\0';
    assert_true(post_link(long_key, "{\"url\":\"https://example.com/\"}", &response));
    assert_int_equal(response.status, 201);
}

/* ---- the race ------------------------------------------------------------ */

struct racer {
    pthread_barrier_t *start;
    int port;
    const char *key;
    struct test_http_response response;
    bool sent;
};

static void *race(void *arg)
{
    struct racer *racer = arg;
    pthread_barrier_wait(racer->start);
    racer->sent = post_link_to(racer->port, racer->key, "{\"url\":\"https://example.com/race\"}",
                               &racer->response);
    return NULL;
}

/* RACERS threads send the same keyed request at once, alternately to
 * `port_a` and `port_b`; exactly one runs, every other answer is its
 * replay or 409 in progress; a retry afterwards replays it. */
static void race_one_key(const char *key, int port_a, int port_b)
{
    static struct racer racers[RACERS];
    pthread_t threads[RACERS];
    pthread_barrier_t start;
    char winner[80] = "";
    int created = 0;
    pthread_barrier_init(&start, NULL, RACERS);
    for (int i = 0; i < RACERS; i++) {
        memset(&racers[i], 0, sizeof(racers[i]));
        racers[i].start = &start;
        racers[i].port = i % 2 == 0 ? port_a : port_b;
        racers[i].key = key;
        assert_int_equal(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
    }
    for (int i = 0; i < RACERS; i++) {
        pthread_join(threads[i], NULL);
    }
    pthread_barrier_destroy(&start);
    for (int i = 0; i < RACERS; i++) {
        const struct test_http_response *response = &racers[i].response;
        char code[80];
        char retry_after[16];
        assert_true(racers[i].sent);
        if (response->status == 409) {
            assert_error(response, 409, "idempotency_in_progress");
            assert_true(
                test_http_header(response, "Retry-After", retry_after, sizeof(retry_after)));
            assert_string_equal(retry_after, "1");
            continue;
        }
        assert_int_equal(response->status, 201);
        created += !replayed(response);
        json_field(response->body, "code", code, sizeof(code));
        if (winner[0] == '\0') {
            snprintf(winner, sizeof(winner), "%s", code);
        }
        assert_string_equal(code, winner);
    }
    /* Exactly one request ran; a retry now gets its link. */
    assert_int_equal(created, 1);
    static struct test_http_response after;
    char code[80];
    assert_true(post_link_to(port_b, key, "{\"url\":\"https://example.com/race\"}", &after));
    assert_int_equal(after.status, 201);
    assert_true(replayed(&after));
    json_field(after.body, "code", code, sizeof(code));
    assert_string_equal(code, winner);
}

static void test_racing_retries_make_one_link(void **state)
{
    (void)state;
    race_one_key("race-1", service.port, service.port);
}

/* ---- PostgreSQL: two replicas on one database ---------------------------- */

static char pg_url[PG_TEST_URL_MAX];

static void test_replicas_share_keys(void **state)
{
    struct test_service *second = *state;
    static struct test_http_response response;
    char code[80], again_code[80];
    assert_true(test_service_start(second, HEXSVC_BINARY, NULL, service_env));
    /* A retry that lands on the other replica replays the first answer. */
    const char *body = "{\"url\":\"https://example.com/replica\"}";
    assert_true(post_link("replica-1", body, &response));
    assert_int_equal(response.status, 201);
    json_field(response.body, "code", code, sizeof(code));
    assert_true(post_link_to(second->port, "replica-1", body, &response));
    assert_int_equal(response.status, 201);
    assert_true(replayed(&response));
    json_field(response.body, "code", again_code, sizeof(again_code));
    assert_string_equal(again_code, code);
    assert_true(
        post_link_to(second->port, "replica-1", "{\"url\":\"https://example.com/x\"}", &response));
    assert_error(&response, 422, "idempotency_key_reused");
    /* A burst split between both replicas still makes one link. */
    race_one_key("replica-race", service.port, second->port);
    assert_true(test_service_stop_clean(second, SIGTERM, 15000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_replays_the_first_answer),
        cmocka_unit_test(test_same_key_other_body_is_refused),
        cmocka_unit_test(test_recorded_conflict_is_replayed),
        cmocka_unit_test(test_bad_keys_are_named),
        cmocka_unit_test(test_racing_retries_make_one_link),
    };
    static const char *const sqlite_env[] = {"HEXSVC_STORE=sqlite", NULL};
    static const char *const memory_env[] = {"HEXSVC_STORE=memory", NULL};
    service_env = sqlite_env;
    int failures = _cmocka_run_group_tests(
        "idempotency_sqlite", tests, sizeof(tests) / sizeof(tests[0]), start_service, stop_service);
    service_env = memory_env;
    failures += _cmocka_run_group_tests(
        "idempotency_memory", tests, sizeof(tests) / sizeof(tests[0]), start_service, stop_service);
    if (pg_test_url(pg_url, sizeof(pg_url))) {
        static char url_env[600];
        snprintf(url_env, sizeof(url_env), "HEXSVC_DATABASE_URL=%s", pg_url);
        static const char *postgres_env[] = {"HEXSVC_STORE=postgres", url_env, NULL};
        const struct CMUnitTest pg_tests[] = {
            cmocka_unit_test(test_retry_replays_the_first_answer),
            cmocka_unit_test(test_same_key_other_body_is_refused),
            cmocka_unit_test(test_recorded_conflict_is_replayed),
            cmocka_unit_test(test_bad_keys_are_named),
            cmocka_unit_test(test_racing_retries_make_one_link),
            test_service_unit_test(test_replicas_share_keys),
        };
        /* An empty schema: the keys above are fixed, and must be new. */
        if (pg_test_reset(pg_url) != 0) {
            fprintf(stderr, "cannot reset the test database at %s\n", pg_url);
            return failures + 1;
        }
        service_env = postgres_env;
        failures += _cmocka_run_group_tests("idempotency_postgres", pg_tests,
                                            sizeof(pg_tests) / sizeof(pg_tests[0]), start_service,
                                            stop_service);
    }
    return failures;
}
