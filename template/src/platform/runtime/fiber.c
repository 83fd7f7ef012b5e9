/*
 * fiber.c: fiber lifecycle and the per-worker scheduler.
 *
 * Every switch goes through the scheduler's context (fiber -> scheduler ->
 * fiber). That costs one extra switch per hand-off but means a finishing
 * fiber never frees the stack it is running on: the scheduler does it after
 * switching away. Stacks are taken from the pool when a fiber first runs and
 * returned when it finishes, so fibers spawned in bulk share a few stacks.
 */
#include "platform/runtime/fiber.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform/runtime/ctx.h"
#include "platform/runtime/runtime_internal.h"

#if defined(HEXSVC_ASAN)
#include <sanitizer/asan_interface.h>
#endif
#if defined(HEXSVC_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

/* Ids are unique across workers and never reused; an atomic per spawn is
 * cheap next to the switch itself. */
static atomic_uint_fast64_t fiber_next_id = 1;

/* ---- switching ------------------------------------------------------------ */

static void fiber_switch_to_scheduler(struct fiber *self, bool finishing)
{
    struct worker *worker = self->worker;
#if defined(HEXSVC_ASAN)
    /* A finishing fiber passes NULL so ASan frees its fake stack. */
    __sanitizer_start_switch_fiber(finishing ? NULL : &self->asan_fake_stack,
                                   worker->asan_scheduler_stack, worker->asan_scheduler_stack_size);
#else
    (void)finishing;
#endif
#if defined(HEXSVC_TSAN)
    __tsan_switch_to_fiber(worker->tsan_scheduler_fiber, 0);
#endif
    context_switch(&self->context, &worker->scheduler_context);
#if defined(HEXSVC_ASAN)
    __sanitizer_finish_switch_fiber(self->asan_fake_stack, NULL, NULL);
#endif
}

static void fiber_entry(void *arg)
{
    struct fiber *self = arg;
#if defined(HEXSVC_ASAN)
    /* Learn the scheduler's (thread's) stack bounds for switches back. */
    __sanitizer_finish_switch_fiber(NULL, &self->worker->asan_scheduler_stack,
                                    &self->worker->asan_scheduler_stack_size);
#endif
    self->fn(self->arg);
    self->state = FIBER_DONE;
    fiber_switch_to_scheduler(self, true);
    abort(); /* a finished fiber is never resumed */
}

/* ---- pools ---------------------------------------------------------------- */

static void fiber_free_after_close(uv_handle_t *handle)
{
    free(handle->data);
}

static void fiber_release(struct worker *worker, struct fiber *fiber)
{
    if (!worker->tearing_down && worker->free_fiber_count < worker->pool_limit) {
        fiber->next_free = worker->free_fibers;
        worker->free_fibers = fiber;
        worker->free_fiber_count++;
        return;
    }
    if (fiber->timer_ready) {
        uv_close((uv_handle_t *)&fiber->timer, fiber_free_after_close);
    } else {
        free(fiber);
    }
}

static struct fiber *fiber_allocate(struct worker *worker)
{
    struct fiber *fiber = worker->free_fibers;
    if (fiber != NULL) {
        worker->free_fibers = fiber->next_free;
        worker->free_fiber_count--;
        /* Everything but the timer, which stays an initialised, stopped
         * handle (copying it out and back cost more than the clearing). */
        bool timer_ready = fiber->timer_ready;
        memset(fiber, 0, offsetof(struct fiber, timer));
        fiber->timer_ready = timer_ready;
        return fiber;
    }
    fiber = calloc(1, sizeof(*fiber));
    return fiber;
}

void fiber_worker_teardown(struct worker *worker)
{
    while (worker->free_fibers != NULL) {
        struct fiber *fiber = worker->free_fibers;
        worker->free_fibers = fiber->next_free;
        if (fiber->timer_ready) {
            uv_close((uv_handle_t *)&fiber->timer, fiber_free_after_close);
        } else {
            free(fiber);
        }
    }
    worker->free_fiber_count = 0;
    stack_pool_drain(worker);
}

/* ---- run queue ------------------------------------------------------------ */

static void fiber_enqueue(struct worker *worker, struct fiber *fiber)
{
    fiber->state = FIBER_RUNNABLE;
    fiber->run_next = NULL;
    if (worker->run_tail != NULL) {
        worker->run_tail->run_next = fiber;
    } else {
        worker->run_head = fiber;
    }
    worker->run_tail = fiber;
    worker->run_count++;
    /* Called from a libuv callback (a timer, a poll, an async) during
     * uv_run(UV_RUN_ONCE): libuv runs expired timers *before* it polls, so
     * without this it would go on to block in epoll_wait until the next
     * event while this fiber waits, runnable. uv_stop() makes that poll
     * non-blocking and uv_run() return to the scheduler. */
    if (worker->in_loop) {
        uv_stop(&worker->loop);
    }
}

static struct fiber *fiber_dequeue(struct worker *worker)
{
    struct fiber *fiber = worker->run_head;
    if (fiber != NULL) {
        worker->run_head = fiber->run_next;
        if (worker->run_head == NULL) {
            worker->run_tail = NULL;
        }
        worker->run_count--;
    }
    return fiber;
}

