/*
 * tcp.c: non-blocking TCP sockets that park fibers instead of the worker.
 *
 * Every call tries the syscall first and parks only on EAGAIN. Connection
 * objects are pooled per worker.
 *
 * A connection's socket joins its worker's edge-triggered epoll set
 * (edge_poll.c, which says why) the first time anything waits on it, for
 * input and output at once, and stays there until tcp_close: a keep-alive
 * request/response costs no epoll_ctl at all. An edge is reported once, so
 * the connection remembers it (read_ready, write_ready) until a read or a
 * write returns EAGAIN again; waiting starts only from such an EAGAIN, and
 * an idle connection whose edge came while its fiber was still busy is
 * resumed at once instead of waiting for an edge that already came.
 *
 * The idle timer survives in the pool, and it is stopped lazily: a keep-alive connection goes idle
 * and wakes once per request, and a uv_timer_start plus uv_timer_stop each
 * time (a heap insert and removal) was a visible share of a small request.
 * Waking leaves the timer running; going idle again only moves the
 * connection's idle deadline when the running timer fires no later than the
 * new deadline. When it fires early, it re-arms for what is left; when it
 * fires on a busy connection, it does nothing and stops.
 *
 * Closing while another fiber is parked on the connection wakes that fiber
 * with -ECANCELED; the object is recycled only once no fiber refers to it
 * any more.
 */
#define _GNU_SOURCE /* accept4, SOCK_NONBLOCK, SOCK_CLOEXEC, MSG_NOSIGNAL */

#include "platform/runtime/tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "platform/compiler/compiler.h"
#include "platform/runtime/ctx.h"
#include "platform/runtime/fiber.h"
#include "platform/runtime/runtime_internal.h"

/* Retry delay when an idle connection became readable but no fiber could be
 * allocated for it. */
#define TCP_RESUME_RETRY_MS 50
#define TCP_WRITEV_BATCH 64
/* Writes of up to this many bytes go out with one send() (tcp_sendmsg). */
#define TCP_GATHER_MAX 1024

struct tcp_conn {
    int fd;
    struct worker *worker;
    struct edge_watch watch;
    uv_timer_t idle_timer;
    bool registered;     /* in the worker's edge-triggered set */
    /* An input (output) edge came since a read (write) last returned
     * EAGAIN: the next one may succeed, and no new edge would announce it. */
    bool read_ready;
    bool write_ready;
    bool timer_open;
    bool timer_is_idle;  /* the idle timer is running (not the retry timer, not stopped) */
    uint64_t idle_deadline_ms; /* loop time; CTX_NO_DEADLINE: none */
    uint64_t timer_due_ms;     /* loop time the running timer fires at */
    bool closed;         /* tcp_close() was called */
    bool idle_armed;     /* tcp_resume_on_readable() waiting, no fiber */
    bool idle_timed_out; /* next tcp_read() returns -ETIMEDOUT */
    bool resume_pending; /* a resume fiber was spawned and has not run yet */
    int pending_error;   /* next tcp_read() returns it */
    struct fiber *reader;
    struct fiber *writer;
    tcp_readable_fn resume_fn;
    void *resume_arg;
    const char *resume_name;
    struct tcp_conn *next; /* open list, idle list or pool */
    struct tcp_conn *prev;
    struct tcp_conn *idle_next;
    struct tcp_conn *idle_prev;
};

struct tcp_listener {
    int fd;
    int port;
    struct worker *worker;
    uv_poll_t poll;
    bool poll_open;
    bool poll_closing;
    bool closed;
    struct fiber *acceptor;
    struct tcp_listener *next;
    struct tcp_listener *prev;
};

/* ---- addresses ------------------------------------------------------------ */

static int tcp_parse_address(const char *host, int port, struct sockaddr_storage *address,
                             socklen_t *address_len)
{
    if (host == NULL || port < 0 || port > 65535) {
        return -EINVAL;
    }
    memset(address, 0, sizeof(*address));
    struct sockaddr_in *ipv4 = (struct sockaddr_in *)address;
    if (inet_pton(AF_INET, host, &ipv4->sin_addr) == 1) {
        ipv4->sin_family = AF_INET;
        ipv4->sin_port = htons((uint16_t)port);
        *address_len = sizeof(*ipv4);
        return 0;
    }
    struct sockaddr_in6 *ipv6 = (struct sockaddr_in6 *)address;
    if (inet_pton(AF_INET6, host, &ipv6->sin6_addr) == 1) {
        ipv6->sin6_family = AF_INET6;
        ipv6->sin6_port = htons((uint16_t)port);
        *address_len = sizeof(*ipv6);
        return 0;
    }
    return -EINVAL;
}

