/*
 * offload.c: run blocking work on libuv's thread pool while the fiber parks
 * (Go's hand-off of a goroutine stuck in a syscall).
 */
#include <errno.h>
#include <stdbool.h>

#include "platform/runtime/fiber.h"
#include "platform/runtime/runtime_internal.h"

/* Lives on the parked fiber's stack: the fiber does not return before
 * offload_finished() has run, whatever happens to its ctx. */
struct offload_request {
    uv_work_t work_request;
    void (*work)(void *arg);
    void *arg;
    struct fiber *fiber;
    bool finished;
    int status;
};

static void offload_run(uv_work_t *work_request)
{
    struct offload_request *request = work_request->data;
    request->work(request->arg);
}

static void offload_finished(uv_work_t *work_request, int status)
{
    struct offload_request *request = work_request->data;
    request->finished = true;
    request->status = status;
    fiber_wake(request->fiber, 0);
}

int fiber_offload(struct ctx *ctx, void (*work)(void *arg), void *arg)
{
    struct worker *worker = worker_current();
    struct fiber *self = worker != NULL ? worker->current : NULL;
    if (self == NULL || work == NULL) {
        return self == NULL ? -EPERM : -EINVAL;
    }
    if (ctx == NULL) {
        ctx = &worker->root;
    }
    int error = ctx_err(ctx);
    if (error != 0) {
        return error;
    }
    struct offload_request request = {.work = work, .arg = arg, .fiber = self};
    request.work_request.data = &request;
    int rc = uv_queue_work(&worker->loop, &request.work_request, offload_run, offload_finished);
    if (rc < 0) {
        return rc;
    }
    rc = fiber_park(ctx, CTX_NO_DEADLINE);
    if (!request.finished) {
        /* ctx ended first. Work not yet started is dropped; work already
         * running cannot be interrupted, and `arg` may be on our stack. */
        uv_cancel((uv_req_t *)&request.work_request);
        while (!request.finished) {
            fiber_park(NULL, CTX_NO_DEADLINE);
        }
    }
    error = ctx_err(ctx);
    if (error != 0) {
        return error;
    }
    if (rc < 0) {
        return rc;
    }
    return request.status;
}
