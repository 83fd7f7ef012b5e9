/* Tests for platform/log: line format, escaping, redaction, truncation,
 * levels, and the writer thread with a descriptor that drains or not. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/json/json_reader.h"
#include "platform/log/log.h"
#include "platform/log/log_format.h"
#include "platform/log/log_http.h"
#include "platform/time/time_format.h"

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

static void test_numbers_are_written_exactly(void **state)
{
    (void)state;
    char line[512];
    struct log_field fields[] = {
        LOG_INT("min", INT64_MIN), LOG_INT("zero", 0),   LOG_UINT("u", 7),
        LOG_MILLI("ms", 1250),     LOG_MILLI("tiny", 5), LOG_MILLI("negative", -1005),
        LOG_MILLI("whole", 3000),
    };
    size_t len = log_format_line(line, sizeof(line), LOG_FORMAT_JSON, TEST_UNIX_MS, LOG_INFO, "n",
                                 fields, sizeof(fields) / sizeof(fields[0]));
    line[len] = '\0';
    assert_non_null(strstr(line, "\"min\":-9223372036854775808,\"zero\":0,\"u\":7,"
                                 "\"ms\":1.250,\"tiny\":0.005,\"negative\":-1.005,"
                                 "\"whole\":3.000}"));
    assert_json_object(line, len);
}

/* The formatter's own calendar must agree with time_format_rfc3339_ms()
 * (gmtime_r) everywhere: leap days, century rules, the ends of the range. */
static void test_line_time_matches_time_format(void **state)
{
    (void)state;
    static const int64_t instants[] = {
        0,
        TEST_UNIX_MS,
        951782400000LL,   /* 2000-02-29 */
        951868799999LL,   /* 2000-02-29T23:59:59.999 */
        4107542400000LL,  /* 2100-03-01 */
        1709164800123LL,  /* 2024-02-29 */
        253402300799999LL, /* the last instant with a four-digit year */
        253402300800000LL, /* past it: the epoch */
        -1,
    };
    for (size_t i = 0; i < sizeof(instants) / sizeof(instants[0]); i++) {
        char expected[TIME_RFC3339_MS_SIZE];
        (void)time_format_rfc3339_ms(instants[i], expected);
        char line[256];
        size_t len = log_format_line(line, sizeof(line), LOG_FORMAT_JSON, instants[i], LOG_INFO,
                                     "t", NULL, 0);
        line[len] = '\0';
        assert_memory_equal(line + strlen("{\"time\":\""), expected, strlen(expected));
    }
    /* One instant a day for 400 years covers every calendar rule. */
    for (int64_t day = 0; day < 146097; day += 1) {
        int64_t unix_ms = day * 86400000LL + (day % 86400000LL);
        char expected[TIME_RFC3339_MS_SIZE];
        (void)time_format_rfc3339_ms(unix_ms, expected);
        char line[256];
        size_t len =
            log_format_line(line, sizeof(line), LOG_FORMAT_JSON, unix_ms, LOG_INFO, "t", NULL, 0);
        line[len] = '\0';
        assert_memory_equal(line + strlen("{\"time\":\""), expected, strlen(expected));
    }
}

/* Redaction looks at every position of the key in any case, including a
 * word at the very end and words in short keys. */
static void test_sensitivity_matches_anywhere_in_any_case(void **state)
{
    (void)state;
    static const char *const sensitive[] = {
        "email",         "EMAIL",           "x_eMaIl",
        "tokentoken",    "my_access_token", "AuthorizationHeader",
        "pass_password", "s_secret",        "token_"};
    static const char *const plain[] = {"",     "e",     "tokn",   "passw0rd",   "route",
                                        "emai", "secre", "method", "authorize",  "path",
                                        "peer", "bytes", "status", "duration_ms"};
    for (size_t i = 0; i < sizeof(sensitive) / sizeof(sensitive[0]); i++) {
        assert_true(log_key_is_sensitive(sensitive[i]));
    }
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        assert_false(log_key_is_sensitive(plain[i]));
    }
}

