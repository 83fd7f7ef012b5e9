/* Tests for http_response: serialisation, reserved headers, errors, HEAD. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "platform/http/http_date.h"
#include "platform/http/http_response.h"
#include "platform/http/http_status.h"

#define DATE "Sun, 06 Nov 1994 08:49:37 GMT"

/* Concatenates the iovecs of a serialised response into out. */
static void serialize(struct http_response *response, char *out, size_t len)
{
    struct iovec iov[HTTP_RESPONSE_IOV_COUNT];
    int count = http_response_serialize(response, DATE, iov);
    assert_true(count > 0 && count <= HTTP_RESPONSE_IOV_COUNT);
    size_t used = 0;
    for (int i = 0; i < count; i++) {
        assert_true(used + iov[i].iov_len < len);
        memcpy(out + used, iov[i].iov_base, iov[i].iov_len);
        used += iov[i].iov_len;
    }
    out[used] = '\0';
}

static void test_serialises_json_response(void **state)
{
    (void)state;
    struct http_response response;
    http_response_init(&response);
    assert_int_equal(http_response_set_header(&response, "X-Request-Id", "r1"), 0);
    assert_int_equal(http_response_json(&response, 201, "{\"a\":1}", 7), 0);
    char out[512];
    serialize(&response, out, sizeof(out));
    assert_string_equal(out, "HTTP/1.1 201 Created\r\n"
                             "Date: " DATE "\r\n"
                             "Content-Length: 7\r\n"
                             "X-Request-Id: r1\r\n"
                             "Content-Type: application/json\r\n"
                             "\r\n"
                             "{\"a\":1}");
    http_response_free(&response);
}

static void test_close_keep_alive_and_head(void **state)
{
    (void)state;
    struct http_response response;
    http_response_init(&response);
    assert_int_equal(http_response_send(&response, 200, "text/plain", "hello", 5), 0);
    response.close = true;
    response.omit_body = true;
    char out[512];
    serialize(&response, out, sizeof(out));
    assert_string_equal(out, "HTTP/1.1 200 OK\r\nDate: " DATE "\r\nContent-Length: 5\r\n"
                             "Connection: close\r\nContent-Type: text/plain\r\n\r\n");

    http_response_reset(&response);
    assert_false(http_response_started(&response));
    assert_int_equal(http_response_send(&response, 204, NULL, NULL, 0), 0);
    response.keep_alive_header = true;
    serialize(&response, out, sizeof(out));
    assert_string_equal(out, "HTTP/1.1 204 No Content\r\nDate: " DATE
                             "\r\nConnection: keep-alive\r\n\r\n");
    http_response_free(&response);
}

static void test_error_body_is_json(void **state)
{
    (void)state;
    struct http_response response;
    http_response_init(&response);
    assert_int_equal(http_response_error(&response, 404, "not_found", "no \"such\" link"), 0);
    assert_int_equal(response.status, 404);
    const char *expected =
        "{\"error\":{\"code\":\"not_found\",\"message\":\"no \\\"such\\\" link\"}}";
    assert_int_equal(response.body.len, strlen(expected));
    assert_memory_equal(response.body.data, expected, strlen(expected));
    /* The first answer stands. */
    assert_int_equal(http_response_error(&response, 500, "internal", "x"), -EALREADY);
    assert_int_equal(response.status, 404);
    http_response_free(&response);
}

static void test_refuses_unsafe_headers(void **state)
{
    (void)state;
    struct http_response response;
    http_response_init(&response);
    assert_int_equal(http_response_set_header(&response, "X-A", "a\r\nSet-Cookie: x"), -EINVAL);
    assert_int_equal(http_response_set_header(&response, "X-A\n", "a"), -EINVAL);
    assert_int_equal(http_response_set_header(&response, "Bad:Name", "a"), -EINVAL);
    assert_int_equal(http_response_set_header(&response, "content-length", "1"), -EINVAL);
    assert_int_equal(http_response_set_header(&response, "Connection", "close"), -EINVAL);
    assert_int_equal(response.headers.len, 0);
    assert_int_equal(http_response_send(&response, 99, NULL, NULL, 0), -EINVAL);
    http_response_free(&response);
}

