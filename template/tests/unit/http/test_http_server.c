/*
 * End-to-end tests of the HTTP server over real sockets: the server runs in
 * runtime_run() on its own thread; the tests drive it with plain blocking
 * POSIX sockets whose every wait is bounded by SO_RCVTIMEO.
 */
#define _GNU_SOURCE /* memmem, strncasecmp */
#include <errno.h>
#include <pthread.h>
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
#include "platform/json/json_writer.h"
#include "platform/runtime/ctx.h"

#include "http_client.h"
#include "http_test_support.h"

/* size_t, so sizes computed from it are never int products widened later. */
#define KIB ((size_t)1024)
#define REPLY_MAX (256 * KIB)

/* ---- the server under test ------------------------------------------------ */

static int handle_hello(struct http_request *request, struct http_response *response,
                        void *user_data)
{
    (void)request;
    (void)user_data;
    return http_response_send(response, 200, "text/plain", "hello", 5);
}

static int handle_echo(struct http_request *request, struct http_response *response,
                       void *user_data)
{
    (void)user_data;
    return http_response_send(response, 200, "application/octet-stream", request->body,
                              request->body_len);
}

static int handle_item(struct http_request *request, struct http_response *response,
                       void *user_data)
{
    (void)user_data;
    char body[256];
    struct json_writer writer;
    json_writer_init(&writer, body, sizeof(body));
    json_writer_object_begin(&writer);
    json_writer_field_string(&writer, "id", http_request_param(request, "id"));
    json_writer_field_string(&writer, "method", request->method);
    json_writer_field_string(&writer, "query", request->query);
    json_writer_object_end(&writer);
    long len = json_writer_finish(&writer);
    if (len < 0) {
        return (int)len;
    }
    return http_response_json(response, 200, body, (size_t)len);
}

static int handle_fail(struct http_request *request, struct http_response *response,
                       void *user_data)
{
    (void)request;
    (void)user_data;
    /* Half-built and abandoned: the server must drop it and answer 500. */
    http_response_set_header(response, "X-Half", "built");
    return -EIO;
}

/* Reports the handler's deadline, so the test can check it was set. */
static int handle_deadline(struct http_request *request, struct http_response *response,
                           void *user_data)
{
    (void)user_data;
    uint64_t remaining = ctx_remaining_ms(request->ctx);
    char body[64];
    int len = snprintf(body, sizeof(body), "%s",
                       remaining != CTX_NO_DEADLINE && remaining <= 30000 ? "deadline" : "none");
    return http_response_send(response, 200, "text/plain", body, (size_t)len);
}

struct server_fixture {
    struct http_router *router;
    struct http_test_server server;
};

static struct server_fixture *server_start(const struct http_server_config *config)
{
    struct server_fixture *fixture = calloc(1, sizeof(*fixture));
    assert_non_null(fixture);
    assert_int_equal(http_router_create(&fixture->router), 0);
    assert_int_equal(http_router_add(fixture->router, "GET", "/hello", handle_hello, NULL), 0);
    assert_int_equal(http_router_add(fixture->router, "POST", "/echo", handle_echo, NULL), 0);
    assert_int_equal(http_router_add(fixture->router, "GET", "/items/{id}", handle_item, NULL), 0);
    assert_int_equal(http_router_add(fixture->router, "DELETE", "/items/{id}", handle_item, NULL),
                     0);
    assert_int_equal(http_router_add(fixture->router, "GET", "/fail", handle_fail, NULL), 0);
    assert_int_equal(http_router_add(fixture->router, "GET", "/deadline", handle_deadline, NULL),
                     0);
    http_test_server_start(&fixture->server, config, fixture->router);
    return fixture;
}

static void server_stop(struct server_fixture *fixture)
{
    http_test_server_stop(&fixture->server);
    http_router_destroy(fixture->router);
    free(fixture);
}

static struct http_server_config default_config(void)
{
    struct http_server_config config;
    http_server_config_defaults(&config);
    return config;
}

/* ---- a blocking client ---------------------------------------------------- */

