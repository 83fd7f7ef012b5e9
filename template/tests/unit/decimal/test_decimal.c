/*
 * test_decimal.c: decimal.h against snprintf("%" PRIu64) on every value up
 * to 200000, both sides of every power of ten, the extremes and random
 * values; every digit count and every two-digit step of the writer.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "platform/decimal/decimal.h"

/* Fails the test when decimal.h disagrees with snprintf on value. */
static void check_value(uint64_t value)
{
    char expected[32];
    int expected_len = snprintf(expected, sizeof(expected), "%" PRIu64, value);
    char buf[32];
    memset(buf, '#', sizeof(buf));
    char *end = buf + 24;
    char *first = decimal_write_backwards(value, end);
    size_t len = (size_t)(end - first);
    if (len != (size_t)expected_len || memcmp(first, expected, len) != 0 ||
        decimal_digit_count(value) != len || (first > buf && first[-1] != '#') || end[0] != '#') {
        print_error("%" PRIu64 ": wrote '%.*s' (%zu digits counted)\n", value, (int)len, first,
                    decimal_digit_count(value));
        fail();
    }
}

static void test_small_values(void **state)
{
    (void)state;
    for (uint64_t value = 0; value <= 200000; value++) {
        check_value(value);
    }
}

static void test_powers_of_ten_and_extremes(void **state)
{
    (void)state;
    for (uint64_t power = 1; power <= UINT64_C(10000000000000000000); power *= 10) {
        check_value(power - 1);
        check_value(power);
        check_value(power + 1);
        if (power > UINT64_MAX / 10) {
            break;
        }
    }
    check_value(UINT64_MAX);
    check_value(UINT64_MAX - 1);
    check_value((uint64_t)INT64_MAX);
}

static void test_random_values(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        check_value(x >> (i % 64)); /* every magnitude */
    }
}

static void test_put2_writes_every_pair(void **state)
{
    (void)state;
    for (unsigned value = 0; value < 100; value++) {
        char out[3] = {'#', '#', '#'};
        decimal_put2(out, value);
        char expected[3];
        snprintf(expected, sizeof(expected), "%02u", value);
        assert_memory_equal(out, expected, 2);
        assert_int_equal(out[2], '#');
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_values),
        cmocka_unit_test(test_powers_of_ten_and_extremes),
        cmocka_unit_test(test_random_values),
        cmocka_unit_test(test_put2_writes_every_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
