/*
 * http_client.h: a deliberately simple, blocking HTTP/1.1 client for tests.
 *
 * Every call is bounded by a socket timeout, so a server that stops
 * answering fails the test instead of hanging it. Responses are parsed just
 * enough to assert on: status, a few headers, a Content-Length body.
 */
#ifndef HEXSVC_TESTS_HTTP_CLIENT_H
#define HEXSVC_TESTS_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#define TEST_HTTP_MAX_RESPONSE 65536

struct test_http_response {
    int status;
    char head[8192];   /* status line and headers, NUL-terminated */
    char body[TEST_HTTP_MAX_RESPONSE];
    size_t body_len;
};

/* A connected socket to 127.0.0.1:port with send/receive timeouts, or -1. */
int test_http_connect(int port);
/* Writes all of text; false on error. */
bool test_http_send(int fd, const char *text, size_t len);
/* Reads one response (headers + Content-Length body). false on timeout,
 * EOF before a full response, or a malformed head. */
bool test_http_read_response(int fd, struct test_http_response *response);
/* The value of header `name` (case-insensitive) copied into buf, or false. */
bool test_http_header(const struct test_http_response *response, const char *name, char *buf,
                      size_t len);
/* True when the peer closed the connection (read returns 0) within the timeout. */
bool test_http_peer_closed(int fd);
/* The code of a "HTTP/1.x NNN ..." status line, or -1 when it is not one. */
int test_http_status(const char *head);
/* Content-Length as a whole decimal number into *out; false when absent
 * digits, trailing bytes or overflow make it something else. */
bool test_http_content_length(const char *value, size_t *out);

/* `request` (len bytes, as sent) on a fresh connection, then its response. */
bool test_http_exchange(int port, const char *request, size_t len,
                        struct test_http_response *response);

/* The string value of "key":"..." in a flat JSON body copied into out (no
 * escapes decoded); false when absent or longer than len - 1. */
bool test_http_json_string(const char *body, const char *key, char *out, size_t len);

/* One request on a fresh connection: method, path, optional body. */
bool test_http_request(int port, const char *method, const char *path, const char *body,
                       struct test_http_response *response);

#endif
