/*
 * shutdown.h: graceful shutdown on SIGTERM/SIGINT, reload on SIGHUP.
 *
 * The sequence, on the first SIGTERM or SIGINT:
 *   1. draining: shutdown_is_draining() turns true at once (/readyz 503);
 *   2. drain delay: the servers keep serving for drain_delay_ms, so load
 *      balancers notice the failing readiness before the listeners go;
 *   3. every worker stops its servers: listeners close, idle keep-alive
 *      connections close, busy ones finish their request with
 *      `Connection: close`;
 *   4. after deadline_ms, requests still running are cancelled (their
 *      request->ctx and I/O fail with -ECANCELED) and counted;
 *   5. the last worker to finish calls runtime_stop(), which cancels every
 *      remaining fiber through its context; runtime_run() returns and
 *      main.c flushes, closes storage and exits with shutdown_exit_status().
 * A second SIGTERM or SIGINT exits at once (status 128 + signal). SIGHUP
 * calls the reload hook.
 *
 * Signals arrive through a signalfd, not an asynchronous handler: main()
 * blocks SIGTERM, SIGINT and SIGHUP in every thread with
 * shutdown_block_signals() before it starts any, and worker 0 reads them
 * from the signalfd on its loop. A signal is then an ordinary readable fd:
 * nothing runs in signal context, a signal sent during start-up waits in
 * the queue instead of being lost, and sanitizers that defer asynchronous
 * handlers (TSan) see the same behaviour as production.
 *
 * Worker 0 marks the process draining and wakes every worker through that
 * worker's uv_async handle, registered in `struct shutdown` under a mutex.
 * A worker that registers after the signal stops at once.
 *
 * One `struct shutdown` per process, created by main.c before runtime_run;
 * one `struct shutdown_worker` per worker, on that worker's fiber stack.
 */
#ifndef HEXSVC_PLATFORM_SHUTDOWN_SHUTDOWN_H
#define HEXSVC_PLATFORM_SHUTDOWN_SHUTDOWN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "platform/runtime/ctx.h"

struct http_server_worker;

/* Upper bound of workers (the config module refuses more). */
#define SHUTDOWN_MAX_WORKERS 1024

#define SHUTDOWN_DEFAULT_DRAIN_DELAY_MS 5000
#define SHUTDOWN_DEFAULT_DEADLINE_MS 30000

struct shutdown_config {
    uint64_t drain_delay_ms;        /* readiness 503 before listeners close */
    uint64_t deadline_ms;           /* for in-flight requests after that */
    const char *program;            /* for log lines */
    void (*on_reload)(void *arg);   /* SIGHUP; may be NULL; on worker 0 */
    void *reload_arg;
};

struct shutdown {
    struct shutdown_config config;
    unsigned workers;               /* set by shutdown_init */
    atomic_bool draining;
    atomic_uint signals;            /* stop signals seen */
    atomic_uint workers_left;       /* still draining */
    atomic_uint_fast64_t cancelled; /* requests the deadline cut short */
    atomic_uint_fast64_t reloads;
    pthread_mutex_t wake_lock;      /* guards wake[] against the signal path */
    uv_async_t *wake[SHUTDOWN_MAX_WORKERS]; /* by worker index; NULL when absent */
};

struct shutdown_worker {
    struct shutdown *shutdown;
    struct ctx stop_ctx;            /* cancelled by a stop signal or runtime_stop */
    uv_poll_t *signals;             /* worker 0 only: the signalfd's watcher */
    int signal_fd;                  /* worker 0 only; -1 elsewhere */
    uv_async_t *wake;               /* the primary's signal handler wakes us */
    unsigned index;                 /* runtime_worker_index() */
    bool primary;                   /* worker 0: watches and counts signals */
};

void shutdown_init(struct shutdown *shutdown, const struct shutdown_config *config,
                   unsigned workers);

/* Blocks SIGTERM, SIGINT and SIGHUP in the calling thread, and so in every
 * thread it creates afterwards: call it first in main(). 0 or -errno. */
int shutdown_block_signals(void);

/* Readiness: true from the first stop signal on. Safe from any thread. */
bool shutdown_is_draining(const struct shutdown *shutdown);

/* Starts draining without a signal (tests, admin endpoints). Any thread;
 * the workers still wake only on a signal or runtime_stop(). */
void shutdown_begin(struct shutdown *shutdown);

/* From a worker's first fiber: registers the worker for the stop wake-up;
 * worker 0 also opens the signalfd. 0, or a negative errno / libuv error
 * (then call shutdown_worker_end and stop). */
int shutdown_worker_begin(struct shutdown_worker *worker, struct shutdown *shutdown);

/* Parks until a stop signal or runtime_stop(). */
void shutdown_worker_wait(struct shutdown_worker *worker);

/* Steps 2-4 for this worker's servers (which it frees): returns how many
 * requests the deadline cancelled. */
uint64_t shutdown_worker_drain(struct shutdown_worker *worker,
                               struct http_server_worker *const *servers, size_t count);

/* Closes the wake-up handle (and worker 0's signalfd); the last worker to
 * call it runs runtime_stop(). */
void shutdown_worker_end(struct shutdown_worker *worker);

/* After runtime_run(): requests cancelled by the deadline (all workers). */
uint64_t shutdown_cancelled(const struct shutdown *shutdown);
/* 0, or 1 when the deadline forced cancellations. */
int shutdown_exit_status(const struct shutdown *shutdown);

#endif