/* ---- connection objects --------------------------------------------------- */

static void tcp_conn_list_remove(struct tcp_conn **head, struct tcp_conn *conn)
{
    if (conn->prev != NULL) {
        conn->prev->next = conn->next;
    } else if (*head == conn) {
        *head = conn->next;
    }
    if (conn->next != NULL) {
        conn->next->prev = conn->prev;
    }
    conn->next = NULL;
    conn->prev = NULL;
}

static void tcp_conn_list_push(struct tcp_conn **head, struct tcp_conn *conn)
{
    conn->prev = NULL;
    conn->next = *head;
    if (*head != NULL) {
        (*head)->prev = conn;
    }
    *head = conn;
}

static void tcp_idle_unlink(struct tcp_conn *conn)
{
    struct worker *worker = conn->worker;
    if (conn->idle_prev != NULL) {
        conn->idle_prev->idle_next = conn->idle_next;
    } else if (worker->idle_conns == conn) {
        worker->idle_conns = conn->idle_next;
    }
    if (conn->idle_next != NULL) {
        conn->idle_next->idle_prev = conn->idle_prev;
    }
    conn->idle_next = NULL;
    conn->idle_prev = NULL;
}

static void tcp_idle_link(struct tcp_conn *conn)
{
    struct worker *worker = conn->worker;
    conn->idle_prev = NULL;
    conn->idle_next = worker->idle_conns;
    if (worker->idle_conns != NULL) {
        worker->idle_conns->idle_prev = conn;
    }
    worker->idle_conns = conn;
}

static void tcp_conn_free_after_close(uv_handle_t *handle)
{
    free(handle->data);
}

static void tcp_conn_free(struct tcp_conn *conn)
{
    if (conn->timer_open) {
        conn->idle_timer.data = conn;
        uv_close((uv_handle_t *)&conn->idle_timer, tcp_conn_free_after_close);
    } else {
        free(conn);
    }
}

/* Back to the pool once nothing refers to it any more. */
static void tcp_conn_recycle_if_unused(struct tcp_conn *conn)
{
    if (!conn->closed || conn->reader != NULL || conn->writer != NULL || conn->resume_pending) {
        return;
    }
    struct worker *worker = conn->worker;
    /* During teardown close callbacks still arrive after the pool drained. */
    if (worker->tearing_down || worker->free_conn_count >= worker->pool_limit) {
        tcp_conn_free(conn);
        return;
    }
    conn->next = worker->free_conns;
    worker->free_conns = conn;
    worker->free_conn_count++;
}

static struct tcp_conn *tcp_conn_create(struct worker *worker, int fd)
{
    struct tcp_conn *conn = worker->free_conns;
    if (conn != NULL) {
        worker->free_conns = conn->next;
        worker->free_conn_count--;
        bool timer_open = conn->timer_open;
        uv_timer_t timer = conn->idle_timer;
        memset(conn, 0, sizeof(*conn));
        conn->timer_open = timer_open;
        conn->idle_timer = timer; /* initialised, stopped: still valid */
    } else {
        conn = calloc(1, sizeof(*conn));
        if (conn == NULL) {
            return NULL;
        }
    }
    conn->fd = fd;
    conn->worker = worker;
    /* read_ready and write_ready start false: registering a socket that is
     * already readable or writable reports an edge at once. */
    tcp_conn_list_push(&worker->open_conns, conn);
    return conn;
}

/* ---- parking on readiness ------------------------------------------------- */

static void tcp_conn_edge_fired(void *owner, uint32_t events);

static int tcp_conn_register(struct tcp_conn *conn)
{
    if (conn->registered) {
        return 0;
    }
    conn->watch.fired = tcp_conn_edge_fired;
    conn->watch.owner = conn;
    int rc = edge_poll_add(conn->worker, conn->fd, &conn->watch);
    conn->registered = rc == 0;
    return rc;
}

/* Parks until the edge the caller's EAGAIN asks for (read_ready or
 * write_ready, which the caller cleared on that EAGAIN). */
