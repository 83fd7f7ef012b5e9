/* fiber_sleep wakes fibers in deadline order and honours its ctx. */
#include <errno.h>

#include "runtime_test.h"

#include "platform/runtime/ctx.h"
#include "platform/runtime/fiber.h"

struct wake_order {
    int order[3];
    int count;
};

struct sleeper {
    struct wake_order *wake_order;
    int milliseconds;
};

static void sleep_and_record(void *arg)
{
    struct sleeper *sleeper = arg;
    CHECK_EQ(fiber_sleep(NULL, (uint64_t)sleeper->milliseconds), 0);
    sleeper->wake_order->order[sleeper->wake_order->count++] = sleeper->milliseconds;
}

static void body_sleep_order(void *arg)
{
    struct wake_order *wake_order = arg;
    struct sleeper sleepers[3] = {{wake_order, 30}, {wake_order, 10}, {wake_order, 20}};
    struct fiber *fibers[3];
    uint64_t start = runtime_now_ms();
    for (int i = 0; i < 3; i++) {
        fibers[i] = fiber_spawn("sleeper", sleep_and_record, &sleepers[i]);
    }
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(fiber_join(fibers[i]), 0);
    }
    CHECK(runtime_now_ms() - start >= 30); /* a lower bound only: never flaky */
}

static void test_sleepers_wake_in_deadline_order(void **state)
{
    (void)state;
    struct wake_order wake_order = {{0}, 0};
    run_in_runtime(body_sleep_order, &wake_order);
    assert_int_equal(wake_order.count, 3);
    assert_int_equal(wake_order.order[0], 10);
    assert_int_equal(wake_order.order[1], 20);
    assert_int_equal(wake_order.order[2], 30);
}

static void body_sleep_past_deadline(void *arg)
{
    (void)arg;
    struct ctx ctx;
    ctx_with_timeout(&ctx, ctx_background(), 10);
    CHECK_EQ(fiber_sleep(&ctx, 10000), -ETIMEDOUT);
    CHECK_EQ(ctx_err(&ctx), -ETIMEDOUT);
    CHECK(ctx_done(&ctx));
    ctx_release(&ctx);
}

static void test_sleep_longer_than_deadline_times_out(void **state)
{
    (void)state;
    run_in_runtime(body_sleep_past_deadline, NULL);
}

static void body_sleep_within_deadline(void *arg)
{
    (void)arg;
    struct ctx ctx;
    ctx_with_timeout(&ctx, ctx_background(), 10000);
    CHECK_EQ(fiber_sleep(&ctx, 5), 0);
    CHECK_EQ(ctx_err(&ctx), 0);
    ctx_release(&ctx);
}

static void test_sleep_shorter_than_deadline_succeeds(void **state)
{
    (void)state;
    run_in_runtime(body_sleep_within_deadline, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sleepers_wake_in_deadline_order),
        cmocka_unit_test(test_sleep_longer_than_deadline_times_out),
        cmocka_unit_test(test_sleep_shorter_than_deadline_succeeds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
