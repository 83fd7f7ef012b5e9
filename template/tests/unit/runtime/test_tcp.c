/* TCP over loopback: echo, concurrency, errors, cancellation, idle resume. */
#include <errno.h>
#include <stdbool.h>

#include "runtime_test.h"

#include "platform/runtime/ctx.h"
#include "platform/runtime/fiber.h"
#include "platform/runtime/tcp.h"
#include "platform/runtime/waitgroup.h"

#define TEST_DEADLINE_MS 10000

static struct tcp_listener *listen_loopback(void)
{
    struct tcp_listen_options options = {.host = "127.0.0.1", .port = 0, .backlog = 128};
    struct tcp_listener *listener = NULL;
    CHECK_EQ(tcp_listen(&options, &listener), 0);
    return listener;
}

/* Echoes until EOF, then closes. */
static void echo_conn(void *arg)
{
    struct tcp_conn *conn = arg;
    struct ctx ctx;
    ctx_with_timeout(&ctx, ctx_background(), TEST_DEADLINE_MS);
    char buf[4096];
    for (;;) {
        ssize_t count = tcp_read(conn, &ctx, buf, sizeof(buf));
        if (count <= 0) {
            CHECK_EQ(count, 0);
            break;
        }
        CHECK_EQ(tcp_write(conn, &ctx, buf, (size_t)count), 0);
    }
    ctx_release(&ctx);
    tcp_close(conn);
}

struct echo_server {
    struct tcp_listener *listener;
    int connections;
};

static void echo_server_run(void *arg)
{
    struct echo_server *server = arg;
    struct ctx ctx;
    ctx_with_timeout(&ctx, ctx_background(), TEST_DEADLINE_MS);
    for (int i = 0; i < server->connections; i++) {
        struct tcp_conn *conn = NULL;
        int rc = tcp_accept(server->listener, &ctx, &conn);
        CHECK_EQ(rc, 0);
        if (rc != 0) {
            break;
        }
        CHECK_EQ(fiber_go("echo", echo_conn, conn), 0);
    }
    ctx_release(&ctx);
}

struct echo_client {
    int port;
    int index;
    struct waitgroup *group;
    bool ok;
};

static void echo_client_run(void *arg)
{
    struct echo_client *client = arg;
    struct ctx ctx;
    ctx_with_timeout(&ctx, ctx_background(), TEST_DEADLINE_MS);
    struct tcp_conn *conn = NULL;
    int rc = tcp_connect(&ctx, "127.0.0.1", client->port, &conn);
    CHECK_EQ(rc, 0);
    if (rc == 0) {
        char message[64];
        int len = snprintf(message, sizeof(message), "hello from client %d", client->index);
        struct iovec parts[2] = {{message, 6}, {message + 6, (size_t)len - 6}};
        CHECK_EQ(tcp_writev(conn, &ctx, parts, 2), 0);
        CHECK_EQ(tcp_shutdown_write(conn), 0);
        char reply[64];
        size_t received = 0;
        for (;;) {
            ssize_t count = tcp_read(conn, &ctx, reply + received, sizeof(reply) - received);
            if (count <= 0) {
                CHECK_EQ(count, 0);
                break;
            }
            received += (size_t)count;
        }
        client->ok = received == (size_t)len && memcmp(reply, message, received) == 0;
        tcp_close(conn);
    }
    ctx_release(&ctx);
    waitgroup_done(client->group);
}

#define ECHO_CLIENTS 64

static void body_echo(void *arg)
{
    int clients = *(int *)arg;
    struct echo_server server = {.listener = listen_loopback(), .connections = clients};
    if (server.listener == NULL) {
        return;
    }
    struct fiber *server_fiber = fiber_spawn("server", echo_server_run, &server);
    struct waitgroup group;
    waitgroup_init(&group);
    static struct echo_client client_args[ECHO_CLIENTS];
    for (int i = 0; i < clients; i++) {
        client_args[i] = (struct echo_client){tcp_listener_port(server.listener), i, &group, false};
        waitgroup_add(&group, 1);
        CHECK_EQ(fiber_go("client", echo_client_run, &client_args[i]), 0);
    }
    struct ctx ctx;
    ctx_with_timeout(&ctx, ctx_background(), TEST_DEADLINE_MS);
    CHECK_EQ(waitgroup_wait(&group, &ctx), 0);
    ctx_release(&ctx);
    CHECK_EQ(fiber_join(server_fiber), 0);
    for (int i = 0; i < clients; i++) {
        CHECK(client_args[i].ok);
    }
    tcp_listener_close(server.listener);
}