static int tcp_conn_wait(struct tcp_conn *conn, struct ctx *ctx, int event)
{
    struct fiber **slot = event == UV_READABLE ? &conn->reader : &conn->writer;
    const bool *ready = event == UV_READABLE ? &conn->read_ready : &conn->write_ready;
    if (conn->closed) {
        return -EBADF;
    }
    if (*slot != NULL || (event == UV_READABLE && conn->idle_armed)) {
        return -EBUSY; /* one reader and one writer at a time */
    }
    int rc = tcp_conn_register(conn);
    if (rc < 0 || *ready) {
        return rc; /* an edge already came: the caller retries */
    }
    *slot = fiber_current();
    rc = fiber_park(ctx, CTX_NO_DEADLINE);
    *slot = NULL;
    if (conn->closed) {
        tcp_conn_recycle_if_unused(conn);
        return -ECANCELED;
    }
    return rc;
}

static void tcp_conn_resume_later(struct tcp_conn *conn);

static void tcp_conn_resume_entry(void *arg)
{
    struct tcp_conn *conn = arg;
    conn->resume_pending = false;
    /* Closed between the wake-up and this fiber's first run: the owner has
     * already let go of the connection, so there is nobody to call. */
    if (conn->closed) {
        tcp_conn_recycle_if_unused(conn);
        return;
    }
    conn->resume_fn(conn, conn->resume_arg);
}

/* The idle connection became readable, failed, timed out or is being
 * stopped: give it a fiber. */
static void tcp_conn_resume(struct tcp_conn *conn, int error, bool timed_out)
{
    conn->idle_armed = false;
    tcp_idle_unlink(conn);
    /* The poll stays armed: the fiber is about to read. The idle timer may
     * stay armed too (see the top of the file). */
    if (error != 0) {
        conn->pending_error = error;
    }
    conn->idle_timed_out = timed_out;
    if (fiber_go(conn->resume_name, tcp_conn_resume_entry, conn) < 0) {
        tcp_conn_resume_later(conn);
        return;
    }
    conn->resume_pending = true;
}

static void tcp_conn_retry_fired(uv_timer_t *timer)
{
    struct tcp_conn *conn = timer->data;
    if (conn->idle_armed) {
        tcp_conn_resume(conn, 0, conn->idle_timed_out);
    }
}

/* No memory for a fiber right now: stay idle and try again soon. The
 * socket is edge-triggered, so it does not keep firing meanwhile. The
 * pending error and timeout flag stay set for the fiber that eventually
 * runs. */
static void tcp_conn_resume_later(struct tcp_conn *conn)
{
    conn->idle_armed = true;
    tcp_idle_link(conn);
    if (!conn->timer_open) {
        if (uv_timer_init(&conn->worker->loop, &conn->idle_timer) < 0) {
            return; /* stays idle until tcp_close or runtime_stop */
        }
        conn->timer_open = true;
    }
    conn->idle_timer.data = conn;
    conn->timer_is_idle = false;
    uv_timer_start(&conn->idle_timer, tcp_conn_retry_fired, TCP_RESUME_RETRY_MS, 0);
}

static void tcp_conn_idle_timer_fired(uv_timer_t *timer);

static void tcp_conn_start_idle_timer(struct tcp_conn *conn, uint64_t now, uint64_t timeout_ms)
{
    conn->idle_timer.data = conn;
    conn->timer_is_idle = true;
    conn->timer_due_ms = now + timeout_ms;
    uv_timer_start(&conn->idle_timer, tcp_conn_idle_timer_fired, timeout_ms, 0);
}

static void tcp_conn_idle_timer_fired(uv_timer_t *timer)
{
    struct tcp_conn *conn = timer->data;
    conn->timer_is_idle = false;
    if (!conn->idle_armed || conn->idle_deadline_ms == CTX_NO_DEADLINE) {
        return; /* busy (it will arm again when idle), or idle without a limit */
    }
    uint64_t now = uv_now(&conn->worker->loop);
    if (now < conn->idle_deadline_ms) {
        /* Armed during an earlier idle period: wait out the rest. */
        tcp_conn_start_idle_timer(conn, now, conn->idle_deadline_ms - now);
        return;
    }
    tcp_conn_resume(conn, 0, true);
}

/* Arms the idle limit of the idle period that starts now. A timer already
 * running for an earlier deadline is left alone: it fires first and re-arms
 * for what is left. */
