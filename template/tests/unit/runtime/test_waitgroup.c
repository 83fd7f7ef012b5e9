/* Wait groups: wait returns once every added fiber called done. */
#include <errno.h>

#include "runtime_test.h"

#include "platform/runtime/ctx.h"
#include "platform/runtime/fiber.h"
#include "platform/runtime/waitgroup.h"

struct job {
    struct waitgroup *group;
    int milliseconds;
    int *finished;
};

static void job_run(void *arg)
{
    struct job *job = arg;
    fiber_sleep(NULL, (uint64_t)job->milliseconds);
    (*job->finished)++;
    waitgroup_done(job->group);
}

static void body_wait_for_all(void *arg)
{
    (void)arg;
    struct waitgroup group;
    waitgroup_init(&group);
    int finished = 0;
    struct job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct job){&group, 5 * (i + 1), &finished};
        waitgroup_add(&group, 1);
        CHECK_EQ(fiber_go("job", job_run, &jobs[i]), 0);
    }
    struct ctx ctx;
    ctx_with_timeout(&ctx, ctx_background(), 5000);
    CHECK_EQ(waitgroup_wait(&group, &ctx), 0);
    CHECK_EQ(finished, 4);
    CHECK_EQ(group.count, 0);
    /* Already zero: returns at once. */
    CHECK_EQ(waitgroup_wait(&group, &ctx), 0);
    ctx_release(&ctx);
}

static void test_wait_returns_when_all_are_done(void **state)
{
    (void)state;
    run_in_runtime(body_wait_for_all, NULL);
}

static void body_wait_times_out(void *arg)
{
    (void)arg;
    struct waitgroup group;
    waitgroup_init(&group);
    waitgroup_add(&group, 1); /* nobody will call done */
    struct ctx ctx;
    ctx_with_timeout(&ctx, ctx_background(), 20);
    CHECK_EQ(waitgroup_wait(&group, &ctx), -ETIMEDOUT);
    ctx_release(&ctx);
    waitgroup_done(&group);
}

static void test_wait_honours_the_deadline(void **state)
{
    (void)state;
    run_in_runtime(body_wait_times_out, NULL);
}

struct waiter_arg {
    struct waitgroup *group;
    int result;
};

static void wait_on_group(void *arg)
{
    struct waiter_arg *waiter = arg;
    struct ctx ctx;
    ctx_with_timeout(&ctx, ctx_background(), 5000);
    waiter->result = waitgroup_wait(waiter->group, &ctx);
    ctx_release(&ctx);
}

static void body_many_waiters(void *arg)
{
    (void)arg;
    struct waitgroup group;
    waitgroup_init(&group);
    waitgroup_add(&group, 2);
    struct waiter_arg waiters[3];
    struct fiber *fibers[3];
    for (int i = 0; i < 3; i++) {
        waiters[i] = (struct waiter_arg){&group, 1};
        fibers[i] = fiber_spawn("waiter", wait_on_group, &waiters[i]);
    }
    fiber_yield();
    waitgroup_done(&group);
    fiber_yield();
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(fiber_state_of(fibers[i]), FIBER_PARKED); /* count is still 1 */
    }
    waitgroup_done(&group);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(fiber_join(fibers[i]), 0);
        CHECK_EQ(waiters[i].result, 0);
    }
}

static void test_zero_wakes_every_waiter(void **state)
{
    (void)state;
    run_in_runtime(body_many_waiters, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wait_returns_when_all_are_done),
        cmocka_unit_test(test_wait_honours_the_deadline),
        cmocka_unit_test(test_zero_wakes_every_waiter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
