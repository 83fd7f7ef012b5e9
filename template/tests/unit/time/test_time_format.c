/* test_time_format.c: RFC 3339 timestamps with milliseconds, at the edges. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
