/* Several workers with SO_REUSEPORT listeners, stopped from another thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "runtime_test.h"

#include "platform/runtime/ctx.h"
#include "platform/runtime/fiber.h"
#include "platform/runtime/tcp.h"

#define WORKERS 2
#define CLIENT_CONNECTIONS 40

struct shared {
    int port;
    atomic_int listening;
    atomic_int served[WORKERS];
    atomic_uint worker_count_seen;
    atomic_int accept_results[WORKERS];
};

static void serve_one(void *arg)
{
    struct tcp_conn *conn = arg;
    struct ctx ctx;
    ctx_with_timeout(&ctx, ctx_background(), 10000);
    char buf[64];
    ssize_t count = tcp_read(conn, &ctx, buf, sizeof(buf));
    if (count > 0) {
        char reply = (char)('0' + runtime_worker_index());
        CHECK_EQ(tcp_write(conn, &ctx, &reply, 1), 0);
    }
    ctx_release(&ctx);
    tcp_close(conn);
}

static void worker_main(void *arg)
{
    struct shared *shared = arg;
    unsigned index = runtime_worker_index();
    atomic_store(&shared->worker_count_seen, runtime_worker_count());
    CHECK(runtime_loop() != NULL);
    struct tcp_listen_options options = {
        .host = "127.0.0.1", .port = shared->port, .backlog = 64, .reuse_port = true};
    struct tcp_listener *listener = NULL;
    int rc = tcp_listen(&options, &listener);
    CHECK_EQ(rc, 0);
    if (rc != 0) {
        return;
    }
    atomic_fetch_add(&shared->listening, 1);
    for (;;) {
        struct tcp_conn *conn = NULL;
        /* The background context: runtime_stop() ends this loop. */
        rc = tcp_accept(listener, ctx_background(), &conn);
        if (rc < 0) {
            break;
        }
        atomic_fetch_add(&shared->served[index], 1);
        CHECK_EQ(fiber_go("serve", serve_one, conn), 0);
    }
    atomic_store(&shared->accept_results[index], rc);
    tcp_listener_close(listener);
}

static int pick_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(address);
    assert_int_equal(bind(fd, (struct sockaddr *)&address, sizeof(address)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&address, &len), 0);
    close(fd);
    return ntohs(address.sin_port);
}

static void pause_ms(long milliseconds)
{
    struct timespec pause = {.tv_sec = 0, .tv_nsec = milliseconds * 1000000L};
    nanosleep(&pause, NULL);
}

struct client {
    struct shared *shared;
    int replies;
    int seen_worker[WORKERS];
};

/* A plain blocking client on its own thread, then runtime_stop(). */
static void *client_thread(void *arg)
{
    struct client *client = arg;
    for (int i = 0; i < 5000 && atomic_load(&client->shared->listening) < WORKERS; i++) {
        pause_ms(1);
    }
    struct timeval timeout = {.tv_sec = 5, .tv_usec = 0};
    for (int i = 0; i < CLIENT_CONNECTIONS; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
        struct sockaddr_in address = {.sin_family = AF_INET};
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons((uint16_t)client->shared->port);
        if (connect(fd, (struct sockaddr *)&address, sizeof(address)) == 0 &&
            write(fd, "x", 1) == 1) {
            char reply = 0;
            if (read(fd, &reply, 1) == 1 && reply >= '0' && reply < '0' + WORKERS) {
                client->replies++;
                client->seen_worker[reply - '0']++;
            }
        }
        close(fd);
    }
    runtime_stop();
    return NULL;
}

static void test_workers_share_a_port_and_stop_from_another_thread(void **state)
{
    (void)state;
    struct shared shared = {.port = pick_free_port()};
    for (int i = 0; i < WORKERS; i++) {
        atomic_store(&shared.accept_results[i], 1);
    }
    struct client client = {.shared = &shared};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, client_thread, &client), 0);
    struct runtime_config config = {.worker_count = WORKERS};
    run_in_runtime_config(&config, worker_main, &shared);
    pthread_join(thread, NULL);

    assert_int_equal(atomic_load(&shared.worker_count_seen), WORKERS);
    assert_int_equal(client.replies, CLIENT_CONNECTIONS);
    int served = 0;
    for (int i = 0; i < WORKERS; i++) {
        served += atomic_load(&shared.served[i]);
        /* Each worker's accept loop ended through runtime_stop(). */
        assert_int_equal(atomic_load(&shared.accept_results[i]), -ECANCELED);
        assert_int_equal(client.seen_worker[i], atomic_load(&shared.served[i]));
    }
    assert_int_equal(served, CLIENT_CONNECTIONS);
}

static void park_forever(void *arg)
{
    int *result = arg;
    *result = fiber_sleep(NULL, (uint64_t)3600 * 1000); /* only runtime_stop() ends it */
}

static void *stop_soon(void *arg)
{
    (void)arg;
    pause_ms(20);
    runtime_stop();
    return NULL;
}

static void test_stop_wakes_sleepers_on_every_worker(void **state)
{
    (void)state;
    int result = 1;
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, stop_soon, NULL), 0);
    struct runtime_config config = {.worker_count = 1};
    run_in_runtime_config(&config, park_forever, &result);
    pthread_join(thread, NULL);
    assert_int_equal(result, -ECANCELED);
}

static void test_stop_without_runtime_is_harmless(void **state)
{
    (void)state;
    runtime_stop();
    assert_int_equal(runtime_worker_count(), 0);
    assert_null(runtime_loop());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_workers_share_a_port_and_stop_from_another_thread),
        cmocka_unit_test(test_stop_wakes_sleepers_on_every_worker),
        cmocka_unit_test(test_stop_without_runtime_is_harmless),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
