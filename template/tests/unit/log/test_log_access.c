/* Tests for the access log's fixed-field line (log_access.c) and the
 * writers and time cache under it: the line must be byte for byte what the
 * generic log_write() writes for the same fields. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/log/log.h"
#include "platform/log/log_access.h"
#include "platform/log/log_format.h"
#include "platform/time/time_format.h"

/* "{\"time\":\"2006-01-02T15:04:05.123Z\"": the part that differs between
 * two lines written a moment apart. */
#define TEST_TIME_PREFIX (9 + TIME_RFC3339_MS_SIZE - 1 + 1)

/* The reference escape, byte by byte, as the format defines it. */
static size_t reference_escape(const char *text, size_t len, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            out[n++] = '\\';
            out[n++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        } else if (c < 0x20 || c == 0x7F) {
            n += (size_t)sprintf(out + n, "\\u00%c%c", hex[c >> 4], hex[c & 0xF]);
        } else {
            out[n++] = (char)c;
        }
    }
    return n;
}

/* Escapes text[0..len) both ways and compares. The text ends where its
 * allocation ends, so a read past it is an ASan error, and the output sits
 * between guard bytes, so a write outside what the escape returns (before
 * the start, or past the end) is seen. */
static void check_escape(const unsigned char *bytes, size_t len)
{
    enum {
        GUARD = 16
    };
    char *text = malloc(len > 0 ? len : 1);
    assert_non_null(text);
    char *end = text + (len > 0 ? len : 1);
    memcpy(end - len, bytes, len);
    char expected[64 * LOG_ESCAPE_MAX];
    assert_true(len <= 64);
    size_t expected_len = reference_escape(end - len, len, expected);
    char out[GUARD + 64 * LOG_ESCAPE_MAX + GUARD];
    memset(out, '#', sizeof(out));
    char *got_end = log_format_escape(out + GUARD, end - len, len);
    assert_int_equal((size_t)(got_end - (out + GUARD)), expected_len);
    assert_memory_equal(out + GUARD, expected, expected_len);
    for (size_t i = 0; i < GUARD; i++) {
        assert_int_equal(out[i], '#');
    }
    for (char *at = got_end; at < out + sizeof(out); at++) {
        assert_int_equal(*at, '#');
    }
    free(text);
}

/* Every length from 0 to 40 (the one-to-three, four-to-eight and
 * nine-to-sixteen single tests, the word loop and its overlapping tail),
 * each of the 256 byte values at every position, among plain bytes of a
 * few kinds (next to the escaped ones, high bytes). */
static void test_escape_agrees_with_the_reference(void **state)
{
    (void)state;
    static const unsigned char fills[] = {'a', ' ', '~', '!', '#', '[', ']', 0x80, 0xFF};
    for (size_t len = 0; len <= 40; len++) {
        for (size_t f = 0; f < sizeof(fills); f++) {
            unsigned char text[40];
            memset(text, fills[f], sizeof(text));
            check_escape(text, len);
            for (size_t offset = 0; offset < len; offset++) {
                for (unsigned c = 0; c < 256; c++) {
                    text[offset] = (unsigned char)c;
                    check_escape(text, len);
                }
                text[offset] = fills[f];
            }
        }
    }
}

/* Random strings of 0 to 64 bytes, mostly plain, with a few bytes to
 * escape here and there (several in one word, one at each end). */
static void test_escape_agrees_on_random_strings(void **state)
{
    (void)state;
    uint64_t seed = UINT64_C(0x9E3779B97F4A7C15);
    for (int round = 0; round < 200000; round++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        size_t len = (size_t)(seed % 65);
        unsigned char text[64];
        uint64_t bits = seed;
        for (size_t i = 0; i < len; i++) {
            bits = bits * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
            unsigned char c = (unsigned char)(bits >> 56);
            /* One byte in eight is any byte at all, the rest printable. */
            text[i] = (bits >> 40) % 8 == 0 ? c : (unsigned char)(0x20 + c % 0x5F);
        }
        check_escape(text, len);
    }
}

/* The three writers for one value, against printf. */
static void check_number_writers(int64_t value)
{
    char got[32];
    char expected[48];
    *log_format_i64(got, value) = '\0';
    snprintf(expected, sizeof(expected), "%" PRId64, value);
    assert_string_equal(got, expected);
    uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
    *log_format_u64(got, magnitude) = '\0';
    snprintf(expected, sizeof(expected), "%" PRIu64, magnitude);
    assert_string_equal(got, expected);
    *log_format_thousandths(got, value) = '\0';
    snprintf(expected, sizeof(expected), "%s%" PRIu64 ".%03u", value < 0 ? "-" : "",
             magnitude / 1000, (unsigned)(magnitude % 1000));
    assert_string_equal(got, expected);
}

