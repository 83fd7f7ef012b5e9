/* Deadlines and cancellation reach parked fibers; children inherit both. */
#include <errno.h>
#include <stdlib.h>

#include "runtime_test.h"

#include "platform/runtime/channel.h"
#include "platform/runtime/ctx.h"
#include "platform/runtime/fiber.h"
#include "platform/runtime/tcp.h"

static void body_read_deadline(void *arg)
{
    (void)arg;
    struct tcp_listen_options options = {.host = "127.0.0.1", .port = 0, .backlog = 8};
    struct tcp_listener *listener = NULL;
    CHECK_EQ(tcp_listen(&options, &listener), 0);
    if (listener == NULL) {
        return;
    }
    struct ctx ctx;
    ctx_with_timeout(&ctx, ctx_background(), 5000);
    struct tcp_conn *client = NULL;
    struct tcp_conn *server = NULL;
    CHECK_EQ(tcp_connect(&ctx, "127.0.0.1", tcp_listener_port(listener), &client), 0);
    CHECK_EQ(tcp_accept(listener, &ctx, &server), 0);
    ctx_release(&ctx);
    if (client != NULL && server != NULL) {
        struct ctx short_ctx;
        ctx_with_timeout(&short_ctx, ctx_background(), 30);
        char buf[16];
        /* The peer writes nothing: the read parks until the deadline. */
        CHECK_EQ(tcp_read(server, &short_ctx, buf, sizeof(buf)), -ETIMEDOUT);
        CHECK_EQ(ctx_err(&short_ctx), -ETIMEDOUT);
        ctx_release(&short_ctx);
    }
    tcp_close(client);
    tcp_close(server);
    tcp_listener_close(listener);
}

static void test_deadline_expires_mid_read(void **state)
{
    (void)state;
    run_in_runtime(body_read_deadline, NULL);
}

struct cancel_case {
    struct ctx ctx;
    struct channel *channel;
    int result;
    int parked;
};

static void receive_until_cancelled(void *arg)
{
    struct cancel_case *cancel_case = arg;
    int value = 0;
    cancel_case->parked = 1;
    cancel_case->result = channel_recv(cancel_case->channel, &cancel_case->ctx, &value);
}

static void body_cancel_parked(void *arg)
{
    (void)arg;
    struct cancel_case cancel_case = {.result = 1};
    cancel_case.channel = channel_create(1, sizeof(int));
    /* A deadline far away bounds the test should cancellation not work. */
    ctx_with_timeout(&cancel_case.ctx, ctx_background(), 5000);
    struct fiber *receiver = fiber_spawn("receiver", receive_until_cancelled, &cancel_case);
    CHECK_EQ(fiber_sleep(NULL, 10), 0);
    CHECK_EQ(cancel_case.parked, 1);
    CHECK_EQ(fiber_state_of(receiver), FIBER_PARKED);
    ctx_cancel(&cancel_case.ctx);
    CHECK_EQ(fiber_join(receiver), 0);
    CHECK_EQ(cancel_case.result, -ECANCELED);
    CHECK_EQ(ctx_err(&cancel_case.ctx), -ECANCELED);
    ctx_release(&cancel_case.ctx);
    channel_destroy(cancel_case.channel);
}

static void test_cancel_wakes_a_parked_fiber(void **state)
{
    (void)state;
    run_in_runtime(body_cancel_parked, NULL);
}

struct child_case {
    struct ctx *parent;
    int result;
};

static void sleep_on_child(void *arg)
{
    struct child_case *child_case = arg;
    struct ctx child;
    ctx_with_cancel(&child, child_case->parent);
    child_case->result = fiber_sleep(&child, 5000);
    ctx_release(&child);
}

static void body_child_inherits_cancel(void *arg)
{
    (void)arg;
    struct ctx parent;
    ctx_with_timeout(&parent, ctx_background(), 10000);
    struct child_case child_case = {.parent = &parent, .result = 1};
    struct fiber *sleeper = fiber_spawn("child", sleep_on_child, &child_case);
    CHECK_EQ(fiber_sleep(NULL, 10), 0);
    ctx_cancel(&parent);
    CHECK_EQ(fiber_join(sleeper), 0);
    CHECK_EQ(child_case.result, -ECANCELED);
    ctx_release(&parent);
}

static void test_child_is_cancelled_with_its_parent(void **state)
{
    (void)state;
    run_in_runtime(body_child_inherits_cancel, NULL);
}

static void body_child_inherits_deadline(void *arg)
{
    (void)arg;
    struct ctx parent;
    ctx_with_timeout(&parent, ctx_background(), 20);
    struct ctx child;
    ctx_with_timeout(&child, &parent, 60000); /* the parent's earlier deadline wins */
    CHECK(ctx_remaining_ms(&child) <= 20);
    CHECK_EQ(fiber_sleep(&child, 10000), -ETIMEDOUT);
    CHECK_EQ(ctx_err(&child), -ETIMEDOUT);

    struct ctx late_child;
    ctx_with_cancel(&late_child, &parent); /* born after the parent ended */
    CHECK(ctx_done(&late_child));
    ctx_release(&late_child);
    ctx_release(&child);
    ctx_release(&parent);
}