static void test_echo_over_loopback(void **state)
{
    (void)state;
    int clients = 1;
    run_in_runtime(body_echo, &clients);
}

static void test_many_concurrent_clients(void **state)
{
    (void)state;
    int clients = ECHO_CLIENTS;
    run_in_runtime(body_echo, &clients);
}

/* A client connected to an echo server that serves this one connection. */
struct echo_pair {
    struct tcp_listener *listener;
    struct ctx ctx;
    struct tcp_conn *conn;
};

/* False when the pair could not be made (the failed check is counted). */
static bool echo_pair_open(struct echo_pair *pair)
{
    pair->conn = NULL;
    pair->listener = listen_loopback();
    if (pair->listener == NULL) {
        return false;
    }
    ctx_with_timeout(&pair->ctx, ctx_background(), TEST_DEADLINE_MS);
    struct echo_server server = {.listener = pair->listener, .connections = 1};
    struct fiber *server_fiber = fiber_spawn("server", echo_server_run, &server);
    int port = tcp_listener_port(pair->listener);
    CHECK_EQ(tcp_connect(&pair->ctx, "127.0.0.1", port, &pair->conn), 0);
    CHECK_EQ(fiber_join(server_fiber), 0);
    return pair->conn != NULL;
}

static void echo_pair_close(struct echo_pair *pair)
{
    if (pair->listener == NULL) {
        return;
    }
    tcp_close(pair->conn);
    ctx_release(&pair->ctx);
    tcp_listener_close(pair->listener);
}

/* Far more than the socket buffers in total, in chunks small enough that the
 * echo of one chunk always fits: reads park and resume many times. */
static bool echo_large_payload(struct tcp_conn *conn, struct ctx *ctx)
{
    static unsigned char payload[1024 * 1024];
    for (size_t i = 0; i < sizeof(payload); i++) {
        payload[i] = (unsigned char)(i * 7);
    }
    size_t sent = 0;
    size_t received = 0;
    static unsigned char reply[65536];
    bool matches = true;
    while (received < sizeof(payload)) {
        if (sent < sizeof(payload)) {
            size_t chunk = sizeof(payload) - sent < 16384 ? sizeof(payload) - sent : 16384;
            CHECK_EQ(tcp_write(conn, ctx, payload + sent, chunk), 0);
            sent += chunk;
        }
        while (received < sent) {
            ssize_t count = tcp_read(conn, ctx, reply, sizeof(reply));
            if (count <= 0) {
                return false;
            }
            matches = matches && memcmp(reply, payload + received, (size_t)count) == 0;
            received += (size_t)count;
        }
    }
    return matches;
}

static void body_large_write(void *arg)
{
    (void)arg;
    struct echo_pair pair;
    if (echo_pair_open(&pair)) {
        CHECK(echo_large_payload(pair.conn, &pair.ctx));
    }
    echo_pair_close(&pair);
}

static void test_large_transfer_parks_on_full_buffers(void **state)
{
    (void)state;
    run_in_runtime(body_large_write, NULL);
}

static void body_connect_refused(void *arg)
{
    (void)arg;
    struct tcp_listener *listener = listen_loopback();
    if (listener == NULL) {
        return;
    }
    int port = tcp_listener_port(listener);
    tcp_listener_close(listener); /* nothing listens there any more */
    struct ctx ctx;
    ctx_with_timeout(&ctx, ctx_background(), TEST_DEADLINE_MS);
    struct tcp_conn *conn = NULL;
    CHECK_EQ(tcp_connect(&ctx, "127.0.0.1", port, &conn), -ECONNREFUSED);
    CHECK(conn == NULL);
    CHECK_EQ(tcp_connect(&ctx, "not-an-address", port, &conn), -EINVAL);
    ctx_release(&ctx);
}