static void test_number_writers_match_printf(void **state)
{
    (void)state;
    static const int64_t values[] = {0,    1,       9,  10,   99,    100,   999,       1000,
                                     1001, 1234567, -1, -999, -1000, -1001, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char got[32];
        char expected[40];
        *log_format_i64(got, values[i]) = '\0';
        snprintf(expected, sizeof(expected), "%" PRId64, values[i]);
        assert_string_equal(got, expected);
        uint64_t magnitude = values[i] < 0 ? 0 - (uint64_t)values[i] : (uint64_t)values[i];
        *log_format_thousandths(got, values[i]) = '\0';
        snprintf(expected, sizeof(expected), "%s%" PRIu64 ".%03u", values[i] < 0 ? "-" : "",
                 magnitude / 1000, (unsigned)(magnitude % 1000));
        assert_string_equal(got, expected);
    }
    char got[32];
    *log_format_u64(got, UINT64_MAX) = '\0';
    assert_string_equal(got, "18446744073709551615");
    /* Every value the short writer takes and well past it, both signs,
     * and each power of ten and its neighbours. */
    for (int64_t value = -20000; value <= 20000; value++) {
        check_number_writers(value);
    }
    for (int64_t power = 10; power <= INT64_MAX / 10; power *= 10) {
        for (int64_t delta = -1; delta <= 1; delta++) {
            check_number_writers(power + delta);
            check_number_writers(-(power + delta));
        }
    }
}

/* The cache against time_format_rfc3339_ms() over the same second, the
 * next one, a day boundary, going back in time and out of range. */
static void test_time_cache_matches_time_format(void **state)
{
    (void)state;
    static const int64_t instants[] = {
        1136214245123LL,
        1136214245124LL,
        1136214245999LL,
        1136214246000LL,
        1136214246001LL,
        1136246399999LL,
        1136246400000LL,
        1136214245000LL,
        0,
        -1,
        253402300799999LL,
        253402300800000LL,
        253402300799998LL,
        5,
        1709164800123LL,
        /* The same millisecond again, around another of its second and
         * around out-of-range ones. */
        1709164800123LL,
        1709164800124LL,
        1709164800123LL,
        1709164800123LL,
        -1,
        -1,
        1709164800123LL,
        253402300800000LL,
        253402300800000LL,
        1709164800123LL,
    };
    struct log_time_cache cache;
    memset(&cache, 0, sizeof(cache));
    for (size_t i = 0; i < sizeof(instants) / sizeof(instants[0]); i++) {
        char expected[TIME_RFC3339_MS_SIZE];
        (void)time_format_rfc3339_ms(instants[i], expected);
        assert_string_equal(log_time_cache_text(&cache, instants[i]), expected);
    }
}

static char *read_file(FILE *file)
{
    long size = ftell(file);
    assert_true(size >= 0);
    char *text = calloc(1, (size_t)size + 1);
    assert_non_null(text);
    rewind(file);
    assert_int_equal(fread(text, 1, (size_t)size, file), (size_t)size);
    return text;
}

/* The generic line for the same request, through log_write(). */
static void write_generic(struct logger *logger, const struct log_access *access)
{
    struct log_field fields[9];
    size_t count = 0;
    fields[count++] = LOG_STR("request_id", access->request_id);
    if (access->trace_id[0] != '\0') {
        fields[count++] = LOG_STR("trace_id", access->trace_id);
    }
    fields[count++] = LOG_STR("method", access->method);
    fields[count++] = LOG_STR("route", access->route);
    fields[count++] = LOG_STR("path", access->path);
    fields[count++] = LOG_INT("status", access->status);
    fields[count++] = LOG_UINT("bytes", access->bytes);
    fields[count++] = LOG_MILLI("duration_ms", access->duration_us);
    fields[count++] = LOG_STR("peer", access->peer);
    log_write(logger, 0, LOG_INFO, "request", fields, count);
}

/* Writes each access both ways and compares the lines, times aside. */
static void check_lines_agree(enum log_format format, const struct log_access *accesses,
                              size_t count)
{
    FILE *file = tmpfile();
    assert_non_null(file);
    struct log_config config;
    log_config_defaults(&config);
    config.fd = fileno(file);
    config.format = format;
    struct logger *logger = NULL;
    assert_int_equal(log_create(&config, &logger), 0);
    for (size_t i = 0; i < count; i++) {
        log_access_write(logger, 0, &accesses[i]);
        write_generic(logger, &accesses[i]);
    }
    log_destroy(logger);
    assert_int_equal(fseek(file, 0, SEEK_END), 0);
    char *text = read_file(file);
    fclose(file);
    char *line = text;
    for (size_t i = 0; i < count; i++) {
        char *fast_end = strchr(line, '\n');
        assert_non_null(fast_end);
        char *generic = fast_end + 1;
        char *generic_end = strchr(generic, '\n');
        assert_non_null(generic_end);
        size_t skip = format == LOG_FORMAT_JSON ? TEST_TIME_PREFIX : TIME_RFC3339_MS_SIZE - 1;
        assert_int_equal(fast_end - line, generic_end - generic);
        assert_true((size_t)(fast_end - line) > skip);
        assert_memory_equal(line + skip, generic + skip, (size_t)(fast_end - line) - skip);
        line = generic_end + 1;
    }
    assert_string_equal(line, "");
    free(text);
}

