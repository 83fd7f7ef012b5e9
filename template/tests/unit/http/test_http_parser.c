/* Tests for the llhttp glue: requests fed as byte strings, whole and split. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "platform/http/http_parser.h"

/* Mimics the connection: bytes are appended to one buffer and the parser is
 * fed what it has not seen yet. */
struct harness {
    char buf[16384];
    size_t len;
    size_t parsed;
    struct http_parser parser;
    struct http_request request;
    struct http_buffer body;
};

static void harness_init(struct harness *h, size_t max_header_bytes, size_t max_body_bytes)
{
    memset(h, 0, sizeof(*h));
    http_buffer_init(&h->body);
    struct http_parser_limits limits = {max_header_bytes, max_body_bytes};
    http_parser_init(&h->parser, &limits, &h->request, &h->body);
    http_parser_begin(&h->parser, h->buf);
}

/* Appends bytes in pieces of `step` and parses after each; returns the
 * first non-NEED_MORE result (consumed relative to the buffer start). */
static enum http_parse_result harness_feed(struct harness *h, const char *data, size_t step,
                                           size_t *message_end)
{
    size_t len = strlen(data);
    size_t offset = 0;
    while (offset < len) {
        size_t piece = len - offset < step ? len - offset : step;
        memcpy(h->buf + h->len, data + offset, piece);
        h->len += piece;
        offset += piece;
        size_t consumed = 0;
        enum http_parse_result result =
            http_parser_execute(&h->parser, h->buf + h->parsed, h->len - h->parsed, &consumed);
        h->parsed += consumed;
        if (result != HTTP_PARSE_NEED_MORE) {
            *message_end = h->parsed;
            /* Whatever else was in `data` stays for the next message. */
            memcpy(h->buf + h->len, data + offset, len - offset);
            h->len += len - offset;
            return result;
        }
    }
    return HTTP_PARSE_NEED_MORE;
}

static void harness_free(struct harness *h)
{
    http_buffer_free(&h->body);
}

static const char *header(const struct harness *h, const char *name)
{
    return http_request_header(&h->request, name);
}

static void test_parses_a_request_at_every_split(void **state)
{
    (void)state;
    const char *text = "POST /api/v1/links?x=1&y=%20 HTTP/1.1\r\n"
                       "Host: example.com\r\n"
                       "Content-Type:application/json  \r\n"
                       "X-Empty:\r\n"
                       "Content-Length: 11\r\n"
                       "\r\n"
                       "{\"url\":\"a\"}";
    for (size_t step = 1; step <= strlen(text); step++) {
        static struct harness h;
        harness_init(&h, 8192, 1024);
        size_t end = 0;
        assert_int_equal(harness_feed(&h, text, step, &end), HTTP_PARSE_COMPLETE);
        assert_int_equal(end, strlen(text));
        assert_int_equal(http_parser_finish_headers(&h.parser), 0);
        assert_string_equal(h.request.method, "POST");
        assert_string_equal(h.request.path, "/api/v1/links");
        assert_int_equal(h.request.path_len, 13);
        assert_string_equal(h.request.query, "x=1&y=%20");
        assert_string_equal(header(&h, "host"), "example.com");
        assert_string_equal(header(&h, "CONTENT-TYPE"), "application/json");
        assert_string_equal(header(&h, "x-empty"), "");
        assert_null(header(&h, "x-missing"));
        assert_int_equal(h.request.header_count, 4);
        assert_int_equal(h.request.body_len, 11);
        assert_string_equal(h.request.body, "{\"url\":\"a\"}");
        assert_true(h.request.keep_alive);
        assert_false(h.parser.expect_continue);
        harness_free(&h);
    }
}

static void test_pipelined_requests_stop_at_each_message(void **state)
{
    (void)state;
    static struct harness h;
    harness_init(&h, 8192, 1024);
    const char *text = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nConnection: close\r\n\r\n";
    size_t end = 0;
    assert_int_equal(harness_feed(&h, text, strlen(text), &end), HTTP_PARSE_COMPLETE);
    assert_int_equal(end, 19);
    assert_int_equal(http_parser_finish_headers(&h.parser), 0);
    assert_string_equal(h.request.path, "/a");
    assert_string_equal(h.request.query, "");
    assert_true(h.request.keep_alive);

    /* The second request starts where the first ended. */
    http_parser_begin(&h.parser, h.buf + end);
    size_t consumed = 0;
    assert_int_equal(http_parser_execute(&h.parser, h.buf + end, h.len - end, &consumed),
                     HTTP_PARSE_COMPLETE);
    assert_int_equal(end + consumed, h.len);
    assert_int_equal(http_parser_finish_headers(&h.parser), 0);
    assert_string_equal(h.request.path, "/b");
    assert_false(h.request.keep_alive);
    harness_free(&h);
}