static void test_child_inherits_the_earlier_deadline(void **state)
{
    (void)state;
    run_in_runtime(body_child_inherits_deadline, NULL);
}

static void body_cancel_does_not_touch_parent(void *arg)
{
    (void)arg;
    struct ctx parent;
    ctx_with_cancel(&parent, ctx_background());
    struct ctx child;
    ctx_with_cancel(&child, &parent);
    CHECK_EQ(ctx_remaining_ms(&child), (long long)CTX_NO_DEADLINE);
    ctx_cancel(&child);
    CHECK_EQ(ctx_err(&child), -ECANCELED);
    CHECK_EQ(ctx_err(&parent), 0);
    CHECK_EQ(ctx_err(ctx_background()), 0);
    ctx_release(&child);
    ctx_release(&parent);
    CHECK_EQ(ctx_err(&parent), -ECANCELED); /* release cancels */
}

static void test_cancelling_a_child_leaves_the_parent_live(void **state)
{
    (void)state;
    run_in_runtime(body_cancel_does_not_touch_parent, NULL);
}

/*
 * Ending a ctx walks its whole subtree: every live descendant ends with the
 * same error, and a subtree that already ended keeps its own error.
 *   root -- a -- a1
 *        |    `- a2 -- a2x
 *        |-- b (timed out) -- b1
 *        `-- c -- c1
 */
static void body_cancel_reaches_every_descendant(void *arg)
{
    (void)arg;
    struct ctx root, a, a1, a2, a2x, b, b1, c, c1;
    ctx_with_cancel(&root, ctx_background());
    ctx_with_cancel(&a, &root);
    ctx_with_cancel(&a1, &a);
    ctx_with_cancel(&a2, &a);
    ctx_with_cancel(&a2x, &a2);
    ctx_with_deadline(&b, &root, 0); /* already past: the first check expires it */
    ctx_with_cancel(&b1, &b);
    ctx_with_cancel(&c, &root);
    ctx_with_cancel(&c1, &c);
    CHECK_EQ(ctx_err(&b), -ETIMEDOUT);
    CHECK_EQ(ctx_err(&b1), -ETIMEDOUT);

    ctx_cancel(&root);
    struct ctx *cancelled[] = {&root, &a, &a1, &a2, &a2x, &c, &c1};
    for (size_t i = 0; i < sizeof(cancelled) / sizeof(cancelled[0]); i++) {
        CHECK_EQ(ctx_err(cancelled[i]), -ECANCELED);
    }
    CHECK_EQ(ctx_err(&b), -ETIMEDOUT);
    CHECK_EQ(ctx_err(&b1), -ETIMEDOUT);
    CHECK_EQ(ctx_err(ctx_background()), 0);

    struct ctx *leaves_first[] = {&c1, &c, &b1, &b, &a2x, &a2, &a1, &a, &root};
    for (size_t i = 0; i < sizeof(leaves_first) / sizeof(leaves_first[0]); i++) {
        ctx_release(leaves_first[i]);
    }
}

static void test_cancel_reaches_every_descendant(void **state)
{
    (void)state;
    run_in_runtime(body_cancel_reaches_every_descendant, NULL);
}

/*
 * A chain far deeper than a recursive walk could take on a fiber's 64 KiB
 * stack: ending it must not use stack in proportion to the depth.
 */
#define CTX_TEST_DEEP_CHAIN 100000

static void body_cancel_deep_chain(void *arg)
{
    (void)arg;
    struct ctx *chain = calloc(CTX_TEST_DEEP_CHAIN, sizeof(*chain));
    CHECK(chain != NULL);
    if (chain == NULL) {
        return;
    }
    ctx_with_cancel(&chain[0], ctx_background());
    for (size_t i = 1; i < CTX_TEST_DEEP_CHAIN; i++) {
        ctx_with_cancel(&chain[i], &chain[i - 1]);
    }
    ctx_cancel(&chain[0]);
    CHECK_EQ(ctx_err(&chain[CTX_TEST_DEEP_CHAIN - 1]), -ECANCELED);
    CHECK_EQ(ctx_err(&chain[CTX_TEST_DEEP_CHAIN / 2]), -ECANCELED);
    for (size_t i = CTX_TEST_DEEP_CHAIN; i > 0; i--) {
        ctx_release(&chain[i - 1]);
    }
    free(chain);
}

static void test_cancel_of_a_deep_chain_uses_bounded_stack(void **state)
{
    (void)state;
    run_in_runtime(body_cancel_deep_chain, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadline_expires_mid_read),
        cmocka_unit_test(test_cancel_wakes_a_parked_fiber),
        cmocka_unit_test(test_child_is_cancelled_with_its_parent),
        cmocka_unit_test(test_child_inherits_the_earlier_deadline),
        cmocka_unit_test(test_cancelling_a_child_leaves_the_parent_live),
        cmocka_unit_test(test_cancel_reaches_every_descendant),
        cmocka_unit_test(test_cancel_of_a_deep_chain_uses_bounded_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