static void test_access_line_equals_the_generic_line(void **state)
{
    (void)state;
    static char long_path[3001];
    memset(long_path, 'p', sizeof(long_path) - 1);
    long_path[0] = '/';
    static char medium_path[601]; /* long, but the fast path still takes it */
    memset(medium_path, 'm', sizeof(medium_path) - 1);
    medium_path[0] = '/';
    static char quoted_path[700];
    memset(quoted_path, '"', sizeof(quoted_path) - 1);
    quoted_path[0] = '/';
    const struct log_access accesses[] = {
        {.request_id = "0123456789abcdef-42",
         .trace_id = "",
         .method = "GET",
         .route = "/{code}",
         .path = "/abc123",
         .status = 302,
         .bytes = 0,
         .duration_us = 123,
         .peer = "127.0.0.1"},
        {.request_id = "lb:req/7_x.y-z",
         .trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
         .method = "POST",
         .route = "/api/v1/links",
         .path = "/api/v1/links",
         .status = 201,
         .bytes = UINT64_MAX,
         .duration_us = 1234567890,
         .peer = "::1"},
        {.request_id = "",
         .trace_id = "",
         .method = "DELETE",
         .route = "",
         .path = "/we\"ird\\path\x01\x7f/\xc3\xa9t\xc3\xa9\t",
         .status = 404,
         .bytes = 17,
         .duration_us = 0,
         .peer = "2001:db8::1"},
        {.request_id = "id",
         .trace_id = "",
         .method = "GET",
         .route = "",
         .path = long_path,
         .status = 414,
         .bytes = 1,
         .duration_us = 999,
         .peer = "10.0.0.1"},
        {.request_id = "id",
         .trace_id = "",
         .method = "GET",
         .route = "/{code}",
         .path = medium_path,
         .status = 200,
         .bytes = 3,
         .duration_us = 1000,
         .peer = "1.2.3.4"},
        {.request_id = "id",
         .trace_id = "",
         .method = "GET",
         .route = "",
         .path = quoted_path,
         .status = -1,
         .bytes = 2,
         .duration_us = -1005,
         .peer = "10.0.0.1"},
    };
    size_t count = sizeof(accesses) / sizeof(accesses[0]);
    struct log_access with_lengths[sizeof(accesses) / sizeof(accesses[0])];
    for (size_t i = 0; i < count; i++) {
        with_lengths[i] = accesses[i];
        with_lengths[i].path_len = strlen(accesses[i].path);
    }
    check_lines_agree(LOG_FORMAT_JSON, with_lengths, count);
    check_lines_agree(LOG_FORMAT_TEXT, with_lengths, count);
}

/* Lines at the edge of the fast path's room check: one string at a time
 * is made of bytes that escape to six ("\\u0001"), at lengths around where
 * the worst case stops fitting, so a check that forgot a string, or
 * allowed more than the room, renders a line longer than the generic one
 * (which cuts it). */
static void test_access_line_at_the_room_limit(void **state)
{
    (void)state;
    enum {
        STRINGS = 6,
        LENGTHS = 9
    };
    static const size_t lengths[LENGTHS] = {560, 600, 620, 630, 640, 650, 660, 700, 900};
    static char worst[LENGTHS][901];
    struct log_access accesses[STRINGS * LENGTHS];
    size_t count = 0;
    for (size_t l = 0; l < LENGTHS; l++) {
        memset(worst[l], 0x01, lengths[l]);
        worst[l][lengths[l]] = '\0';
        for (size_t field = 0; field < STRINGS; field++) {
            struct log_access access = {.request_id = "0123456789abcdef-42",
                                        .trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
                                        .method = "GET",
                                        .route = "/{code}",
                                        .path = "/abc123",
                                        .status = 302,
                                        .bytes = 0,
                                        .duration_us = 123,
                                        .peer = "127.0.0.1"};
            const char **strings[STRINGS] = {&access.request_id, &access.trace_id, &access.method,
                                             &access.route,      &access.path,     &access.peer};
            *strings[field] = worst[l];
            access.path_len = strlen(access.path);
            accesses[count++] = access;
        }
    }
    check_lines_agree(LOG_FORMAT_JSON, accesses, count);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_agrees_with_the_reference),
        cmocka_unit_test(test_escape_agrees_on_random_strings),
        cmocka_unit_test(test_number_writers_match_printf),
        cmocka_unit_test(test_time_cache_matches_time_format),
        cmocka_unit_test(test_access_line_equals_the_generic_line),
        cmocka_unit_test(test_access_line_at_the_room_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
