/*
 * fiber.h: cooperative fibers scheduled on the current worker.
 *
 * A fiber has an mmap'd stack with a guard page below it; overflowing it is
 * reported on stderr ("fiber <id> '<name>' overflowed its <N> KiB stack")
 * before the process dies of the SIGSEGV. A fiber gets its stack when it
 * first runs and gives it back to a per-worker pool when it finishes, so
 * spawning in steady state does not call mmap or malloc, and many spawned
 * fibers that have not run yet cost no stack.
 *
 * Wherever a `struct ctx *` parameter may be NULL, NULL means the worker's
 * background context: no deadline, cancelled only by runtime_stop().
 *
 * fiber_spawn() returns a joinable fiber: its owner must call fiber_join() or
 * fiber_detach() exactly once. fiber_go() spawns a detached fiber (Go's `go`).
 */
#ifndef HEXSVC_PLATFORM_RUNTIME_FIBER_H
#define HEXSVC_PLATFORM_RUNTIME_FIBER_H

#include <stdint.h>

struct ctx;
struct fiber;

typedef void (*fiber_fn)(void *arg);

enum fiber_state {
    FIBER_RUNNABLE,
    FIBER_RUNNING,
    FIBER_PARKED,
    FIBER_DONE,
};

/* NULL with errno ENOMEM when out of memory, EINVAL when not called on a
 * worker. `name` must outlive the fiber (a string literal, usually). */
struct fiber *fiber_spawn(const char *name, fiber_fn fn, void *arg);
/* 0, or -ENOMEM. */
int fiber_go(const char *name, fiber_fn fn, void *arg);
/* Parks until `fiber` has returned, then releases it. Not cancellable (the
 * joined fiber may use the joiner's stack). 0; -EINVAL when joining oneself,
 * a detached fiber or one already being joined; -ENOMEM when the fiber never
 * ran because no stack could be mapped for it. */
int fiber_join(struct fiber *fiber);
void fiber_detach(struct fiber *fiber);

/* Lets every other runnable fiber of this worker run once. */
void fiber_yield(void);
/* Parks for `milliseconds`; 0, or ctx's -ETIMEDOUT/-ECANCELED if it ends
 * first. `ctx` may be NULL (the background context: only runtime_stop()
 * cuts the sleep short). */
int fiber_sleep(struct ctx *ctx, uint64_t milliseconds);

struct fiber *fiber_current(void);
uint64_t fiber_id(const struct fiber *fiber);
const char *fiber_name(const struct fiber *fiber);
enum fiber_state fiber_state_of(const struct fiber *fiber);

/* Offloads blocking work (disk, getaddrinfo, SQLite) to libuv's thread pool
 * and parks the fiber until `work(arg)` has returned. The work itself cannot
 * be interrupted: if ctx ends while it runs, the fiber still waits for it
 * (arg usually lives on the fiber's stack) and then returns the ctx error.
 * Returns 0, -ECANCELED/-ETIMEDOUT if ctx ended, or a libuv error. */
int fiber_offload(struct ctx *ctx, void (*work)(void *arg), void *arg);

/* Visit every live fiber of the calling worker (for /debug/fibers). */
struct fiber_info {
    uint64_t id;
    const char *name;
    enum fiber_state state;
    uint64_t created_ms;
    const struct fiber *fiber; /* valid during the visit: for fiber_backtrace() */
};
typedef void (*fiber_visit_fn)(const struct fiber_info *info, void *arg);
void fiber_for_each(fiber_visit_fn visit, void *arg);

#endif
