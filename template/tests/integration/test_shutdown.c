/*
 * test_shutdown.c: graceful shutdown of the real binary under real signals.
 *
 * Many keep-alive clients hammer the service; SIGTERM arrives mid-load. No
 * request sent before the signal may fail or be reset; the last answers
 * carry `Connection: close`; the process exits 0. A second SIGTERM during a
 * long drain delay exits at once.
 */
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
#include "service_process.h"

/* The example's link store, in memory: nothing left on disk. */
/* hexkit:example:begin */
#define STORE_ARGS "--store", "memory",
/* hexkit:example:end */
#ifndef STORE_ARGS
#define STORE_ARGS
#endif

#define CLIENTS 16
#define WARMUP_REQUESTS 2000

struct load {
    int port;
    atomic_bool signalled;
    atomic_uint answered;
    atomic_uint failed_before_signal;
    atomic_uint closed_by_server;
    atomic_uint failed_after_signal;
};

static void *client_main(void *arg)
{
    struct load *load = arg;
    static const char request[] = "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n";
    int fd = test_http_connect(load->port);
    if (fd < 0) {
        atomic_fetch_add(&load->failed_before_signal, 1);
        return NULL;
    }
    /* Bounded: the server closes every connection once it drains. */
    for (unsigned i = 0; i < 1000000; i++) {
        struct test_http_response *response = calloc(1, sizeof(*response));
        bool sent = response != NULL && test_http_send(fd, request, sizeof(request) - 1);
        /* Read after the send returned: if the flag is still clear, the
         * request was in the server's socket before the signal was sent. */
        bool before = !atomic_load(&load->signalled);
        bool ok = sent && test_http_read_response(fd, response) && response->status == 200;
        char connection[32] = "";
        bool closing = ok &&
                       test_http_header(response, "Connection", connection, sizeof(connection)) &&
                       strcasecmp(connection, "close") == 0;
        free(response);
        if (!ok) {
            atomic_fetch_add(before ? &load->failed_before_signal : &load->failed_after_signal, 1);
            break;
        }
        atomic_fetch_add(&load->answered, 1);
        if (closing) {
            atomic_fetch_add(&load->closed_by_server, 1);
            break;
        }
    }
    close(fd);
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_sigterm_under_keep_alive_load_loses_nothing(void **state)
{
    struct test_service *service = *state;
    /* Access logs off: thousands of lines would only fill the pipe. */
    static const char *const args[] = {STORE_ARGS "--drain-delay",
                                       "0",
                                       "--admin-address",
                                       "127.0.0.1:0",
                                       "--log-level",
                                       "warn",
                                       NULL};
    assert_true(test_service_start(service, HEXSVC_BINARY, args, NULL));
    struct load load = {.port = service->port};
    pthread_t threads[CLIENTS];
    for (size_t i = 0; i < CLIENTS; i++) {
        assert_int_equal(pthread_create(&threads[i], NULL, client_main, &load), 0);
    }
    /* Bounded wait for steady load (at most 30 s). */
    for (int i = 0; i < 3000 && atomic_load(&load.answered) < WARMUP_REQUESTS; i++) {
        sleep_ms(10);
    }
    assert_true(atomic_load(&load.answered) >= WARMUP_REQUESTS);
    atomic_store(&load.signalled, true);
    assert_int_equal(kill(service->pid, SIGTERM), 0);
    for (size_t i = 0; i < CLIENTS; i++) {
        pthread_join(threads[i], NULL);
    }
    int status = test_service_stop(service, 0, 20000);
    test_service_drain_output(service);
    printf("answered %u, closed by server %u, failed after signal %u\n",
           atomic_load(&load.answered), atomic_load(&load.closed_by_server),
           atomic_load(&load.failed_after_signal));
    assert_int_equal(atomic_load(&load.failed_before_signal), 0);
    assert_int_equal(status, 0);
    assert_non_null(strstr(service->output, "SIGTERM received, draining"));
    assert_non_null(strstr(service->output, "stopped cleanly"));
}

static void test_second_sigterm_exits_at_once(void **state)
{
    struct test_service *service = *state;
    /* A drain delay far longer than the wait below: only the second signal
     * can explain an exit within it. */
    static const char *const args[] = {STORE_ARGS "--drain-delay",
                                       "10m",
                                       "--admin-address",
                                       "127.0.0.1:0",
                                       "--log-level",
                                       "warn",
                                       NULL};
    assert_true(test_service_start(service, HEXSVC_BINARY, args, NULL));
    assert_int_equal(kill(service->pid, SIGTERM), 0);
    for (int i = 0; i < 500 && strstr(service->output, "draining") == NULL; i++) {
        sleep_ms(10);
        test_service_drain_output(service);
    }
    assert_non_null(strstr(service->output, "draining"));
    /* During the drain delay the listener still serves (load balancers are
     * still sending traffic while they notice /readyz). */
    struct test_http_response *response = calloc(1, sizeof(*response));
    assert_non_null(response);
    assert_true(test_http_request(service->port, "GET", "/healthz", NULL, response));
    assert_int_equal(response->status, 200);
    free(response);
    int status = test_service_stop(service, SIGTERM, 10000);
    assert_int_equal(status, 128 + SIGTERM);
    assert_non_null(strstr(service->output, "second SIGTERM, exiting at once"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        test_service_unit_test(test_sigterm_under_keep_alive_load_loses_nothing),
        test_service_unit_test(test_second_sigterm_exits_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
