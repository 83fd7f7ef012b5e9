/*
 * http_server_internal.h: the per-worker state shared by http_server.c
 * (listener, pools, lifecycle) and http_connection.c (the request loop).
 * Not part of the public API.
 */
#ifndef HEXSVC_PLATFORM_HTTP_HTTP_SERVER_INTERNAL_H
#define HEXSVC_PLATFORM_HTTP_HTTP_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "platform/http/http_buffer.h"
#include "platform/http/http_date.h"
#include "platform/http/http_parser.h"
#include "platform/http/http_server.h"
#include "platform/runtime/ctx.h"
#include "platform/runtime/waitgroup.h"

struct fiber;
struct tcp_conn;
struct tcp_listener;

struct http_server {
    struct http_server_config config;
    char host[HTTP_SERVER_HOST_LEN];
    const struct http_router *router;
    struct http_middleware *middleware; /* config.middleware points here */
    size_t read_capacity;  /* per-connection read buffer */
    pthread_mutex_t port_lock; /* workers race to bind port 0 */
    int port;
};

/* The buffers of a busy connection; back in the worker's pool when idle. */
struct http_io {
    struct http_io *next_free;
    struct http_parser parser;
    struct http_request request;
    struct http_buffer body;
    struct http_response response;
    size_t read_len;   /* bytes in read_buf */
    size_t parsed;     /* bytes of read_buf fed to the parser */
    bool admitted;          /* admission granted for the current request */
    uint64_t admitted_bytes; /* what to release when it is answered */
    char read_buf[];   /* server->read_capacity bytes */
};

struct http_connection {
    struct http_server_worker *worker;
    struct tcp_conn *tcp;
    struct http_io *io;       /* NULL while idle */
    bool idle;
    /* Closed by shutdown while idle; a resume the runtime had already
     * scheduled must then do nothing (see http_server_worker_shutdown). */
    bool closed_while_idle;
    struct http_connection *next;
    struct http_connection *prev;
    char peer_address[HTTP_PEER_ADDRESS_LEN];
};

struct http_server_worker {
    struct http_server *server;
    struct tcp_listener *listener;
    struct fiber *acceptor;
    struct ctx ctx;           /* parent of every connection's contexts */
    struct http_connection *connections;
    struct http_connection *free_connections;
    struct http_io *free_io;
    unsigned free_io_count;
    unsigned connection_count;
    unsigned idle_count;
    unsigned in_flight;
    uint64_t requests_total;
    uint64_t rejected_total;
    bool draining;
    struct waitgroup connections_done;
    struct http_date date;
};

/* http_server.c: pools and bookkeeping. */
struct http_io *http_worker_acquire_io(struct http_server_worker *worker);
void http_worker_release_io(struct http_server_worker *worker, struct http_io *io);
/* Closes the socket and returns the connection (and its io) to the pools. */
void http_worker_close_connection(struct http_server_worker *worker,
                                  struct http_connection *connection);

/* http_connection.c: parks a connection until it is readable; 0 or -errno
 * (then the caller closes it). */
int http_connection_park(struct http_connection *connection, uint64_t timeout_ms);
/* Writes a minimal 503 on a connection refused for max_connections
 * ("overloaded") or by admission control ("memory_pressure", the code the
 * same refusal gets after the headers); `code` and `message` go into the
 * JSON error and must need no escaping. */
void http_connection_reject(struct http_server_worker *worker, struct tcp_conn *tcp,
                            const char *code, const char *message);

#endif
