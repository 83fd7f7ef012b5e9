/*
 * http_parser.c: llhttp callbacks -> http_request slices.
 *
 * llhttp hands every callback a pointer into the data passed to
 * llhttp_execute(). Because the caller appends to one contiguous buffer, a
 * field split across two reads arrives as two adjacent pieces, and
 * "extend the slice to the end of the new piece" reassembles it.
 *
 * Limits are enforced here, as early as possible: the header size on every
 * header byte, the body size against Content-Length before any body byte is
 * read and against the decoded length for chunked bodies.
 */
#include "platform/http/http_parser.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

static struct http_parser *http_parser_of(llhttp_t *llhttp)
{
    return (struct http_parser *)llhttp->data;
}

static int http_parser_fail(struct http_parser *parser, int status, const char *code,
                            const char *message)
{
    parser->error_status = status;
    parser->error_code = code;
    parser->error_message = message;
    return HPE_USER;
}

/* Every header-section callback checks the header budget first. */
static int http_parser_check_header_bytes(struct http_parser *parser, const char *at, size_t len)
{
    if ((size_t)(at + len - parser->message_start) > parser->limits.max_header_bytes) {
        return http_parser_fail(parser, 431, "headers_too_large", "request headers too large");
    }
    if (at + len > parser->header_end) {
        parser->header_end = at + len;
    }
    return 0;
}

static int http_on_message_begin(llhttp_t *llhttp)
{
    (void)llhttp;
    return 0;
}

static int http_on_url(llhttp_t *llhttp, const char *at, size_t len)
{
    struct http_parser *parser = http_parser_of(llhttp);
    int rc = http_parser_check_header_bytes(parser, at, len);
    if (rc != 0) {
        return rc;
    }
    if (parser->url == NULL) {
        parser->url = at;
    }
    parser->url_len = (size_t)(at + len - parser->url);
    return 0;
}

static int http_on_header_field(llhttp_t *llhttp, const char *at, size_t len)
{
    struct http_parser *parser = http_parser_of(llhttp);
    int rc = http_parser_check_header_bytes(parser, at, len);
    if (rc != 0 || parser->headers_complete) {
        return rc; /* trailers after a chunked body are ignored */
    }
    struct http_request *request = parser->request;
    if (parser->in_header_value || request->header_count == 0 ||
        request->headers[request->header_count - 1].value != NULL) {
        if (request->header_count == HTTP_MAX_HEADERS) {
            return http_parser_fail(parser, 431, "headers_too_large", "too many request headers");
        }
        request->headers[request->header_count++] =
            (struct http_header){.name = at, .name_len = len, .value = NULL, .value_len = 0};
        parser->in_header_value = false;
        return 0;
    }
    struct http_header *header = &request->headers[request->header_count - 1];
    header->name_len = (size_t)(at + len - header->name);
    return 0;
}

/* RFC 9110 tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~". llhttp 8.1 lets some
 * non-token bytes (a space) through in field names; a front proxy may read
 * such a name differently, which is a request-smuggling vector, so the name
 * is checked here as well. Every byte of every header name passes through
 * here, so it is one bit test: bit (c % 64) of word (c / 64) is set when c
 * is a tchar (bytes 128-255 never are). Word 0: !#$%&'*+-. and 0-9; word 1:
 * A-Z ^_` a-z | ~. test_http_parser checks all 256 bytes against the list. */
static bool http_is_token_char(unsigned char c)
{
    static const uint64_t tchar_bits[2] = {UINT64_C(0x03ff6cfa00000000),
                                           UINT64_C(0x57ffffffc7fffffe)};
    return c < 128 && ((tchar_bits[c >> 6] >> (c & 63)) & 1) != 0;
}

static int http_on_header_field_complete(llhttp_t *llhttp)
{
    struct http_parser *parser = http_parser_of(llhttp);
    if (parser->headers_complete || parser->request->header_count == 0) {
        return 0;
    }
    const struct http_header *header = &parser->request->headers[parser->request->header_count - 1];
    for (size_t i = 0; i < header->name_len; i++) {
        if (!http_is_token_char((unsigned char)header->name[i])) {
            return http_parser_fail(parser, 400, "bad_request", "invalid header name");
        }
    }
    return header->name_len == 0
               ? http_parser_fail(parser, 400, "bad_request", "invalid header name")
               : 0;
}