static void tcp_conn_arm_idle_timer(struct tcp_conn *conn, uint64_t timeout_ms)
{
    uint64_t now = uv_now(&conn->worker->loop);
    if (timeout_ms == 0 || timeout_ms >= CTX_NO_DEADLINE - now) {
        conn->idle_deadline_ms = CTX_NO_DEADLINE;
        return; /* a running timer finds no deadline and stops */
    }
    conn->idle_deadline_ms = now + timeout_ms;
    /* The flag, not uv_is_active(): it is cleared wherever the timer stops
     * or turns into the retry timer, and it sits on a line this function
     * reads anyway, where the handle's flags were a cache miss a request
     * with 1000 connections (0.065 us a request in perf, more than the
     * rest of this function). */
    if (conn->timer_is_idle && conn->timer_due_ms <= conn->idle_deadline_ms) {
        return;
    }
    tcp_conn_start_idle_timer(conn, now, timeout_ms);
}

static void tcp_conn_edge_fired(void *owner, uint32_t events)
{
    struct tcp_conn *conn = owner;
    /* An edge handed to a fiber that is about to read (write) is used up;
     * one that came while the connection was busy is kept for later. On an
     * error or a hang-up the woken fibers retry their syscall, which reports
     * the real error (ECONNRESET, ECONNREFUSED) or end of input. */
    bool failed = (events & (EPOLLERR | EPOLLHUP)) != 0;
    if (failed || (events & (EPOLLIN | EPOLLRDHUP)) != 0) {
        if (conn->idle_armed) {
            tcp_conn_resume(conn, 0, false);
        } else if (conn->reader == NULL || !fiber_wake(conn->reader, 0)) {
            conn->read_ready = true;
        }
    }
    if (failed || (events & EPOLLOUT) != 0) {
        if (conn->writer == NULL || !fiber_wake(conn->writer, 0)) {
            conn->write_ready = true;
        }
    }
}

/* ---- connections ---------------------------------------------------------- */

static void tcp_set_nodelay(int fd)
{
    int one = 1;
    /* Latency over packet count for request/response traffic; failure only
     * costs latency. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int tcp_connect(struct ctx *ctx, const char *host, int port, struct tcp_conn **out)
{
    struct worker *worker = worker_current();
    if (worker == NULL || worker->current == NULL) {
        return -EPERM;
    }
    if (ctx == NULL) {
        ctx = &worker->root;
    }
    struct sockaddr_storage address;
    socklen_t address_len;
    int rc = tcp_parse_address(host, port, &address, &address_len);
    if (rc < 0) {
        return rc;
    }
    rc = ctx_err(ctx);
    if (rc < 0) {
        return rc;
    }
    int fd = socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    tcp_set_nodelay(fd);
    bool in_progress = false;
    if (connect(fd, (struct sockaddr *)&address, address_len) != 0) {
        if (errno != EINPROGRESS) {
            rc = -errno;
            close(fd);
            return rc;
        }
        in_progress = true;
    }
    struct tcp_conn *conn = tcp_conn_create(worker, fd);
    if (conn == NULL) {
        close(fd);
        return -ENOMEM;
    }
    while (in_progress) {
        conn->write_ready = false; /* in progress: not writable yet */
        rc = tcp_conn_wait(conn, ctx, UV_WRITABLE);
        if (rc < 0) {
            tcp_close(conn);
            return rc;
        }
        int socket_error = 0;
        socklen_t socket_error_len = sizeof(socket_error);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &socket_error, &socket_error_len) != 0) {
            socket_error = errno;
        }
        if (socket_error == 0) {
            /* Writable with no error means connected; a spurious wake shows
             * up as a failing getpeername. */
            struct sockaddr_storage peer;
            socklen_t peer_len = sizeof(peer);
            in_progress = getpeername(fd, (struct sockaddr *)&peer, &peer_len) != 0;
        } else if (socket_error != EINPROGRESS && socket_error != EALREADY) {
            tcp_close(conn);
            return -socket_error;
        }
    }
    *out = conn;
    return 0;
}

