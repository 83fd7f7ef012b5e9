#define _GNU_SOURCE /* memmem */
#include "http_client.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define TEST_HTTP_TIMEOUT_SECONDS 10

int test_http_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    struct timeval timeout = {.tv_sec = TEST_HTTP_TIMEOUT_SECONDS, .tv_usec = 0};
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

bool test_http_send(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t sent = send(fd, text, len, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) {
            continue;
        }
        if (sent <= 0) {
            return false;
        }
        text += sent;
        len -= (size_t)sent;
    }
    return true;
}

/* Reads until the blank line; leftover body bytes go to *extra. */
static bool read_head(int fd, struct test_http_response *response, char *extra, size_t *extra_len)
{
    char buf[sizeof(response->head)];
    size_t len = 0;
    for (;;) {
        if (len == sizeof(buf)) {
            return false;
        }
        ssize_t got = recv(fd, buf + len, sizeof(buf) - len, 0);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            return false;
        }
        len += (size_t)got;
        char *end = memmem(buf, len, "\r\n\r\n", 4);
        if (end != NULL) {
            size_t head_len = (size_t)(end - buf) + 4;
            memcpy(response->head, buf, head_len);
            response->head[head_len] = '\0';
            *extra_len = len - head_len;
            memcpy(extra, buf + head_len, *extra_len);
            return true;
        }
    }
}

bool test_http_header(const struct test_http_response *response, const char *name, char *buf,
                      size_t len)
{
    size_t name_len = strlen(name);
    const char *line = strstr(response->head, "\r\n");
    while (line != NULL && line[2] != '\r') {
        line += 2;
        if (strncasecmp(line, name, name_len) == 0 && line[name_len] == ':') {
            const char *value = line + name_len + 1;
            while (*value == ' ') {
                value++;
            }
            const char *end = strstr(value, "\r\n");
            size_t value_len = end ? (size_t)(end - value) : strlen(value);
            if (value_len >= len) {
                return false;
            }
            memcpy(buf, value, value_len);
            buf[value_len] = '\0';
            return true;
        }
        line = strstr(line, "\r\n");
    }
    return false;
}

int test_http_status(const char *head)
{
    if (strncmp(head, "HTTP/1.", 7) != 0 || head[7] < '0' || head[7] > '9' || head[8] != ' ') {
        return -1;
    }
    const char *code = head + 9;
    if (code[0] < '0' || code[0] > '9') {
        return -1; /* strtol would skip spaces and take a sign */
    }
    char *end = NULL;
    errno = 0;
    long status = strtol(code, &end, 10);
    if (errno != 0 || end != code + 3 || (*end != ' ' && *end != '\r') || status < 100) {
        return -1;
    }
    return (int)status;
}

bool test_http_content_length(const char *value, size_t *out)
{
    if (value[0] < '0' || value[0] > '9') {
        return false;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long length = strtoull(value, &end, 10);
    if (errno != 0 || *end != '\0' || length > SIZE_MAX) {
        return false;
    }
    *out = (size_t)length;
    return true;
}

bool test_http_read_response(int fd, struct test_http_response *response)
{
    static _Thread_local char extra[sizeof(response->head)];
    size_t extra_len = 0;
    memset(response, 0, offsetof(struct test_http_response, body));
    response->body_len = 0;
    if (!read_head(fd, response, extra, &extra_len)) {
        return false;
    }
    response->status = test_http_status(response->head);
    if (response->status < 0) {
        return false;
    }
    char value[32];
    size_t content_length = 0;
    if (test_http_header(response, "Content-Length", value, sizeof(value)) &&
        !test_http_content_length(value, &content_length)) {
        return false;
    }
    /* 1xx and 204/304 have no body; HEAD callers pass a HEAD-aware check. */
    if (content_length >= sizeof(response->body) || extra_len > content_length) {
        return false;
    }
    memcpy(response->body, extra, extra_len);
    response->body_len = extra_len;
    while (response->body_len < content_length) {
        ssize_t got =
            recv(fd, response->body + response->body_len, content_length - response->body_len, 0);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            return false;
        }
        response->body_len += (size_t)got;
    }
    response->body[response->body_len] = '\0';
    return true;
}

bool test_http_json_string(const char *body, const char *key, char *out, size_t len)
{
    char pattern[64];
    int pattern_len = snprintf(pattern, sizeof(pattern), "\"%s\":\"", key);
    if (pattern_len < 0 || (size_t)pattern_len >= sizeof(pattern)) {
        return false;
    }
    const char *start = strstr(body, pattern);
    if (start == NULL) {
        return false;
    }
    start += pattern_len;
    const char *end = strchr(start, '"');
    if (end == NULL || (size_t)(end - start) >= len) {
        return false;
    }
    memcpy(out, start, (size_t)(end - start));
    out[end - start] = '\0';
    return true;
}

bool test_http_peer_closed(int fd)
{
    char byte;
    for (;;) {
        ssize_t got = recv(fd, &byte, 1, 0);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        return got == 0 || (got < 0 && errno == ECONNRESET);
    }
}

bool test_http_exchange(int port, const char *request, size_t len,
                        struct test_http_response *response)
{
    int fd = test_http_connect(port);
    if (fd < 0) {
        return false;
    }
    bool ok = test_http_send(fd, request, len) && test_http_read_response(fd, response);
    close(fd);
    return ok;
}

bool test_http_request(int port, const char *method, const char *path, const char *body,
                       struct test_http_response *response)
{
    char request[8192];
    size_t body_len = body ? strlen(body) : 0;
    int len = snprintf(request, sizeof(request),
                       "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %zu\r\n\r\n%s", method,
                       path, body_len, body ? body : "");
    if (len < 0 || (size_t)len >= sizeof(request)) {
        return false;
    }
    return test_http_exchange(port, request, (size_t)len, response);
}