static void test_chunked_body_is_decoded(void **state)
{
    (void)state;
    const char *text = "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer-X: t\r\n\r\n";
    for (size_t step = 1; step <= strlen(text); step += 3) {
        static struct harness h;
        harness_init(&h, 8192, 1024);
        size_t end = 0;
        assert_int_equal(harness_feed(&h, text, step, &end), HTTP_PARSE_COMPLETE);
        assert_int_equal(http_parser_finish_headers(&h.parser), 0);
        assert_string_equal(h.request.body, "hello, world");
        /* Trailers are not merged into the headers. */
        assert_null(header(&h, "trailer-x"));
        assert_int_equal(h.request.header_count, 1);
        harness_free(&h);
    }
}

static void test_http10_defaults_to_close(void **state)
{
    (void)state;
    static struct harness h;
    harness_init(&h, 8192, 1024);
    size_t end = 0;
    assert_int_equal(harness_feed(&h, "GET / HTTP/1.0\r\n\r\n", 64, &end), HTTP_PARSE_COMPLETE);
    assert_int_equal(http_parser_finish_headers(&h.parser), 0);
    assert_false(h.request.keep_alive);
    assert_int_equal(h.request.http_minor, 0);
    harness_init(&h, 8192, 1024);
    assert_int_equal(harness_feed(&h, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 64, &end),
                     HTTP_PARSE_COMPLETE);
    assert_true(h.request.keep_alive);
    harness_free(&h);
}

/* Appends text at *len in buf (size bytes), keeping it NUL-terminated; the
 * test fails instead of truncating. */
static void append(char *buf, size_t size, size_t *len, const char *text)
{
    size_t text_len = strlen(text);
    assert_true(*len + text_len < size);
    memcpy(buf + *len, text, text_len + 1);
    *len += text_len;
}

static void test_header_limit_gives_431(void **state)
{
    (void)state;
    static struct harness h;
    harness_init(&h, 64, 1024);
    size_t end = 0;
    const char *text = "GET / HTTP/1.1\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                       "aaaaaaaaaaaaaaaaa\r\n\r\n";
    assert_int_equal(harness_feed(&h, text, 7, &end), HTTP_PARSE_ERROR);
    assert_int_equal(h.parser.error_status, 431);
    harness_free(&h);

    /* Too many headers is the same error. */
    static char many[8192];
    size_t many_len = 0;
    append(many, sizeof(many), &many_len, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++) {
        append(many, sizeof(many), &many_len, "A: b\r\n");
    }
    append(many, sizeof(many), &many_len, "\r\n");
    harness_init(&h, 8192, 1024);
    assert_int_equal(harness_feed(&h, many, many_len, &end), HTTP_PARSE_ERROR);
    assert_int_equal(h.parser.error_status, 431);
    harness_free(&h);
}

