/*
 * http_response.h: the response a handler builds; the connection sends it
 * after the handler returns.
 *
 * The status, extra headers and body are buffered in the connection's
 * pooled buffers, so Content-Length is always exact and a handler never
 * writes to the socket itself. The platform adds Date, Content-Length and
 * Connection; a handler must not set them.
 *
 * Responding twice is refused (-EALREADY): the first answer stands.
 * Return values: 0, or a negative errno (-EINVAL for a header containing
 * CR/LF or a reserved name, -ENOBUFS past the size limit, -ENOMEM).
 */
#ifndef HEXSVC_PLATFORM_HTTP_HTTP_RESPONSE_H
#define HEXSVC_PLATFORM_HTTP_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/uio.h>

#include "platform/http/http_buffer.h"

#define HTTP_RESPONSE_DEFAULT_MAX_BYTES ((size_t)16 * 1024 * 1024)
#define HTTP_RESPONSE_HEAD_LEN 256
#define HTTP_RESPONSE_IOV_COUNT 4
/* Finish callbacks per request (http_middleware.h): one per middleware that
 * logs or measures, with room for a few of the user's. */
#define HTTP_RESPONSE_MAX_FINISH 8

struct http_exchange;
typedef void (*http_finish_fn)(void *arg, const struct http_exchange *exchange);

struct http_response_finish {
    http_finish_fn finish;
    void *arg;
};

struct http_response {
    int status;                   /* 0 until a handler responds */
    struct http_buffer headers;   /* "Name: value\r\n" lines */
    struct http_buffer body;
    size_t max_bytes;             /* limit for headers and for the body */
    bool close;                   /* send "Connection: close", then close */
    bool keep_alive_header;       /* HTTP/1.0 keep-alive: say so explicitly */
    bool omit_body;               /* HEAD: headers only, same Content-Length */
    char head[HTTP_RESPONSE_HEAD_LEN]; /* status line + platform headers */
    /* Run after the write, newest first; see http_response_on_finish(). */
    struct http_response_finish finish[HTTP_RESPONSE_MAX_FINISH];
    size_t finish_count;
};

/* Empty buffers; nothing allocated until the first response. */
void http_response_init(struct http_response *response);
void http_response_free(struct http_response *response);
/* Prepares for the next request; keeps the buffers' memory. */
void http_response_reset(struct http_response *response);

bool http_response_started(const struct http_response *response);

/*
 * Drops a half-built answer: the status, the body and every header line
 * added after `header_mark` (a headers.len taken earlier), so the headers an
 * outer middleware set (X-Request-Id) and the finish callbacks stay. 0 drops
 * every header.
 */
void http_response_discard(struct http_response *response, size_t header_mark);

/* Adds the header line "name: value" from name[0..name_len) and
 * value[0..value_len). The name must be non-empty; neither may contain CR,
 * LF or NUL, nor the name ':'. The names Content-Length, Connection, Date
 * and Transfer-Encoding are reserved. */
int http_response_add_header(struct http_response *response, const char *name, size_t name_len,
                             const char *value, size_t value_len);

/* http_response_add_header for C strings. Inline so that the length of a
 * literal name is known at compile time. */
static inline int http_response_set_header(struct http_response *response, const char *name,
                                           const char *value)
{
    return http_response_add_header(response, name, strlen(name), value, strlen(value));
}

/* Sets the status and body (copied); content_type may be NULL. */
int http_response_send(struct http_response *response, int status, const char *content_type,
                       const void *body, size_t len);
/* http_response_send with Content-Type: application/json. */
int http_response_json(struct http_response *response, int status, const char *body, size_t len);
/* {"error":{"code":code,"message":message}} with the given status. */
int http_response_error(struct http_response *response, int status, const char *code,
                        const char *message);

/*
 * Lays the response out for writev: the status line and platform headers
 * (formatted into response->head), the extra headers, the blank line, the
 * body (left out when omit_body). `date` is an IMF-fixdate. Returns the
 * number of iovecs used (at most HTTP_RESPONSE_IOV_COUNT), or -ENOBUFS.
 */
int http_response_serialize(struct http_response *response, const char *date,
                            struct iovec iov[HTTP_RESPONSE_IOV_COUNT]);

#endif
