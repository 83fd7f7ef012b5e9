/*
 * http_server.c: listeners, the accept loop, per-worker pools and the
 * shutdown sequence. The request loop itself is in http_connection.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "platform/http/http_server_internal.h"
#include "platform/runtime/ctx.h"
#include "platform/runtime/fiber.h"
#include "platform/runtime/tcp.h"
#include "platform/runtime/waitgroup.h"

/* Free buffer sets kept per worker; beyond this they are freed, so a burst
 * of busy connections does not pin its peak memory forever. */
#define HTTP_IO_POOL_MAX 256
/* Body buffers larger than this are not kept across requests. */
#define HTTP_IO_KEEP_BODY_BYTES ((size_t)64 * 1024)
/* Slack after the header limit so the end of the header section and the
 * first body bytes fit in one read. */
#define HTTP_READ_SLACK 4096
/* Back-off after accept() fails for lack of descriptors or memory. */
#define HTTP_ACCEPT_BACKOFF_MS 10

void http_server_config_defaults(struct http_server_config *config)
{
    *config = (struct http_server_config){
        .host = "0.0.0.0",
        .port = 8080,
        .backlog = 511,
        .max_header_bytes = (size_t)8 * 1024,
        .max_body_bytes = (size_t)1024 * 1024,
        .max_response_bytes = HTTP_RESPONSE_DEFAULT_MAX_BYTES,
        .header_timeout_ms = (uint64_t)10 * 1000,
        .body_timeout_ms = (uint64_t)30 * 1000,
        .idle_timeout_ms = (uint64_t)60 * 1000,
        .request_timeout_ms = (uint64_t)30 * 1000,
        .write_timeout_ms = (uint64_t)30 * 1000,
        .max_connections = 10000,
    };
}

static bool http_server_chain_is_valid(const struct http_server_config *config)
{
    if (config->middleware_count > HTTP_SERVER_MAX_MIDDLEWARE ||
        (config->middleware_count > 0 && config->middleware == NULL)) {
        return false;
    }
    for (size_t i = 0; i < config->middleware_count; i++) {
        if (config->middleware[i].handle == NULL) {
            return false;
        }
    }
    return true;
}

static bool http_server_config_is_valid(const struct http_server_config *config)
{
    return config->host != NULL && strlen(config->host) < HTTP_SERVER_HOST_LEN &&
           config->port >= 0 && config->port <= 65535 && config->max_header_bytes >= 256 &&
           config->max_response_bytes > 0 && config->header_timeout_ms > 0 &&
           config->body_timeout_ms > 0 && config->idle_timeout_ms > 0 &&
           config->request_timeout_ms > 0 && config->write_timeout_ms > 0 &&
           config->max_connections > 0 &&
           (config->observer_count == 0 || config->observers != NULL) &&
           http_server_chain_is_valid(config);
}

int http_server_create(const struct http_server_config *config, const struct http_router *router,
                       struct http_server **out)
{
    if (config == NULL || router == NULL || !http_server_config_is_valid(config)) {
        return -EINVAL;
    }
    struct http_server *server = calloc(1, sizeof(*server));
    if (server == NULL) {
        return -ENOMEM;
    }
    server->config = *config;
    memcpy(server->host, config->host, strlen(config->host) + 1);
    server->config.host = server->host;
    if (config->middleware_count > 0) {
        server->middleware = malloc(config->middleware_count * sizeof(*server->middleware));
        if (server->middleware == NULL) {
            free(server);
            return -ENOMEM;
        }
        memcpy(server->middleware, config->middleware,
               config->middleware_count * sizeof(*server->middleware));
    }
    server->config.middleware = server->middleware;
    server->router = router;
    server->read_capacity = config->max_header_bytes + HTTP_READ_SLACK;
    server->port = config->port;
    int rc = pthread_mutex_init(&server->port_lock, NULL);
    if (rc != 0) {
        free(server->middleware);
        free(server);
        return -rc;
    }
    *out = server;
    return 0;
}

void http_server_destroy(struct http_server *server)
{
    if (server == NULL) {
        return;
    }
    pthread_mutex_destroy(&server->port_lock);
    free(server->middleware);
    free(server);
}

int http_server_port(const struct http_server *server)
{
    struct http_server *mutable_server = (struct http_server *)server;
    pthread_mutex_lock(&mutable_server->port_lock);
    int port = server->port;
    pthread_mutex_unlock(&mutable_server->port_lock);
    return port;
}

/* Binds this worker's listener. With port 0 the first worker picks the port
 * and the others join it, so all workers share one port as they must. */
static int http_server_listen(struct http_server *server, struct tcp_listener **out)
{
    pthread_mutex_lock(&server->port_lock);
    struct tcp_listen_options options = {
        .host = server->host,
        .port = server->port,
        .backlog = server->config.backlog,
        .reuse_port = true,
    };
    int rc = tcp_listen(&options, out);
    if (rc == 0 && server->port == 0) {
        server->port = tcp_listener_port(*out);
    }
    pthread_mutex_unlock(&server->port_lock);
    return rc;
}

