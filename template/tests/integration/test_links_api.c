/*
 * test_links_api.c: the URL shortener's HTTP API over real sockets, against
 * the real binary: shorten, resolve, stats, every error status with its JSON
 * code, and many concurrent keep-alive clients.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "service_process.h"

#define PUBLIC_URL "https://sho.rt"

static struct test_service service;

static int start_service(void **state)
{
    static const char *const env[] = {"HEXSVC_PUBLIC_URL=" PUBLIC_URL, NULL};
    (void)state;
    return test_service_start(&service, HEXSVC_BINARY, NULL, env) ? 0 : -1;
}

static int stop_service(void **state)
{
    (void)state;
    return test_service_stop_clean(&service, SIGTERM, 15000) ? 0 : -1;
}

/* Copies the string value of "key":"..." from a flat JSON body. */
static void json_field(const char *body, const char *key, char *out, size_t len)
{
    assert_true(test_http_json_string(body, key, out, len));
}

static void assert_error(const struct test_http_response *response, int status, const char *code)
{
    char expected[96];
    char content_type[64];
    assert_int_equal(response->status, status);
    snprintf(expected, sizeof(expected), "{\"error\":{\"code\":\"%s\",\"message\":\"", code);
    assert_non_null(strstr(response->body, expected));
    assert_true(test_http_header(response, "Content-Type", content_type, sizeof(content_type)));
    assert_string_equal(content_type, "application/json");
}

static void shorten(const char *body, struct test_http_response *response)
{
    assert_true(test_http_request(service.port, "POST", "/api/v1/links", body, response));
}

static void test_shorten_resolve_and_count(void **state)
{
    static struct test_http_response response;
    char code[80], short_url[160], path[96], location[256];
    (void)state;

    shorten("{\"url\":\"https://example.com/some/long/path?q=1\"}", &response);
    assert_int_equal(response.status, 201);
    json_field(response.body, "code", code, sizeof(code));
    assert_int_equal(strlen(code), 7);
    json_field(response.body, "short_url", short_url, sizeof(short_url));
    snprintf(path, sizeof(path), PUBLIC_URL "/%s", code);
    assert_string_equal(short_url, path);
    assert_non_null(strstr(response.body, "\"url\":\"https://example.com/some/long/path?q=1\""));
    assert_non_null(strstr(response.body, "\"created_at\":\"20"));
    assert_true(test_http_header(&response, "Location", location, sizeof(location)));
    snprintf(path, sizeof(path), "/api/v1/links/%s", code);
    assert_string_equal(location, path);

    snprintf(path, sizeof(path), "/%s", code);
    for (int i = 0; i < 3; i++) {
        assert_true(test_http_request(service.port, "GET", path, NULL, &response));
        assert_int_equal(response.status, 302);
        assert_true(test_http_header(&response, "Location", location, sizeof(location)));
        assert_string_equal(location, "https://example.com/some/long/path?q=1");
    }
    snprintf(path, sizeof(path), "/api/v1/links/%s", code);
    assert_true(test_http_request(service.port, "GET", path, NULL, &response));
    assert_int_equal(response.status, 200);
    assert_non_null(strstr(response.body, "\"hits\":3"));
}

static void test_alias_and_taken_alias(void **state)
{
    static struct test_http_response response;
    (void)state;
    shorten("{\"url\":\"http://example.org/\",\"alias\":\"team-docs\"}", &response);
    assert_int_equal(response.status, 201);
    assert_non_null(strstr(response.body, "\"code\":\"team-docs\""));

    shorten("{\"url\":\"http://example.org/other\",\"alias\":\"team-docs\"}", &response);
    assert_error(&response, 409, "alias_taken");

    shorten("{\"url\":\"http://example.org/\",\"alias\":\"healthz\"}", &response);
    assert_error(&response, 422, "reserved_alias");

    shorten("{\"url\":\"http://example.org/\",\"alias\":\"a b\"}", &response);
    assert_error(&response, 422, "invalid_alias");
}

static void test_bad_bodies_are_400(void **state)
{
    static struct test_http_response response;
    (void)state;
    shorten("not json", &response);
    assert_error(&response, 400, "invalid_json");
    shorten("[\"https://example.com\"]", &response);
    assert_error(&response, 400, "invalid_json");
    shorten("{\"link\":\"https://example.com\"}", &response);
    assert_error(&response, 400, "invalid_request");
    assert_non_null(strstr(response.body, "'url' is required"));
    shorten("{\"url\":42}", &response);
    assert_error(&response, 400, "invalid_request");
    shorten("{\"url\":\"https://a.example\",\"url\":\"https://b.example\"}", &response);
    assert_error(&response, 400, "invalid_request");
    shorten("", &response);
    assert_error(&response, 400, "invalid_json");
}

static void test_refused_urls_are_422(void **state)
{
    static struct test_http_response response;
    static char body[4096];
    (void)state;
    shorten("{\"url\":\"javascript:alert(1)\"}", &response);
    assert_error(&response, 422, "unsupported_scheme");
    shorten("{\"url\":\"data:text/html,hi\"}", &response);
    assert_error(&response, 422, "unsupported_scheme");
    shorten("{\"url\":\"https://exa mple.com\"}", &response);
    assert_error(&response, 422, "invalid_url");
    shorten("{\"url\":\"https://\"}", &response);
    assert_error(&response, 422, "missing_host");

    int len = snprintf(body, sizeof(body), "{\"url\":\"https://example.com/");
    while (len < 2100) {
        body[len++] = 'a';
    }
    snprintf(body + len, sizeof(body) - (size_t)len, "\"}");
    shorten(body, &response);
    assert_error(&response, 422, "url_too_long");
}