/* Escapes in the middle of long plain runs, and every control byte. */
static void test_escaping_between_plain_runs(void **state)
{
    (void)state;
    char value[64];
    for (unsigned c = 1; c < 0x20; c++) {
        snprintf(value, sizeof(value), "plain run %c and more plain text", (char)c);
        struct log_field field = LOG_STR("v", value);
        char line[256];
        size_t len =
            log_format_line(line, sizeof(line), LOG_FORMAT_JSON, 0, LOG_INFO, "m", &field, 1);
        assert_json_object(line, len);
        line[len] = '\0';
        assert_non_null(strstr(line, "\"v\":\"plain run "));
        assert_non_null(strstr(line, " and more plain text\"}"));
    }
    struct log_field field = LOG_STR("k", "a\x7f\"b\\c");
    char line[256];
    size_t len = log_format_line(line, sizeof(line), LOG_FORMAT_JSON, 0, LOG_INFO, "m", &field, 1);
    line[len] = '\0';
    assert_non_null(strstr(line, "\"k\":\"a\\u007f\\\"b\\\\c\"}"));
}

/* The reference: escape byte by byte, as the format defines it. */
static size_t reference_escape(const char *text, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            out[n++] = '\\';
            out[n++] = (char)*p;
        } else if (*p == '\n' || *p == '\r' || *p == '\t') {
            out[n++] = '\\';
            out[n++] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
        } else if (*p < 0x20 || *p == 0x7F) {
            out[n++] = '\\';
            out[n++] = 'u';
            out[n++] = '0';
            out[n++] = '0';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 0xF];
        } else {
            out[n++] = (char)*p;
        }
    }
    out[n] = '\0';
    return n;
}

/* Every byte value at every offset of a 19-byte value (so through both the
 * eight-at-a-time and the byte-at-a-time paths) escapes as the reference. */
static void test_escaping_agrees_with_the_reference_at_every_offset(void **state)
{
    (void)state;
    for (unsigned byte = 1; byte < 256; byte++) {
        for (size_t offset = 0; offset < 19; offset++) {
            char value[20];
            memset(value, 'a', 19);
            value[19] = '\0';
            value[offset] = (char)byte;
            char expected[160];
            size_t expected_len = reference_escape(value, expected);
            struct log_field field = LOG_STR("v", value);
            char line[256];
            size_t len =
                log_format_line(line, sizeof(line), LOG_FORMAT_JSON, 0, LOG_INFO, "m", &field, 1);
            line[len] = '\0';
            const char *at = strstr(line, ",\"v\":\"");
            assert_non_null(at);
            at += strlen(",\"v\":\"");
            assert_memory_equal(at, expected, expected_len);
            assert_string_equal(at + expected_len, "\"}\n");
        }
    }
}

/* The key cache never trusts an address alone: a buffer reused for another
 * key is examined again, and cached lines equal uncached ones. */