/* Pieces of every split around the one-send gathering limit (1024 bytes,
 * tcp.c), zero-length pieces among them, must arrive as the same bytes in
 * the same order as one buffer would. */
static bool writev_round_trip(struct tcp_conn *conn, struct ctx *ctx, size_t total, int pieces)
{
    static unsigned char payload[4096];
    static unsigned char reply[4096];
    for (size_t i = 0; i < total; i++) {
        payload[i] = (unsigned char)(i * 13 + total + (size_t)pieces);
    }
    struct iovec parts[16];
    int count = 0;
    size_t at = 0;
    for (int piece = 0; piece < pieces; piece++) {
        size_t len = piece == pieces - 1 ? total - at : (total - at) / 2;
        parts[count++] = (struct iovec){payload + at, len};
        parts[count++] = (struct iovec){payload + at + len, 0}; /* empty, between pieces */
        at += len;
    }
    if (tcp_writev(conn, ctx, parts, count) != 0) {
        return false;
    }
    size_t received = 0;
    while (received < total) {
        ssize_t got = tcp_read(conn, ctx, reply + received, total - received);
        if (got <= 0) {
            return false;
        }
        received += (size_t)got;
    }
    return memcmp(reply, payload, total) == 0;
}

static void body_writev_pieces(void *arg)
{
    (void)arg;
    struct echo_pair pair;
    if (echo_pair_open(&pair)) {
        const size_t totals[] = {1, 2, 300, 1023, 1024, 1025, 2048, 4096};
        for (size_t t = 0; t < sizeof(totals) / sizeof(totals[0]); t++) {
            for (int pieces = 1; pieces <= 8; pieces++) {
                if (!writev_round_trip(pair.conn, &pair.ctx, totals[t], pieces)) {
                    print_error("%zu bytes in %d pieces came back different\n", totals[t], pieces);
                    CHECK(false);
                }
            }
        }
    }
    echo_pair_close(&pair);
}

static void test_writev_pieces_arrive_in_order(void **state)
{
    (void)state;
    run_in_runtime(body_writev_pieces, NULL);
}

static void test_connect_refused(void **state)
{
    (void)state;
    run_in_runtime(body_connect_refused, NULL);
}

struct acceptor {
    struct tcp_listener *listener;
    int result;
};

static void accept_once(void *arg)
{
    struct acceptor *acceptor = arg;
    struct ctx ctx;
    ctx_with_timeout(&ctx, ctx_background(), TEST_DEADLINE_MS);
    struct tcp_conn *conn = NULL;
    acceptor->result = tcp_accept(acceptor->listener, &ctx, &conn);
    ctx_release(&ctx);
}

static void body_accept_cancelled_by_close(void *arg)
{
    (void)arg;
    struct acceptor acceptor = {.listener = listen_loopback(), .result = 1};
    if (acceptor.listener == NULL) {
        return;
    }
    struct fiber *fiber = fiber_spawn("acceptor", accept_once, &acceptor);
    CHECK_EQ(fiber_sleep(NULL, 10), 0);
    CHECK_EQ(fiber_state_of(fiber), FIBER_PARKED);
    tcp_listener_close(acceptor.listener);
    CHECK_EQ(fiber_join(fiber), 0);
    CHECK_EQ(acceptor.result, -ECANCELED);
}

static void test_accept_is_cancelled_by_listener_close(void **state)
{
    (void)state;
    run_in_runtime(body_accept_cancelled_by_close, NULL);
}

struct resume_case {
    struct tcp_conn *server;
    int calls;
    ssize_t first_read;
    char data[16];
    bool ran_in_new_fiber;
    struct fiber *arming_fiber;
};

static void on_readable(struct tcp_conn *conn, void *arg)
{
    struct resume_case *resume_case = arg;
    resume_case->calls++;
    resume_case->ran_in_new_fiber = fiber_current() != resume_case->arming_fiber;
    struct ctx ctx;
    ctx_with_timeout(&ctx, ctx_background(), TEST_DEADLINE_MS);
    resume_case->first_read = tcp_read(conn, &ctx, resume_case->data, sizeof(resume_case->data));
    ctx_release(&ctx);
}

/* A connected pair for the resume tests: client and resume_case.server,
 * accepted from a loopback listener, with ctx bounding every call. */
