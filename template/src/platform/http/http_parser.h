/*
 * http_parser.h: llhttp glue that turns bytes into an http_request.
 *
 * The caller owns a read buffer in which the current request starts at
 * `message_start` and grows as bytes arrive; the parser records header and
 * URL slices as pointers into that buffer (no copy), so the header bytes
 * must stay where they are until the request is answered. Body bytes are
 * copied (decoded, when chunked) into `body`, so the caller may reuse the
 * buffer space after the header section while a large body streams in.
 *
 * One http_parser per connection; it stops after each complete message so
 * that pipelined requests are answered one at a time, in order.
 */
#ifndef HEXSVC_PLATFORM_HTTP_HTTP_PARSER_H
#define HEXSVC_PLATFORM_HTTP_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>

#include <llhttp.h>

#include "platform/http/http_buffer.h"
#include "platform/http/http_request.h"

struct http_parser_limits {
    size_t max_header_bytes; /* request line + headers, 431 beyond */
    size_t max_body_bytes;   /* decoded body, 413 beyond */
};

enum http_parse_result {
    HTTP_PARSE_NEED_MORE,  /* every byte consumed; the message is incomplete */
    HTTP_PARSE_COMPLETE,   /* a whole message; *consumed tells where it ended */
    HTTP_PARSE_ERROR,      /* answer parser->error_status and close */
};

struct http_parser {
    llhttp_t llhttp;
    struct http_parser_limits limits;
    struct http_request *request;
    struct http_buffer *body;
    char *message_start;        /* first byte of the current request */
    const char *url;            /* the request target while it accumulates */
    size_t url_len;
    const char *header_end;     /* just past the last recorded slice */
    bool in_header_value;
    bool headers_complete;
    bool message_complete;
    bool expect_continue;       /* "Expect: 100-continue" on an acceptable request */
    bool upgrade;               /* the client asked to switch protocols */
    int error_status;           /* 400, 413, 417, 431 on HTTP_PARSE_ERROR */
    const char *error_code;     /* "bad_request", ... for the JSON error */
    const char *error_message;
};

/* Binds the parser to the request and body buffer it fills. */
void http_parser_init(struct http_parser *parser, const struct http_parser_limits *limits,
                      struct http_request *request, struct http_buffer *body);

/* Starts a new message at `message_start` (after a COMPLETE result, or at
 * the beginning): resets the request, the body and the flags. */
void http_parser_begin(struct http_parser *parser, char *message_start);

/*
 * Feeds data[0..len) (the next unparsed bytes of the buffer). On COMPLETE,
 * *consumed is the number of bytes of data that belonged to the message; the
 * rest is the start of the next (pipelined) request. On NEED_MORE all len
 * bytes were consumed.
 */
enum http_parse_result http_parser_execute(struct http_parser *parser, const char *data, size_t len,
                                           size_t *consumed);

/*
 * Once headers_complete: NUL-terminates the path, query, header names and
 * values in place (overwriting the delimiter after each) and fills path,
 * query, method and version. Idempotent. Returns 0, or -EINVAL for a
 * request target that is not a path (then answer 400).
 */
int http_parser_finish_headers(struct http_parser *parser);

/* Bytes from message_start up to the end of the last header slice: the
 * part of the buffer that must stay put. */
size_t http_parser_header_size(const struct http_parser *parser);

#endif
