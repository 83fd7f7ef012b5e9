/*
 * pprof_burn_server.c: a test-only server whose /burn handler is
 * deliberately CPU-heavy, next to a real admin listener, so that
 * test_observability.sh can check that `go tool pprof -top` names the hot
 * function, and whose /alloc handler deliberately allocates (and keeps the
 * last BURN_RETAINED blocks), so that the heap profile must name
 * burn_heap_alloc for both allocated and in-use space. It is not part of
 * the service: the routes exist only here. It is linked with the heap
 * sampler's wrappers, like the service, and samples at the default rate.
 *
 * Prints "burn on http://127.0.0.1:PORT" and "admin on
 * http://127.0.0.1:PORT" on stderr, then serves until SIGTERM/SIGINT.
 * Optional argument: the admin token.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "platform/admin/admin.h"
#include "platform/http/http_router.h"
#include "platform/http/http_server.h"
#include "platform/metrics/metrics.h"
#include "platform/pprof/pprof_heap.h"
#include "platform/runtime/fiber.h"
#include "platform/runtime/runtime.h"

#define BURN_BLOCK_BYTES ((size_t)64 * 1024)
#define BURN_BLOCKS_PER_REQUEST 16
#define BURN_RETAINED 128 /* 8 MiB kept alive: the in-use profile's top */

/* The blocks /alloc keeps, oldest replaced first; workers share it. */
struct burn_retained {
    pthread_mutex_t lock;
    void *blocks[BURN_RETAINED];
    size_t next;
};

struct burn_server {
    struct burn_retained retained;
    struct http_server *public_server;
    struct http_server *admin_server;
    struct admin *admin;
    uv_signal_t signals[2];
};

/* The hot function the profile must name. noinline keeps it a frame. */
__attribute__((noinline)) static uint64_t burn_cpu_hot_loop(uint64_t rounds)
{
    volatile uint64_t state = 88172645463325252ULL;
    for (uint64_t i = 0; i < rounds; i++) {
        uint64_t x = state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state = x;
    }
    return state;
}

static int burn_handler(struct http_request *request, struct http_response *response, void *arg)
{
    (void)request;
    (void)arg;
    char body[64];
    int len = snprintf(body, sizeof(body), "{\"state\":%llu}",
                       (unsigned long long)burn_cpu_hot_loop((uint64_t)20 * 1000 * 1000));
    return http_response_json(response, 200, body, (size_t)len);
}

/* The allocating function the heap profile must name. */
__attribute__((noinline)) static void *burn_heap_alloc(size_t bytes)
{
    unsigned char *block = malloc(bytes);
    if (block != NULL) {
        memset(block, 0xa5, bytes); /* really used, not optimised away */
    }
    return block;
}

static int burn_alloc_handler(struct http_request *request, struct http_response *response,
                              void *arg)
{
    (void)request;
    struct burn_retained *retained = arg;
    for (int i = 0; i < BURN_BLOCKS_PER_REQUEST; i++) {
        void *block = burn_heap_alloc(BURN_BLOCK_BYTES);
        pthread_mutex_lock(&retained->lock);
        void *old = retained->blocks[retained->next];
        retained->blocks[retained->next] = block;
        retained->next = (retained->next + 1) % BURN_RETAINED;
        pthread_mutex_unlock(&retained->lock);
        free(old);
    }
    return http_response_json(response, 200, "{\"allocated\":true}", 18);
}

static void burn_on_signal(uv_signal_t *handle, int signum)
{
    (void)handle;
    (void)signum;
    runtime_stop();
}

static void burn_worker(void *arg)
{
    struct burn_server *server = arg;
    struct http_server_worker *workers[2] = {NULL, NULL};
    if (runtime_worker_index() == 0) {
        static const int signals[2] = {SIGTERM, SIGINT};
        for (int i = 0; i < 2; i++) {
            uv_signal_init(runtime_loop(), &server->signals[i]);
            uv_signal_start(&server->signals[i], burn_on_signal, signals[i]);
        }
    }
    if (admin_worker_start(server->admin) != 0 ||
        http_server_start(server->public_server, &workers[0]) != 0 ||
        http_server_start(server->admin_server, &workers[1]) != 0) {
        fprintf(stderr, "burn: cannot start\n");
        runtime_stop();
    } else if (runtime_worker_index() == 0) {
        fprintf(stderr, "burn on http://127.0.0.1:%d\nadmin on http://127.0.0.1:%d\n",
                http_server_port(server->public_server), http_server_port(server->admin_server));
    }
    (void)fiber_sleep(NULL, UINT64_MAX);
    for (int i = 0; i < 2; i++) {
        if (workers[i] != NULL) {
            http_server_worker_stop(workers[i], 1000);
        }
    }
    if (runtime_worker_index() == 0) {
        for (int i = 0; i < 2; i++) {
            uv_close((uv_handle_t *)&server->signals[i], NULL);
        }
    }
}

int main(int argc, char **argv)
{
    static struct burn_server server;
    if (pprof_heap_enable(0) != 0) {
        return EXIT_FAILURE;
    }
    pthread_mutex_init(&server.retained.lock, NULL);
    struct http_router *router = NULL;
    struct metrics_registry *metrics = NULL;
    if (http_router_create(&router) != 0 || metrics_registry_create(&metrics) != 0 ||
        http_router_add(router, "GET", "/burn", burn_handler, NULL) != 0 ||
        http_router_add(router, "GET", "/alloc", burn_alloc_handler, &server.retained) != 0) {
        return EXIT_FAILURE;
    }
    struct admin_config admin = {.token = argc > 1 ? argv[1] : NULL, .metrics = metrics};
    if (admin_create(&admin, &server.admin) != 0) {
        return EXIT_FAILURE;
    }
    struct http_server_config config;
    http_server_config_defaults(&config);
    config.host = "127.0.0.1";
    config.port = 0;
    struct http_server_config admin_config = config;
    admin_config.request_timeout_ms = admin_request_timeout_ms(server.admin);
    /* The token check is middleware: the admin server's chain must hold it. */
    const struct http_middleware admin_chain[] = {admin_auth_middleware(server.admin)};
    admin_config.middleware = admin_chain;
    admin_config.middleware_count = 1;
    if (http_server_create(&config, router, &server.public_server) != 0 ||
        http_server_create(&admin_config, admin_router(server.admin), &server.admin_server) != 0) {
        return EXIT_FAILURE;
    }
    signal(SIGPIPE, SIG_IGN);
    struct runtime_config runtime = {.worker_count = 2};
    int rc = runtime_run(&runtime, burn_worker, &server);
    http_server_destroy(server.public_server);
    http_server_destroy(server.admin_server);
    admin_destroy(server.admin);
    metrics_registry_destroy(metrics);
    http_router_destroy(router);
    for (size_t i = 0; i < BURN_RETAINED; i++) {
        free(server.retained.blocks[i]);
    }
    pthread_mutex_destroy(&server.retained.lock);
    return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