static void test_body_limit_gives_413(void **state)
{
    (void)state;
    static struct harness h;
    /* Declared too large: refused before any body byte. */
    harness_init(&h, 8192, 10);
    size_t end = 0;
    assert_int_equal(harness_feed(&h, "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", 64, &end),
                     HTTP_PARSE_ERROR);
    assert_int_equal(h.parser.error_status, 413);
    assert_string_equal(h.parser.error_code, "body_too_large");
    harness_free(&h);

    /* Chunked: counted as the chunks arrive. */
    harness_init(&h, 8192, 10);
    assert_int_equal(harness_feed(&h,
                                  "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  "6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n",
                                  5, &end),
                     HTTP_PARSE_ERROR);
    assert_int_equal(h.parser.error_status, 413);
    harness_free(&h);

    /* Exactly at the limit is fine. */
    harness_init(&h, 8192, 10);
    assert_int_equal(
        harness_feed(&h, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", 64, &end),
        HTTP_PARSE_COMPLETE);
    assert_int_equal(h.request.body_len, 10);
    harness_free(&h);
}

static void test_expect_continue(void **state)
{
    (void)state;
    static struct harness h;
    harness_init(&h, 8192, 100);
    size_t end = 0;
    const char *head = "POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n";
    assert_int_equal(harness_feed(&h, head, 64, &end), HTTP_PARSE_NEED_MORE);
    assert_true(h.parser.headers_complete);
    assert_true(h.parser.expect_continue);
    assert_int_equal(harness_feed(&h, "abc", 64, &end), HTTP_PARSE_COMPLETE);
    assert_string_equal(h.request.body, "abc");
    harness_free(&h);

    harness_init(&h, 8192, 100);
    assert_int_equal(harness_feed(&h, "POST / HTTP/1.1\r\nExpect: teapot\r\n\r\n", 64, &end),
                     HTTP_PARSE_ERROR);
    assert_int_equal(h.parser.error_status, 417);
    harness_free(&h);

    /* Too large and expecting 100: 413 before the client sends the body. */
    harness_init(&h, 8192, 100);
    assert_int_equal(
        harness_feed(&h, "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 101\r\n\r\n",
                     64, &end),
        HTTP_PARSE_ERROR);
    assert_int_equal(h.parser.error_status, 413);
    harness_free(&h);
}

static void test_malformed_requests_give_400(void **state)
{
    (void)state;
    const char *bad[] = {
        "GET\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "\x01\x02\x03 garbage\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        static struct harness h;
        harness_init(&h, 8192, 100);
        size_t end = 0;
        enum http_parse_result result = harness_feed(&h, bad[i], 64, &end);
        if (result != HTTP_PARSE_ERROR) {
            print_error("input %zu parsed as %d\n", i, (int)result);
        }
        assert_int_equal(result, HTTP_PARSE_ERROR);
        assert_int_equal(h.parser.error_status, 400);
        assert_string_equal(h.parser.error_code, "bad_request");
        harness_free(&h);
    }
}

/* Every byte value inside a header name, against RFC 9110's tchar list
 * spelled out here: the parser accepts the name exactly when the byte is a
 * tchar. (':' ends the name and CR, LF and NUL end the line or the input, so
 * they are not name bytes.) */
static void test_header_name_bytes_are_rfc_tchars(void **state)
{
    (void)state;
    const char *tchar = "!#$%&'*+-.^_`|~0123456789"
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    for (int byte = 1; byte < 256; byte++) {
        if (byte == ':' || byte == '\r' || byte == '\n') {
            continue;
        }
        char request[64];
        snprintf(request, sizeof(request), "GET / HTTP/1.1\r\nX%cy: v\r\n\r\n", byte);
        static struct harness h;
        harness_init(&h, 8192, 100);
        size_t end = 0;
        enum http_parse_result result = harness_feed(&h, request, 64, &end);
        bool accepted = result == HTTP_PARSE_COMPLETE;
        bool expected = strchr(tchar, byte) != NULL;
        if (accepted != expected) {
            print_error("byte 0x%02x: accepted=%d, expected %d\n", byte, accepted, expected);
        }
        assert_int_equal(accepted, expected);
        if (!accepted) {
            assert_int_equal(result, HTTP_PARSE_ERROR);
            assert_int_equal(h.parser.error_status, 400);
        }
        harness_free(&h);
    }
}

static void test_absolute_form_and_bad_targets(void **state)
{
    (void)state;
    static struct harness h;
    harness_init(&h, 8192, 100);
    size_t end = 0;
    assert_int_equal(harness_feed(&h, "GET http://h.example/p/q?z HTTP/1.1\r\n\r\n", 64, &end),
                     HTTP_PARSE_COMPLETE);
    assert_int_equal(http_parser_finish_headers(&h.parser), 0);
    assert_string_equal(h.request.path, "/p/q");
    assert_string_equal(h.request.query, "z");
    harness_free(&h);

    harness_init(&h, 8192, 100);
    assert_int_equal(harness_feed(&h, "OPTIONS * HTTP/1.1\r\n\r\n", 64, &end), HTTP_PARSE_COMPLETE);
    assert_int_equal(http_parser_finish_headers(&h.parser), -EINVAL);
    harness_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parses_a_request_at_every_split),
        cmocka_unit_test(test_pipelined_requests_stop_at_each_message),
        cmocka_unit_test(test_chunked_body_is_decoded),
        cmocka_unit_test(test_http10_defaults_to_close),
        cmocka_unit_test(test_header_limit_gives_431),
        cmocka_unit_test(test_body_limit_gives_413),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_malformed_requests_give_400),
        cmocka_unit_test(test_header_name_bytes_are_rfc_tchars),
        cmocka_unit_test(test_absolute_form_and_bad_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