struct resume_pair {
    struct tcp_listener *listener;
    struct ctx ctx;
    struct tcp_conn *client;
    struct resume_case resume_case;
};

/* Connects a client to `listener` and accepts it; false (the failed check
 * counted) when either end could not be made. */
static bool connect_loopback(struct tcp_listener *listener, struct ctx *ctx,
                             struct tcp_conn **client, struct tcp_conn **server)
{
    CHECK_EQ(tcp_connect(ctx, "127.0.0.1", tcp_listener_port(listener), client), 0);
    CHECK_EQ(tcp_accept(listener, ctx, server), 0);
    return *client != NULL && *server != NULL;
}

/* False when the pair could not be made (the failed check is counted). */
static bool resume_pair_open(struct resume_pair *pair)
{
    pair->client = NULL;
    pair->resume_case = (struct resume_case){.first_read = 99};
    pair->listener = listen_loopback();
    if (pair->listener == NULL) {
        return false;
    }
    ctx_with_timeout(&pair->ctx, ctx_background(), TEST_DEADLINE_MS);
    return connect_loopback(pair->listener, &pair->ctx, &pair->client, &pair->resume_case.server);
}

static void resume_pair_close(struct resume_pair *pair)
{
    if (pair->listener == NULL) {
        return;
    }
    tcp_close(pair->client);
    tcp_close(pair->resume_case.server);
    tcp_listener_close(pair->listener);
    ctx_release(&pair->ctx);
}

static void body_resume_on_data(void *arg)
{
    (void)arg;
    struct resume_pair pair;
    if (resume_pair_open(&pair)) {
        struct resume_case *resume_case = &pair.resume_case;
        resume_case->arming_fiber = fiber_current();
        CHECK_EQ(
            tcp_resume_on_readable(resume_case->server, 10000, "resumed", on_readable, resume_case),
            0);
        CHECK_EQ(fiber_sleep(NULL, 10), 0);
        CHECK_EQ(resume_case->calls, 0); /* nothing to read yet */
        CHECK_EQ(tcp_write(pair.client, &pair.ctx, "ping", 4), 0);
        for (int i = 0; i < 1000 && resume_case->calls == 0; i++) {
            fiber_sleep(NULL, 1);
        }
        CHECK_EQ(resume_case->calls, 1);
        CHECK(resume_case->ran_in_new_fiber);
        CHECK_EQ(resume_case->first_read, 4);
        CHECK(memcmp(resume_case->data, "ping", 4) == 0);
    }
    resume_pair_close(&pair);
}

static void test_resume_on_readable_runs_a_fiber_when_data_arrives(void **state)
{
    (void)state;
    run_in_runtime(body_resume_on_data, NULL);
}

static void body_resume_idle_timeout(void *arg)
{
    (void)arg;
    struct resume_pair pair;
    if (resume_pair_open(&pair)) {
        struct resume_case *resume_case = &pair.resume_case;
        CHECK_EQ(tcp_resume_on_readable(resume_case->server, 20, "idle", on_readable, resume_case),
                 0);
        for (int i = 0; i < 1000 && resume_case->calls == 0; i++) {
            fiber_sleep(NULL, 1);
        }
        CHECK_EQ(resume_case->calls, 1);
        CHECK_EQ(resume_case->first_read, -ETIMEDOUT);
    }
    resume_pair_close(&pair);
}

static void test_resume_on_readable_reports_the_idle_timeout(void **state)
{
    (void)state;
    run_in_runtime(body_resume_idle_timeout, NULL);
}

/* Waits (bounded) until the resume callback has run `calls` times. */
static void wait_for_calls(const struct resume_case *resume_case, int calls)
{
    for (int i = 0; i < 5000 && resume_case->calls < calls; i++) {
        fiber_sleep(NULL, 1);
    }
}

/* The idle timer is not stopped when data arrives (tcp.c): each idle period
 * must still get its own full limit, counted from when it began, and a
 * shorter limit must still fire on time. */
