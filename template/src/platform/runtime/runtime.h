/*
 * runtime.h: green threads (fibers) over libuv, one event loop per worker.
 *
 * Contract
 * - runtime_run() starts `worker_count` workers. Worker 0 runs on the calling
 *   thread, the others on their own threads. Each worker owns one uv_loop_t
 *   and a scheduler, and runs `worker_main(arg)` as its first fiber.
 * - A fiber runs only on the worker that spawned it; it never migrates. Every
 *   API below that parks a fiber must be called from a fiber.
 * - runtime_run() returns once every worker has no live fiber and no active
 *   libuv handle, or after runtime_stop() once every fiber has returned (handles
 *   still open then are closed for you); it returns 0 or a negative errno
 *   (-EBUSY when a runtime is already running in this process).
 * - A fiber parked with a NULL ctx waits on the worker's background context,
 *   so runtime_stop() wakes it too; only fiber_join() is not cancellable.
 * - Blocking calls return 0 (or a byte count) on success, -ETIMEDOUT when the
 *   context's deadline passed, -ECANCELED when it was cancelled, and another
 *   negative errno for an I/O error. They never hang past the deadline.
 */
#ifndef HEXSVC_PLATFORM_RUNTIME_RUNTIME_H
#define HEXSVC_PLATFORM_RUNTIME_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define RUNTIME_DEFAULT_STACK_SIZE ((size_t)64 * 1024)

struct runtime_config {
    unsigned worker_count;  /* 0: one per CPU in the affinity mask */
    size_t stack_size;      /* per fiber, rounded up to pages; 0: default */
    size_t fiber_pool_size; /* finished fibers kept per worker for reuse */
};

typedef void (*runtime_worker_fn)(void *arg);

int runtime_run(const struct runtime_config *config, runtime_worker_fn worker_main, void *arg);

/* Asks every worker to finish: cancels the root context of every worker, so
 * parked fibers wake with -ECANCELED. Safe from any thread and from a signal
 * watcher; idempotent. */
void runtime_stop(void);

unsigned runtime_worker_count(void);
/* Index of the calling worker, 0 .. runtime_worker_count() - 1. */
unsigned runtime_worker_index(void);
/* The calling worker's libuv loop, for platform code that owns raw handles. */
uv_loop_t *runtime_loop(void);
/* Milliseconds on the loop's monotonic clock (uv_now). */
uint64_t runtime_now_ms(void);

#endif
