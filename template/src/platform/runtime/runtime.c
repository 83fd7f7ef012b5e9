/*
 * runtime.c: workers, their event loops and the scheduling loop.
 *
 * The scheduling loop runs every ready fiber once, then lets libuv poll:
 * without blocking (UV_RUN_NOWAIT) while fibers are still ready, blocking
 * (UV_RUN_ONCE) when none is, so a busy worker never sleeps in epoll and an
 * idle one never spins.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */

#include "platform/runtime/runtime.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "platform/runtime/runtime_internal.h"

#if defined(HEXSVC_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

#define RUNTIME_DEFAULT_POOL_SIZE 256

/* The runtime's only process-wide state: the running workers, so that
 * runtime_stop() can reach them from any thread. */
static pthread_mutex_t runtime_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct worker *runtime_workers;
static unsigned runtime_workers_count;
static atomic_bool runtime_stop_requested;

static _Thread_local struct worker *runtime_current_worker;

struct worker *worker_current(void)
{
    return runtime_current_worker;
}

unsigned runtime_worker_count(void)
{
    struct worker *worker = worker_current();
    return worker != NULL ? worker->worker_count : 0;
}

unsigned runtime_worker_index(void)
{
    struct worker *worker = worker_current();
    return worker != NULL ? worker->index : 0;
}

uv_loop_t *runtime_loop(void)
{
    struct worker *worker = worker_current();
    return worker != NULL ? &worker->loop : NULL;
}

uint64_t runtime_now_ms(void)
{
    struct worker *worker = worker_current();
    if (worker == NULL) {
        return uv_hrtime() / 1000000; /* same monotonic clock as uv_now */
    }
    uv_update_time(&worker->loop);
    return uv_now(&worker->loop);
}

uint64_t runtime_cached_now_ms(void)
{
    struct worker *worker = worker_current();
    return worker != NULL ? uv_now(&worker->loop) : uv_hrtime() / 1000000;
}

static unsigned runtime_cpu_count(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int count = CPU_COUNT(&set);
        if (count > 0) {
            return (unsigned)count;
        }
    }
    return 1;
}

/* ---- stopping ------------------------------------------------------------- */

static void worker_stop(struct worker *worker)
{
    if (worker->stopping) {
        return;
    }
    worker->stopping = true;
    ctx_cancel(&worker->root);
    tcp_worker_stop(worker);
}

static void worker_stop_signalled(uv_async_t *async)
{
    worker_stop(async->data);
}

void runtime_stop(void)
{
    atomic_store(&runtime_stop_requested, true);
    pthread_mutex_lock(&runtime_mutex);
    for (unsigned i = 0; i < runtime_workers_count; i++) {
        if (runtime_workers[i].stop_async_ready) {
            uv_async_send(&runtime_workers[i].stop_async);
        }
    }
    pthread_mutex_unlock(&runtime_mutex);
}

/* ---- one worker ----------------------------------------------------------- */

static void worker_main_fiber(void *arg)
{
    struct worker *worker = arg;
    worker->main_fn(worker->main_arg);
}

/* One pass of the loop; marks it so fiber_enqueue knows a callback is
 * waking fibers from inside uv_run(). */
static void worker_poll(struct worker *worker, uv_run_mode mode)
{
    worker->in_loop = true;
    uv_run(&worker->loop, mode);
    worker->in_loop = false;
}

static void worker_schedule(struct worker *worker)
{
    for (;;) {
        fiber_run_ready(worker);
        if (worker->run_count > 0) {
            worker_poll(worker, UV_RUN_NOWAIT);
            continue;
        }
        if (worker->live_count == 0 && (worker->stopping || !uv_loop_alive(&worker->loop))) {
            return;
        }
        if (worker->live_count > 0 && !uv_loop_alive(&worker->loop)) {
            /* Fibers are parked on something only another fiber could end,
             * and none can run: only runtime_stop() can help now, so wait
             * for it (the stop handle is normally unreferenced). */
            uv_ref((uv_handle_t *)&worker->stop_async);
            worker_poll(worker, UV_RUN_ONCE);
            uv_unref((uv_handle_t *)&worker->stop_async);
            continue;
        }
        worker_poll(worker, UV_RUN_ONCE);
    }
}

static void worker_close_leftover(uv_handle_t *handle, void *arg)
{
    (void)arg;
    if (!uv_is_closing(handle)) {
        uv_close(handle, NULL);
    }
}

