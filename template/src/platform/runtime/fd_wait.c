/*
 * fd_wait.c: a uv_poll_t per watched fd; the waiting fiber is woken from
 * the poll callback with the events that fired.
 */
#include "platform/runtime/fd_wait.h"

#include <errno.h>
#include <stdlib.h>

#include "platform/runtime/runtime_internal.h"

struct fd_watch {
    uv_poll_t poll;
    struct fiber *waiter;
};

static void fd_watch_fired(uv_poll_t *poll, int status, int events)
{
    struct fd_watch *watch = poll->data;
    if (watch->waiter == NULL) {
        return;
    }
    int ready = 0;
    if ((events & UV_READABLE) != 0) {
        ready |= FD_WAIT_READABLE;
    }
    if ((events & UV_WRITABLE) != 0) {
        ready |= FD_WAIT_WRITABLE;
    }
    /* On an error libuv has stopped the poll; report both directions so the
     * caller retries its I/O and learns the real error from it. */
    fiber_wake(watch->waiter, status < 0 ? FD_WAIT_READABLE | FD_WAIT_WRITABLE : ready);
}

int fd_watch_open(int fd, struct fd_watch **out)
{
    struct worker *worker = worker_current();
    if (worker == NULL) {
        return -EPERM;
    }
    struct fd_watch *watch = calloc(1, sizeof *watch);
    if (watch == NULL) {
        return -ENOMEM;
    }
    int rc = uv_poll_init_socket(&worker->loop, &watch->poll, fd);
    if (rc < 0) {
        free(watch);
        return rc;
    }
    watch->poll.data = watch;
    *out = watch;
    return 0;
}

int fd_watch_wait(struct fd_watch *watch, struct ctx *ctx, int events)
{
    if (watch->waiter != NULL) {
        return -EBUSY;
    }
    int uv_events = 0;
    if ((events & FD_WAIT_READABLE) != 0) {
        uv_events |= UV_READABLE;
    }
    if ((events & FD_WAIT_WRITABLE) != 0) {
        uv_events |= UV_WRITABLE;
    }
    if (uv_events == 0) {
        return -EINVAL;
    }
    int rc = uv_poll_start(&watch->poll, uv_events, fd_watch_fired);
    if (rc < 0) {
        return rc;
    }
    if (ctx == NULL) {
        ctx = &worker_current()->root;
    }
    watch->waiter = fiber_current();
    rc = fiber_park(ctx, CTX_NO_DEADLINE);
    watch->waiter = NULL;
    uv_poll_stop(&watch->poll);
    /* A woken park returns the ready events; a zero means nothing fired
     * (cannot happen without a deadline, but do not report success). */
    return rc == 0 ? -EAGAIN : rc;
}

static void fd_watch_closed(uv_handle_t *handle)
{
    free(handle->data);
}

void fd_watch_close(struct fd_watch *watch)
{
    if (watch == NULL) {
        return;
    }
    /* uv_close stops the poll and removes the fd from epoll synchronously,
     * so the caller may close the fd right after this returns. */
    uv_close((uv_handle_t *)&watch->poll, fd_watch_closed);
}