/* ---- pools ---------------------------------------------------------------- */

struct http_io *http_worker_acquire_io(struct http_server_worker *worker)
{
    struct http_io *io = worker->free_io;
    if (io != NULL) {
        worker->free_io = io->next_free;
        worker->free_io_count--;
    } else {
        io = malloc(sizeof(*io) + worker->server->read_capacity);
        if (io == NULL) {
            return NULL;
        }
        http_buffer_init(&io->body);
        http_response_init(&io->response);
    }
    struct http_parser_limits limits = {
        .max_header_bytes = worker->server->config.max_header_bytes,
        .max_body_bytes = worker->server->config.max_body_bytes,
    };
    http_parser_init(&io->parser, &limits, &io->request, &io->body);
    io->next_free = NULL;
    io->read_len = 0;
    io->parsed = 0;
    io->admitted = false;
    io->admitted_bytes = 0;
    return io;
}

static void http_io_free(struct http_io *io)
{
    http_buffer_free(&io->body);
    http_response_free(&io->response);
    free(io);
}

void http_worker_release_io(struct http_server_worker *worker, struct http_io *io)
{
    if (io == NULL) {
        return;
    }
    if (worker->free_io_count >= HTTP_IO_POOL_MAX) {
        http_io_free(io);
        return;
    }
    if (io->body.capacity > HTTP_IO_KEEP_BODY_BYTES) {
        http_buffer_free(&io->body);
    }
    io->next_free = worker->free_io;
    worker->free_io = io;
    worker->free_io_count++;
}

/* Tells the observers that a connection came (+1) or went (-1). */
static void http_worker_observe_connection(const struct http_server_worker *worker, int delta)
{
    const struct http_server_config *config = &worker->server->config;
    for (size_t i = 0; i < config->observer_count; i++) {
        if (config->observers[i].connection != NULL) {
            config->observers[i].connection(config->observers[i].arg, delta);
        }
    }
}

static struct http_connection *http_worker_new_connection(struct http_server_worker *worker,
                                                          struct tcp_conn *tcp)
{
    struct http_connection *connection = worker->free_connections;
    if (connection != NULL) {
        worker->free_connections = connection->next;
    } else {
        connection = malloc(sizeof(*connection));
        if (connection == NULL) {
            return NULL;
        }
    }
    *connection = (struct http_connection){.worker = worker, .tcp = tcp};
    if (tcp_peer_address(tcp, connection->peer_address, sizeof(connection->peer_address)) < 0) {
        connection->peer_address[0] = '\0';
    }
    connection->next = worker->connections;
    if (worker->connections != NULL) {
        worker->connections->prev = connection;
    }
    worker->connections = connection;
    worker->connection_count++;
    waitgroup_add(&worker->connections_done, 1);
    http_worker_observe_connection(worker, 1);
    return connection;
}

/* Unlinks a connection whose socket is closed and returns it to the pool. */
static void http_worker_forget_connection(struct http_server_worker *worker,
                                          struct http_connection *connection)
{
    if (connection->idle) {
        connection->idle = false;
        worker->idle_count--;
    }
    http_worker_release_io(worker, connection->io);
    connection->io = NULL;
    if (connection->prev != NULL) {
        connection->prev->next = connection->next;
    } else {
        worker->connections = connection->next;
    }
    if (connection->next != NULL) {
        connection->next->prev = connection->prev;
    }
    connection->prev = NULL;
    connection->next = worker->free_connections;
    worker->free_connections = connection;
    worker->connection_count--;
    http_worker_observe_connection(worker, -1);
    waitgroup_done(&worker->connections_done);
}

void http_worker_close_connection(struct http_server_worker *worker,
                                  struct http_connection *connection)
{
    tcp_close(connection->tcp);
    connection->tcp = NULL;
    http_worker_forget_connection(worker, connection);
}

/* ---- accepting ------------------------------------------------------------ */

static void http_worker_admit(struct http_server_worker *worker, struct tcp_conn *tcp)
{
    if (worker->draining) {
        tcp_close(tcp);
        return;
    }
    if (worker->connection_count >= worker->server->config.max_connections) {
        worker->rejected_total++;
        http_connection_reject(worker, tcp, "overloaded", "too many connections");
        return;
    }
    const struct http_admission *admission = worker->server->config.admission;
    if (admission != NULL && !admission->admit(admission->arg, 0)) {
        worker->rejected_total++;
        http_connection_reject(worker, tcp, "memory_pressure",
                               "the server is shedding load; retry later");
        return;
    }
    struct http_connection *connection = http_worker_new_connection(worker, tcp);
    if (connection == NULL) {
        tcp_close(tcp);
        return;
    }
    /* A new connection waits for its first byte without a fiber, for at
     * most the header timeout: connecting and sending nothing is slowloris
     * too. */
    if (http_connection_park(connection, worker->server->config.header_timeout_ms) < 0) {
        http_worker_close_connection(worker, connection);
    }
}