static void test_key_cache_checks_the_text_not_just_the_address(void **state)
{
    (void)state;
    struct log_key_cache cache;
    memset(&cache, 0, sizeof(cache));
    char key[40] = "route";
    char cached[256];
    char plain[256];
    for (int round = 0; round < 2; round++) {
        struct log_field fields[] = {LOG_STR(key, "v"), LOG_STR("we\"ird", "w")};
        const struct log_entry entry = {.format = LOG_FORMAT_JSON,
                                        .level = LOG_INFO,
                                        .message = "m",
                                        .fields = fields,
                                        .count = 2};
        size_t len = log_format_entry(&cache, cached, sizeof(cached), &entry);
        size_t plain_len =
            log_format_line(plain, sizeof(plain), LOG_FORMAT_JSON, 0, LOG_INFO, "m", fields, 2);
        assert_int_equal(len, plain_len);
        assert_memory_equal(cached, plain, len);
    }
    strcpy(key, "password");
    struct log_field secret = LOG_STR(key, "hunter2");
    const struct log_entry entry = {.format = LOG_FORMAT_JSON,
                                    .level = LOG_INFO,
                                    .message = "m",
                                    .fields = &secret,
                                    .count = 1};
    size_t len = log_format_entry(&cache, cached, sizeof(cached), &entry);
    cached[len] = '\0';
    assert_null(strstr(cached, "hunter2"));
    strcpy(key, "a_key_longer_than_the_cache_keeps_token");
    len = log_format_entry(&cache, cached, sizeof(cached), &entry);
    cached[len] = '\0';
    assert_null(strstr(cached, "hunter2"));
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

/* ---- a regular file ------------------------------------------------------ */

#define FILE_PRODUCERS 2
#define FILE_LINES_PER_PRODUCER 20000

struct file_producer {
    struct logger *logger;
    unsigned index;
};

static void *produce_lines(void *arg)
{
    const struct file_producer *producer = arg;
    for (int64_t i = 0; i < FILE_LINES_PER_PRODUCER; i++) {
        struct log_field fields[] = {LOG_INT("producer", producer->index), LOG_INT("seq", i)};
        log_write(producer->logger, producer->index, LOG_INFO, "line", fields, 2);
    }
    return NULL;
}

static int open_temp_log(char *path, size_t len)
{
    snprintf(path, len, "/tmp/test_log_file_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    return fd;
}

/* A line reaches a regular file while the logger runs (the writer's nap
 * ends by itself), and lines from several producers are each written whole
 * or counted as dropped, never cut or lost. Waits are bounded. */
static void test_regular_file_gets_every_line_or_a_drop_count(void **state)
{
    (void)state;
    char path[64];
    int fd = open_temp_log(path, sizeof(path));
    struct log_config config;
    log_config_defaults(&config);
    config.fd = fd;
    config.format = LOG_FORMAT_JSON;
    struct logger *logger = NULL;
    assert_int_equal(log_create(&config, &logger), 0);

    log_write(logger, 0, LOG_INFO, "early", NULL, 0);
    bool seen = false;
    for (int tries = 0; tries < 500 && !seen; tries++) { /* at most ~5 s */
        static char head[4096];
        ssize_t got = pread(fd, head, sizeof(head) - 1, 0);
        head[got > 0 ? got : 0] = '\0';
        seen = strstr(head, "\"msg\":\"early\"") != NULL;
        if (!seen) {
            struct timespec pause = {.tv_sec = 0, .tv_nsec = 10L * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    assert_true(seen);

    pthread_t threads[FILE_PRODUCERS];
    struct file_producer producers[FILE_PRODUCERS];
    for (unsigned i = 0; i < FILE_PRODUCERS; i++) {
        producers[i] = (struct file_producer){.logger = logger, .index = i};
        assert_int_equal(pthread_create(&threads[i], NULL, produce_lines, &producers[i]), 0);
    }
    for (unsigned i = 0; i < FILE_PRODUCERS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    }
    uint64_t dropped = log_dropped(logger);
    log_destroy(logger);

    FILE *file = fopen(path, "r");
    assert_non_null(file);
    static char line[LOG_LINE_MAX];
    int64_t next_seq[FILE_PRODUCERS] = {0};
    uint64_t lines = 0;
    while (fgets(line, sizeof(line), file) != NULL) {
        assert_json_object(line, strlen(line));
        const char *at = strstr(line, "\"producer\":");
        if (at == NULL) {
            continue; /* the "early" line */
        }
        char *end = NULL;
        long long producer = strtoll(at + strlen("\"producer\":"), &end, 10);
        assert_true(strncmp(end, ",\"seq\":", strlen(",\"seq\":")) == 0);
        long long seq = strtoll(end + strlen(",\"seq\":"), &end, 10);
        assert_true(*end == ',' || *end == '}');
        assert_true(producer >= 0 && producer < FILE_PRODUCERS);
        assert_true(seq >= next_seq[producer]); /* in order; gaps only where dropped */
        next_seq[producer] = seq + 1;
        lines++;
    }
    fclose(file);
    close(fd);
    unlink(path);
    assert_int_equal(lines + dropped, (uint64_t)FILE_PRODUCERS * FILE_LINES_PER_PRODUCER);
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
        cmocka_unit_test(test_numbers_are_written_exactly),
        cmocka_unit_test(test_line_time_matches_time_format),
        cmocka_unit_test(test_sensitivity_matches_anywhere_in_any_case),
        cmocka_unit_test(test_escaping_between_plain_runs),
        cmocka_unit_test(test_key_cache_checks_the_text_not_just_the_address),
        cmocka_unit_test(test_escaping_agrees_with_the_reference_at_every_offset),
        cmocka_unit_test(test_parse_level_and_format),
        cmocka_unit_test(test_writer_delivers_lines_and_honours_the_level),
        cmocka_unit_test(test_a_full_pipe_drops_lines_without_blocking),
        cmocka_unit_test(test_regular_file_gets_every_line_or_a_drop_count),
        cmocka_unit_test(test_request_ids_and_traceparent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
