/*
 * tcp.h: TCP sockets whose calls park the calling fiber instead of blocking
 * the worker. Sockets are non-blocking; a call first tries the syscall and
 * parks on the loop only when it would block.
 *
 * Lifetimes: a tcp_conn belongs to the worker that created or accepted it and
 * is released by tcp_close(), which may be called from any fiber of that
 * worker, once; a fiber parked on it then returns -ECANCELED. A listener
 * likewise with tcp_listener_close(). One fiber may read while another
 * writes; a second concurrent reader (or writer) gets -EBUSY.
 * A NULL ctx means the worker's background context.
 */
#ifndef HEXSVC_PLATFORM_RUNTIME_TCP_H
#define HEXSVC_PLATFORM_RUNTIME_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct ctx;
struct tcp_conn;
struct tcp_listener;

struct tcp_listen_options {
    const char *host; /* numeric IPv4/IPv6 address, e.g. "0.0.0.0", "::1" */
    int port;         /* 0: any free port (read it back with tcp_listener_port) */
    int backlog;
    bool reuse_port;  /* SO_REUSEPORT: one listener per worker on one port */
};

/* 0 and *out set, or a negative errno. */
int tcp_listen(const struct tcp_listen_options *options, struct tcp_listener **out);
int tcp_listener_port(const struct tcp_listener *listener);
/* Parks until a connection arrives. */
int tcp_accept(struct tcp_listener *listener, struct ctx *ctx, struct tcp_conn **out);
/* Wakes a fiber parked in tcp_accept with -ECANCELED, then frees. */
void tcp_listener_close(struct tcp_listener *listener);

int tcp_connect(struct ctx *ctx, const char *host, int port, struct tcp_conn **out);

/* >0 bytes read, 0 at end of stream, or a negative errno. */
ssize_t tcp_read(struct tcp_conn *conn, struct ctx *ctx, void *buf, size_t len);
/* Writes all of buf: 0, or a negative errno (-EPIPE, -ECONNRESET, ctx error). */
int tcp_write(struct tcp_conn *conn, struct ctx *ctx, const void *buf, size_t len);
/* Gathered write of all iovecs. */
int tcp_writev(struct tcp_conn *conn, struct ctx *ctx, const struct iovec *iov, int iov_count);

/*
 * Without parking, for callers that create the ctx of a wait only when there
 * is a wait (a deadline costs a clock read and a ctx): these fail with
 * -EAGAIN where tcp_read() and tcp_writev() would park, and otherwise do
 * and return the same (ctx is checked the same way, and may be the
 * worker's). tcp_writev_nowait() sets *written to the bytes sent, also on
 * -EAGAIN; tcp_writev_from() then writes the rest, skipping that many
 * bytes of the iovecs, parking as tcp_writev() does.
 */
ssize_t tcp_read_nowait(struct tcp_conn *conn, struct ctx *ctx, void *buf, size_t len);
int tcp_writev_nowait(struct tcp_conn *conn, struct ctx *ctx, const struct iovec *iov,
                      int iov_count, size_t *written);
int tcp_writev_from(struct tcp_conn *conn, struct ctx *ctx, const struct iovec *iov, int iov_count,
                    size_t skip);
int tcp_shutdown_write(struct tcp_conn *conn);
void tcp_close(struct tcp_conn *conn);

/*
 * Idle connections without a fiber. tcp_resume_on_readable() arms the
 * connection and returns at once; the calling fiber may then finish. When
 * bytes arrive, at EOF or error, or after idle_timeout_ms without any of
 * these, a new detached fiber named `name` runs fn(conn, arg): it reads with
 * tcp_read() as usual, which returns -ETIMEDOUT if the idle timeout fired.
 * This is how a keep-alive connection costs a socket and no stack.
 * On runtime_stop() every armed connection is resumed at once and its
 * tcp_read() returns -ECANCELED, so the owner can close it and free `arg`.
 * Once tcp_close() has been called fn is never called, even if the
 * connection had already become readable: the owner may free `arg` at once.
 * Returns 0; -EBUSY while a fiber is parked reading it or it is already
 * armed; -ECANCELED once the worker is stopping; -EBADF after tcp_close().
 */
typedef void (*tcp_readable_fn)(struct tcp_conn *conn, void *arg);
int tcp_resume_on_readable(struct tcp_conn *conn, uint64_t idle_timeout_ms, const char *name,
                           tcp_readable_fn fn, void *arg);

int tcp_fd(const struct tcp_conn *conn);
/* The peer's address as text ("127.0.0.1", "::1") into buf; 0 or -errno. */
int tcp_peer_address(const struct tcp_conn *conn, char *buf, size_t len);

#endif