/* tcp_read(), or without parking when `park` is false. */
static ssize_t tcp_read_impl(struct tcp_conn *conn, struct ctx *ctx, void *buf, size_t len,
                             bool park)
{
    if (conn->idle_timed_out) {
        conn->idle_timed_out = false;
        return -ETIMEDOUT;
    }
    if (conn->pending_error != 0) {
        int error = conn->pending_error;
        conn->pending_error = 0;
        return error;
    }
    if (ctx == NULL) {
        ctx = &conn->worker->root;
    }
    for (;;) {
        int rc = ctx_err(ctx);
        if (rc < 0) {
            return rc;
        }
        ssize_t count = recv(conn->fd, buf, len, 0);
        if (count >= 0) {
            return count;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return -errno;
        }
        conn->read_ready = false;
        if (!park) {
            return -EAGAIN;
        }
        rc = tcp_conn_wait(conn, ctx, UV_READABLE);
        if (rc < 0) {
            return rc;
        }
    }
}

ssize_t tcp_read(struct tcp_conn *conn, struct ctx *ctx, void *buf, size_t len)
{
    return tcp_read_impl(conn, ctx, buf, len, true);
}

ssize_t tcp_read_nowait(struct tcp_conn *conn, struct ctx *ctx, void *buf, size_t len)
{
    return tcp_read_impl(conn, ctx, buf, len, false);
}

/* Where the bytes after the first `skip` of iov start: *index, *offset. */
static void tcp_iov_skip(const struct iovec *iov, int iov_count, size_t skip, int *index,
                         size_t *offset)
{
    *index = 0;
    while (*index < iov_count && skip >= iov[*index].iov_len) {
        skip -= iov[*index].iov_len;
        (*index)++;
    }
    *offset = *index < iov_count ? skip : 0;
}

/* One sendmsg of iov[0..count) minus the first `offset` bytes of iov[0].
 * Whole iovecs go as they are (sendmsg only reads them); a partly written
 * first one needs a patched copy of a bounded batch, made only then: the
 * hardening flags zero every automatic array, and zeroing the batch on
 * every write cost more than the rest of a small write. */
static ssize_t tcp_sendmsg_patched(int fd, const struct iovec *iov, int count, size_t offset)
{
    struct iovec batch[TCP_WRITEV_BATCH];
    int batch_count = count < TCP_WRITEV_BATCH ? count : TCP_WRITEV_BATCH;
    memcpy(batch, iov, (size_t)batch_count * sizeof(batch[0]));
    batch[0].iov_base = (char *)batch[0].iov_base + offset;
    batch[0].iov_len -= offset;
    struct msghdr message = {.msg_iov = batch, .msg_iovlen = (size_t)batch_count};
    return sendmsg(fd, &message, MSG_NOSIGNAL);
}

/* The bytes of iov[0..count) when they total at most `capacity`, else 0. */
static size_t tcp_gathered_len(const struct iovec *iov, int count, size_t capacity)
{
    size_t total = 0;
    for (int i = 0; i < count; i++) {
        if (iov[i].iov_len > capacity - total) {
            return 0;
        }
        total += iov[i].iov_len;
    }
    return total;
}

static ssize_t tcp_sendmsg(int fd, const struct iovec *iov, int count, size_t offset)
{
    if (offset != 0) {
        return tcp_sendmsg_patched(fd, iov, count, offset);
    }
    /* A small write in a few pieces (an HTTP response: head, headers, blank
     * line, body) is copied into one buffer and sent with send(): sendmsg's
     * copies of the msghdr and the iovec array and its per-piece walk cost
     * more in the kernel than copying a few hundred bytes here (about 150 ns
     * a write on loopback, 2% of a keep-alive request). The buffer is
     * written before it is read: no need to zero it on every write. */
    char gathered[TCP_GATHER_MAX] COMPILER_UNINITIALIZED;
    size_t gathered_len = count > 0 ? tcp_gathered_len(iov, count, sizeof(gathered)) : 0;
    if (gathered_len > 0) {
        size_t at = 0;
        for (int i = 0; i < count; i++) {
            memcpy(gathered + at, iov[i].iov_base, iov[i].iov_len);
            at += iov[i].iov_len;
        }
        return send(fd, gathered, gathered_len, MSG_NOSIGNAL);
    }
    /* msg_iov is not const though sendmsg only reads it: a union drops the
     * const without a cast. */
    union {
        const struct iovec *given;
        struct iovec *sent;
    } vector = {.given = iov};
    struct msghdr message = {.msg_iov = vector.sent,
                             .msg_iovlen = (size_t)(count < IOV_MAX ? count : IOV_MAX)};
    return sendmsg(fd, &message, MSG_NOSIGNAL);
}