static void worker_teardown(struct worker *worker)
{
    pthread_mutex_lock(&runtime_mutex);
    worker->stop_async_ready = false;
    pthread_mutex_unlock(&runtime_mutex);
    worker->tearing_down = true;
    uv_close((uv_handle_t *)&worker->stop_async, NULL);
    tcp_worker_teardown(worker);
    fiber_worker_teardown(worker);
    uv_run(&worker->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&worker->loop) == UV_EBUSY) {
        /* Handles the application left open (after runtime_stop). */
        uv_walk(&worker->loop, worker_close_leftover, NULL);
        uv_run(&worker->loop, UV_RUN_DEFAULT);
        uv_loop_close(&worker->loop);
    }
}

static int worker_init(struct worker *worker)
{
    int rc = uv_loop_init(&worker->loop);
    if (rc < 0) {
        return rc;
    }
    rc = uv_async_init(&worker->loop, &worker->stop_async, worker_stop_signalled);
    if (rc < 0) {
        uv_loop_close(&worker->loop);
        return rc;
    }
    worker->stop_async.data = worker;
    uv_unref((uv_handle_t *)&worker->stop_async);
    pthread_mutex_lock(&runtime_mutex);
    worker->stop_async_ready = true;
    pthread_mutex_unlock(&runtime_mutex);
    ctx_init_root(&worker->root);
    return 0;
}

static void worker_run(struct worker *worker)
{
    runtime_current_worker = worker;
#if defined(HEXSVC_TSAN)
    worker->tsan_scheduler_fiber = __tsan_get_current_fiber();
#endif
    worker->result = worker_init(worker);
    if (worker->result < 0) {
        runtime_current_worker = NULL;
        return;
    }
    /* Without an alternate stack an overflow report is impossible, but the
     * worker still works: carry on. */
    (void)stack_signal_stack_enable(worker);
    if (atomic_load(&runtime_stop_requested)) {
        worker_stop(worker);
    }
    if (fiber_go("main", worker_main_fiber, worker) < 0) {
        worker->result = -ENOMEM;
    } else {
        worker_schedule(worker);
    }
    worker_teardown(worker);
    stack_signal_stack_disable(worker);
    runtime_current_worker = NULL;
}

static void worker_thread(void *arg)
{
    worker_run(arg);
}

/* ---- runtime_run ---------------------------------------------------------- */

int runtime_run(const struct runtime_config *config, runtime_worker_fn worker_main, void *arg)
{
    if (worker_main == NULL) {
        return -EINVAL;
    }
    if (worker_current() != NULL) {
        return -EBUSY; /* no nested runtimes on one thread */
    }
    unsigned count =
        config != NULL && config->worker_count > 0 ? config->worker_count : runtime_cpu_count();
    size_t stack_size = stack_round_size(config != NULL ? config->stack_size : 0);
    size_t pool_limit = config != NULL && config->fiber_pool_size > 0 ? config->fiber_pool_size
                                                                      : RUNTIME_DEFAULT_POOL_SIZE;
    int rc = stack_overflow_handler_install();
    if (rc < 0) {
        return rc;
    }
    struct worker *workers = calloc(count, sizeof(*workers));
    if (workers == NULL) {
        return -ENOMEM;
    }
    for (unsigned i = 0; i < count; i++) {
        workers[i].index = i;
        workers[i].worker_count = count;
        workers[i].stack_size = stack_size;
        workers[i].pool_limit = pool_limit;
        workers[i].main_fn = worker_main;
        workers[i].main_arg = arg;
    }
    pthread_mutex_lock(&runtime_mutex);
    if (runtime_workers != NULL) {
        pthread_mutex_unlock(&runtime_mutex);
        free(workers);
        return -EBUSY; /* one runtime per process */
    }
    runtime_workers = workers;
    runtime_workers_count = count;
    atomic_store(&runtime_stop_requested, false);
    pthread_mutex_unlock(&runtime_mutex);

    unsigned started = 1;
    for (; started < count; started++) {
        rc = uv_thread_create(&workers[started].thread, worker_thread, &workers[started]);
        if (rc < 0) {
            runtime_stop(); /* the workers already started must not wait forever */
            break;
        }
    }
    worker_run(&workers[0]);
    for (unsigned i = 1; i < started; i++) {
        uv_thread_join(&workers[i].thread);
    }

    pthread_mutex_lock(&runtime_mutex);
    runtime_workers = NULL;
    runtime_workers_count = 0;
    pthread_mutex_unlock(&runtime_mutex);
    for (unsigned i = 0; i < started && rc == 0; i++) {
        rc = workers[i].result;
    }
    free(workers);
    return rc;
}
