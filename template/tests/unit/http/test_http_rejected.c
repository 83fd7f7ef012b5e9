/*
 * Requests the server refuses before routing (431, 413, 408, 400, 503)
 * reach the observers' `rejected` hook: the real server over real sockets,
 * with the real access log (log_http_observer) writing JSON lines to a file
 * and the real HTTP metrics (metrics_http_observer) rendered as the
 * exposition text. Each test runs its own server and reads the log after
 * the server and the logger stopped, so no assertion waits on timing; every
 * socket wait is bounded by SO_RCVTIMEO.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/http/http_server.h"
#include "platform/log/log.h"
#include "platform/log/log_http.h"
#include "platform/metrics/metrics.h"
#include "platform/metrics/metrics_http.h"

#include "http_client.h"
#include "http_test_support.h"

#define REPLY_MAX 8192
#define LOG_MAX (64 * 1024)
#define BIG_HEADER_BYTES ((size_t)10 * 1024) /* over the default 8 KiB */

/* ---- the server under test, with the access log and metrics ------------ */

static int handle_hello(struct http_request *request, struct http_response *response,
                        void *user_data)
{
    (void)request;
    (void)user_data;
    return http_response_send(response, 200, "text/plain", "hello", 5);
}

struct fixture {
    struct http_server_config config;
    struct http_router *router;
    struct logger *logger;
    struct log_http access_log;
    struct metrics_registry *registry;
    struct metrics_http metrics;
    struct http_observer observers[2];
    struct http_middleware chain[2];
    char log_path[64];
    int log_fd;
    struct http_test_server test_server;
    char log[LOG_MAX]; /* the log file, read after the logger stopped */
    char *exposition;  /* the metrics text, after the server stopped */
};

static struct http_server_config default_config(void)
{
    struct http_server_config config;
    http_server_config_defaults(&config);
    return config;
}

static struct fixture *fixture_start(const struct http_server_config *config)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    assert_non_null(fixture);
    snprintf(fixture->log_path, sizeof(fixture->log_path), "/tmp/test_http_rejected.XXXXXX");
    fixture->log_fd = mkstemp(fixture->log_path);
    assert_true(fixture->log_fd >= 0);
    struct log_config log_config;
    log_config_defaults(&log_config);
    log_config.fd = fixture->log_fd;
    log_config.format = LOG_FORMAT_JSON;
    assert_int_equal(log_create(&log_config, &fixture->logger), 0);
    assert_int_equal(log_http_init(&fixture->access_log, fixture->logger), 0);
    assert_int_equal(metrics_registry_create(&fixture->registry), 0);
    assert_int_equal(metrics_http_init(&fixture->metrics, fixture->registry), 0);

    fixture->config = *config;
    /* As main.c wires the public listener: the chain logs and counts what
     * was routed, the observers what was refused before. */
    fixture->chain[0] = log_http_middleware(&fixture->access_log);
    fixture->chain[1] = metrics_http_middleware(&fixture->metrics);
    fixture->config.middleware = fixture->chain;
    fixture->config.middleware_count = 2;
    fixture->observers[0] = metrics_http_observer(&fixture->metrics);
    fixture->observers[1] = log_http_observer(&fixture->access_log);
    fixture->config.observers = fixture->observers;
    fixture->config.observer_count = 2;
    assert_int_equal(http_router_create(&fixture->router), 0);
    assert_int_equal(http_router_add(fixture->router, "GET", "/hello", handle_hello, NULL), 0);
    assert_int_equal(http_router_add(fixture->router, "POST", "/hello", handle_hello, NULL), 0);
    http_test_server_start(&fixture->test_server, &fixture->config, fixture->router);
    return fixture;
}

/* Stops the server (every observer call has returned once runtime_run
 * did), renders the metrics, stops the logger (which writes out what it
 * buffered) and reads the log file. */
static void fixture_stop(struct fixture *fixture)
{
    http_test_server_stop(&fixture->test_server);
    http_router_destroy(fixture->router);

    size_t len = 0;
    FILE *out = open_memstream(&fixture->exposition, &len);
    assert_non_null(out);
    assert_int_equal(metrics_write(fixture->registry, out), 0);
    assert_int_equal(fclose(out), 0);
    metrics_registry_destroy(fixture->registry);

    log_destroy(fixture->logger);
    ssize_t n = pread(fixture->log_fd, fixture->log, sizeof(fixture->log) - 1, 0);
    assert_true(n >= 0);
    fixture->log[n] = '\0';
    close(fixture->log_fd);
    unlink(fixture->log_path);
}

static void fixture_free(struct fixture *fixture)
{
    free(fixture->exposition);
    free(fixture);
}

/* ---- a blocking client ---------------------------------------------------- */

static int client_connect(const struct fixture *fixture)
{
    int fd = test_http_connect(http_test_server_port(&fixture->test_server));
    assert_true(fd >= 0);
    return fd;
}

static void client_send(int fd, const char *data, size_t len)
{
    assert_true(test_http_send(fd, data, len));
}

/* The code of the "HTTP/1.1 NNN ..." status line that starts reply. */
static int reply_status(const char *reply)
{
    int status = test_http_status(reply);
    assert_true(status > 0);
    return status;
}