static void http_worker_accept_loop(void *arg)
{
    struct http_server_worker *worker = arg;
    for (;;) {
        /* Shutdown may close the listener before this fiber first runs (a
         * stop signal right after start-up) or while it backs off. */
        if (worker->draining || worker->listener == NULL) {
            return;
        }
        struct tcp_conn *tcp = NULL;
        int rc = tcp_accept(worker->listener, &worker->ctx, &tcp);
        if (rc == 0) {
            http_worker_admit(worker, tcp);
            continue;
        }
        if (rc == -ECANCELED || rc == -ETIMEDOUT || worker->draining) {
            return;
        }
        /* EMFILE, ENFILE, ENOMEM, ENOBUFS: wait for resources, keep serving. */
        if (fiber_sleep(&worker->ctx, HTTP_ACCEPT_BACKOFF_MS) < 0) {
            return;
        }
    }
}

int http_server_start(struct http_server *server, struct http_server_worker **out)
{
    struct http_server_worker *worker = calloc(1, sizeof(*worker));
    if (worker == NULL) {
        return -ENOMEM;
    }
    worker->server = server;
    waitgroup_init(&worker->connections_done);
    http_date_init(&worker->date);
    int rc = http_server_listen(server, &worker->listener);
    if (rc < 0) {
        free(worker);
        return rc;
    }
    ctx_with_cancel(&worker->ctx, ctx_background());
    worker->acceptor = fiber_spawn("http-accept", http_worker_accept_loop, worker);
    if (worker->acceptor == NULL) {
        tcp_listener_close(worker->listener);
        ctx_release(&worker->ctx);
        free(worker);
        return -ENOMEM;
    }
    *out = worker;
    return 0;
}

/* ---- stopping ------------------------------------------------------------- */

/* An "idle" connection whose client already sent its next request (the
 * bytes wait in the kernel; the resume has not run yet) is not idle: closing
 * it would lose a request sent before the shutdown. It stays armed, is
 * served once with `Connection: close`, and then closes. */
static bool http_connection_has_bytes(const struct http_connection *connection)
{
    char byte;
    int fd = tcp_fd(connection->tcp);
    return fd >= 0 && recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

void http_server_worker_shutdown(struct http_server_worker *worker)
{
    if (worker->draining) {
        return;
    }
    worker->draining = true;
    if (worker->listener != NULL) {
        tcp_listener_close(worker->listener);
        worker->listener = NULL;
    }
    /* Idle connections have no request in flight: close them now. Busy ones
     * see `draining` and close after their current response.
     *
     * An idle connection may have become readable a moment ago, its resume
     * fiber spawned but not yet run. So: close the sockets and flag them,
     * yield so that any such fiber runs and sees the flag (it then does
     * nothing), and only then recycle the connection objects. */
    bool closed_any = false;
    for (struct http_connection *connection = worker->connections; connection != NULL;
         connection = connection->next) {
        if (connection->idle && !http_connection_has_bytes(connection)) {
            tcp_close(connection->tcp);
            connection->tcp = NULL;
            connection->closed_while_idle = true;
            closed_any = true;
        }
    }
    if (!closed_any) {
        return;
    }
    fiber_yield();
    struct http_connection *connection = worker->connections;
    while (connection != NULL) {
        struct http_connection *next = connection->next;
        if (connection->closed_while_idle) {
            http_worker_forget_connection(worker, connection);
        }
        connection = next;
    }
}

int http_server_worker_wait(struct http_server_worker *worker, struct ctx *ctx)
{
    return waitgroup_wait(&worker->connections_done, ctx);
}

static void http_worker_free(struct http_server_worker *worker)
{
    while (worker->free_io != NULL) {
        struct http_io *io = worker->free_io;
        worker->free_io = io->next_free;
        http_io_free(io);
    }
    while (worker->free_connections != NULL) {
        struct http_connection *connection = worker->free_connections;
        worker->free_connections = connection->next;
        free(connection);
    }
    free(worker);
}

void http_server_worker_stop(struct http_server_worker *worker, uint64_t grace_ms)
{
    http_server_worker_shutdown(worker);
    struct ctx grace_ctx;
    ctx_with_timeout(&grace_ctx, ctx_background(), grace_ms);
    int rc = http_server_worker_wait(worker, &grace_ctx);
    ctx_release(&grace_ctx);
    if (rc < 0) {
        /* Out of patience (or the runtime is stopping): cancel every read,
         * write and handler ctx; their fibers then close their connections. */
        ctx_cancel(&worker->ctx);
        http_server_worker_wait(worker, NULL);
    }
    ctx_cancel(&worker->ctx);
    fiber_join(worker->acceptor);
    ctx_release(&worker->ctx);
    http_worker_free(worker);
}

void http_server_worker_stats(const struct http_server_worker *worker,
                              struct http_server_stats *out)
{
    *out = (struct http_server_stats){
        .connections = worker->connection_count,
        .idle_connections = worker->idle_count,
        .in_flight_requests = worker->in_flight,
        .requests_total = worker->requests_total,
        .rejected_total = worker->rejected_total,
    };
}
