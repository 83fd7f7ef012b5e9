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

/* CLOCK_REALTIME in milliseconds, truncated as the adapter truncates. */
static int64_t realtime_ms(void)
{
    struct timespec now;
    assert_int_equal(clock_gettime(CLOCK_REALTIME, &now), 0);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void test_clock_is_unix_milliseconds(void **state)
{
    (void)state;
    struct wall_clock clock = system_clock();
    /* Bounded by clock_gettime readings, not time(2): glibc's time() reads
     * the coarse clock, which lags CLOCK_REALTIME by up to a tick, so a
     * reading just after a second boundary failed "before the next
     * second" now and then. */
    int64_t before = realtime_ms();
    int64_t now_ms = clock.now_ms(clock.self);
    int64_t after = realtime_ms();
    assert_true(now_ms >= before);
    assert_true(now_ms <= after);
    assert_true(now_ms > INT64_C(1600000000000)); /* after September 2020 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock_is_unix_milliseconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
