/*
 * test_shutdown_deadline.c: the drain sequence of platform/shutdown on a
 * real HTTP server in this process, with a real SIGTERM: a slow in-flight
 * request still completes (with `Connection: close`), one slower than the
 * deadline is cancelled and counted, and the exit status says so.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "platform/http/http_router.h"
#include "platform/http/http_server.h"
#include "platform/runtime/fiber.h"
#include "platform/runtime/runtime.h"
#include "platform/shutdown/shutdown.h"

#define SLOW_MS 200
#define DEADLINE_MS 3000

struct harness {
    struct http_server *server;
    struct shutdown shutdown;
    atomic_int port;
    atomic_int started; /* handlers that began */
    atomic_int stuck_result;
    uint64_t cancelled;
};

static int handle_slow(struct http_request *request, struct http_response *response, void *arg)
{
    struct harness *harness = arg;
    atomic_fetch_add(&harness->started, 1);
    int rc = fiber_sleep(request->ctx, SLOW_MS);
    if (rc != 0) {
        return rc;
    }
    return http_response_send(response, 200, "text/plain", "slow done", 9);
}

static int handle_stuck(struct http_request *request, struct http_response *response, void *arg)
{
    struct harness *harness = arg;
    (void)response;
    atomic_fetch_add(&harness->started, 1);
    int rc = fiber_sleep(request->ctx, UINT64_MAX);
    atomic_store(&harness->stuck_result, rc);
    return rc;
}

static void worker_main(void *arg)
{
    struct harness *harness = arg;
    struct shutdown_worker stopper;
    struct http_server_worker *worker = NULL;
    assert_int_equal(shutdown_worker_begin(&stopper, &harness->shutdown), 0);
    assert_int_equal(http_server_start(harness->server, &worker), 0);
    atomic_store(&harness->port, http_server_port(harness->server));
    shutdown_worker_wait(&stopper);
    struct http_server_worker *servers[1] = {worker};
    harness->cancelled = shutdown_worker_drain(&stopper, servers, 1);
    shutdown_worker_end(&stopper);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

struct client_result {
    bool slow_ok;
    bool slow_closing;
    bool stuck_answered;
};

static void *client_main(void *arg)
{
    struct harness *harness = arg;
    static struct client_result result;
    for (int i = 0; i < 1000 && atomic_load(&harness->port) == 0; i++) {
        sleep_ms(5);
    }
    int slow = test_http_connect(atomic_load(&harness->port));
    int stuck = test_http_connect(atomic_load(&harness->port));
    static const char slow_request[] = "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n";
    static const char stuck_request[] = "GET /stuck HTTP/1.1\r\nHost: t\r\n\r\n";
    if (slow < 0 || stuck < 0 || !test_http_send(stuck, stuck_request, sizeof(stuck_request) - 1)) {
        kill(getpid(), SIGTERM);
        return &result;
    }
    for (int i = 0; i < 1000 && atomic_load(&harness->started) < 1; i++) {
        sleep_ms(5);
    }
    /* The slow one starts last, so it is surely in flight at the signal. */
    (void)test_http_send(slow, slow_request, sizeof(slow_request) - 1);
    for (int i = 0; i < 1000 && atomic_load(&harness->started) < 2; i++) {
        sleep_ms(5);
    }
    kill(getpid(), SIGTERM);
    struct test_http_response *response = calloc(1, sizeof(*response));
    if (response != NULL && test_http_read_response(slow, response)) {
        char connection[32] = "";
        result.slow_ok = response->status == 200;
        result.slow_closing =
            test_http_header(response, "Connection", connection, sizeof(connection)) &&
            strcasecmp(connection, "close") == 0;
    }
    if (response != NULL) {
        result.stuck_answered = test_http_read_response(stuck, response);
    }
    free(response);
    close(slow);
    close(stuck);
    return &result;
}

static void test_slow_request_completes_and_stuck_one_is_cancelled(void **state)
{
    (void)state;
    struct harness harness = {0};
    struct http_router *router = NULL;
    assert_int_equal(http_router_create(&router), 0);
    assert_int_equal(http_router_add(router, "GET", "/slow", handle_slow, &harness), 0);
    assert_int_equal(http_router_add(router, "GET", "/stuck", handle_stuck, &harness), 0);
    struct http_server_config config;
    http_server_config_defaults(&config);
    config.host = "127.0.0.1";
    config.port = 0;
    config.request_timeout_ms = UINT64_C(60) * 1000;
    assert_int_equal(http_server_create(&config, router, &harness.server), 0);
    struct shutdown_config stop = {
        .drain_delay_ms = 0, .deadline_ms = DEADLINE_MS, .program = "test"};
    shutdown_init(&harness.shutdown, &stop, 1);
    assert_false(shutdown_is_draining(&harness.shutdown));

    pthread_t client;
    assert_int_equal(pthread_create(&client, NULL, client_main, &harness), 0);
    struct runtime_config runtime = {.worker_count = 1};
    assert_int_equal(runtime_run(&runtime, worker_main, &harness), 0);
    void *joined = NULL;
    pthread_join(client, &joined);
    const struct client_result *result = joined;

    assert_true(shutdown_is_draining(&harness.shutdown));
    assert_true(result->slow_ok);
    assert_true(result->slow_closing);
    assert_false(result->stuck_answered);
    assert_int_equal(atomic_load(&harness.stuck_result), -ECANCELED);
    assert_int_equal(harness.cancelled, 1);
    assert_int_equal(shutdown_cancelled(&harness.shutdown), 1);
    assert_int_equal(shutdown_exit_status(&harness.shutdown), 1);
    http_server_destroy(harness.server);
    http_router_destroy(router);
}

int main(void)
{
    /* As the service does: the stop signal is read from worker 0's signalfd. */
    if (shutdown_block_signals() != 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_request_completes_and_stuck_one_is_cancelled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