static void body_resume_idle_limit_restarts(void *arg)
{
    (void)arg;
    struct resume_pair pair;
    if (resume_pair_open(&pair)) {
        struct resume_case *resume_case = &pair.resume_case;
        CHECK_EQ(
            tcp_resume_on_readable(resume_case->server, 1000, "idle", on_readable, resume_case), 0);
        CHECK_EQ(fiber_sleep(NULL, 500), 0);
        CHECK_EQ(tcp_write(pair.client, &pair.ctx, "a", 1), 0);
        wait_for_calls(resume_case, 1);
        CHECK_EQ(resume_case->first_read, 1);
        /* Second idle period, from about 500 ms to 1500 ms: at 1250 ms, past
         * the first one's limit, it is still idle. */
        CHECK_EQ(
            tcp_resume_on_readable(resume_case->server, 1000, "idle", on_readable, resume_case), 0);
        CHECK_EQ(fiber_sleep(NULL, 750), 0);
        CHECK_EQ(resume_case->calls, 1);
        CHECK_EQ(tcp_write(pair.client, &pair.ctx, "b", 1), 0);
        wait_for_calls(resume_case, 2);
        CHECK_EQ(resume_case->first_read, 1);
        /* A shorter limit than the timer still running fires by itself. */
        CHECK_EQ(tcp_resume_on_readable(resume_case->server, 20, "idle", on_readable, resume_case),
                 0);
        wait_for_calls(resume_case, 3);
        CHECK_EQ(resume_case->calls, 3);
        CHECK_EQ(resume_case->first_read, -ETIMEDOUT);
    }
    resume_pair_close(&pair);
}

/* An idle timer that fires while the connection is busy stops (tcp.c): the
 * next idle period must start a new one, or it would never time out. */
static void body_resume_idle_timer_fired_while_busy(void *arg)
{
    (void)arg;
    struct resume_pair pair;
    if (resume_pair_open(&pair)) {
        struct resume_case *resume_case = &pair.resume_case;
        CHECK_EQ(tcp_resume_on_readable(resume_case->server, 50, "idle", on_readable, resume_case),
                 0);
        CHECK_EQ(tcp_write(pair.client, &pair.ctx, "a", 1), 0);
        wait_for_calls(resume_case, 1);
        CHECK_EQ(resume_case->first_read, 1);
        /* Busy well past the first idle period's limit: its timer fires on
         * a busy connection and stops. */
        CHECK_EQ(fiber_sleep(NULL, 150), 0);
        CHECK_EQ(tcp_resume_on_readable(resume_case->server, 50, "idle", on_readable, resume_case),
                 0);
        wait_for_calls(resume_case, 2);
        CHECK_EQ(resume_case->calls, 2);
        CHECK_EQ(resume_case->first_read, -ETIMEDOUT);
    }
    resume_pair_close(&pair);
}

static void test_resume_idle_timer_fired_while_busy_is_started_again(void **state)
{
    (void)state;
    run_in_runtime(body_resume_idle_timer_fired_while_busy, NULL);
}

static void test_resume_idle_limit_restarts_each_idle_period(void **state)
{
    (void)state;
    run_in_runtime(body_resume_idle_limit_restarts, NULL);
}

static void body_resume_eof(void *arg)
{
    (void)arg;
    struct resume_pair pair;
    if (resume_pair_open(&pair)) {
        struct resume_case *resume_case = &pair.resume_case;
        CHECK_EQ(tcp_resume_on_readable(resume_case->server, 0, "eof", on_readable, resume_case),
                 0);
        char address[64];
        CHECK_EQ(tcp_peer_address(resume_case->server, address, sizeof(address)), 0);
        CHECK(strcmp(address, "127.0.0.1") == 0);
        tcp_close(pair.client);
        pair.client = NULL;
        for (int i = 0; i < 1000 && resume_case->calls == 0; i++) {
            fiber_sleep(NULL, 1);
        }
        CHECK_EQ(resume_case->calls, 1);
        CHECK_EQ(resume_case->first_read, 0);
    }
    resume_pair_close(&pair);
}

static void test_resume_on_readable_sees_end_of_stream(void **state)
{
    (void)state;
    run_in_runtime(body_resume_eof, NULL);
}

