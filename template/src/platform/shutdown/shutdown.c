/*
 * shutdown.c: signals, the drain sequence, and the exit status.
 */
#include "platform/shutdown/shutdown.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "platform/http/http_server.h"
#include "platform/runtime/fiber.h"
#include "platform/runtime/runtime.h"

enum {
    SHUTDOWN_TERM,
    SHUTDOWN_INT,
    SHUTDOWN_HUP
};

void shutdown_init(struct shutdown *shutdown, const struct shutdown_config *config,
                   unsigned workers)
{
    shutdown->config = *config;
    if (shutdown->config.program == NULL) {
        shutdown->config.program = "service";
    }
    shutdown->workers = workers == 0 ? 1 : workers;
    atomic_init(&shutdown->draining, false);
    atomic_init(&shutdown->signals, 0);
    atomic_init(&shutdown->workers_left, shutdown->workers);
    atomic_init(&shutdown->cancelled, 0);
    atomic_init(&shutdown->reloads, 0);
}

bool shutdown_is_draining(const struct shutdown *shutdown)
{
    return atomic_load_explicit(&shutdown->draining, memory_order_acquire);
}

void shutdown_begin(struct shutdown *shutdown)
{
    atomic_store_explicit(&shutdown->draining, true, memory_order_release);
}

static const char *shutdown_signal_name(int signum)
{
    switch (signum) {
    case SIGINT:
        return "SIGINT";
    case SIGHUP:
        return "SIGHUP";
    case SIGTERM:
    default:
        return "SIGTERM";
    }
}

static void shutdown_on_signal(uv_signal_t *handle, int signum)
{
    struct shutdown_worker *worker = handle->data;
    struct shutdown *shutdown = worker->shutdown;
    if (signum == SIGHUP) {
        fprintf(stderr, "%s: SIGHUP received, reloading\n", shutdown->config.program);
        atomic_fetch_add_explicit(&shutdown->reloads, 1, memory_order_relaxed);
        if (shutdown->config.on_reload != NULL) {
            shutdown->config.on_reload(shutdown->config.reload_arg);
        }
        return;
    }
    if (worker->primary) {
        unsigned seen = atomic_fetch_add_explicit(&shutdown->signals, 1, memory_order_acq_rel);
        if (seen >= 1) {
            /* The operator insists: no more waiting for anyone. */
            fprintf(stderr, "%s: second %s, exiting at once\n", shutdown->config.program,
                    shutdown_signal_name(signum));
            _exit(128 + signum);
        }
        shutdown_begin(shutdown);
        fprintf(stderr,
                "%s: %s received, draining: not ready now, listeners close in %llu ms, "
                "in-flight requests get %llu ms more\n",
                shutdown->config.program, shutdown_signal_name(signum),
                (unsigned long long)shutdown->config.drain_delay_ms,
                (unsigned long long)shutdown->config.deadline_ms);
    } else {
        shutdown_begin(shutdown);
    }
    ctx_cancel(&worker->stop_ctx);
}

int shutdown_worker_begin(struct shutdown_worker *worker, struct shutdown *shutdown)
{
    static const int signals[3] = {SIGTERM, SIGINT, SIGHUP};
    worker->shutdown = shutdown;
    worker->primary = runtime_worker_index() == 0;
    worker->watcher_count = 0;
    ctx_with_cancel(&worker->stop_ctx, ctx_background());
    size_t wanted = worker->primary ? 3 : 2;
    for (size_t i = 0; i < wanted; i++) {
        /* On the heap: uv_close finishes after this worker's fiber (and the
         * stack holding `worker`) may be gone. */
        uv_signal_t *watcher = malloc(sizeof(*watcher));
        if (watcher == NULL) {
            return UV_ENOMEM;
        }
        int rc = uv_signal_init(runtime_loop(), watcher);
        if (rc != 0) {
            free(watcher);
            return rc;
        }
        worker->watchers[i] = watcher;
        watcher->data = worker;
        worker->watcher_count++;
        rc = uv_signal_start(watcher, shutdown_on_signal, signals[i]);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

void shutdown_worker_wait(struct shutdown_worker *worker)
{
    /* A signal that arrived before this worker's watchers existed reached
     * only the other workers; they have set `draining`, so honour it. Once
     * the watchers exist, libuv delivers every later signal to them too. */
    if (shutdown_is_draining(worker->shutdown)) {
        return;
    }
    /* Returns on a stop signal (stop_ctx) or runtime_stop (its parent). */
    (void)fiber_sleep(&worker->stop_ctx, UINT64_MAX);
}

uint64_t shutdown_worker_drain(struct shutdown_worker *worker,
                               struct http_server_worker *const *servers, size_t count)
{
    struct shutdown *shutdown = worker->shutdown;
    shutdown_begin(shutdown);
    if (shutdown->config.drain_delay_ms > 0) {
        /* Keep serving while load balancers notice /readyz; runtime_stop
         * (a failure elsewhere) cuts this short. */
        (void)fiber_sleep(NULL, shutdown->config.drain_delay_ms);
    }
    for (size_t i = 0; i < count; i++) {
        http_server_worker_shutdown(servers[i]);
    }
    struct ctx deadline;
    ctx_with_timeout(&deadline, ctx_background(), shutdown->config.deadline_ms);
    uint64_t cancelled = 0;
    for (size_t i = 0; i < count; i++) {
        if (http_server_worker_wait(servers[i], &deadline) < 0) {
            struct http_server_stats stats;
            http_server_worker_stats(servers[i], &stats);
            cancelled += stats.connections;
        }
    }
    ctx_release(&deadline);
    for (size_t i = 0; i < count; i++) {
        /* Nothing is left to wait for, or the deadline passed: cancel the
         * rest now and free the worker's server state. */
        http_server_worker_stop(servers[i], 0);
    }
    atomic_fetch_add_explicit(&shutdown->cancelled, cancelled, memory_order_relaxed);
    return cancelled;
}

static void shutdown_free_watcher(uv_handle_t *handle)
{
    free(handle);
}

void shutdown_worker_end(struct shutdown_worker *worker)
{
    for (size_t i = 0; i < worker->watcher_count; i++) {
        uv_close((uv_handle_t *)worker->watchers[i], shutdown_free_watcher);
        worker->watchers[i] = NULL;
    }
    worker->watcher_count = 0;
    ctx_release(&worker->stop_ctx);
    struct shutdown *shutdown = worker->shutdown;
    if (atomic_fetch_sub_explicit(&shutdown->workers_left, 1, memory_order_acq_rel) == 1) {
        /* Every server has drained: cancel the fibers that remain (background
         * jobs, monitors) so runtime_run() returns. */
        runtime_stop();
    }
}

uint64_t shutdown_cancelled(const struct shutdown *shutdown)
{
    return atomic_load_explicit(&shutdown->cancelled, memory_order_relaxed);
}

int shutdown_exit_status(const struct shutdown *shutdown)
{
    return shutdown_cancelled(shutdown) > 0 ? 1 : 0;
}