static void fiber_unlink_live(struct worker *worker, struct fiber *fiber)
{
    if (fiber->live_prev != NULL) {
        fiber->live_prev->live_next = fiber->live_next;
    } else {
        worker->live_head = fiber->live_next;
    }
    if (fiber->live_next != NULL) {
        fiber->live_next->live_prev = fiber->live_prev;
    }
    worker->live_count--;
}

/* Called by the scheduler once `fiber` has finished (or could not start). */
static void fiber_retire(struct worker *worker, struct fiber *fiber)
{
    if (fiber->stack != NULL) {
        stack_release(worker, fiber->stack);
        fiber->stack = NULL;
    }
#if defined(HEXSVC_TSAN)
    if (fiber->tsan_fiber != NULL) {
        __tsan_destroy_fiber(fiber->tsan_fiber);
        fiber->tsan_fiber = NULL;
    }
#endif
    fiber_unlink_live(worker, fiber);
    fiber->state = FIBER_DONE;
    if (fiber->detached) {
        fiber_release(worker, fiber);
    } else if (fiber->joiner != NULL) {
        fiber_wake(fiber->joiner, 0);
    }
}

static void fiber_report_start_failure(const struct fiber *fiber)
{
    char line[160];
    int len = snprintf(line, sizeof(line), "fiber %llu '%s' could not start: no stack (ENOMEM)\n",
                       (unsigned long long)fiber->id, fiber->name);
    if (len > 0) {
        ssize_t ignored =
            write(STDERR_FILENO, line, (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1);
        (void)ignored;
    }
}

/* Gives a fiber that has never run its stack and first frame. */
static int fiber_start(struct worker *worker, struct fiber *fiber)
{
    fiber->stack = stack_acquire(worker);
    if (fiber->stack == NULL) {
        return -ENOMEM;
    }
#if defined(HEXSVC_TSAN)
    fiber->tsan_fiber = __tsan_create_fiber(0);
#endif
    context_init(&fiber->context, fiber->stack->low, fiber->stack->size, fiber_entry, fiber);
    return 0;
}

static void fiber_resume(struct worker *worker, struct fiber *fiber)
{
    if (fiber->stack == NULL) {
        int rc = fiber_start(worker, fiber);
        if (rc < 0) {
            fiber->start_error = rc;
            if (fiber->detached) {
                fiber_report_start_failure(fiber);
            }
            fiber_retire(worker, fiber);
            return;
        }
    }
    worker->current = fiber;
    fiber->state = FIBER_RUNNING;
#if defined(HEXSVC_ASAN)
    void *fake_stack = NULL;
    __sanitizer_start_switch_fiber(&fake_stack, fiber->stack->low, fiber->stack->size);
#endif
#if defined(HEXSVC_TSAN)
    __tsan_switch_to_fiber(fiber->tsan_fiber, 0);
#endif
    context_switch(&worker->scheduler_context, &fiber->context);
#if defined(HEXSVC_ASAN)
    __sanitizer_finish_switch_fiber(fake_stack, NULL, NULL);
#endif
    worker->current = NULL;
    if (fiber->state == FIBER_DONE) {
        fiber_retire(worker, fiber);
    }
}

void fiber_run_ready(struct worker *worker)
{
    /* One round: fibers made runnable during it (yield, wakes) wait for the
     * next one, so a yielding loop cannot starve I/O polling. */
    size_t round = worker->run_count;
    while (round-- > 0) {
        struct fiber *fiber = fiber_dequeue(worker);
        if (fiber == NULL) {
            break;
        }
        fiber_resume(worker, fiber);
    }
}

/* ---- parking -------------------------------------------------------------- */

static void fiber_park_timer_fired(uv_timer_t *timer)
{
    struct fiber *fiber = timer->data;
    struct ctx *ctx = fiber->park_ctx;
    if (ctx != NULL && ctx->deadline_ms <= fiber->park_wake_at_ms) {
        ctx_expire(ctx); /* wakes this fiber, and every other one on ctx */
    } else {
        fiber_wake(fiber, 0);
    }
}

int fiber_park(struct ctx *ctx, uint64_t wake_at_ms)
{
    struct worker *worker = worker_current();
    struct fiber *self = worker != NULL ? worker->current : NULL;
    if (self == NULL) {
        return -EPERM; /* parking outside a fiber would block the loop */
    }
    int error = ctx_err(ctx);
    if (error != 0) {
        return error;
    }
    uint64_t timer_at = wake_at_ms;
    if (ctx != NULL && ctx->deadline_ms < timer_at) {
        timer_at = ctx->deadline_ms;
    }
    if (timer_at != CTX_NO_DEADLINE) {
        if (!self->timer_ready) {
            uv_timer_init(&worker->loop, &self->timer);
            self->timer_ready = true;
        }
        self->timer.data = self;
        uint64_t now = uv_now(&worker->loop);
        uv_timer_start(&self->timer, fiber_park_timer_fired, timer_at > now ? timer_at - now : 0,
                       0);
    }
    self->park_ctx = ctx;
    self->park_wake_at_ms = wake_at_ms;
    if (ctx != NULL) {
        self->ctx_node.fiber = self;
        ctx_add_waiter(ctx, &self->ctx_node);
    }
    self->wake_result = 0;
    self->state = FIBER_PARKED;

    fiber_switch_to_scheduler(self, false);

    if (ctx != NULL) {
        ctx_remove_waiter(ctx, &self->ctx_node);
    }
    if (timer_at != CTX_NO_DEADLINE) {
        uv_timer_stop(&self->timer);
    }
    self->park_ctx = NULL;
    return self->wake_result;
}

bool fiber_wake(struct fiber *fiber, int result)
{
    if (fiber->state != FIBER_PARKED) {
        return false;
    }
    fiber->wake_result = result;
    fiber_enqueue(fiber->worker, fiber);
    return true;
}

/* ---- public API ----------------------------------------------------------- */

struct fiber *fiber_spawn(const char *name, fiber_fn fn, void *arg)
{
    struct worker *worker = worker_current();
    if (worker == NULL || fn == NULL) {
        errno = EINVAL;
        return NULL;
    }
    struct fiber *fiber = fiber_allocate(worker);
    if (fiber == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    fiber->worker = worker;
    fiber->id = atomic_fetch_add_explicit(&fiber_next_id, 1, memory_order_relaxed);
    fiber->name = name != NULL ? name : "fiber";
    fiber->fn = fn;
    fiber->arg = arg;
    fiber->created_ms = uv_now(&worker->loop);
    fiber->ctx_node.fiber = fiber;
    fiber->wait_node.fiber = fiber;
    fiber->live_next = worker->live_head;
    if (worker->live_head != NULL) {
        worker->live_head->live_prev = fiber;
    }
    worker->live_head = fiber;
    worker->live_count++;
    fiber_enqueue(worker, fiber);
    return fiber;
}

int fiber_go(const char *name, fiber_fn fn, void *arg)
{
    struct fiber *fiber = fiber_spawn(name, fn, arg);
    if (fiber == NULL) {
        return -errno;
    }
    fiber->detached = true;
    return 0;
}

int fiber_join(struct fiber *fiber)
{
    struct fiber *self = fiber_current();
    if (fiber == self || fiber->detached || fiber->joiner != NULL) {
        return -EINVAL;
    }
    if (self == NULL) {
        return -EPERM;
    }
    fiber->joiner = self;
    /* A fiber is retired (stack back in the pool) by the scheduler right
     * after it finishes, before any other fiber runs, so DONE means retired. */
    while (fiber->state != FIBER_DONE) {
        /* Not cancellable: the joined fiber's stack may hold our data. */
        fiber_park(NULL, CTX_NO_DEADLINE);
    }
    int result = fiber->start_error;
    fiber_release(fiber->worker, fiber);
    return result;
}

void fiber_detach(struct fiber *fiber)
{
    if (fiber == NULL) {
        return;
    }
    if (fiber->state == FIBER_DONE && fiber->worker->current != fiber) {
        fiber_release(fiber->worker, fiber); /* already finished and retired */
        return;
    }
    fiber->detached = true;
}

void fiber_yield(void)
{
    struct fiber *self = fiber_current();
    if (self == NULL) {
        return;
    }
    fiber_enqueue(self->worker, self);
    fiber_switch_to_scheduler(self, false);
}

int fiber_sleep(struct ctx *ctx, uint64_t milliseconds)
{
    struct worker *worker = worker_current();
    if (worker == NULL || worker->current == NULL) {
        return -EPERM;
    }
    if (ctx == NULL) {
        ctx = &worker->root; /* runtime_stop() still wakes a sleeper */
    }
    uv_update_time(&worker->loop);
    uint64_t now = uv_now(&worker->loop);
    uint64_t wake_at =
        milliseconds >= CTX_NO_DEADLINE - 1 - now ? CTX_NO_DEADLINE - 1 : now + milliseconds;
    int rc;
    do {
        rc = fiber_park(ctx, wake_at);
        /* A stray wake (none is expected) must not cut the sleep short. */
    } while (rc == 0 && uv_now(&worker->loop) < wake_at);
    return rc;
}

struct fiber *fiber_current(void)
{
    struct worker *worker = worker_current();
    return worker != NULL ? worker->current : NULL;
}

uint64_t fiber_id(const struct fiber *fiber)
{
    return fiber->id;
}

const char *fiber_name(const struct fiber *fiber)
{
    return fiber->name;
}

enum fiber_state fiber_state_of(const struct fiber *fiber)
{
    return fiber->state;
}

void fiber_for_each(fiber_visit_fn visit, void *arg)
{
    struct worker *worker = worker_current();
    if (worker == NULL) {
        return;
    }
    for (struct fiber *fiber = worker->live_head; fiber != NULL; fiber = fiber->live_next) {
        struct fiber_info info = {
            .id = fiber->id,
            .name = fiber->name,
            .state = fiber->state,
            .created_ms = fiber->created_ms,
            .fiber = fiber,
        };
        visit(&info, arg);
    }
}
