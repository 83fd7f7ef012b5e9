/*
 * runtime_internal.h: what the runtime's files share and nobody else sees.
 *
 * Everything here belongs to one worker thread and is touched only by it,
 * except the fields of struct worker marked "cross-thread", which
 * runtime_stop() reaches under the runtime's mutex.
 */
#ifndef HEXSVC_PLATFORM_RUNTIME_RUNTIME_INTERNAL_H
#define HEXSVC_PLATFORM_RUNTIME_RUNTIME_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "platform/runtime/context.h"
#include "platform/runtime/ctx.h"
#include "platform/runtime/fiber.h"
#include "platform/runtime/runtime.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEXSVC_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define HEXSVC_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(HEXSVC_ASAN)
#define HEXSVC_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(HEXSVC_TSAN)
#define HEXSVC_TSAN 1
#endif

/* A node on an intrusive list of parked fibers (a ctx's, a channel's, a
 * wait group's). Lives inside struct fiber, so parking never allocates. */
struct ctx_waiter {
    struct fiber *fiber;
    struct ctx_waiter *next;
    struct ctx_waiter *prev;
    bool linked;
};

/* FIFO order: push at the tail, pop from the head. */
void waiter_list_push(struct ctx_waiter **head, struct ctx_waiter *waiter);
void waiter_list_remove(struct ctx_waiter **head, struct ctx_waiter *waiter);
/* Unlinks the first waiter and wakes its fiber with `result`; false if empty. */
bool waiter_list_wake_one(struct ctx_waiter **head, int result);
void waiter_list_wake_all(struct ctx_waiter **head, int result);

/* A guarded, mmap'd fiber stack; the struct itself sits at the top of its
 * own mapping. */
struct fiber_stack {
    void *mapping;          /* start of the mapping: the guard page */
    size_t mapping_size;
    void *low;              /* lowest usable byte, just above the guard page */
    size_t size;            /* usable bytes below this struct */
    unsigned valgrind_id;
    struct fiber_stack *next_free;
};

struct fiber {
    struct fiber_context context;
    struct worker *worker;
    uint64_t id;
    const char *name;
    fiber_fn fn;
    void *arg;
    enum fiber_state state;
    bool detached;
    bool timer_ready;       /* `timer` was uv_timer_init'ed (lazily) */
    int start_error;        /* -ENOMEM when no stack could be had */
    int wake_result;
    uint64_t created_ms;
    struct fiber_stack *stack; /* only while running or parked */
    struct fiber *run_next;
    struct fiber *live_next;
    struct fiber *live_prev;
    struct fiber *joiner;
    struct ctx *park_ctx;
    uint64_t park_wake_at_ms;
    struct ctx_waiter ctx_node;  /* on park_ctx->waiters */
    struct ctx_waiter wait_node; /* on a channel's or wait group's list */
    void *asan_fake_stack;
    void *tsan_fiber;
    struct fiber *next_free;
    /* Last: a pooled fiber is cleared up to here, and the timer handle,
     * initialised and stopped, is kept as it is (fiber_allocate). */
    uv_timer_t timer;            /* deadline and sleep timer */
};

struct tcp_conn;
struct tcp_listener;

/* An fd's entry in its worker's edge-triggered set (edge_poll.c): `fired`
 * gets the owner and the epoll events (EPOLLIN, EPOLLOUT, EPOLLRDHUP,
 * EPOLLERR, EPOLLHUP) of each edge. */
struct edge_watch {
    void (*fired)(void *owner, uint32_t events);
    void *owner;
};

struct edge_poll {
    int epoll_fd;
    bool open;
    size_t registered; /* fds in the set; the handle is referenced while > 0 */
    uv_poll_t handle;  /* watches epoll_fd on the worker's loop */
};

struct worker {
    uv_loop_t loop;
    unsigned index;
    unsigned worker_count;
    struct fiber *current;
    struct fiber_context scheduler_context;
    struct fiber *run_head;
    struct fiber *run_tail;
    size_t run_count;
    struct fiber *live_head;
    size_t live_count;
    struct fiber *free_fibers;
    size_t free_fiber_count;
    struct fiber_stack *free_stacks;
    size_t free_stack_count;
    size_t stack_size;
    size_t pool_limit;
    struct ctx root;
    bool stopping;
    /* Inside uv_run(): a fiber made runnable by a libuv callback must stop
     * the loop from blocking (see fiber_enqueue). */
    bool in_loop;
    bool tearing_down; /* pools only shrink from here on */
    /* tcp.c's per-worker state */
    struct tcp_conn *free_conns;
    size_t free_conn_count;
    struct tcp_conn *open_conns;
    struct tcp_conn *idle_conns;
    struct tcp_listener *listeners;
    struct edge_poll edge_poll;
    /* the thread's own stack, learnt from ASan on the first switch back */
    const void *asan_scheduler_stack;
    size_t asan_scheduler_stack_size;
    void *tsan_scheduler_fiber;
    void *signal_stack;
    stack_t previous_signal_stack;
    runtime_worker_fn main_fn;
    void *main_arg;
    int result;
    uv_thread_t thread;
    /* cross-thread, under the runtime mutex */
    uv_async_t stop_async;
    bool stop_async_ready;
};

/* The calling thread's worker, NULL outside runtime_run(). */
struct worker *worker_current(void);
/* uv_now() without updating the loop clock: cheap, for hot checks. */
uint64_t runtime_cached_now_ms(void);

/*
 * Parks the calling fiber until fiber_wake(), until `ctx` ends (NULL: not
 * cancellable), or, when wake_at_ms is not CTX_NO_DEADLINE, until that time.
 * Returns the fiber_wake() result, 0 when wake_at_ms passed, or the ctx error
 * (at once, without parking, if ctx has already ended). The caller removes
 * itself from whatever list it joined before parking.
 */
int fiber_park(struct ctx *ctx, uint64_t wake_at_ms);
/* Makes a parked fiber runnable; ignored (false) unless it is parked. */
bool fiber_wake(struct fiber *fiber, int result);

/* Scheduler side of fiber.c, used by runtime.c. */
void fiber_run_ready(struct worker *worker);
void fiber_worker_teardown(struct worker *worker);

/* ctx.c */
void ctx_init_root(struct ctx *root);
void ctx_add_waiter(struct ctx *ctx, struct ctx_waiter *waiter);
void ctx_remove_waiter(struct ctx *ctx, struct ctx_waiter *waiter);
void ctx_expire(struct ctx *ctx);

/* stack.c */
struct fiber_stack *stack_acquire(struct worker *worker);
void stack_release(struct worker *worker, struct fiber_stack *stack);
void stack_pool_drain(struct worker *worker);
size_t stack_round_size(size_t requested);
/* Process-wide SIGSEGV handler, installed once; per-thread alternate stack. */
int stack_overflow_handler_install(void);
int stack_signal_stack_enable(struct worker *worker);
void stack_signal_stack_disable(struct worker *worker);

/* edge_poll.c: the worker's edge-triggered set, opened on the first add.
 * add registers fd for input and output edges once (-errno on failure);
 * remove must come before the fd is closed; teardown closes the set. */
int edge_poll_add(struct worker *worker, int fd, struct edge_watch *watch);
void edge_poll_remove(struct worker *worker, int fd);
void edge_poll_teardown(struct worker *worker);

/* tcp.c */
void tcp_worker_stop(struct worker *worker);
void tcp_worker_teardown(struct worker *worker);

#endif