struct client {
    int fd;
    char buf[REPLY_MAX];
    size_t len; /* bytes received but not yet consumed */
};

struct reply {
    int status;
    char head[8192];
    char body[REPLY_MAX];
    size_t body_len;
};

static struct client *client_open(const struct server_fixture *fixture)
{
    struct client *client = calloc(1, sizeof(*client));
    assert_non_null(client);
    client->fd = test_http_connect(http_test_server_port(&fixture->server));
    assert_true(client->fd >= 0);
    return client;
}

static void client_close(struct client *client)
{
    close(client->fd);
    free(client);
}

static void client_send(struct client *client, const char *text)
{
    assert_true(test_http_send(client->fd, text, strlen(text)));
}

/* Receives more bytes: >0, 0 at EOF, -1 on error or timeout. */
static ssize_t client_fill(struct client *client)
{
    if (client->len == sizeof(client->buf)) {
        return -1;
    }
    ssize_t n = recv(client->fd, client->buf + client->len, sizeof(client->buf) - client->len, 0);
    if (n > 0) {
        client->len += (size_t)n;
    }
    return n;
}

static void client_consume(struct client *client, size_t len)
{
    memmove(client->buf, client->buf + len, client->len - len);
    client->len -= len;
}

static const char *reply_header(const struct reply *reply, const char *name)
{
    static _Thread_local char value[256];
    size_t name_len = strlen(name);
    for (const char *line = strstr(reply->head, "\r\n"); line != NULL && line[2] != '\0';
         line = strstr(line + 2, "\r\n")) {
        const char *start = line + 2;
        if (strncasecmp(start, name, name_len) == 0 && start[name_len] == ':') {
            const char *v = start + name_len + 1;
            while (*v == ' ') {
                v++;
            }
            size_t len = strcspn(v, "\r");
            if (len >= sizeof(value)) {
                len = sizeof(value) - 1;
            }
            memcpy(value, v, len);
            value[len] = '\0';
            return value;
        }
    }
    return NULL;
}

/* Reads one response; `head_request` when it answers a HEAD (no body).
 * false on EOF, error or timeout. */
static bool client_read_reply(struct client *client, struct reply *reply, bool head_request)
{
    char *end;
    while ((end = memmem(client->buf, client->len, "\r\n\r\n", 4)) == NULL) {
        if (client_fill(client) <= 0) {
            return false;
        }
    }
    size_t head_len = (size_t)(end - client->buf) + 4;
    if (head_len >= sizeof(reply->head)) {
        return false;
    }
    memcpy(reply->head, client->buf, head_len);
    reply->head[head_len] = '\0';
    client_consume(client, head_len);
    reply->status = test_http_status(reply->head);
    if (reply->status < 0) {
        return false;
    }
    const char *length = reply_header(reply, "Content-Length");
    size_t body_len = 0;
    if (!head_request && length != NULL && !test_http_content_length(length, &body_len)) {
        return false;
    }
    if (body_len >= sizeof(reply->body)) {
        return false;
    }
    while (client->len < body_len) {
        if (client_fill(client) <= 0) {
            return false;
        }
    }
    memcpy(reply->body, client->buf, body_len);
    reply->body[body_len] = '\0';
    reply->body_len = body_len;
    client_consume(client, body_len);
    return true;
}

static struct reply *reply_new(void)
{
    struct reply *reply = calloc(1, sizeof(*reply));
    assert_non_null(reply);
    return reply;
}

/* The server closed: EOF (or a reset) before the timeout, no stray bytes. */
static void assert_closed(struct client *client)
{
    assert_int_equal(client->len, 0);
    char byte;
    ssize_t n = recv(client->fd, &byte, 1, 0);
    if (n < 0) {
        assert_int_equal(errno, ECONNRESET);
    } else {
        assert_int_equal(n, 0);
    }
}

