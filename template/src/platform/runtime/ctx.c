/*
 * ctx.c: deadlines and cancellation.
 *
 * A ctx ends once: its error goes from 0 to -ECANCELED or -ETIMEDOUT and
 * never changes again. Ending wakes the fibers parked on it and ends every
 * descendant with the same error. Deadlines are checked lazily by ctx_err()
 * and actively by the timer of each fiber parked with a deadline (fiber.c),
 * so an idle ctx costs no timer at all.
 */
#include "platform/runtime/ctx.h"

#include <errno.h>
#include <string.h>

#include "platform/runtime/runtime_internal.h"

static void ctx_end_one(struct ctx *ctx, int error)
{
    ctx->error = error;
    waiter_list_wake_all(&ctx->waiters, error);
}

/* The first of ctx and its later siblings that has not ended, or NULL. */
static struct ctx *ctx_first_live(struct ctx *ctx)
{
    while (ctx != NULL && ctx->error != 0) {
        ctx = ctx->next_sibling;
    }
    return ctx;
}

/*
 * Ends root and its live descendants in pre-order. Iterative, because a
 * tree's depth is the application's to choose and a fiber's stack is small:
 * the walk follows the parent links instead of recursing. A descendant that
 * has already ended has ended its own subtree, so the walk skips it; every
 * node it visits it ends first, which is also what marks it visited.
 */
static void ctx_end(struct ctx *root, int error)
{
    if (root->error != 0) {
        return;
    }
    ctx_end_one(root, error);
    struct ctx *node = root;
    for (;;) {
        struct ctx *next = ctx_first_live(node->first_child);
        while (next == NULL) {
            if (node == root) {
                return;
            }
            next = ctx_first_live(node->next_sibling);
            node = node->parent;
        }
        ctx_end_one(next, error);
        node = next;
    }
}

static void ctx_link(struct ctx *child, struct ctx *parent, uint64_t deadline_ms)
{
    memset(child, 0, sizeof(*child));
    child->deadline_ms = deadline_ms;
    if (parent == NULL) {
        return;
    }
    child->parent = parent;
    if (parent->deadline_ms < child->deadline_ms) {
        child->deadline_ms = parent->deadline_ms;
    }
    child->error = parent->error;
    child->next_sibling = parent->first_child;
    if (parent->first_child != NULL) {
        parent->first_child->prev_sibling = child;
    }
    parent->first_child = child;
}

void ctx_init_root(struct ctx *root)
{
    ctx_link(root, NULL, CTX_NO_DEADLINE);
}

struct ctx *ctx_background(void)
{
    struct worker *worker = worker_current();
    return worker != NULL ? &worker->root : NULL;
}

void ctx_with_cancel(struct ctx *child, struct ctx *parent)
{
    ctx_link(child, parent, CTX_NO_DEADLINE);
}

void ctx_with_deadline(struct ctx *child, struct ctx *parent, uint64_t deadline_ms)
{
    ctx_link(child, parent, deadline_ms);
}

void ctx_with_timeout(struct ctx *child, struct ctx *parent, uint64_t timeout_ms)
{
    uint64_t now = runtime_now_ms();
    uint64_t deadline =
        timeout_ms >= CTX_NO_DEADLINE - now ? CTX_NO_DEADLINE - 1 : now + timeout_ms;
    ctx_link(child, parent, deadline);
}

void ctx_cancel(struct ctx *ctx)
{
    if (ctx != NULL) {
        ctx_end(ctx, -ECANCELED);
    }
}

void ctx_expire(struct ctx *ctx)
{
    ctx_end(ctx, -ETIMEDOUT);
}

void ctx_release(struct ctx *ctx)
{
    if (ctx == NULL) {
        return;
    }
    ctx_end(ctx, -ECANCELED);
    if (ctx->parent != NULL) {
        if (ctx->prev_sibling != NULL) {
            ctx->prev_sibling->next_sibling = ctx->next_sibling;
        } else {
            ctx->parent->first_child = ctx->next_sibling;
        }
        if (ctx->next_sibling != NULL) {
            ctx->next_sibling->prev_sibling = ctx->prev_sibling;
        }
    }
    /* Children should have been released first; if not, orphan them so that
     * their later release does not touch this (soon dead) ctx. */
    for (struct ctx *child = ctx->first_child; child != NULL;) {
        struct ctx *next = child->next_sibling;
        child->parent = NULL;
        child->prev_sibling = NULL;
        child->next_sibling = NULL;
        child = next;
    }
    ctx->parent = NULL;
    ctx->first_child = NULL;
    ctx->next_sibling = NULL;
    ctx->prev_sibling = NULL;
}

int ctx_err(struct ctx *ctx)
{
    if (ctx == NULL) {
        return 0;
    }
    if (ctx->error == 0 && ctx->deadline_ms != CTX_NO_DEADLINE &&
        runtime_cached_now_ms() >= ctx->deadline_ms) {
        ctx_expire(ctx);
    }
    return ctx->error;
}

bool ctx_done(struct ctx *ctx)
{
    return ctx_err(ctx) != 0;
}

uint64_t ctx_remaining_ms(struct ctx *ctx)
{
    if (ctx == NULL || ctx->deadline_ms == CTX_NO_DEADLINE) {
        return CTX_NO_DEADLINE;
    }
    uint64_t now = runtime_now_ms();
    return ctx->deadline_ms > now ? ctx->deadline_ms - now : 0;
}

void ctx_add_waiter(struct ctx *ctx, struct ctx_waiter *waiter)
{
    waiter_list_push(&ctx->waiters, waiter);
}

void ctx_remove_waiter(struct ctx *ctx, struct ctx_waiter *waiter)
{
    waiter_list_remove(&ctx->waiters, waiter);
}
