/* 100k fibers spawned, then joined: stacks are assigned lazily and reused, so
 * this stays far below vm.max_map_count (two mappings per stack). */
#include <stdlib.h>

#include "runtime_test.h"

#include "platform/runtime/fiber.h"

#define FIBER_COUNT 100000

static void add_one(void *arg)
{
    long *sum = arg;
    (*sum)++;
}

static void body_many(void *arg)
{
    long *sum = arg;
    /* An array of pointers, so the element size is a pointer's: the check
     * exists for sizeof(ptr) written where sizeof(*ptr) was meant. */
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
    struct fiber **fibers = calloc(FIBER_COUNT, sizeof(*fibers));
    CHECK(fibers != NULL);
    if (fibers == NULL) {
        return;
    }
    int spawned = 0;
    for (; spawned < FIBER_COUNT; spawned++) {
        fibers[spawned] = fiber_spawn("many", add_one, sum);
        if (fibers[spawned] == NULL) {
            break;
        }
    }
    CHECK_EQ(spawned, FIBER_COUNT);
    for (int i = 0; i < spawned; i++) {
        CHECK_EQ(fiber_join(fibers[i]), 0);
    }
    free(fibers);
}

static void test_hundred_thousand_fibers_spawn_then_join(void **state)
{
    (void)state;
    long sum = 0;
    run_in_runtime(body_many, &sum);
    assert_int_equal(sum, FIBER_COUNT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hundred_thousand_fibers_spawn_then_join),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
