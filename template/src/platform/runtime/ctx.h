/*
 * ctx.h: deadlines and cancellation, carried through every blocking call
 * (Go's context.Context).
 *
 * A ctx lives in storage the caller provides, usually on the fiber's stack,
 * so creating one never allocates. A child inherits its parent's deadline
 * (the earlier one wins) and is cancelled when the parent is. A child must be
 * released with ctx_release() before its parent goes out of scope.
 *
 * Cancelling wakes every fiber parked on that ctx or a descendant; the
 * parked call returns -ECANCELED (or -ETIMEDOUT when the deadline passed).
 * All of a ctx's family must belong to one worker, except ctx_cancel() of a
 * worker's root context, which runtime_stop() performs through the loop.
 */
#ifndef HEXSVC_PLATFORM_RUNTIME_CTX_H
#define HEXSVC_PLATFORM_RUNTIME_CTX_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

struct ctx_waiter;

#define CTX_NO_DEADLINE UINT64_MAX

struct ctx {
    struct ctx *parent;
    struct ctx *first_child;
    struct ctx *next_sibling;
    struct ctx *prev_sibling;
    struct ctx_waiter *waiters; /* fibers parked on this ctx */
    uint64_t deadline_ms;       /* on runtime_now_ms()'s clock */
    int error;                  /* 0 while live, then -ECANCELED or -ETIMEDOUT */
    uv_timer_t *timer;          /* unused, reserved: each parked fiber arms its own timer */
};

/* The worker's root context: cancelled by runtime_stop(). NULL outside a
 * worker. Blocking calls given a NULL ctx use it. */
struct ctx *ctx_background(void);

void ctx_with_cancel(struct ctx *child, struct ctx *parent);
/* Deadline as an absolute runtime_now_ms() time; the parent's wins if earlier. */
void ctx_with_deadline(struct ctx *child, struct ctx *parent, uint64_t deadline_ms);
void ctx_with_timeout(struct ctx *child, struct ctx *parent, uint64_t timeout_ms);

void ctx_cancel(struct ctx *ctx);
/* Detaches from the parent; cancels first if still live. */
void ctx_release(struct ctx *ctx);

/* 0 while live, else -ECANCELED or -ETIMEDOUT (checks the deadline too). */
int ctx_err(struct ctx *ctx);
bool ctx_done(struct ctx *ctx);
/* Milliseconds left before the deadline, CTX_NO_DEADLINE when there is none. */
uint64_t ctx_remaining_ms(struct ctx *ctx);

#endif
