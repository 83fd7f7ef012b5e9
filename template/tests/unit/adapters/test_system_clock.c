/*
 * test_system_clock.c: the realtime wall clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "adapters/system/system_clock.h"

static void test_clock_is_unix_milliseconds(void **state)
{
    (void)state;
    struct wall_clock clock = system_clock();
    time_t before = time(NULL);
    int64_t now_ms = clock.now_ms(clock.self);
    time_t after = time(NULL);
    /* Same clock as time(2), in milliseconds: between the two readings. */
    assert_true(now_ms >= (int64_t)before * 1000);
    assert_true(now_ms < ((int64_t)after + 1) * 1000);
    assert_true(now_ms > INT64_C(1600000000000)); /* after September 2020 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock_is_unix_milliseconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
