/*
 * channel.h: a bounded channel of fixed-size elements between fibers of one
 * worker (Go's buffered `chan T`).
 *
 * send parks while the channel is full, recv while it is empty. After
 * channel_close(): send returns -EPIPE at once; recv drains what is buffered,
 * then returns -EPIPE. Parked senders and receivers are woken by close.
 */
#ifndef HEXSVC_PLATFORM_RUNTIME_CHANNEL_H
#define HEXSVC_PLATFORM_RUNTIME_CHANNEL_H

#include <stddef.h>

struct ctx;
struct channel;

/* NULL on ENOMEM. capacity >= 1. */
struct channel *channel_create(size_t capacity, size_t element_size);
/* Only once no fiber is parked on it. */
void channel_destroy(struct channel *channel);

int channel_send(struct channel *channel, struct ctx *ctx, const void *element);
int channel_recv(struct channel *channel, struct ctx *ctx, void *element);
/* Non-parking variants: 0, -EAGAIN (full/empty) or -EPIPE (closed). */
int channel_try_send(struct channel *channel, const void *element);
int channel_try_recv(struct channel *channel, void *element);
void channel_close(struct channel *channel);
size_t channel_len(const struct channel *channel);

#endif