static int http_on_header_value(llhttp_t *llhttp, const char *at, size_t len)
{
    struct http_parser *parser = http_parser_of(llhttp);
    int rc = http_parser_check_header_bytes(parser, at, len);
    if (rc != 0 || parser->headers_complete || parser->request->header_count == 0) {
        return rc;
    }
    struct http_header *header = &parser->request->headers[parser->request->header_count - 1];
    if (header->value == NULL) {
        header->value = at;
    }
    header->value_len = (size_t)(at + len - header->value);
    parser->in_header_value = true;
    return 0;
}

static int http_on_header_value_complete(llhttp_t *llhttp)
{
    struct http_parser *parser = http_parser_of(llhttp);
    if (parser->headers_complete || parser->request->header_count == 0) {
        return 0;
    }
    struct http_header *header = &parser->request->headers[parser->request->header_count - 1];
    if (header->value == NULL || header->value_len == 0) {
        /* "Name:" with an empty value: llhttp may fire no value callback, or
         * one of length 0 pointing at the next line. */
        header->value = "";
        header->value_len = 0;
    }
    while (header->value_len > 0 && (header->value[header->value_len - 1] == ' ' ||
                                     header->value[header->value_len - 1] == '\t')) {
        header->value_len--;
    }
    parser->in_header_value = true;
    return 0;
}

static int http_check_expect(struct http_parser *parser)
{
    const struct http_request *request = parser->request;
    for (size_t i = 0; i < request->header_count; i++) {
        const struct http_header *header = &request->headers[i];
        if (!http_token_equals(header->name, header->name_len, "expect")) {
            continue;
        }
        if (!http_token_equals(header->value, header->value_len, "100-continue")) {
            return http_parser_fail(parser, 417, "expectation_failed",
                                    "only Expect: 100-continue is supported");
        }
        /* HTTP/1.0 clients do not understand 100 (RFC 9110 10.1.1). */
        parser->expect_continue = parser->llhttp.http_major == 1 && parser->llhttp.http_minor >= 1;
    }
    return 0;
}

static int http_on_headers_complete(llhttp_t *llhttp)
{
    struct http_parser *parser = http_parser_of(llhttp);
    parser->headers_complete = true;
    parser->upgrade = llhttp->upgrade != 0;
    if ((llhttp->flags & F_CONTENT_LENGTH) != 0 &&
        llhttp->content_length > parser->limits.max_body_bytes) {
        return http_parser_fail(parser, 413, "body_too_large", "request body too large");
    }
    int rc = http_check_expect(parser);
    if (rc != 0) {
        return rc;
    }
    /* No Upgrade support: the request is answered as a plain one and the
     * caller closes the connection afterwards (llhttp stops parsing there). */
    return 0;
}

static int http_on_body(llhttp_t *llhttp, const char *at, size_t len)
{
    struct http_parser *parser = http_parser_of(llhttp);
    int rc = http_buffer_append(parser->body, at, len, parser->limits.max_body_bytes);
    if (rc == -ENOBUFS) {
        return http_parser_fail(parser, 413, "body_too_large", "request body too large");
    }
    if (rc < 0) {
        return http_parser_fail(parser, 503, "overloaded", "out of memory");
    }
    return 0;
}

static int http_on_message_complete(llhttp_t *llhttp)
{
    struct http_parser *parser = http_parser_of(llhttp);
    parser->message_complete = true;
    if (parser->body->len > 0) {
        http_buffer_terminate(parser->body);
        parser->request->body = parser->body->data;
        parser->request->body_len = parser->body->len;
    }
    parser->request->keep_alive = llhttp_should_keep_alive(llhttp) != 0;
    /* Stop here: the next pipelined request waits until this one is answered. */
    return HPE_PAUSED;
}

static const llhttp_settings_t http_parser_settings = {
    .on_message_begin = http_on_message_begin,
    .on_url = http_on_url,
    .on_header_field = http_on_header_field,
    .on_header_field_complete = http_on_header_field_complete,
    .on_header_value = http_on_header_value,
    .on_header_value_complete = http_on_header_value_complete,
    .on_headers_complete = http_on_headers_complete,
    .on_body = http_on_body,
    .on_message_complete = http_on_message_complete,
};