static void test_body_limit(void **state)
{
    (void)state;
    struct http_response response;
    http_response_init(&response);
    response.max_bytes = 16;
    char body[17] = {0};
    assert_int_equal(http_response_send(&response, 200, NULL, body, sizeof(body)), -ENOBUFS);
    assert_false(http_response_started(&response));
    assert_int_equal(http_response_send(&response, 200, NULL, body, 16), 0);
    http_response_free(&response);
}

static void test_date_format_and_cache(void **state)
{
    (void)state;
    struct http_date cache;
    http_date_init(&cache);
    assert_string_equal(http_date_at(&cache, 784111777), DATE);
    const char *again = http_date_at(&cache, 784111777);
    assert_ptr_equal(again, cache.text);
    assert_string_equal(http_date_at(&cache, 784111778), "Sun, 06 Nov 1994 08:49:38 GMT");
    assert_int_equal(strlen(http_date_now(&cache)), HTTP_DATE_LEN);
}

static void test_status_reasons(void **state)
{
    (void)state;
    assert_string_equal(http_status_reason(431), "Request Header Fields Too Large");
    assert_string_equal(http_status_reason(405), "Method Not Allowed");
    assert_string_equal(http_status_reason(299), "Unknown");
    assert_true(http_status_has_no_body(304));
    assert_false(http_status_has_no_body(200));
}

/*
 * The header checks (eight bytes at a time) against the strcspn version
 * they replaced: every byte value at every position of texts of length 0 to
 * 40, over fillers chosen around the word tests' edges (0x0E, ';' after
 * ':', tab, high bytes), through both the C-string and the length API.
 */
static bool ref_text_ok(const char *text, bool is_name)
{
    size_t len = strcspn(text, is_name ? "\r\n:" : "\r\n");
    return text[len] == '\0' && (!is_name || len > 0);
}

static bool ref_bytes_ok(const char *text, size_t len, bool is_name)
{
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\0' || text[i] == '\r' || text[i] == '\n' || (is_name && text[i] == ':')) {
            return false;
        }
    }
    return !is_name || len > 0;
}

/* Adds one header and checks the result and, when added, the line. */
static void check_header(struct http_response *response, const char *name, size_t name_len,
                         const char *value, size_t value_len, bool c_strings, bool want_ok)
{
    size_t before = response->headers.len;
    int rc = c_strings ? http_response_set_header(response, name, value)
                       : http_response_add_header(response, name, name_len, value, value_len);
    assert_int_equal(rc, want_ok ? 0 : -EINVAL);
    if (!want_ok) {
        assert_int_equal(response->headers.len, before);
        return;
    }
    if (c_strings) {
        name_len = strlen(name);
        value_len = strlen(value);
    }
    const char *line = response->headers.data + before;
    assert_int_equal(response->headers.len - before, name_len + 2 + value_len + 2);
    assert_memory_equal(line, name, name_len);
    assert_memory_equal(line + name_len, ": ", 2);
    assert_memory_equal(line + name_len + 2, value, value_len);
    assert_memory_equal(line + name_len + 2 + value_len, "\r\n", 2);
    http_response_reset(response);
}