/* tcp_writev() from byte `skip` on, or without parking when `park` is
 * false; *written counts the bytes of this call. */
static int tcp_writev_impl(struct tcp_conn *conn, struct ctx *ctx, const struct iovec *iov,
                           int iov_count, size_t skip, bool park, size_t *written_out)
{
    if (iov_count < 0) {
        return -EINVAL;
    }
    if (ctx == NULL) {
        ctx = &conn->worker->root;
    }
    int index = 0;
    size_t offset = 0; /* bytes of iov[index] already written */
    tcp_iov_skip(iov, iov_count, skip, &index, &offset);
    while (index < iov_count) {
        if (offset == iov[index].iov_len) {
            index++;
            offset = 0;
            continue;
        }
        int rc = ctx_err(ctx);
        if (rc < 0) {
            return rc;
        }
        ssize_t written = tcp_sendmsg(conn->fd, iov + index, iov_count - index, offset);
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                return -errno;
            }
            conn->write_ready = false;
            if (!park) {
                return -EAGAIN;
            }
            rc = tcp_conn_wait(conn, ctx, UV_WRITABLE);
            if (rc < 0) {
                return rc;
            }
            continue;
        }
        *written_out += (size_t)written;
        /* sendmsg never reports more than the batch holds, so the walk
         * stops at the last iovec; the bound states that for the reader. */
        size_t remaining = (size_t)written;
        while (remaining > 0 && index < iov_count) {
            size_t left_in_current = iov[index].iov_len - offset;
            if (remaining < left_in_current) {
                offset += remaining;
                break;
            }
            remaining -= left_in_current;
            index++;
            offset = 0;
        }
    }
    return 0;
}

int tcp_writev(struct tcp_conn *conn, struct ctx *ctx, const struct iovec *iov, int iov_count)
{
    size_t written = 0;
    return tcp_writev_impl(conn, ctx, iov, iov_count, 0, true, &written);
}

int tcp_writev_nowait(struct tcp_conn *conn, struct ctx *ctx, const struct iovec *iov,
                      int iov_count, size_t *written)
{
    *written = 0;
    return tcp_writev_impl(conn, ctx, iov, iov_count, 0, false, written);
}

int tcp_writev_from(struct tcp_conn *conn, struct ctx *ctx, const struct iovec *iov, int iov_count,
                    size_t skip)
{
    size_t written = 0;
    return tcp_writev_impl(conn, ctx, iov, iov_count, skip, true, &written);
}

int tcp_write(struct tcp_conn *conn, struct ctx *ctx, const void *buf, size_t len)
{
    /* struct iovec has no const member though sendmsg only reads it. The
     * pointer is copied rather than cast, so neither -Wcast-qual nor an
     * integer round trip is needed to drop the const. */
    struct iovec single = {.iov_base = NULL, .iov_len = len};
    memcpy(&single.iov_base, &buf, sizeof(buf));
    return tcp_writev(conn, ctx, &single, 1);
}

int tcp_shutdown_write(struct tcp_conn *conn)
{
    return shutdown(conn->fd, SHUT_WR) == 0 ? 0 : -errno;
}

void tcp_close(struct tcp_conn *conn)
{
    if (conn == NULL || conn->closed) {
        return;
    }
    conn->closed = true;
    if (conn->idle_armed) {
        conn->idle_armed = false;
        tcp_idle_unlink(conn);
    }
    if (conn->timer_open) {
        uv_timer_stop(&conn->idle_timer);
        conn->timer_is_idle = false;
    }
    tcp_conn_list_remove(&conn->worker->open_conns, conn);
    if (conn->reader != NULL) {
        fiber_wake(conn->reader, -ECANCELED);
    }
    if (conn->writer != NULL) {
        fiber_wake(conn->writer, -ECANCELED);
    }
    if (conn->registered) {
        conn->registered = false;
        edge_poll_remove(conn->worker, conn->fd);
    }
    close(conn->fd);
    conn->fd = -1;
    tcp_conn_recycle_if_unused(conn);
}

