/* fiber_yield lets every other runnable fiber run once, in spawn order. */
#include "runtime_test.h"

#include "platform/runtime/fiber.h"

struct trace {
    char events[32];
    int count;
};

struct step_arg {
    struct trace *trace;
    char letter;
};

static void step_three_times(void *arg)
{
    struct step_arg *step = arg;
    for (int i = 0; i < 3; i++) {
        step->trace->events[step->trace->count++] = step->letter;
        fiber_yield();
    }
}

static void body_round_robin(void *arg)
{
    struct trace *trace = arg;
    struct step_arg steps[3] = {{trace, 'a'}, {trace, 'b'}, {trace, 'c'}};
    struct fiber *fibers[3];
    for (int i = 0; i < 3; i++) {
        fibers[i] = fiber_spawn("step", step_three_times, &steps[i]);
        CHECK(fibers[i] != NULL);
    }
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(fiber_join(fibers[i]), 0);
    }
}

static void test_yield_interleaves_in_round_robin_order(void **state)
{
    (void)state;
    struct trace trace = {{0}, 0};
    run_in_runtime(body_round_robin, &trace);
    assert_string_equal(trace.events, "abcabcabc");
}

static void body_yield_alone(void *arg)
{
    int *returned = arg;
    fiber_yield(); /* nothing else runnable: returns at once */
    *returned = 1;
}

static void test_yield_with_nothing_else_runnable_returns(void **state)
{
    (void)state;
    int returned = 0;
    run_in_runtime(body_yield_alone, &returned);
    assert_int_equal(returned, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yield_interleaves_in_round_robin_order),
        cmocka_unit_test(test_yield_with_nothing_else_runnable_returns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
