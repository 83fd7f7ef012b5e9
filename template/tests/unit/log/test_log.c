/* Tests for platform/log: line format, escaping, redaction, truncation,
 * levels, and the writer thread with a descriptor that drains or not. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/json/json_reader.h"
#include "platform/log/log.h"
#include "platform/log/log_format.h"
#include "platform/log/log_http.h"

/* 2006-01-02T15:04:05.123Z */
#define TEST_UNIX_MS 1136214245123LL

static void assert_json_object(const char *line, size_t len)
{
    struct json_token tokens[128];
    struct json_reader reader;
    assert_true(len > 0 && line[len - 1] == '\n');
    assert_int_equal(json_reader_parse(&reader, line, len - 1, tokens, 128), 0);
}

static void test_json_line_has_fields_in_order(void **state)
{
    (void)state;
    char line[512];
    struct log_field fields[] = {
        LOG_STR("route", "/api/v1/links/{code}"),
        LOG_INT("status", -1),
        LOG_UINT("bytes", 18446744073709551615ULL),
        LOG_DOUBLE("duration_ms", 1.5),
        LOG_BOOL("ok", true),
        LOG_STR("nothing", NULL),
    };
    size_t len = log_format_line(line, sizeof(line), LOG_FORMAT_JSON, TEST_UNIX_MS, LOG_WARN,
                                 "hello", fields, 6);
    line[len] = '\0';
    assert_string_equal(line, "{\"time\":\"2006-01-02T15:04:05.123Z\",\"level\":\"warn\","
                              "\"msg\":\"hello\",\"route\":\"/api/v1/links/{code}\",\"status\":-1,"
                              "\"bytes\":18446744073709551615,\"duration_ms\":1.5,\"ok\":true,"
                              "\"nothing\":null}\n");
    assert_json_object(line, len);
}

static void test_json_escapes_keys_messages_and_values(void **state)
{
    (void)state;
    char line[512];
    struct log_field fields[] = {LOG_STR("we\"ird\nkey", "tab\there \\ \x01 \"q\"")};
    size_t len = log_format_line(line, sizeof(line), LOG_FORMAT_JSON, 0, LOG_INFO,
                                 "line\nbreak \"quoted\"", fields, 1);
    line[len] = '\0';
    assert_non_null(strstr(line, "\"msg\":\"line\\nbreak \\\"quoted\\\"\""));
    assert_non_null(strstr(line, "\"we\\\"ird\\nkey\":\"tab\\there \\\\ \\u0001 \\\"q\\\"\""));
    assert_json_object(line, len);
}

static void test_sensitive_keys_are_redacted(void **state)
{
    (void)state;
    static const char *const sensitive[] = {"password",      "X-Api-Token", "client_secret",
                                            "Authorization", "user_email",  "PASSWORD_HASH"};
    for (size_t i = 0; i < sizeof(sensitive) / sizeof(sensitive[0]); i++) {
        char line[256];
        struct log_field field = LOG_STR(sensitive[i], "hunter2");
        size_t len =
            log_format_line(line, sizeof(line), LOG_FORMAT_JSON, 0, LOG_INFO, "m", &field, 1);
        line[len] = '\0';
        assert_null(strstr(line, "hunter2"));
        assert_non_null(strstr(line, "[REDACTED]"));
    }
    struct log_field number = LOG_INT("token_count", 42);
    char line[256];
    size_t len = log_format_line(line, sizeof(line), LOG_FORMAT_TEXT, 0, LOG_INFO, "m", &number, 1);
    line[len] = '\0';
    assert_null(strstr(line, "42"));
    assert_false(log_key_is_sensitive("route"));
    assert_false(log_key_is_sensitive("request_id"));
}

static void test_long_lines_are_cut_but_stay_json(void **state)
{
    (void)state;
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    char quotes[3000];
    memset(quotes, '"', sizeof(quotes) - 1);
    quotes[sizeof(quotes) - 1] = '\0';
    struct log_field fields[] = {LOG_STR("a", big), LOG_STR("b", big), LOG_STR("c", "small")};
    char line[1024];
    size_t len =
        log_format_line(line, sizeof(line), LOG_FORMAT_JSON, 0, LOG_ERROR, quotes, fields, 3);
    assert_true(len <= sizeof(line));
    line[len - 1] = '\0';
    assert_non_null(strstr(line, "\"truncated\":true}"));
    line[len - 1] = '\n';
    assert_json_object(line, len);
    /* The smallest buffer allowed still yields a valid line. */
    char tiny[128];
    len = log_format_line(tiny, sizeof(tiny), LOG_FORMAT_JSON, 0, LOG_INFO, quotes, fields, 3);
    assert_true(len <= sizeof(tiny));
    assert_json_object(tiny, len);
}

static void test_text_format(void **state)
{
    (void)state;
    char line[256];
    struct log_field fields[] = {LOG_STR("route", "/x"), LOG_STR("note", "two words"),
                                 LOG_INT("status", 200)};
    size_t len = log_format_line(line, sizeof(line), LOG_FORMAT_TEXT, TEST_UNIX_MS, LOG_INFO,
                                 "request", fields, 3);
    line[len] = '\0';
    assert_string_equal(line, "2006-01-02T15:04:05.123Z INFO  request route=/x "
                              "note=\"two words\" status=200\n");
}

