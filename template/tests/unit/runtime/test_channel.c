/* Bounded channel: FIFO order, blocking at capacity, close semantics. */
#include <errno.h>

#include "runtime_test.h"

#include "platform/runtime/channel.h"
#include "platform/runtime/ctx.h"
#include "platform/runtime/fiber.h"

static void body_fifo(void *arg)
{
    (void)arg;
    struct channel *channel = channel_create(4, sizeof(int));
    CHECK(channel != NULL);
    for (int i = 1; i <= 4; i++) {
        CHECK_EQ(channel_send(channel, NULL, &i), 0);
    }
    CHECK_EQ(channel_len(channel), 4);
    int extra = 5;
    CHECK_EQ(channel_try_send(channel, &extra), -EAGAIN);
    for (int i = 1; i <= 4; i++) {
        int value = 0;
        CHECK_EQ(channel_recv(channel, NULL, &value), 0);
        CHECK_EQ(value, i);
    }
    int value = 0;
    CHECK_EQ(channel_try_recv(channel, &value), -EAGAIN);
    channel_destroy(channel);
}

static void test_elements_come_out_in_order(void **state)
{
    (void)state;
    run_in_runtime(body_fifo, NULL);
}

struct producer {
    struct channel *channel;
    int sent;
    int result;
};

static void produce_five(void *arg)
{
    struct producer *producer = arg;
    struct ctx ctx;
    ctx_with_timeout(&ctx, ctx_background(), 5000);
    for (int i = 0; i < 5; i++) {
        producer->result = channel_send(producer->channel, &ctx, &i);
        if (producer->result != 0) {
            break;
        }
        producer->sent++;
    }
    ctx_release(&ctx);
}

static void body_capacity_blocks(void *arg)
{
    (void)arg;
    struct producer producer = {.channel = channel_create(2, sizeof(int))};
    struct fiber *fiber = fiber_spawn("producer", produce_five, &producer);
    CHECK_EQ(fiber_sleep(NULL, 10), 0);
    /* Two fit; the third send parks. */
    CHECK_EQ(producer.sent, 2);
    CHECK_EQ(fiber_state_of(fiber), FIBER_PARKED);
    struct ctx ctx;
    ctx_with_timeout(&ctx, ctx_background(), 5000);
    for (int i = 0; i < 5; i++) {
        int value = -1;
        CHECK_EQ(channel_recv(producer.channel, &ctx, &value), 0);
        CHECK_EQ(value, i);
    }
    ctx_release(&ctx);
    CHECK_EQ(fiber_join(fiber), 0);
    CHECK_EQ(producer.sent, 5);
    CHECK_EQ(producer.result, 0);
    channel_destroy(producer.channel);
}

static void test_send_parks_while_full(void **state)
{
    (void)state;
    run_in_runtime(body_capacity_blocks, NULL);
}

static void body_close_drains_then_epipe(void *arg)
{
    (void)arg;
    struct channel *channel = channel_create(3, sizeof(int));
    int one = 1;
    int two = 2;
    CHECK_EQ(channel_send(channel, NULL, &one), 0);
    CHECK_EQ(channel_send(channel, NULL, &two), 0);
    channel_close(channel);
    CHECK_EQ(channel_send(channel, NULL, &one), -EPIPE);
    CHECK_EQ(channel_try_send(channel, &one), -EPIPE);
    int value = 0;
    CHECK_EQ(channel_recv(channel, NULL, &value), 0);
    CHECK_EQ(value, 1);
    CHECK_EQ(channel_recv(channel, NULL, &value), 0);
    CHECK_EQ(value, 2);
    CHECK_EQ(channel_recv(channel, NULL, &value), -EPIPE);
    CHECK_EQ(channel_try_recv(channel, &value), -EPIPE);
    channel_destroy(channel);
}

static void test_close_drains_buffered_items_then_reports_epipe(void **state)
{
    (void)state;
    run_in_runtime(body_close_drains_then_epipe, NULL);
}

struct receiver {
    struct channel *channel;
    int result;
};

static void receive_once(void *arg)
{
    struct receiver *receiver = arg;
    struct ctx ctx;
    ctx_with_timeout(&ctx, ctx_background(), 5000);
    int value = 0;
    receiver->result = channel_recv(receiver->channel, &ctx, &value);
    ctx_release(&ctx);
}

static void body_close_wakes_receivers(void *arg)
{
    (void)arg;
    struct channel *channel = channel_create(1, sizeof(int));
    struct receiver receivers[3];
    struct fiber *fibers[3];
    for (int i = 0; i < 3; i++) {
        receivers[i] = (struct receiver){.channel = channel, .result = 1};
        fibers[i] = fiber_spawn("receiver", receive_once, &receivers[i]);
    }
    fiber_yield(); /* all three park */
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(fiber_state_of(fibers[i]), FIBER_PARKED);
    }
    channel_close(channel);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(fiber_join(fibers[i]), 0);
        CHECK_EQ(receivers[i].result, -EPIPE);
    }
    channel_destroy(channel);
}

static void test_close_wakes_parked_receivers(void **state)
{
    (void)state;
    run_in_runtime(body_close_wakes_receivers, NULL);
}

static void body_two_sends_wake_two_receivers(void *arg)
{
    (void)arg;
    struct channel *channel = channel_create(2, sizeof(int));
    struct receiver receivers[2];
    struct fiber *fibers[2];
    for (int i = 0; i < 2; i++) {
        receivers[i] = (struct receiver){.channel = channel, .result = 1};
        fibers[i] = fiber_spawn("receiver", receive_once, &receivers[i]);
    }
    fiber_yield();
    int value = 7;
    /* Back to back, before either receiver runs: each must get one. */
    CHECK_EQ(channel_try_send(channel, &value), 0);
    CHECK_EQ(channel_try_send(channel, &value), 0);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(fiber_join(fibers[i]), 0);
        CHECK_EQ(receivers[i].result, 0);
    }
    CHECK_EQ(channel_len(channel), 0);
    channel_destroy(channel);
}

static void test_each_send_wakes_a_different_receiver(void **state)
{
    (void)state;
    run_in_runtime(body_two_sends_wake_two_receivers, NULL);
}

static void test_create_rejects_zero_capacity(void **state)
{
    (void)state;
    assert_null(channel_create(0, sizeof(int)));
    assert_null(channel_create(1, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elements_come_out_in_order),
        cmocka_unit_test(test_send_parks_while_full),
        cmocka_unit_test(test_close_drains_buffered_items_then_reports_epipe),
        cmocka_unit_test(test_close_wakes_parked_receivers),
        cmocka_unit_test(test_each_send_wakes_a_different_receiver),
        cmocka_unit_test(test_create_rejects_zero_capacity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
