/*
 * http_test_support.c: one worker polls a stop flag between short sleeps,
 * so the test thread can end the server without a signal or a pipe.
 */
#define _GNU_SOURCE /* usleep */
#include "http_test_support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/runtime/fiber.h"
#include "platform/runtime/runtime.h"

#define HTTP_TEST_POLL_MS 5
#define HTTP_TEST_DRAIN_MS 2000
#define HTTP_TEST_LISTEN_WAIT_STEPS 10000 /* of 1 ms: 10 s */

static void http_test_worker_main(void *arg)
{
    struct http_test_server *test_server = arg;
    struct http_server_worker *worker = NULL;
    int rc = http_server_start(test_server->server, &worker);
    if (rc < 0) {
        atomic_store(&test_server->port, rc);
        return;
    }
    atomic_store(&test_server->port, http_server_port(test_server->server));
    while (!atomic_load(&test_server->stop)) {
        fiber_sleep(NULL, HTTP_TEST_POLL_MS);
    }
    http_server_worker_stop(worker, HTTP_TEST_DRAIN_MS);
}

static void *http_test_thread(void *arg)
{
    struct http_test_server *test_server = arg;
    struct runtime_config config = {.worker_count = 1};
    test_server->run_rc = runtime_run(&config, http_test_worker_main, test_server);
    return NULL;
}

void http_test_server_start(struct http_test_server *test_server,
                            const struct http_server_config *config,
                            const struct http_router *router)
{
    *test_server = (struct http_test_server){.server = NULL};
    atomic_init(&test_server->port, 0);
    atomic_init(&test_server->stop, false);
    struct http_server_config local = *config;
    local.host = "127.0.0.1";
    local.port = 0;
    assert_int_equal(http_server_create(&local, router, &test_server->server), 0);
    assert_int_equal(pthread_create(&test_server->thread, NULL, http_test_thread, test_server), 0);
    for (int i = 0; i < HTTP_TEST_LISTEN_WAIT_STEPS && atomic_load(&test_server->port) == 0; i++) {
        usleep(1000);
    }
    assert_true(atomic_load(&test_server->port) > 0);
}

int http_test_server_port(const struct http_test_server *test_server)
{
    return atomic_load(&test_server->port);
}

void http_test_server_stop(struct http_test_server *test_server)
{
    atomic_store(&test_server->stop, true);
    pthread_join(test_server->thread, NULL);
    assert_int_equal(test_server->run_rc, 0);
    http_server_destroy(test_server->server);
    test_server->server = NULL;
}