/* The status of the one response the server sends before it closes: reads
 * to EOF (bounded by the socket timeout), so the answer is complete. */
static int client_status_until_close(int fd)
{
    static char reply[REPLY_MAX];
    size_t len = 0;
    for (;;) {
        ssize_t n = recv(fd, reply + len, sizeof(reply) - 1 - len, 0);
        if (n < 0 && errno == ECONNRESET) {
            break;
        }
        assert_true(n >= 0); /* not a timeout */
        if (n == 0 || len + (size_t)n == sizeof(reply) - 1) {
            break;
        }
        len += (size_t)n;
    }
    reply[len] = '\0';
    return reply_status(reply);
}

/* The status of one response on a kept-alive connection. */
static int client_status(int fd)
{
    static char reply[REPLY_MAX];
    size_t len = 0;
    while (memmem(reply, len, "\r\n\r\nhello", 9) == NULL) {
        ssize_t n = recv(fd, reply + len, sizeof(reply) - 1 - len, 0);
        assert_true(n > 0);
        len += (size_t)n;
    }
    reply[len] = '\0';
    return reply_status(reply);
}

/* ---- what the log and the metrics say ------------------------------------- */

static size_t count_lines(const char *log, const char *needle)
{
    size_t count = 0;
    for (const char *line = log; *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
        if (memmem(line, len, needle, strlen(needle)) != NULL) {
            count++;
        }
        line += len + (end != NULL ? 1 : 0);
    }
    return count;
}

/* The one access-log line with `status`; it must hold every `fields`. */
static void assert_one_line(const struct fixture *fixture, int status, const char *const *fields)
{
    char needle[32];
    snprintf(needle, sizeof(needle), "\"status\":%d,", status);
    if (count_lines(fixture->log, needle) != 1) {
        fail_msg("expected one access-log line with status %d in:\n%s", status, fixture->log);
    }
    const char *line = strstr(fixture->log, needle);
    while (line > fixture->log && line[-1] != '\n') {
        line--;
    }
    size_t len = strcspn(line, "\n");
    assert_non_null(memmem(line, len, "\"msg\":\"request\"", 15));
    assert_non_null(memmem(line, len, "\"route\":\"\"", 10));
    assert_non_null(memmem(line, len, "\"peer\":\"127.0.0.1", 17));
    assert_non_null(memmem(line, len, "\"duration_ms\":", 14));
    for (size_t i = 0; fields[i] != NULL; i++) {
        if (memmem(line, len, fields[i], strlen(fields[i])) == NULL) {
            fail_msg("%s not in the line: %.*s", fields[i], (int)len, line);
        }
    }
}

/* `series` ("name{labels}") has `value` in the exposition. */
static void assert_series(const struct fixture *fixture, const char *series, const char *value)
{
    char expected[256];
    snprintf(expected, sizeof(expected), "\n%s %s\n", series, value);
    if (strstr(fixture->exposition, expected) == NULL) {
        fail_msg("no '%s %s' in:\n%s", series, value, fixture->exposition);
    }
}

/* ---- tests ---------------------------------------------------------------- */

static void test_431_is_logged_and_counted(void **state)
{
    (void)state;
    struct http_server_config config = default_config();
    struct fixture *fixture = fixture_start(&config);
    static char request[16 * 1024];
    size_t len =
        (size_t)snprintf(request, sizeof(request), "GET /hello?q=1 HTTP/1.1\r\nHost: t\r\nX-Big: ");
    memset(request + len, 'x', BIG_HEADER_BYTES);
    len += BIG_HEADER_BYTES;
    len += (size_t)snprintf(request + len, sizeof(request) - len, "\r\n\r\n");
    int fd = client_connect(fixture);
    client_send(fd, request, len);
    assert_int_equal(client_status_until_close(fd), 431);
    close(fd);
    fixture_stop(fixture);

    /* The header section never ended: no request id, but the request line
     * was whole, so the method and path (without the query) are known. */
    static const char *const fields[] = {"\"request_id\":\"\"", "\"method\":\"GET\"",
                                         "\"path\":\"/hello\"", NULL};
    assert_one_line(fixture, 431, fields);
    assert_int_equal(count_lines(fixture->log, "\"msg\":\"request\""), 1);
    assert_series(fixture, "http_requests_total{route=\"unmatched\",method=\"GET\",code=\"4xx\"}",
                  "1");
    assert_series(fixture, "http_request_duration_seconds_count{route=\"unmatched\"}", "1");
    assert_series(fixture, "http_requests_in_flight", "0");
    fixture_free(fixture);
}

static void test_413_carries_the_clients_ids(void **state)
{
    (void)state;
    struct http_server_config config = default_config();
    config.max_body_bytes = 1024;
    struct fixture *fixture = fixture_start(&config);
    static const char request[] =
        "POST /hello HTTP/1.1\r\nX-Request-Id: big-upload-7\r\n"
        "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
        "Content-Length: 2000000\r\n\r\n";
    int fd = client_connect(fixture);
    client_send(fd, request, sizeof(request) - 1);
    assert_int_equal(client_status_until_close(fd), 413);
    close(fd);
    fixture_stop(fixture);

    static const char *const fields[] = {"\"request_id\":\"big-upload-7\"",
                                         "\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"",
                                         "\"method\":\"POST\"", "\"path\":\"/hello\"", NULL};
    assert_one_line(fixture, 413, fields);
    assert_series(fixture, "http_requests_total{route=\"unmatched\",method=\"POST\",code=\"4xx\"}",
                  "1");
    fixture_free(fixture);
}