static void body_stop_resumes_idle(void *arg)
{
    (void)arg;
    struct tcp_listener *listener = listen_loopback();
    if (listener == NULL) {
        return;
    }
    struct ctx ctx;
    ctx_with_timeout(&ctx, ctx_background(), TEST_DEADLINE_MS);
    struct resume_case resume_case = {.first_read = 99};
    struct tcp_conn *client = NULL;
    bool connected = connect_loopback(listener, &ctx, &client, &resume_case.server);
    ctx_release(&ctx);
    if (connected) {
        CHECK_EQ(tcp_resume_on_readable(resume_case.server, 0, "idle", on_readable, &resume_case),
                 0);
        runtime_stop();
        /* The stop arrives through the loop; yielding keeps it polled. */
        for (int i = 0; i < 100000 && resume_case.calls == 0; i++) {
            fiber_yield();
        }
        CHECK_EQ(resume_case.calls, 1);
        CHECK_EQ(resume_case.first_read, -ECANCELED);
        CHECK_EQ(tcp_resume_on_readable(resume_case.server, 0, "again", on_readable, &resume_case),
                 -ECANCELED);
    }
    tcp_close(client);
    tcp_close(resume_case.server);
    tcp_listener_close(listener);
}

/* Input that arrives while a connection is busy (its fiber is elsewhere and
 * nobody waits on the socket) is announced by one edge, which does not come
 * again (tcp.c): going idle afterwards must resume at once rather than wait
 * for more input. And an edge that resumed an idle connection is used up:
 * going idle again after reading must wait for new input. */
static void body_resume_edges_are_kept_and_used_once(void *arg)
{
    (void)arg;
    struct resume_pair pair;
    if (resume_pair_open(&pair)) {
        struct resume_case *resume_case = &pair.resume_case;
        CHECK_EQ(
            tcp_resume_on_readable(resume_case->server, 3000, "idle", on_readable, resume_case), 0);
        CHECK_EQ(tcp_write(pair.client, &pair.ctx, "a", 1), 0);
        wait_for_calls(resume_case, 1);
        CHECK_EQ(resume_case->first_read, 1);
        /* Used up: idle again with nothing sent, nothing resumes it. */
        CHECK_EQ(
            tcp_resume_on_readable(resume_case->server, 3000, "idle", on_readable, resume_case), 0);
        CHECK_EQ(fiber_sleep(NULL, 50), 0);
        CHECK_EQ(resume_case->calls, 1);
        wait_for_calls(resume_case, 1);
        CHECK_EQ(tcp_write(pair.client, &pair.ctx, "b", 1), 0);
        wait_for_calls(resume_case, 2);
        CHECK_EQ(resume_case->first_read, 1);
        /* Busy: "c" arrives and its edge is dispatched with nobody waiting. */
        CHECK_EQ(tcp_write(pair.client, &pair.ctx, "c", 1), 0);
        CHECK_EQ(fiber_sleep(NULL, 50), 0);
        CHECK_EQ(resume_case->calls, 2);
        /* Kept: going idle now resumes well before the 3 s idle limit. */
        CHECK_EQ(
            tcp_resume_on_readable(resume_case->server, 3000, "idle", on_readable, resume_case), 0);
        for (int i = 0; i < 1000 && resume_case->calls < 3; i++) {
            fiber_sleep(NULL, 1);
        }
        CHECK_EQ(resume_case->calls, 3);
        CHECK_EQ(resume_case->first_read, 1);
        CHECK_EQ(resume_case->data[0], 'c');
    }
    resume_pair_close(&pair);
}

static void test_resume_edges_are_kept_and_used_once(void **state)
{
    (void)state;
    run_in_runtime(body_resume_edges_are_kept_and_used_once, NULL);
}

/* Idle connections are served in the order their input arrived, whatever
 * order they were served in before (edge_poll.c): with level-triggered
 * polling the connections just served were reported again first. */
#define ORDER_CONNS 8

struct order_case;

struct order_conn {
    struct order_case *order;
    int index;
};

struct order_case {
    struct ctx *ctx;
    struct tcp_conn *servers[ORDER_CONNS];
    struct tcp_conn *clients[ORDER_CONNS];
    struct order_conn conns[ORDER_CONNS];
    int served[2 * ORDER_CONNS]; /* connection indexes, in the order served */
    int served_count;
};