static void test_header_checks_match_reference(void **state)
{
    (void)state;
    static const char fillers[] = {'a', 0x0E, 0x0F, ';', '9', '\t', (char)0x80, (char)0xFF, 0x7F};
    struct http_response response;
    http_response_init(&response);
    char text[48];
    for (size_t f = 0; f < sizeof(fillers); f++) {
        for (size_t len = 0; len <= 40; len++) {
            for (size_t pos = 0; pos <= len; pos++) {
                for (int byte = 0; byte < 256; byte++) {
                    if (pos == len && byte > 0) {
                        break; /* pos == len: the filler alone, once */
                    }
                    memset(text, fillers[f], len);
                    text[len] = '\0';
                    if (pos < len) {
                        text[pos] = (char)byte;
                    }
                    check_header(&response, "X-T", 3, text, len, true, ref_text_ok(text, false));
                    check_header(&response, "X-T", 3, text, len, false,
                                 ref_bytes_ok(text, len, false));
                    check_header(&response, text, len, "v", 1, true, ref_text_ok(text, true));
                    check_header(&response, text, len, "v", 1, false,
                                 ref_bytes_ok(text, len, true));
                }
            }
        }
    }
    http_response_free(&response);
}

/* Random texts with the bytes the checks care about over-represented. */
static void test_header_checks_random(void **state)
{
    (void)state;
    static const char interesting[] = {'\r', '\n', '\0', ':', '\t', 0x0D ^ 0x01, (char)0x8A, 'x'};
    struct http_response response;
    http_response_init(&response);
    uint32_t seed = 7;
    char text[80];
    for (int round = 0; round < 100000; round++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 8) % 72;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            uint32_t r = seed >> 8;
            text[i] = r % 64 == 0 ? interesting[(r >> 8) % sizeof(interesting)] : (char)(r >> 16);
            if (text[i] == '\0' && r % 3 != 0) {
                text[i] = 'z';
            }
        }
        text[len] = '\0';
        check_header(&response, "X-T", 3, text, len, false, ref_bytes_ok(text, len, false));
        check_header(&response, text, len, "v", 1, false, ref_bytes_ok(text, len, true));
        check_header(&response, "X-T", 3, text, len, true, ref_text_ok(text, false));
    }
    http_response_free(&response);
}

static void test_reserved_names(void **state)
{
    (void)state;
    static const char *const reserved[] = {"Date", "DATE", "connection", "Content-Length",
                                           "TRANSFER-ENCODING"};
    static const char *const allowed[] = {
        "Dates",  "Dat",         "Connections", "Content-Lengths", "Transfer-Encodin",
        "X-Date", "Content-Type"};
    struct http_response response;
    http_response_init(&response);
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        assert_int_equal(http_response_set_header(&response, reserved[i], "1"), -EINVAL);
    }
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        assert_int_equal(http_response_set_header(&response, allowed[i], "1"), 0);
    }
    http_response_free(&response);
}

/* The reason list as it was searched before the indexed table. */
static const struct {
    int status;
    const char *reason;
} ref_reasons[] = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {417, "Expectation Failed"},
    {422, "Unprocessable Content"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};

static const char *ref_reason(int status)
{
    for (size_t i = 0; i < sizeof(ref_reasons) / sizeof(ref_reasons[0]); i++) {
        if (ref_reasons[i].status == status) {
            return ref_reasons[i].reason;
        }
    }
    return "Unknown";
}

static void test_status_reasons_match_list(void **state)
{
    (void)state;
    static const int extremes[] = {INT_MIN, -1, INT_MAX, 10099, 1302};
    for (int status = -200; status < 1200; status++) {
        size_t len = 0;
        assert_string_equal(http_status_reason(status), ref_reason(status));
        assert_string_equal(http_status_reason_length(status, &len), ref_reason(status));
        assert_int_equal(len, strlen(ref_reason(status)));
    }
    for (size_t i = 0; i < sizeof(extremes) / sizeof(extremes[0]); i++) {
        assert_string_equal(http_status_reason(extremes[i]), "Unknown");
    }
}