static void test_408_slowloris_is_logged_and_counted(void **state)
{
    (void)state;
    struct http_server_config config = default_config();
    config.header_timeout_ms = 200;
    struct fixture *fixture = fixture_start(&config);
    /* Headers started, never finished. */
    static const char request[] = "GET /hello HTTP/1.1\r\nHost: slow\r\n";
    int fd = client_connect(fixture);
    client_send(fd, request, sizeof(request) - 1);
    assert_int_equal(client_status_until_close(fd), 408);
    close(fd);
    /* Connected and silent: closed without an answer, so no line. */
    fd = client_connect(fixture);
    char byte;
    ssize_t n = recv(fd, &byte, 1, 0);
    assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
    close(fd);
    fixture_stop(fixture);

    static const char *const fields[] = {"\"method\":\"GET\"", "\"path\":\"/hello\"", NULL};
    assert_one_line(fixture, 408, fields);
    assert_int_equal(count_lines(fixture->log, "\"msg\":\"request\""), 1);
    assert_series(fixture, "http_requests_total{route=\"unmatched\",method=\"GET\",code=\"4xx\"}",
                  "1");
    fixture_free(fixture);
}

static void test_400_garbage_has_no_method_or_path(void **state)
{
    (void)state;
    struct http_server_config config = default_config();
    struct fixture *fixture = fixture_start(&config);
    static const char request[] = "\x16\x03\x01 not http\r\n\r\n";
    int fd = client_connect(fixture);
    client_send(fd, request, sizeof(request) - 1);
    assert_int_equal(client_status_until_close(fd), 400);
    close(fd);
    fixture_stop(fixture);

    static const char *const fields[] = {"\"method\":\"\"", "\"path\":\"\"", NULL};
    assert_one_line(fixture, 400, fields);
    assert_series(fixture, "http_requests_total{route=\"unmatched\",method=\"OTHER\",code=\"4xx\"}",
                  "1");
    fixture_free(fixture);
}

static void test_503_max_connections_is_logged_and_counted(void **state)
{
    (void)state;
    struct http_server_config config = default_config();
    config.max_connections = 1;
    struct fixture *fixture = fixture_start(&config);
    int first = client_connect(fixture);
    /* A completed request proves the first was admitted. */
    static const char hello[] = "GET /hello HTTP/1.1\r\n\r\n";
    client_send(first, hello, sizeof(hello) - 1);
    assert_int_equal(client_status(first), 200);
    int second = client_connect(fixture);
    assert_int_equal(client_status_until_close(second), 503);
    close(second);
    close(first);
    fixture_stop(fixture);

    /* Refused at accept: nothing of a request was read. */
    static const char *const fields[] = {"\"request_id\":\"\"", "\"method\":\"\"", "\"path\":\"\"",
                                         NULL};
    assert_one_line(fixture, 503, fields);
    assert_int_equal(count_lines(fixture->log, "\"msg\":\"request\""), 2);
    assert_series(fixture, "http_requests_total{route=\"/hello\",method=\"GET\",code=\"2xx\"}",
                  "1");
    assert_series(fixture, "http_requests_total{route=\"unmatched\",method=\"OTHER\",code=\"5xx\"}",
                  "1");
    fixture_free(fixture);
}

/* Refuses every request with a body: the 503 of load shedding. */
static bool admit_no_bodies(void *arg, uint64_t body_bytes)
{
    (void)arg;
    return body_bytes == 0;
}

static void test_503_admission_names_the_request(void **state)
{
    (void)state;
    static const struct http_admission admission = {.admit = admit_no_bodies};
    struct http_server_config config = default_config();
    config.admission = &admission;
    struct fixture *fixture = fixture_start(&config);
    static const char request[] = "POST /hello HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
    int fd = client_connect(fixture);
    client_send(fd, request, sizeof(request) - 1);
    assert_int_equal(client_status_until_close(fd), 503);
    close(fd);
    fixture_stop(fixture);

    static const char *const fields[] = {"\"method\":\"POST\"", "\"path\":\"/hello\"", NULL};
    assert_one_line(fixture, 503, fields);
    assert_series(fixture, "http_requests_total{route=\"unmatched\",method=\"POST\",code=\"5xx\"}",
                  "1");
    fixture_free(fixture);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_431_is_logged_and_counted),
        cmocka_unit_test(test_413_carries_the_clients_ids),
        cmocka_unit_test(test_408_slowloris_is_logged_and_counted),
        cmocka_unit_test(test_400_garbage_has_no_method_or_path),
        cmocka_unit_test(test_503_max_connections_is_logged_and_counted),
        cmocka_unit_test(test_503_admission_names_the_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