static void exchange(struct client *client, const char *request, struct reply *reply, int status)
{
    client_send(client, request);
    assert_true(client_read_reply(client, reply, strncmp(request, "HEAD ", 5) == 0));
    assert_int_equal(reply->status, status);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_keep_alive(void **state)
{
    (void)state;
    struct http_server_config config = default_config();
    struct server_fixture *fixture = server_start(&config);
    struct client *client = client_open(fixture);
    struct reply *reply = reply_new();
    for (int i = 0; i < 3; i++) {
        exchange(client, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", reply, 200);
        assert_string_equal(reply->body, "hello");
        assert_string_equal(reply_header(reply, "Content-Length"), "5");
        assert_string_equal(reply_header(reply, "Content-Type"), "text/plain");
        assert_int_equal(strlen(reply_header(reply, "Date")), 29);
        assert_null(reply_header(reply, "Connection"));
    }
    exchange(client, "GET /deadline HTTP/1.1\r\n\r\n", reply, 200);
    assert_string_equal(reply->body, "deadline");
    free(reply);
    client_close(client);
    server_stop(fixture);
}

static void test_pipelining(void **state)
{
    (void)state;
    struct http_server_config config = default_config();
    struct server_fixture *fixture = server_start(&config);
    struct client *client = client_open(fixture);
    struct reply *reply = reply_new();
    client_send(client, "GET /items/1?x=y HTTP/1.1\r\n\r\n"
                        "POST /echo HTTP/1.1\r\nContent-Length: 4\r\n\r\nping"
                        "DELETE /items/2 HTTP/1.1\r\n\r\n"
                        "HEAD /hello HTTP/1.1\r\n\r\n"
                        "GET /hello HTTP/1.1\r\n\r\n");
    assert_true(client_read_reply(client, reply, false));
    assert_int_equal(reply->status, 200);
    assert_string_equal(reply->body, "{\"id\":\"1\",\"method\":\"GET\",\"query\":\"x=y\"}");
    assert_true(client_read_reply(client, reply, false));
    assert_string_equal(reply->body, "ping");
    assert_true(client_read_reply(client, reply, false));
    assert_string_equal(reply->body, "{\"id\":\"2\",\"method\":\"DELETE\",\"query\":\"\"}");
    /* HEAD: the length of the body it would have had, and no body. */
    assert_true(client_read_reply(client, reply, true));
    assert_int_equal(reply->status, 200);
    assert_string_equal(reply_header(reply, "Content-Length"), "5");
    assert_true(client_read_reply(client, reply, false));
    assert_string_equal(reply->body, "hello");
    free(reply);
    client_close(client);
    server_stop(fixture);
}

static void test_expect_continue(void **state)
{
    (void)state;
    struct http_server_config config = default_config();
    config.max_body_bytes = 1024;
    struct server_fixture *fixture = server_start(&config);
    struct client *client = client_open(fixture);
    struct reply *reply = reply_new();
    /* The interim 100 comes before the client sends the body. */
    exchange(client, "POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
             reply, 100);
    exchange(client, "abcde", reply, 200);
    assert_string_equal(reply->body, "abcde");
    client_close(client);

    client = client_open(fixture);
    exchange(client, "POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n",
             reply, 413);
    assert_string_equal(reply_header(reply, "Connection"), "close");
    assert_closed(client);
    client_close(client);

    client = client_open(fixture);
    exchange(client, "POST /echo HTTP/1.1\r\nExpect: coffee\r\nContent-Length: 1\r\n\r\n", reply,
             417);
    assert_closed(client);
    client_close(client);
    free(reply);
    server_stop(fixture);
}

static void test_chunked_body(void **state)
{
    (void)state;
    struct http_server_config config = default_config();
    struct server_fixture *fixture = server_start(&config);
    struct client *client = client_open(fixture);
    struct reply *reply = reply_new();
    exchange(client,
             "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n",
             reply, 200);
    assert_string_equal(reply->body, "hello, world");
    /* A body far larger than the read buffer, in many chunks. */
    static char request[300 * KIB];
    size_t len = (size_t)snprintf(request, sizeof(request),
                                  "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 100; i++) {
        len += (size_t)snprintf(request + len, sizeof(request) - len, "400\r\n");
        memset(request + len, 'a' + i % 26, KIB);
        len += KIB;
        len += (size_t)snprintf(request + len, sizeof(request) - len, "\r\n");
    }
    snprintf(request + len, sizeof(request) - len, "0\r\n\r\n");
    exchange(client, request, reply, 200);
    assert_int_equal(reply->body_len, 100 * KIB);
    assert_int_equal(reply->body[0], 'a');
    assert_int_equal(reply->body[99 * KIB], 'a' + 99 % 26);
    free(reply);
    client_close(client);
    server_stop(fixture);
}

static void test_connection_close_and_http10(void **state)
{
    (void)state;
    struct http_server_config config = default_config();
    struct server_fixture *fixture = server_start(&config);
    struct reply *reply = reply_new();
    struct client *client = client_open(fixture);
    exchange(client, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n", reply, 200);
    assert_string_equal(reply_header(reply, "Connection"), "close");
    assert_string_equal(reply->body, "hello");
    assert_closed(client);
    client_close(client);

    client = client_open(fixture);
    exchange(client, "GET /hello HTTP/1.0\r\n\r\n", reply, 200);
    assert_string_equal(reply_header(reply, "Connection"), "close");
    assert_closed(client);
    client_close(client);

    client = client_open(fixture);
    exchange(client, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", reply, 200);
    assert_string_equal(reply_header(reply, "Connection"), "keep-alive");
    exchange(client, "GET /hello HTTP/1.0\r\n\r\n", reply, 200);
    assert_closed(client);
    client_close(client);
    free(reply);
    server_stop(fixture);
}

static void assert_json_error(const struct reply *reply, const char *code)
{
    assert_string_equal(reply_header(reply, "Content-Type"), "application/json");
    char expected[128];
    snprintf(expected, sizeof(expected), "{\"error\":{\"code\":\"%s\",", code);
    assert_memory_equal(reply->body, expected, strlen(expected));
}

static void test_header_limit_431(void **state)
{
    (void)state;
    struct http_server_config config = default_config();
    struct server_fixture *fixture = server_start(&config);
    struct client *client = client_open(fixture);
    struct reply *reply = reply_new();
    static char request[16 * KIB];
    size_t len = (size_t)snprintf(request, sizeof(request), "GET /hello HTTP/1.1\r\nX-Big: ");
    memset(request + len, 'x', 10 * KIB);
    len += 10 * KIB;
    snprintf(request + len, sizeof(request) - len, "\r\n\r\n");
    exchange(client, request, reply, 431);
    assert_json_error(reply, "headers_too_large");
    assert_string_equal(reply_header(reply, "Connection"), "close");
    assert_closed(client);
    free(reply);
    client_close(client);
    server_stop(fixture);
}

static void test_body_limit_413(void **state)
{
    (void)state;
    struct http_server_config config = default_config();
    config.max_body_bytes = 1024;
    struct server_fixture *fixture = server_start(&config);
    struct reply *reply = reply_new();
    struct client *client = client_open(fixture);
    exchange(client, "POST /echo HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", reply, 413);
    assert_json_error(reply, "body_too_large");
    assert_closed(client);
    client_close(client);

    client = client_open(fixture);
    static char request[8 * KIB];
    size_t len = (size_t)snprintf(request, sizeof(request),
                                  "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; i++) {
        len += (size_t)snprintf(request + len, sizeof(request) - len, "200\r\n");
        memset(request + len, 'b', 512);
        len += 512;
        len += (size_t)snprintf(request + len, sizeof(request) - len, "\r\n");
    }
    exchange(client, request, reply, 413);
    assert_json_error(reply, "body_too_large");
    assert_closed(client);
    client_close(client);
    free(reply);
    server_stop(fixture);
}

static void test_slowloris_408(void **state)
{
    (void)state;
    struct http_server_config config = default_config();
    config.header_timeout_ms = 200;
    struct server_fixture *fixture = server_start(&config);
    struct client *client = client_open(fixture);
    struct reply *reply = reply_new();
    /* Headers started, never finished. */
    exchange(client, "GET /hello HTTP/1.1\r\nHost: slow\r\n", reply, 408);
    assert_json_error(reply, "request_timeout");
    assert_closed(client);
    client_close(client);

    /* Connected, silent: closed without a response. */
    client = client_open(fixture);
    assert_closed(client);
    client_close(client);
    free(reply);
    server_stop(fixture);
}

static void test_idle_timeout_closes(void **state)
{
    (void)state;
    struct http_server_config config = default_config();
    config.idle_timeout_ms = 200;
    struct server_fixture *fixture = server_start(&config);
    struct client *client = client_open(fixture);
    struct reply *reply = reply_new();
    exchange(client, "GET /hello HTTP/1.1\r\n\r\n", reply, 200);
    assert_null(reply_header(reply, "Connection"));
    assert_closed(client);
    free(reply);
    client_close(client);
    server_stop(fixture);
}

static void test_malformed_400(void **state)
{
    (void)state;
    struct http_server_config config = default_config();
    struct server_fixture *fixture = server_start(&config);
    struct client *client = client_open(fixture);
    struct reply *reply = reply_new();
    exchange(client, "GET /hello HTTP/1.1\r\nBad Header: x\r\n\r\n", reply, 400);
    assert_json_error(reply, "bad_request");
    assert_string_equal(reply_header(reply, "Connection"), "close");
    assert_closed(client);
    client_close(client);

    client = client_open(fixture);
    exchange(client, "\x16\x03\x01 not http\r\n\r\n", reply, 400);
    assert_closed(client);
    client_close(client);
    free(reply);
    server_stop(fixture);
}

static void test_routing_errors(void **state)
{
    (void)state;
    struct http_server_config config = default_config();
    struct server_fixture *fixture = server_start(&config);
    struct client *client = client_open(fixture);
    struct reply *reply = reply_new();
    exchange(client, "GET /nope HTTP/1.1\r\n\r\n", reply, 404);
    assert_json_error(reply, "not_found");
    exchange(client, "PUT /items/7 HTTP/1.1\r\nContent-Length: 0\r\n\r\n", reply, 405);
    assert_json_error(reply, "method_not_allowed");
    assert_string_equal(reply_header(reply, "Allow"), "GET, HEAD, DELETE");
    exchange(client, "GET /fail HTTP/1.1\r\n\r\n", reply, 500);
    assert_json_error(reply, "internal");
    assert_null(reply_header(reply, "X-Half"));
    /* Errors from routing or handlers keep the connection usable. */
    exchange(client, "GET /hello HTTP/1.1\r\n\r\n", reply, 200);
    free(reply);
    client_close(client);
    server_stop(fixture);
}

static void test_max_connections_503(void **state)
{
    (void)state;
    struct http_server_config config = default_config();
    config.max_connections = 2;
    struct server_fixture *fixture = server_start(&config);
    struct reply *reply = reply_new();
    struct client *first = client_open(fixture);
    struct client *second = client_open(fixture);
    /* A completed request proves each was admitted. */
    exchange(first, "GET /hello HTTP/1.1\r\n\r\n", reply, 200);
    exchange(second, "GET /hello HTTP/1.1\r\n\r\n", reply, 200);
    struct client *third = client_open(fixture);
    assert_true(client_read_reply(third, reply, false));
    assert_int_equal(reply->status, 503);
    assert_json_error(reply, "overloaded");
    assert_closed(third);
    client_close(third);
    client_close(second);
    client_close(first);
    free(reply);
    server_stop(fixture);
}

/* Admission that refuses every request with a body: memory shedding. */
static bool admit_no_bodies(void *arg, uint64_t body_bytes)
{
    (void)arg;
    return body_bytes == 0;
}

/* Admission that refuses everything, connections included. */
static bool admit_nothing(void *arg, uint64_t body_bytes)
{
    (void)arg;
    (void)body_bytes;
    return false;
}

/* Shedding at accept, before any request was read, says memory_pressure too. */
static void test_admission_refusal_at_accept_is_memory_pressure(void **state)
{
    (void)state;
    static const struct http_admission admission = {.admit = admit_nothing};
    struct http_server_config config = default_config();
    config.admission = &admission;
    struct server_fixture *fixture = server_start(&config);
    struct reply *reply = reply_new();
    struct client *client = client_open(fixture);
    assert_true(client_read_reply(client, reply, false));
    assert_int_equal(reply->status, 503);
    assert_json_error(reply, "memory_pressure");
    assert_string_equal(reply_header(reply, "Retry-After"), "1");
    assert_closed(client);
    client_close(client);
    free(reply);
    server_stop(fixture);
}

/* Shedding has its own code, apart from the bulkhead's "overloaded", so a
 * client (and an operator reading logs) can tell memory from a busy class. */
static void test_admission_refusal_is_memory_pressure(void **state)
{
    (void)state;
    static const struct http_admission admission = {.admit = admit_no_bodies};
    struct http_server_config config = default_config();
    config.admission = &admission;
    struct server_fixture *fixture = server_start(&config);
    struct reply *reply = reply_new();
    struct client *client = client_open(fixture);
    exchange(client, "GET /hello HTTP/1.1\r\n\r\n", reply, 200);
    exchange(client, "POST /hello HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", reply, 503);
    assert_json_error(reply, "memory_pressure");
    assert_string_equal(reply_header(reply, "Retry-After"), "1");
    client_close(client);
    free(reply);
    server_stop(fixture);
}

#define LOAD_THREADS 50
#define LOAD_REQUESTS 100

struct load_client {
    int port;
    pthread_t thread;
    int answered;
};

static void *load_client_main(void *arg)
{
    struct load_client *load = arg;
    struct client *client = calloc(1, sizeof(*client));
    struct reply *reply = calloc(1, sizeof(*reply));
    if (client == NULL || reply == NULL) {
        goto out;
    }
    client->fd = test_http_connect(load->port);
    if (client->fd < 0) {
        goto out;
    }
    for (int i = 0; i < LOAD_REQUESTS; i++) {
        static const char request[] = "GET /items/42 HTTP/1.1\r\nHost: load\r\n\r\n";
        if (!test_http_send(client->fd, request, sizeof(request) - 1) ||
            !client_read_reply(client, reply, false) || reply->status != 200 ||
            strstr(reply->body, "\"42\"") == NULL) {
            break;
        }
        load->answered++;
    }
    close(client->fd);
out:
    free(client);
    free(reply);
    return NULL;
}

static void test_many_concurrent_clients(void **state)
{
    (void)state;
    struct http_server_config config = default_config();
    struct server_fixture *fixture = server_start(&config);
    static struct load_client clients[LOAD_THREADS];
    for (int i = 0; i < LOAD_THREADS; i++) {
        clients[i] = (struct load_client){.port = http_test_server_port(&fixture->server)};
        assert_int_equal(pthread_create(&clients[i].thread, NULL, load_client_main, &clients[i]),
                         0);
    }
    int answered = 0;
    for (int i = 0; i < LOAD_THREADS; i++) {
        pthread_join(clients[i].thread, NULL);
        answered += clients[i].answered;
    }
    assert_int_equal(answered, LOAD_THREADS * LOAD_REQUESTS);
    server_stop(fixture);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_pipelining),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_chunked_body),
        cmocka_unit_test(test_connection_close_and_http10),
        cmocka_unit_test(test_header_limit_431),
        cmocka_unit_test(test_body_limit_413),
        cmocka_unit_test(test_slowloris_408),
        cmocka_unit_test(test_idle_timeout_closes),
        cmocka_unit_test(test_malformed_400),
        cmocka_unit_test(test_routing_errors),
        cmocka_unit_test(test_max_connections_503),
        cmocka_unit_test(test_admission_refusal_is_memory_pressure),
        cmocka_unit_test(test_admission_refusal_at_accept_is_memory_pressure),
        cmocka_unit_test(test_many_concurrent_clients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