int tcp_resume_on_readable(struct tcp_conn *conn, uint64_t idle_timeout_ms, const char *name,
                           tcp_readable_fn fn, void *arg)
{
    if (conn == NULL || fn == NULL) {
        return -EINVAL;
    }
    if (conn->closed) {
        return -EBADF;
    }
    if (conn->reader != NULL || conn->idle_armed) {
        return -EBUSY;
    }
    if (conn->worker->stopping) {
        return -ECANCELED; /* nobody would resume it: the worker is ending */
    }
    if (idle_timeout_ms > 0 && !conn->timer_open) {
        int rc = uv_timer_init(&conn->worker->loop, &conn->idle_timer);
        if (rc < 0) {
            return rc;
        }
        conn->timer_open = true;
    }
    conn->resume_fn = fn;
    conn->resume_arg = arg;
    conn->resume_name = name != NULL ? name : "conn";
    int rc = tcp_conn_register(conn);
    if (rc < 0) {
        return rc;
    }
    conn->idle_armed = true;
    conn->idle_timed_out = false;
    if (conn->read_ready) {
        /* Input came while the connection was busy: its edge will not come
         * again, so hand it a fiber now (never linked as idle). */
        conn->read_ready = false;
        tcp_conn_resume(conn, 0, false);
        return 0;
    }
    tcp_idle_link(conn);
    if (conn->timer_open) {
        tcp_conn_arm_idle_timer(conn, idle_timeout_ms);
    }
    return 0;
}

int tcp_fd(const struct tcp_conn *conn)
{
    return conn->fd;
}

int tcp_peer_address(const struct tcp_conn *conn, char *buf, size_t len)
{
    /* Zeroed: a family getpeername did not fill in reads as AF_UNSPEC,
     * which inet_ntop rejects, instead of as stack garbage. */
    struct sockaddr_storage peer;
    memset(&peer, 0, sizeof(peer));
    socklen_t peer_len = sizeof(peer);
    if (getpeername(conn->fd, (struct sockaddr *)&peer, &peer_len) != 0) {
        return -errno;
    }
    const void *address = peer.ss_family == AF_INET6
                              ? (const void *)&((struct sockaddr_in6 *)&peer)->sin6_addr
                              : (const void *)&((struct sockaddr_in *)&peer)->sin_addr;
    if (inet_ntop(peer.ss_family, address, buf, (socklen_t)len) == NULL) {
        return -errno;
    }
    return 0;
}

/* ---- listeners ------------------------------------------------------------ */

static int tcp_listen_socket(const struct tcp_listen_options *options, int *port_out)
{
    struct sockaddr_storage address;
    socklen_t address_len;
    int rc = tcp_parse_address(options->host, options->port, &address, &address_len);
    if (rc < 0) {
        return rc;
    }
    int fd = socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (options->reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) ||
        bind(fd, (struct sockaddr *)&address, address_len) != 0 ||
        listen(fd, options->backlog > 0 ? options->backlog : SOMAXCONN) != 0 ||
        getsockname(fd, (struct sockaddr *)&address, &address_len) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    *port_out = ntohs(address.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&address)->sin6_port
                                                    : ((struct sockaddr_in *)&address)->sin_port);
    return fd;
}

int tcp_listen(const struct tcp_listen_options *options, struct tcp_listener **out)
{
    struct worker *worker = worker_current();
    if (worker == NULL) {
        return -EPERM;
    }
    if (options == NULL || out == NULL) {
        return -EINVAL;
    }
    struct tcp_listener *listener = calloc(1, sizeof(*listener));
    if (listener == NULL) {
        return -ENOMEM;
    }
    int fd = tcp_listen_socket(options, &listener->port);
    if (fd < 0) {
        free(listener);
        return fd;
    }
    listener->fd = fd;
    listener->worker = worker;
    listener->next = worker->listeners;
    if (worker->listeners != NULL) {
        worker->listeners->prev = listener;
    }
    worker->listeners = listener;
    *out = listener;
    return 0;
}

int tcp_listener_port(const struct tcp_listener *listener)
{
    return listener->port;
}

static void tcp_listener_free_if_unused(struct tcp_listener *listener)
{
    if (listener->closed && !listener->poll_closing && listener->acceptor == NULL) {
        free(listener);
    }
}

static void tcp_listener_poll_fired(uv_poll_t *poll, int status, int events)
{
    (void)status;
    (void)events;
    struct tcp_listener *listener = poll->data;
    if (listener->acceptor != NULL) {
        fiber_wake(listener->acceptor, 0); /* accept4() reports any error */
    }
}

