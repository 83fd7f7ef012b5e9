/*
 * shutdown.c: signals, the drain sequence, and the exit status.
 */
#include "platform/shutdown/shutdown.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/signalfd.h>
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
    pthread_mutex_init(&shutdown->wake_lock, NULL);
    for (size_t i = 0; i < SHUTDOWN_MAX_WORKERS; i++) {
        shutdown->wake[i] = NULL;
    }
}

static void shutdown_signal_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
}

int shutdown_block_signals(void)
{
    sigset_t set;
    shutdown_signal_set(&set);
    int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
    return rc == 0 ? 0 : -rc;
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

/* Marks the process draining and wakes every registered worker. Under the
 * lock, so a worker registering at the same time either is woken here or
 * sees `draining` when it registers. */
static void shutdown_wake_all(struct shutdown *shutdown)
{
    pthread_mutex_lock(&shutdown->wake_lock);
    shutdown_begin(shutdown);
    for (size_t i = 0; i < SHUTDOWN_MAX_WORKERS; i++) {
        if (shutdown->wake[i] != NULL) {
            uv_async_send(shutdown->wake[i]);
        }
    }
    pthread_mutex_unlock(&shutdown->wake_lock);
}

static void shutdown_on_wake(uv_async_t *handle)
{
    struct shutdown_worker *worker = handle->data;
    ctx_cancel(&worker->stop_ctx);
}

static void shutdown_on_signal(struct shutdown *shutdown, int signum)
{
    if (signum == SIGHUP) {
        fprintf(stderr, "%s: SIGHUP received, reloading\n", shutdown->config.program);
        atomic_fetch_add_explicit(&shutdown->reloads, 1, memory_order_relaxed);
        if (shutdown->config.on_reload != NULL) {
            shutdown->config.on_reload(shutdown->config.reload_arg);
        }
        return;
    }
    unsigned seen = atomic_fetch_add_explicit(&shutdown->signals, 1, memory_order_acq_rel);
    if (seen >= 1) {
        /* The operator insists: no more waiting for anyone. */
        fprintf(stderr, "%s: second %s, exiting at once\n", shutdown->config.program,
                shutdown_signal_name(signum));
        _exit(128 + signum);
    }
    fprintf(stderr,
            "%s: %s received, draining: not ready now, listeners close in %llu ms, "
            "in-flight requests get %llu ms more\n",
            shutdown->config.program, shutdown_signal_name(signum),
            (unsigned long long)shutdown->config.drain_delay_ms,
            (unsigned long long)shutdown->config.deadline_ms);
    shutdown_wake_all(shutdown);
}

/* The signalfd is readable: handle every queued signal in order. */
static void shutdown_on_signal_fd(uv_poll_t *handle, int status, int events)
{
    struct shutdown_worker *worker = handle->data;
    struct signalfd_siginfo info;
    (void)status;
    (void)events;
    for (;;) {
        ssize_t got = read(worker->signal_fd, &info, sizeof(info));
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got != (ssize_t)sizeof(info)) {
            return; /* EAGAIN: drained */
        }
        shutdown_on_signal(worker->shutdown, (int)info.ssi_signo);
    }
}

static void shutdown_free_handle(uv_handle_t *handle)
{
    free(handle);
}

/* Registers this worker's wake-up handle; if a stop signal came first, the
 * worker stops at once. */
static int shutdown_worker_register(struct shutdown_worker *worker)
{
    struct shutdown *shutdown = worker->shutdown;
    if (worker->index >= SHUTDOWN_MAX_WORKERS) {
        return UV_EINVAL;
    }
    /* On the heap: uv_close finishes after this worker's fiber (and the
     * stack holding `worker`) may be gone. */
    uv_async_t *wake = malloc(sizeof(*wake));
    if (wake == NULL) {
        return UV_ENOMEM;
    }
    int rc = uv_async_init(runtime_loop(), wake, shutdown_on_wake);
    if (rc != 0) {
        free(wake);
        return rc;
    }
    wake->data = worker;
    /* The wake-up must not keep the loop alive by itself. */
    uv_unref((uv_handle_t *)wake);
    worker->wake = wake;
    pthread_mutex_lock(&shutdown->wake_lock);
    shutdown->wake[worker->index] = wake;
    bool already = atomic_load_explicit(&shutdown->signals, memory_order_acquire) > 0;
    pthread_mutex_unlock(&shutdown->wake_lock);
    if (already) {
        ctx_cancel(&worker->stop_ctx);
    }
    return 0;
}

static void shutdown_worker_unregister(struct shutdown_worker *worker)
{
    struct shutdown *shutdown = worker->shutdown;
    if (worker->wake == NULL) {
        return;
    }
    pthread_mutex_lock(&shutdown->wake_lock);
    shutdown->wake[worker->index] = NULL;
    pthread_mutex_unlock(&shutdown->wake_lock);
    uv_close((uv_handle_t *)worker->wake, shutdown_free_handle);
    worker->wake = NULL;
}

/* Worker 0: read the blocked stop signals from a signalfd on this loop. */
static int shutdown_watch_signals(struct shutdown_worker *worker)
{
    sigset_t set;
    shutdown_signal_set(&set);
    worker->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (worker->signal_fd < 0) {
        return -errno;
    }
    worker->signals = malloc(sizeof(*worker->signals));
    if (worker->signals == NULL) {
        return UV_ENOMEM;
    }
    int rc = uv_poll_init(runtime_loop(), worker->signals, worker->signal_fd);
    if (rc != 0) {
        free(worker->signals);
        worker->signals = NULL;
        return rc;
    }
    worker->signals->data = worker;
    return uv_poll_start(worker->signals, UV_READABLE, shutdown_on_signal_fd);
}

int shutdown_worker_begin(struct shutdown_worker *worker, struct shutdown *shutdown)
{
    worker->shutdown = shutdown;
    worker->index = runtime_worker_index();
    worker->primary = worker->index == 0;
    worker->signals = NULL;
    worker->signal_fd = -1;
    worker->wake = NULL;
    ctx_with_cancel(&worker->stop_ctx, ctx_background());
    int rc = shutdown_worker_register(worker);
    if (rc == 0 && worker->primary) {
        rc = shutdown_watch_signals(worker);
    }
    return rc;
}

void shutdown_worker_wait(struct shutdown_worker *worker)
{
    /* Returns on a stop signal (stop_ctx, cancelled by the wake-up or at
     * registration) or runtime_stop (its parent). */
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

void shutdown_worker_end(struct shutdown_worker *worker)
{
    if (worker->signals != NULL) {
        uv_close((uv_handle_t *)worker->signals, shutdown_free_handle);
        worker->signals = NULL;
    }
    if (worker->signal_fd >= 0) {
        /* uv_close has already taken the fd out of epoll. */
        close(worker->signal_fd);
        worker->signal_fd = -1;
    }
    shutdown_worker_unregister(worker);
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
