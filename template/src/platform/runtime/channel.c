/*
 * channel.c: bounded FIFO channel between fibers of one worker.
 *
 * A ring buffer plus two lists of parked fibers. A send or receive that
 * changes the buffer wakes one fiber of the opposite side, which then retries;
 * a woken fiber that gives up (its ctx ended) passes the wake on, so no item
 * or free slot is ever left with a fiber parked waiting for it.
 */
#include "platform/runtime/channel.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "platform/runtime/runtime_internal.h"

struct channel {
    size_t capacity;
    size_t element_size;
    size_t head; /* index of the oldest element */
    size_t count;
    bool closed;
    struct ctx_waiter *senders;
    struct ctx_waiter *receivers;
    unsigned char elements[];
};

struct channel *channel_create(size_t capacity, size_t element_size)
{
    if (capacity == 0 || element_size == 0 ||
        capacity > (SIZE_MAX - sizeof(struct channel)) / element_size) {
        return NULL;
    }
    struct channel *channel = calloc(1, sizeof(*channel) + capacity * element_size);
    if (channel == NULL) {
        return NULL;
    }
    channel->capacity = capacity;
    channel->element_size = element_size;
    return channel;
}

void channel_destroy(struct channel *channel)
{
    free(channel);
}

int channel_try_send(struct channel *channel, const void *element)
{
    if (channel->closed) {
        return -EPIPE;
    }
    if (channel->count == channel->capacity) {
        return -EAGAIN;
    }
    size_t tail = (channel->head + channel->count) % channel->capacity;
    memcpy(channel->elements + tail * channel->element_size, element, channel->element_size);
    channel->count++;
    waiter_list_wake_one(&channel->receivers, 0);
    return 0;
}

int channel_try_recv(struct channel *channel, void *element)
{
    if (channel->count == 0) {
        return channel->closed ? -EPIPE : -EAGAIN;
    }
    memcpy(element, channel->elements + channel->head * channel->element_size,
           channel->element_size);
    channel->head = (channel->head + 1) % channel->capacity;
    channel->count--;
    waiter_list_wake_one(&channel->senders, 0);
    return 0;
}

/* Parks on `list` until woken; on failure forwards a wake it may have
 * consumed to the next waiter. */
static int channel_wait(struct ctx_waiter **list, struct ctx *ctx)
{
    struct fiber *self = fiber_current();
    if (self == NULL) {
        return -EPERM;
    }
    if (ctx == NULL) {
        ctx = ctx_background();
    }
    waiter_list_push(list, &self->wait_node);
    int rc = fiber_park(ctx, CTX_NO_DEADLINE);
    if (self->wait_node.linked) {
        waiter_list_remove(list, &self->wait_node);
    } else if (rc < 0) {
        waiter_list_wake_one(list, 0); /* we were chosen but are leaving */
    }
    return rc;
}

int channel_send(struct channel *channel, struct ctx *ctx, const void *element)
{
    for (;;) {
        int rc = channel_try_send(channel, element);
        if (rc != -EAGAIN) {
            return rc;
        }
        rc = channel_wait(&channel->senders, ctx);
        if (rc < 0) {
            return rc;
        }
    }
}

int channel_recv(struct channel *channel, struct ctx *ctx, void *element)
{
    for (;;) {
        int rc = channel_try_recv(channel, element);
        if (rc != -EAGAIN) {
            return rc;
        }
        rc = channel_wait(&channel->receivers, ctx);
        if (rc < 0) {
            return rc;
        }
    }
}

void channel_close(struct channel *channel)
{
    channel->closed = true;
    waiter_list_wake_all(&channel->senders, 0);
    waiter_list_wake_all(&channel->receivers, 0);
}

size_t channel_len(const struct channel *channel)
{
    return channel->count;
}
