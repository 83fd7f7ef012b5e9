/* test_time_format.c: RFC 3339 timestamps with milliseconds, at the edges. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "platform/time/time_format.h"

static void assert_formats(int64_t unix_ms, const char *expected)
{
    char text[TIME_RFC3339_MS_SIZE];
    assert_int_equal(time_format_rfc3339_ms(unix_ms, text), 0);
    assert_string_equal(text, expected);
}

static void test_formats_every_field_zero_padded(void **state)
{
    (void)state;
    assert_formats(0, "1970-01-01T00:00:00.000Z");
    assert_formats(1, "1970-01-01T00:00:00.001Z");
    assert_formats(INT64_C(1700000000123), "2023-11-14T22:13:20.123Z");
    assert_formats(INT64_C(951782400050), "2000-02-29T00:00:00.050Z");
    assert_formats(INT64_C(253402300799999), "9999-12-31T23:59:59.999Z");
}

/* The formatter computes the date by arithmetic; the reference is libc's
 * gmtime_r with snprintf, the way it was written before. */
static void reference_format(int64_t unix_ms, char out[64])
{
    time_t seconds = (time_t)(unix_ms / 1000);
    struct tm utc;
    assert_non_null(gmtime_r(&seconds, &utc));
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
             utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, (int)(unix_ms % 1000));
}

static void assert_like_reference(int64_t unix_ms)
{
    char expected[64];
    char text[TIME_RFC3339_MS_SIZE];
    reference_format(unix_ms, expected);
    assert_int_equal(time_format_rfc3339_ms(unix_ms, text), 0);
    if (strcmp(text, expected) != 0) {
        print_error("%lld ms: expected %s, got %s\n", (long long)unix_ms, expected, text);
        fail();
    }
}

#define MS_PER_DAY INT64_C(86400000)
#define DAYS_TO_2101 INT64_C(47846) /* 1970-01-01 to 2101-01-01 */

static void test_every_day_to_2101_matches_gmtime(void **state)
{
    (void)state;
    /* Every day, so every month end, leap day (1972..2096) and year end,
     * including 2100, which is not a leap year; the time of day and the
     * milliseconds vary from day to day. */
    for (int64_t day = 0; day <= DAYS_TO_2101; day++) {
        int64_t start = day * MS_PER_DAY;
        assert_like_reference(start);
        assert_like_reference(start + (day * 7919 % MS_PER_DAY));
        if (day > 0) {
            assert_like_reference(start - 1); /* 23:59:59.999 the day before */
        }
    }
}

static void test_second_boundaries_match_gmtime(void **state)
{
    (void)state;
    /* Around one second in every hour of a day: .999, .000, .001. */
    int64_t base = INT64_C(1700000000000) / MS_PER_DAY * MS_PER_DAY;
    for (int64_t hour = 0; hour < 24; hour++) {
        for (int64_t second = 0; second < 3600; second += 59) {
            int64_t at = base + hour * 3600000 + second * 1000;
            assert_like_reference(at - 1);
            assert_like_reference(at);
            assert_like_reference(at + 1);
        }
    }
}

static void test_year_boundaries_to_9999_match_gmtime(void **state)
{
    (void)state;
    /* The first and last millisecond of every year up to the largest one,
     * and the days around Feb 29 of the century years, where the 100- and
     * 400-year rules apply (2000 and 2400 leap, 2100, 2200, 2300 not). */
    int64_t seconds = 0;
    for (int year = 1970; year <= 9999; year++) {
        int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        int64_t start = seconds * 1000;
        assert_like_reference(start);
        if (year > 1970) {
            assert_like_reference(start - 1);
        }
        if (year % 100 == 0) {
            for (int64_t day = 57; day <= 61; day++) { /* Feb 27 .. Mar 1 or 2 */
                assert_like_reference(start + day * MS_PER_DAY + 43200000);
            }
        }
        seconds += (leap ? 366 : 365) * INT64_C(86400);
    }
    assert_like_reference(seconds * 1000 - 1); /* 9999-12-31T23:59:59.999Z */
}

static void test_out_of_range_is_refused_with_the_epoch(void **state)
{
    (void)state;
    char text[TIME_RFC3339_MS_SIZE];
    assert_int_equal(time_format_rfc3339_ms(-1, text), -EINVAL);
    assert_string_equal(text, "1970-01-01T00:00:00.000Z");
    assert_int_equal(time_format_rfc3339_ms(INT64_C(253402300800000), text), -EINVAL);
    assert_string_equal(text, "1970-01-01T00:00:00.000Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats_every_field_zero_padded),
        cmocka_unit_test(test_out_of_range_is_refused_with_the_epoch),
        cmocka_unit_test(test_every_day_to_2101_matches_gmtime),
        cmocka_unit_test(test_second_boundaries_match_gmtime),
        cmocka_unit_test(test_year_boundaries_to_9999_match_gmtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