/* The head as the snprintf version laid it out; -1 past the head's room. */
static int ref_head(const struct http_response *response, const char *date, char *out, size_t cap)
{
    int status = response->status;
    char length[48] = "";
    if (!http_status_has_no_body(status)) {
        snprintf(length, sizeof(length), "Content-Length: %zu\r\n", response->body.len);
    }
    const char *connection = response->close               ? "Connection: close\r\n"
                             : response->keep_alive_header ? "Connection: keep-alive\r\n"
                                                           : "";
    int len = snprintf(out, cap, "HTTP/1.1 %d %s\r\nDate: %s\r\n%s%s", status,
                       http_status_reason(status), date, length, connection);
    return status < 0 || len > HTTP_RESPONSE_HEAD_LEN ? -1 : len;
}

static void check_serialize(struct http_response *response, const char *date)
{
    char want[1024];
    int want_len = ref_head(response, date, want, sizeof(want));
    struct iovec iov[HTTP_RESPONSE_IOV_COUNT];
    int count = http_response_serialize(response, date, iov);
    if (want_len < 0) {
        assert_int_equal(count, -ENOBUFS);
        return;
    }
    bool body = !response->omit_body && !http_status_has_no_body(response->status) &&
                response->body.len > 0;
    assert_int_equal(count, 2 + (response->headers.len > 0) + body);
    assert_int_equal(iov[0].iov_len, (size_t)want_len);
    assert_memory_equal(iov[0].iov_base, want, (size_t)want_len);
    int next = 1;
    if (response->headers.len > 0) {
        assert_ptr_equal(iov[next].iov_base, response->headers.data);
        assert_int_equal(iov[next++].iov_len, response->headers.len);
    }
    assert_int_equal(iov[next].iov_len, 2);
    assert_memory_equal(iov[next++].iov_base, "\r\n", 2);
    if (body) {
        assert_ptr_equal(iov[next].iov_base, response->body.data);
        assert_int_equal(iov[next].iov_len, response->body.len);
    }
}

/* The one-check head against the snprintf layout: statuses of every width,
 * bodies at each power of ten, every Connection form, and dates long enough
 * to cross the head's limit at each byte. */
static void test_serialize_matches_reference(void **state)
{
    (void)state;
    static const int statuses[] = {0,   1,   9,   99,  100,  101,    200,     204, 299, 302,
                                   304, 404, 431, 599, 1000, 123456, INT_MAX, -1,  999};
    static const size_t bodies[] = {0, 1, 9, 10, 99, 100, 12345};
    static char body[12345];
    char date[300];
    struct http_response response;
    http_response_init(&response);
    for (size_t s = 0; s < sizeof(statuses) / sizeof(statuses[0]); s++) {
        for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
            for (int flags = 0; flags < 16; flags++) {
                for (size_t date_len = 0; date_len < 260; date_len++) {
                    if (date_len > 40 && date_len < 150 && date_len % 10 != 0) {
                        continue;
                    }
                    memset(date, 'D', date_len);
                    date[date_len] = '\0';
                    if (date_len == HTTP_DATE_LEN) {
                        memcpy(date, DATE, HTTP_DATE_LEN);
                    }
                    http_response_reset(&response);
                    if ((flags & 8) != 0) {
                        assert_int_equal(http_response_set_header(&response, "X-A", "b"), 0);
                    }
                    assert_int_equal(
                        http_buffer_append(&response.body, body, bodies[b], response.max_bytes), 0);
                    response.status = statuses[s];
                    response.close = (flags & 1) != 0;
                    response.keep_alive_header = (flags & 2) != 0;
                    response.omit_body = (flags & 4) != 0;
                    check_serialize(&response, date);
                }
            }
        }
    }
    http_response_free(&response);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serialises_json_response),
        cmocka_unit_test(test_close_keep_alive_and_head),
        cmocka_unit_test(test_error_body_is_json),
        cmocka_unit_test(test_refuses_unsafe_headers),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_date_format_and_cache),
        cmocka_unit_test(test_status_reasons),
        cmocka_unit_test(test_header_checks_match_reference),
        cmocka_unit_test(test_header_checks_random),
        cmocka_unit_test(test_reserved_names),
        cmocka_unit_test(test_status_reasons_match_list),
        cmocka_unit_test(test_serialize_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
