/* fiber_offload runs work on libuv's pool while other fibers keep running. */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "runtime_test.h"

#include "platform/runtime/ctx.h"
#include "platform/runtime/fiber.h"

struct blocking_work {
    pthread_t worker_thread;
    pthread_t ran_on;
    atomic_bool release; /* set by a fiber: the work may finish */
    atomic_int ticks_seen;
    int result;
};

static void sleep_a_little(void)
{
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 1000000};
    nanosleep(&pause, NULL);
}

/* Blocks its pool thread until a fiber on the worker says so: proof that the
 * worker keeps running fibers meanwhile. Bounded to about 5 s. */
static void work_until_released(void *arg)
{
    struct blocking_work *work = arg;
    work->ran_on = pthread_self();
    for (int i = 0; i < 5000 && !atomic_load(&work->release); i++) {
        sleep_a_little();
    }
    work->result = atomic_load(&work->release) ? 42 : -1;
}

static void ticker(void *arg)
{
    struct blocking_work *work = arg;
    for (int i = 0; i < 3; i++) {
        fiber_sleep(NULL, 1);
        atomic_fetch_add(&work->ticks_seen, 1);
    }
    atomic_store(&work->release, true);
}

static void body_offload(void *arg)
{
    struct blocking_work *work = arg;
    work->worker_thread = pthread_self();
    struct fiber *tick = fiber_spawn("ticker", ticker, work);
    struct ctx ctx;
    ctx_with_timeout(&ctx, ctx_background(), 10000);
    CHECK_EQ(fiber_offload(&ctx, work_until_released, work), 0);
    ctx_release(&ctx);
    CHECK_EQ(work->result, 42);
    CHECK_EQ(atomic_load(&work->ticks_seen), 3);
    CHECK_EQ(fiber_join(tick), 0);
}

static void test_offload_runs_elsewhere_while_fibers_run(void **state)
{
    (void)state;
    struct blocking_work work = {.result = 0};
    run_in_runtime(body_offload, &work);
    assert_false(pthread_equal(work.worker_thread, work.ran_on));
    assert_int_equal(work.result, 42);
}

struct slow_work {
    atomic_bool started;
    atomic_bool finished;
};

static void work_briefly(void *arg)
{
    struct slow_work *work = arg;
    atomic_store(&work->started, true);
    for (int i = 0; i < 30; i++) {
        sleep_a_little();
    }
    atomic_store(&work->finished, true);
}

static void body_offload_deadline(void *arg)
{
    struct slow_work *work = arg;
    struct ctx ctx;
    ctx_with_timeout(&ctx, ctx_background(), 5);
    /* The deadline passes while the work runs: the fiber still waits for it
     * (its argument may be on this stack), then reports the deadline. */
    CHECK_EQ(fiber_offload(&ctx, work_briefly, work), -ETIMEDOUT);
    /* Work that had not started yet may have been dropped instead. */
    CHECK(!atomic_load(&work->started) || atomic_load(&work->finished));
    ctx_release(&ctx);
}

static void test_offload_reports_the_deadline_after_the_work(void **state)
{
    (void)state;
    struct slow_work work = {false, false};
    run_in_runtime(body_offload_deadline, &work);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offload_runs_elsewhere_while_fibers_run),
        cmocka_unit_test(test_offload_reports_the_deadline_after_the_work),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
