/*
 * http_test_support.h: the real HTTP server on a thread of its own, for the
 * unit tests that drive it over real sockets (test_http_server,
 * test_http_rejected, test_http_middleware). Their client side is
 * tests/integration/http_client.h.
 *
 * The server runs in runtime_run() with one worker on 127.0.0.1 and a port
 * the kernel picks; every wait here is bounded. Failures are cmocka
 * assertions, so call these from the test's own thread.
 */
#ifndef HEXSVC_TESTS_HTTP_TEST_SUPPORT_H
#define HEXSVC_TESTS_HTTP_TEST_SUPPORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "platform/http/http_router.h"
#include "platform/http/http_server.h"

struct http_test_server {
    struct http_server *server;
    pthread_t thread;
    atomic_int port; /* >0 once listening, <0 on a start error */
    atomic_bool stop;
    int run_rc;
};

/* Creates a server for `router` from `config` (its host and port replaced
 * by 127.0.0.1 and 0), runs it on a new thread and returns once it listens
 * (at most 10 s). What `config` points to (observers) and `router` must
 * outlive http_test_server_stop(). */
void http_test_server_start(struct http_test_server *test_server,
                            const struct http_server_config *config,
                            const struct http_router *router);

/* The port it listens on. */
int http_test_server_port(const struct http_test_server *test_server);

/* Stops the worker (up to 2 s for open requests), joins the thread, checks
 * runtime_run() returned 0 and destroys the server; the router stays the
 * caller's. */
void http_test_server_stop(struct http_test_server *test_server);

#endif