void http_parser_init(struct http_parser *parser, const struct http_parser_limits *limits,
                      struct http_request *request, struct http_buffer *body)
{
    memset(parser, 0, sizeof(*parser));
    llhttp_init(&parser->llhttp, HTTP_REQUEST, &http_parser_settings);
    parser->llhttp.data = parser;
    parser->limits = *limits;
    parser->request = request;
    parser->body = body;
}

void http_parser_begin(struct http_parser *parser, char *message_start)
{
    if (llhttp_get_errno(&parser->llhttp) == HPE_PAUSED) {
        llhttp_resume(&parser->llhttp);
    }
    parser->message_start = message_start;
    parser->header_end = message_start;
    parser->url = NULL;
    parser->url_len = 0;
    parser->in_header_value = false;
    parser->headers_complete = false;
    parser->message_complete = false;
    parser->expect_continue = false;
    parser->upgrade = false;
    parser->error_status = 0;
    parser->error_code = NULL;
    parser->error_message = NULL;
    http_request_reset(parser->request);
    http_buffer_clear(parser->body);
}

enum http_parse_result http_parser_execute(struct http_parser *parser, const char *data, size_t len,
                                           size_t *consumed)
{
    llhttp_errno_t rc = llhttp_execute(&parser->llhttp, data, len);
    if (rc == HPE_OK) {
        *consumed = len;
        return HTTP_PARSE_NEED_MORE;
    }
    if (rc == HPE_PAUSED || rc == HPE_PAUSED_UPGRADE) {
        const char *end = llhttp_get_error_pos(&parser->llhttp);
        *consumed = end != NULL ? (size_t)(end - data) : len;
        return HTTP_PARSE_COMPLETE;
    }
    *consumed = 0;
    if (parser->error_status == 0) {
        parser->error_status = 400;
        parser->error_code = "bad_request";
        parser->error_message = "malformed HTTP request";
    }
    return HTTP_PARSE_ERROR;
}

/* The writable byte of the caller's buffer behind a slice pointer. */
static char *http_parser_writable(struct http_parser *parser, const char *slice)
{
    return parser->message_start + (slice - parser->message_start);
}

static void http_parser_terminate(struct http_parser *parser, const char *slice, size_t len)
{
    *http_parser_writable(parser, slice + len) = '\0';
}

/* Splits the request target into path and query. Origin-form "/p?q" is
 * the norm; absolute-form "http://h/p?q" (proxies) is accepted too. */
static int http_parser_split_target(struct http_parser *parser)
{
    struct http_request *request = parser->request;
    const char *target = parser->url;
    size_t len = parser->url_len;
    if (target == NULL || len == 0) {
        return -EINVAL;
    }
    const char *path = target;
    if (target[0] != '/') {
        const char *scheme_end = memchr(target, ':', len);
        if (scheme_end == NULL || (size_t)(scheme_end - target) + 3 > len ||
            memcmp(scheme_end, "://", 3) != 0) {
            return -EINVAL;
        }
        const char *authority = scheme_end + 3;
        path = memchr(authority, '/', len - (size_t)(authority - target));
        if (path == NULL) {
            return -EINVAL;
        }
    }
    size_t path_len = len - (size_t)(path - target);
    const char *question = memchr(path, '?', path_len);
    http_parser_terminate(parser, target, len); /* the space before the version */
    if (question != NULL) {
        request->query = question + 1;
        request->query_len = path_len - (size_t)(question - path) - 1;
        path_len = (size_t)(question - path);
        *http_parser_writable(parser, question) = '\0';
    }
    request->path = path;
    request->path_len = path_len;
    return 0;
}

int http_parser_finish_headers(struct http_parser *parser)
{
    struct http_request *request = parser->request;
    if (request->path_len > 0) {
        return 0; /* already done for this message */
    }
    int rc = http_parser_split_target(parser);
    if (rc < 0) {
        return rc;
    }
    for (size_t i = 0; i < request->header_count; i++) {
        struct http_header *header = &request->headers[i];
        /* The name is followed by ':', the trimmed value by OWS or CR. */
        http_parser_terminate(parser, header->name, header->name_len);
        if (header->value_len > 0) {
            http_parser_terminate(parser, header->value, header->value_len);
        }
    }
    request->method = llhttp_method_name((llhttp_method_t)parser->llhttp.method);
    request->http_major = parser->llhttp.http_major;
    request->http_minor = parser->llhttp.http_minor;
    return 0;
}

size_t http_parser_header_size(const struct http_parser *parser)
{
    return (size_t)(parser->header_end - parser->message_start);
}