static void test_parse_level_and_format(void **state)
{
    (void)state;
    enum log_level level = LOG_INFO;
    enum log_format format = LOG_FORMAT_AUTO;
    assert_int_equal(log_parse_level("DEBUG", &level), 0);
    assert_int_equal(level, LOG_DEBUG);
    assert_int_equal(log_parse_level("warning", &level), 0);
    assert_int_equal(level, LOG_WARN);
    assert_int_equal(log_parse_level("verbose", &level), -EINVAL);
    assert_int_equal(log_parse_format("json", &format), 0);
    assert_int_equal(format, LOG_FORMAT_JSON);
    assert_int_equal(log_parse_format("xml", &format), -EINVAL);
}

/* Reads everything from fd until EOF. */
static size_t read_all(int fd, char *buf, size_t size)
{
    size_t len = 0;
    for (;;) {
        ssize_t got = read(fd, buf + len, size - 1 - len);
        if (got <= 0) {
            break;
        }
        len += (size_t)got;
    }
    buf[len] = '\0';
    return len;
}

static void test_writer_delivers_lines_and_honours_the_level(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    struct log_config config;
    log_config_defaults(&config);
    config.fd = fds[1];
    config.format = LOG_FORMAT_JSON;
    struct logger *logger = NULL;
    assert_int_equal(log_create(&config, &logger), 0);
    assert_int_equal(log_get_format(logger), LOG_FORMAT_JSON);
    log_write(logger, 0, LOG_DEBUG, "hidden", NULL, 0);
    log_write(logger, 1, LOG_INFO, "first", NULL, 0);
    log_set_level(logger, LOG_DEBUG);
    log_write(logger, 2, LOG_DEBUG, "second", NULL, 0);
    log_set_level(logger, LOG_ERROR);
    log_write(logger, 3, LOG_WARN, "hidden too", NULL, 0);
    log_destroy(logger);
    close(fds[1]);
    static char out[65536];
    read_all(fds[0], out, sizeof(out));
    close(fds[0]);
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, "\"msg\":\"first\""));
    assert_non_null(strstr(out, "\"msg\":\"second\""));
}

static void test_a_full_pipe_drops_lines_without_blocking(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0); /* nobody reads fds[0] until the end */
    struct log_config config;
    log_config_defaults(&config);
    config.fd = fds[1];
    config.format = LOG_FORMAT_JSON;
    config.buffer_bytes = LOG_LINE_MAX;
    config.buffer_count = 1;
    struct logger *logger = NULL;
    assert_int_equal(log_create(&config, &logger), 0);
    char payload[200];
    memset(payload, 'p', sizeof(payload) - 1);
    payload[sizeof(payload) - 1] = '\0';
    struct log_field field = LOG_STR("payload", payload);
    /* Far more than a pipe (64 KiB) and the buffer hold. */
    for (int i = 0; i < 20000; i++) {
        log_write(logger, 0, LOG_INFO, "spam", &field, 1);
    }
    assert_true(log_dropped(logger) > 0);
    log_destroy(logger); /* bounded, although the pipe never drains */
    close(fds[1]);
    close(fds[0]);
}

static void test_request_ids_and_traceparent(void **state)
{
    (void)state;
    assert_true(log_http_request_id_is_valid("abc-123_x.y:z/1", 15));
    assert_false(log_http_request_id_is_valid("", 0));
    assert_false(log_http_request_id_is_valid("has space", 9));
    assert_false(log_http_request_id_is_valid("quote\"", 6));
    char long_id[80];
    memset(long_id, 'a', sizeof(long_id));
    assert_false(log_http_request_id_is_valid(long_id, sizeof(long_id)));

    char trace[HTTP_TRACE_ID_LEN];
    assert_true(log_http_parse_traceparent(
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", trace));
    assert_string_equal(trace, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_false(log_http_parse_traceparent(
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", trace));
    assert_false(log_http_parse_traceparent(
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", trace));
    assert_false(log_http_parse_traceparent(
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", trace));
    assert_false(log_http_parse_traceparent(
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", trace));
    assert_true(log_http_parse_traceparent(
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future", trace));
    assert_false(log_http_parse_traceparent("garbage", trace));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_line_has_fields_in_order),
        cmocka_unit_test(test_json_escapes_keys_messages_and_values),
        cmocka_unit_test(test_sensitive_keys_are_redacted),
        cmocka_unit_test(test_long_lines_are_cut_but_stay_json),
        cmocka_unit_test(test_text_format),
        cmocka_unit_test(test_parse_level_and_format),
        cmocka_unit_test(test_writer_delivers_lines_and_honours_the_level),
        cmocka_unit_test(test_a_full_pipe_drops_lines_without_blocking),
        cmocka_unit_test(test_request_ids_and_traceparent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
