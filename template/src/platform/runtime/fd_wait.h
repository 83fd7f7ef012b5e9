/*
 * fd_wait.h: park a fiber until a file descriptor it does not own becomes
 * readable or writable.
 *
 * For client libraries that do their own non-blocking I/O on their own
 * socket (libpq, a DNS resolver): they say which direction they wait for,
 * the fiber parks on a uv_poll_t, the worker's loop keeps running.
 *
 * An fd_watch belongs to the worker that opened it and to one fd. It watches
 * only while a fiber waits, so level-triggered readiness never spins the
 * loop. One fiber at a time may wait on a watch.
 *
 * Close the watch before the fd: libuv must stop polling an fd before it is
 * closed (and possibly reused). fd_watch_close() stops polling at once and
 * frees the watch once libuv has let go of it.
 */
#ifndef HEXSVC_PLATFORM_RUNTIME_FD_WAIT_H
#define HEXSVC_PLATFORM_RUNTIME_FD_WAIT_H

struct ctx;
struct fd_watch;

#define FD_WAIT_READABLE 1
#define FD_WAIT_WRITABLE 2

/* 0 and *out, -ENOMEM, -EPERM outside a worker, or a libuv error for an fd
 * that cannot be polled. */
int fd_watch_open(int fd, struct fd_watch **out);

/*
 * Parks until the fd is ready for one of `events` (FD_WAIT_READABLE and/or
 * FD_WAIT_WRITABLE) or ctx ends (NULL: the worker's background context).
 * Returns the ready events (> 0), -ETIMEDOUT/-ECANCELED from ctx, -EBUSY if
 * another fiber waits on this watch, or a negative errno from the poll (the
 * caller's next read or write on the fd reports the real error).
 */
int fd_watch_wait(struct fd_watch *watch, struct ctx *ctx, int events);

/* Stops polling now and releases the watch later. NULL is a no-op. Must not
 * be called while a fiber waits on it. */
void fd_watch_close(struct fd_watch *watch);

#endif