static void test_unknown_code_and_wrong_method(void **state)
{
    static struct test_http_response response;
    char allow[64];
    (void)state;
    assert_true(test_http_request(service.port, "GET", "/zzzzzzz", NULL, &response));
    assert_error(&response, 404, "not_found");
    assert_true(test_http_request(service.port, "GET", "/api/v1/links/zzzzzzz", NULL, &response));
    assert_error(&response, 404, "not_found");
    assert_true(test_http_request(service.port, "DELETE", "/api/v1/links", NULL, &response));
    assert_int_equal(response.status, 405);
    assert_true(test_http_header(&response, "Allow", allow, sizeof(allow)));
    assert_non_null(strstr(allow, "POST"));
}

/* Without PUBLIC_URL the short URLs name the port the service is bound to,
 * the one the kernel picked for --port 0, on every worker. */
static void test_default_public_url_names_the_bound_port(void **state)
{
    static struct test_http_response response;
    struct test_service *second = *state;
    static const char *const env[] = {"HEXSVC_STORE=memory", "HEXSVC_WORKERS=2", NULL};
    char code[80], short_url[160], expected[160];
    unsetenv("HEXSVC_PUBLIC_URL");
    assert_true(test_service_start(second, HEXSVC_BINARY, NULL, env));
    assert_true(second->port > 0);
    /* Each request on a connection of its own: the kernel spreads them
     * over both workers' listeners. */
    for (int i = 0; i < 6; i++) {
        assert_true(test_http_request(second->port, "POST", "/api/v1/links",
                                      "{\"url\":\"https://example.com/port\"}", &response));
        assert_int_equal(response.status, 201);
        json_field(response.body, "code", code, sizeof(code));
        json_field(response.body, "short_url", short_url, sizeof(short_url));
        snprintf(expected, sizeof(expected), "http://localhost:%d/%s", second->port, code);
        assert_string_equal(short_url, expected);
    }
    assert_int_equal(test_service_stop(second, SIGTERM, 15000), 0);
}

#define CLIENTS 8
#define ROUNDS 50

/* One client thread: its number in, the step that failed (or NULL) out. */
struct client {
    long id;
    const char *failure;
};

/* One keep-alive connection per client: shorten, then resolve what it got.
 * Returns the step that failed, or NULL. */
static const char *client_rounds(int fd, long id)
{
    static _Thread_local struct test_http_response response;
    char request[512], code[80], expected[128], location[256];
    for (int round = 0; round < ROUNDS; round++) {
        char body[128];
        int body_len =
            snprintf(body, sizeof(body), "{\"url\":\"https://example.com/c%ld/r%d\"}", id, round);
        int len = snprintf(request, sizeof(request),
                           "POST /api/v1/links HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s",
                           body_len, body);
        if (!test_http_send(fd, request, (size_t)len) || !test_http_read_response(fd, &response) ||
            response.status != 201) {
            return "POST /api/v1/links did not answer 201";
        }
        const char *start = strstr(response.body, "\"code\":\"");
        const char *stop = start != NULL ? strchr(start + 8, '"') : NULL;
        if (stop == NULL || (size_t)(stop - (start + 8)) >= sizeof(code)) {
            return "the 201 body has no \"code\" string";
        }
        size_t code_len = (size_t)(stop - (start + 8));
        memcpy(code, start + 8, code_len);
        code[code_len] = '\0';
        len = snprintf(request, sizeof(request), "GET /%s HTTP/1.1\r\nHost: t\r\n\r\n", code);
        snprintf(expected, sizeof(expected), "https://example.com/c%ld/r%d", id, round);
        if (!test_http_send(fd, request, (size_t)len) || !test_http_read_response(fd, &response) ||
            response.status != 302 ||
            !test_http_header(&response, "Location", location, sizeof(location)) ||
            strcmp(location, expected) != 0) {
            return "GET of the new code did not redirect to its URL";
        }
    }
    return NULL;
}

static void *client_main(void *arg)
{
    struct client *client = arg;
    int fd = test_http_connect(service.port);
    if (fd < 0) {
        client->failure = "cannot connect";
        return NULL;
    }
    client->failure = client_rounds(fd, client->id);
    close(fd);
    return NULL;
}

static void test_concurrent_keep_alive_clients(void **state)
{
    pthread_t threads[CLIENTS];
    struct client clients[CLIENTS];
    (void)state;
    for (int i = 0; i < CLIENTS; i++) {
        clients[i] = (struct client){.id = i, .failure = NULL};
        assert_int_equal(pthread_create(&threads[i], NULL, client_main, &clients[i]), 0);
    }
    for (int i = 0; i < CLIENTS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    }
    for (int i = 0; i < CLIENTS; i++) {
        if (clients[i].failure != NULL) {
            fail_msg("client %d: %s", i, clients[i].failure);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shorten_resolve_and_count),
        cmocka_unit_test(test_alias_and_taken_alias),
        cmocka_unit_test(test_bad_bodies_are_400),
        cmocka_unit_test(test_refused_urls_are_422),
        cmocka_unit_test(test_unknown_code_and_wrong_method),
        cmocka_unit_test(test_concurrent_keep_alive_clients),
        test_service_unit_test(test_default_public_url_names_the_bound_port),
    };
    return cmocka_run_group_tests(tests, start_service, stop_service);
}