static int tcp_listener_wait(struct tcp_listener *listener, struct ctx *ctx)
{
    if (listener->acceptor != NULL) {
        return -EBUSY;
    }
    if (!listener->poll_open) {
        int rc = uv_poll_init_socket(&listener->worker->loop, &listener->poll, listener->fd);
        if (rc < 0) {
            return rc;
        }
        listener->poll.data = listener;
        listener->poll_open = true;
    }
    int rc = uv_poll_start(&listener->poll, UV_READABLE, tcp_listener_poll_fired);
    if (rc < 0) {
        return rc;
    }
    listener->acceptor = fiber_current();
    rc = fiber_park(ctx, CTX_NO_DEADLINE);
    listener->acceptor = NULL;
    if (listener->closed) {
        tcp_listener_free_if_unused(listener);
        return -ECANCELED;
    }
    uv_poll_stop(&listener->poll);
    return rc;
}

int tcp_accept(struct tcp_listener *listener, struct ctx *ctx, struct tcp_conn **out)
{
    struct worker *worker = worker_current();
    if (worker == NULL || worker->current == NULL || listener->worker != worker) {
        return -EPERM;
    }
    if (ctx == NULL) {
        ctx = &worker->root;
    }
    for (;;) {
        if (listener->closed) {
            return -ECANCELED;
        }
        int rc = ctx_err(ctx);
        if (rc < 0) {
            return rc;
        }
        int fd = accept4(listener->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            tcp_set_nodelay(fd);
            struct tcp_conn *conn = tcp_conn_create(worker, fd);
            if (conn == NULL) {
                close(fd);
                return -ENOMEM;
            }
            *out = conn;
            return 0;
        }
        if (errno == EINTR || errno == ECONNABORTED) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return -errno; /* EMFILE and friends: the caller decides */
        }
        rc = tcp_listener_wait(listener, ctx);
        if (rc < 0) {
            return rc;
        }
    }
}

static void tcp_listener_poll_closed(uv_handle_t *handle)
{
    struct tcp_listener *listener = handle->data;
    listener->poll_closing = false;
    tcp_listener_free_if_unused(listener);
}

void tcp_listener_close(struct tcp_listener *listener)
{
    if (listener == NULL || listener->closed) {
        return;
    }
    struct worker *worker = listener->worker;
    listener->closed = true;
    if (listener->prev != NULL) {
        listener->prev->next = listener->next;
    } else {
        worker->listeners = listener->next;
    }
    if (listener->next != NULL) {
        listener->next->prev = listener->prev;
    }
    if (listener->acceptor != NULL) {
        fiber_wake(listener->acceptor, -ECANCELED);
    }
    if (listener->poll_open) {
        listener->poll_open = false;
        listener->poll_closing = true;
        uv_close((uv_handle_t *)&listener->poll, tcp_listener_poll_closed);
    }
    close(listener->fd);
    listener->fd = -1;
    tcp_listener_free_if_unused(listener);
}

/* ---- worker lifecycle ----------------------------------------------------- */

void tcp_worker_stop(struct worker *worker)
{
    /* Idle connections have no fiber to see the cancelled root context:
     * give each one, so that its owner can close it and free its state. */
    struct tcp_conn *idle = worker->idle_conns;
    worker->idle_conns = NULL; /* a conn that cannot get a fiber re-links */
    while (idle != NULL) {
        struct tcp_conn *next = idle->idle_next;
        idle->idle_next = NULL;
        idle->idle_prev = NULL;
        idle->idle_armed = true;
        tcp_conn_resume(idle, -ECANCELED, false);
        idle = next;
    }
}

void tcp_worker_teardown(struct worker *worker)
{
    /* Whatever the application left open when its fibers ended. */
    /* Each close unlinks its own entry and may free it, so the walk reads
     * the next entry first; closing one never frees another. (Re-reading the
     * list head instead is equivalent, but the analyzer cannot see that
     * entry->worker is the worker whose list holds it and reports a
     * use-after-free.) */
    struct tcp_listener *listener = worker->listeners;
    while (listener != NULL) {
        struct tcp_listener *next = listener->next;
        tcp_listener_close(listener);
        listener = next;
    }
    struct tcp_conn *conn = worker->open_conns;
    while (conn != NULL) {
        struct tcp_conn *next = conn->next;
        tcp_close(conn);
        conn = next;
    }
    while (worker->free_conns != NULL) {
        conn = worker->free_conns;
        worker->free_conns = conn->next;
        tcp_conn_free(conn);
    }
    worker->free_conn_count = 0;
    edge_poll_teardown(worker);
}
