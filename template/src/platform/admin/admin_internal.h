/*
 * admin_internal.h: what the admin module's files share: the admin object,
 * the per-worker agents and the fiber snapshots they take.
 */
#ifndef HEXSVC_PLATFORM_ADMIN_ADMIN_INTERNAL_H
#define HEXSVC_PLATFORM_ADMIN_ADMIN_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "platform/admin/admin.h"
#include "platform/http/http_request.h"
#include "platform/http/http_response.h"
#include "platform/runtime/fiber.h"

struct metrics_family;
struct metrics_series;
struct pprof_symbols;

#define ADMIN_MAX_WORKERS 1024
#define ADMIN_STACK_DEPTH 48

/* One fiber as seen by its worker at the time of a dump. */
struct admin_fiber {
    unsigned worker;
    uint64_t id;
    const char *name;
    enum fiber_state state;
    uint64_t age_ms;
    unsigned depth;
    uintptr_t pcs[ADMIN_STACK_DEPTH];
};

/* A dump in progress: every worker appends its fibers to its own slot.
 * Reference-counted: a worker that answers after the requester gave up
 * still writes into live memory. */
struct admin_dump {
    atomic_int references;
    pthread_mutex_t lock;
    pthread_cond_t done;
    unsigned pending;
    unsigned worker_count;
    struct admin_fiber **fibers; /* per worker */
    size_t *counts;
};

struct admin_agent {
    struct admin *admin;
    unsigned index;
    uv_async_t async;
    struct admin_dump *dump; /* under admin->agents_lock */
    bool closed;             /* under admin->agents_lock */
};

struct admin {
    struct admin_config config;
    char token[ADMIN_TOKEN_MAX];
    size_t token_len;
    struct http_router *router;
    struct pprof_symbols *symbols;
    atomic_bool draining;
    atomic_bool profiling;
    atomic_bool dumping;
    struct metrics_series *fibers_alive;
    struct metrics_series *loop_lag;
    pthread_mutex_t agents_lock;
    struct admin_agent *agents[ADMIN_MAX_WORKERS];
};

/* admin.c: an unsigned query parameter: 0 and *out (default when absent),
 * or -EINVAL. */
int admin_query_uint(const struct http_request *request, const char *name, unsigned fallback,
                     unsigned *out);

/* admin_pprof.c */
int admin_pprof_register(struct admin *admin);

/* admin_fibers.c */
int admin_fibers_register(struct admin *admin);
/* Registers the calling worker's agent (answers dumps for other workers). */
int admin_agent_start(struct admin *admin);
/* Takes a snapshot of every worker's fibers (bounded wait). NULL on
 * failure; release with admin_dump_release(). */
struct admin_dump *admin_dump_take(struct admin *admin, struct ctx *ctx);
void admin_dump_release(struct admin_dump *dump);
const char *admin_fiber_state_name(enum fiber_state state);

#endif
