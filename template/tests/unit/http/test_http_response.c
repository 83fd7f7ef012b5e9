/* Tests for http_response: serialisation, reserved headers, errors, HEAD. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
