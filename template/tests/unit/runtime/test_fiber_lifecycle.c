/* Spawn, join, detach, go, identity and the fiber dump. */
#include <errno.h>
#include <stdbool.h>

#include "runtime_test.h"

#include "platform/runtime/fiber.h"

struct counter {
    int runs;
    struct fiber *seen_self;
};

static void count_run(void *arg)
{
    struct counter *counter = arg;
    counter->runs++;
    counter->seen_self = fiber_current();
}

static void body_spawn_join(void *arg)
{
    (void)arg;
    struct counter counter = {0};
    struct fiber *child = fiber_spawn("child", count_run, &counter);
    CHECK(child != NULL);
    CHECK_EQ(counter.runs, 0); /* spawning does not run it yet */
    CHECK_EQ(fiber_state_of(child), FIBER_RUNNABLE);
    CHECK(strcmp(fiber_name(child), "child") == 0);
    CHECK(fiber_id(child) != fiber_id(fiber_current()));
    CHECK_EQ(fiber_join(child), 0);
    CHECK_EQ(counter.runs, 1);
    CHECK(counter.seen_self == child);
}

static void test_spawn_then_join_runs_the_fiber_once(void **state)
{
    (void)state;
    run_in_runtime(body_spawn_join, NULL);
}

static void body_join_finished(void *arg)
{
    (void)arg;
    struct counter counter = {0};
    struct fiber *child = fiber_spawn("child", count_run, &counter);
    fiber_yield(); /* child runs to completion */
    CHECK_EQ(counter.runs, 1);
    CHECK_EQ(fiber_state_of(child), FIBER_DONE);
    CHECK_EQ(fiber_join(child), 0);
}

static void test_join_after_the_fiber_finished(void **state)
{
    (void)state;
    run_in_runtime(body_join_finished, NULL);
}

static void body_join_self(void *arg)
{
    (void)arg;
    CHECK_EQ(fiber_join(fiber_current()), -EINVAL);
}

static void test_join_self_is_einval(void **state)
{
    (void)state;
    run_in_runtime(body_join_self, NULL);
}

static void body_detach_and_go(void *arg)
{
    struct counter *counters = arg;
    struct fiber *child = fiber_spawn("detached", count_run, &counters[0]);
    CHECK(child != NULL);
    fiber_detach(child);
    CHECK_EQ(fiber_go("go", count_run, &counters[1]), 0);
    /* Both finish after this fiber returns; runtime_run waits for them. */
}

static void test_detached_and_go_fibers_run_to_completion(void **state)
{
    (void)state;
    struct counter counters[2] = {{0}, {0}};
    run_in_runtime(body_detach_and_go, counters);
    assert_int_equal(counters[0].runs, 1);
    assert_int_equal(counters[1].runs, 1);
}

static void body_detach_finished(void *arg)
{
    struct counter *counter = arg;
    struct fiber *child = fiber_spawn("child", count_run, counter);
    fiber_yield();
    CHECK_EQ(fiber_state_of(child), FIBER_DONE);
    fiber_detach(child); /* releases it; ASan would see a leak otherwise */
}

static void test_detach_after_finish_releases(void **state)
{
    (void)state;
    struct counter counter = {0};
    run_in_runtime(body_detach_finished, &counter);
    assert_int_equal(counter.runs, 1);
}

struct dump {
    int seen;
    bool saw_main;
    bool saw_parked_child;
};

static void visit_fiber(const struct fiber_info *info, void *arg)
{
    struct dump *dump = arg;
    dump->seen++;
    if (strcmp(info->name, "main") == 0 && info->state == FIBER_RUNNING) {
        dump->saw_main = true;
    }
    if (strcmp(info->name, "sleeper") == 0 && info->state == FIBER_PARKED) {
        dump->saw_parked_child = true;
    }
}

static void sleep_briefly(void *arg)
{
    (void)arg;
    fiber_sleep(NULL, 20);
}

static void body_for_each(void *arg)
{
    struct dump *dump = arg;
    struct fiber *sleeper = fiber_spawn("sleeper", sleep_briefly, NULL);
    fiber_yield(); /* let it park */
    fiber_for_each(visit_fiber, dump);
    CHECK_EQ(fiber_join(sleeper), 0);
}

static void test_for_each_lists_live_fibers_with_state(void **state)
{
    (void)state;
    struct dump dump = {0};
    run_in_runtime(body_for_each, &dump);
    assert_int_equal(dump.seen, 2);
    assert_true(dump.saw_main);
    assert_true(dump.saw_parked_child);
}

static void test_spawn_outside_runtime_fails(void **state)
{
    (void)state;
    errno = 0;
    assert_null(fiber_spawn("x", count_run, NULL));
    assert_int_equal(errno, EINVAL);
    assert_null(fiber_current());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_then_join_runs_the_fiber_once),
        cmocka_unit_test(test_join_after_the_fiber_finished),
        cmocka_unit_test(test_join_self_is_einval),
        cmocka_unit_test(test_detached_and_go_fibers_run_to_completion),
        cmocka_unit_test(test_detach_after_finish_releases),
        cmocka_unit_test(test_for_each_lists_live_fibers_with_state),
        cmocka_unit_test(test_spawn_outside_runtime_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