static void on_order_readable(struct tcp_conn *conn, void *arg)
{
    struct order_conn *order_conn = arg;
    struct order_case *order = order_conn->order;
    char byte = 0;
    if (tcp_read_nowait(conn, order->ctx, &byte, 1) != 1 ||
        order->served_count >= 2 * ORDER_CONNS) {
        return;
    }
    order->served[order->served_count++] = order_conn->index;
    if (order->served_count > ORDER_CONNS) {
        return;
    }
    if (order->served_count == ORDER_CONNS) {
        /* Every connection was just reported ready, in index order. The
         * next input arrives in the reverse order before the worker polls
         * again. */
        for (int i = ORDER_CONNS - 1; i >= 0; i--) {
            CHECK_EQ(tcp_write(order->clients[i], order->ctx, "b", 1), 0);
        }
    }
    CHECK_EQ(tcp_resume_on_readable(conn, 0, "order", on_order_readable, arg), 0);
}

static void body_idle_connections_served_in_arrival_order(void *arg)
{
    (void)arg;
    struct tcp_listener *listener = listen_loopback();
    if (listener == NULL) {
        return;
    }
    struct ctx ctx;
    ctx_with_timeout(&ctx, ctx_background(), TEST_DEADLINE_MS);
    struct order_case order = {.ctx = &ctx};
    bool connected = true;
    for (int i = 0; i < ORDER_CONNS && connected; i++) {
        order.conns[i] = (struct order_conn){.order = &order, .index = i};
        connected = connect_loopback(listener, &ctx, &order.clients[i], &order.servers[i]);
        if (connected) {
            CHECK_EQ(tcp_resume_on_readable(order.servers[i], 0, "order", on_order_readable,
                                            &order.conns[i]),
                     0);
        }
    }
    if (connected) {
        /* Registering a socket reports it writable at once; let those
         * edges pass first, or the last one registered, still on the ready
         * list, would be reported first when its input came. */
        CHECK_EQ(fiber_sleep(NULL, 10), 0);
        for (int i = 0; i < ORDER_CONNS; i++) {
            CHECK_EQ(tcp_write(order.clients[i], &ctx, "a", 1), 0);
        }
        for (int i = 0; i < 5000 && order.served_count < 2 * ORDER_CONNS; i++) {
            fiber_sleep(NULL, 1);
        }
        CHECK_EQ(order.served_count, 2 * ORDER_CONNS);
        for (int i = 0; i < ORDER_CONNS; i++) {
            CHECK_EQ(order.served[i], i);
            CHECK_EQ(order.served[ORDER_CONNS + i], ORDER_CONNS - 1 - i);
        }
    }
    for (int i = 0; i < ORDER_CONNS; i++) {
        tcp_close(order.clients[i]);
        tcp_close(order.servers[i]);
    }
    tcp_listener_close(listener);
    ctx_release(&ctx);
}

static void test_idle_connections_are_served_in_arrival_order(void **state)
{
    (void)state;
    run_in_runtime(body_idle_connections_served_in_arrival_order, NULL);
}

static void test_stop_resumes_idle_connections_with_ecanceled(void **state)
{
    (void)state;
    run_in_runtime(body_stop_resumes_idle, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_over_loopback),
        cmocka_unit_test(test_many_concurrent_clients),
        cmocka_unit_test(test_large_transfer_parks_on_full_buffers),
        cmocka_unit_test(test_writev_pieces_arrive_in_order),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_accept_is_cancelled_by_listener_close),
        cmocka_unit_test(test_resume_on_readable_runs_a_fiber_when_data_arrives),
        cmocka_unit_test(test_resume_on_readable_reports_the_idle_timeout),
        cmocka_unit_test(test_resume_idle_limit_restarts_each_idle_period),
        cmocka_unit_test(test_resume_idle_timer_fired_while_busy_is_started_again),
        cmocka_unit_test(test_resume_on_readable_sees_end_of_stream),
        cmocka_unit_test(test_stop_resumes_idle_connections_with_ecanceled),
        cmocka_unit_test(test_resume_edges_are_kept_and_used_once),
        cmocka_unit_test(test_idle_connections_are_served_in_arrival_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
