/* Tests for http_bulkhead: the counters (also from several threads at once)
 * and the middleware on the runtime, with a handler that parks on a channel
 * so a write is really in flight while others arrive. Also the 429 answer of
 * the rate-limit middleware, which shares the short-circuit shape. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "platform/http/http_bulkhead.h"
#include "platform/http/http_middleware.h"
#include "platform/http/http_rate_limit.h"
#include "platform/http/http_request.h"
#include "platform/http/http_response.h"
#include "platform/runtime/channel.h"
#include "platform/runtime/ctx.h"
#include "platform/runtime/fiber.h"
#include "platform/runtime/runtime.h"

#define WAIT_MS 10000 /* bound on every park; never reached when all is well */

static struct http_bulkhead *make_bulkhead(unsigned read_limit, unsigned write_limit)
{
    const struct http_bulkhead_class classes[] = {
        {.name = "read", .limit = read_limit},
        {.name = "write", .limit = write_limit},
    };
    struct http_bulkhead_config config = {.classes = classes, .class_count = 2};
    struct http_bulkhead *bulkhead = NULL;
    assert_int_equal(http_bulkhead_create(&config, &bulkhead), 0);
    return bulkhead;
}

static void test_counts_per_class(void **state)
{
    (void)state;
    struct http_bulkhead *bulkhead = make_bulkhead(0, 2);
    struct http_bulkhead_lane *a = NULL;
    struct http_bulkhead_lane *b = NULL;
    struct http_bulkhead_lane *c = NULL;
    assert_int_equal(http_bulkhead_acquire(bulkhead, "write", &a), 0);
    assert_int_equal(http_bulkhead_acquire(bulkhead, "write", &b), 0);
    assert_int_equal(http_bulkhead_acquire(bulkhead, "write", &c), -EBUSY);
    assert_null(c);
    assert_int_equal(http_bulkhead_in_flight(bulkhead, "write"), 2);
    /* Unlimited, unknown and unrouted classes pass and hold nothing. */
    assert_int_equal(http_bulkhead_acquire(bulkhead, "read", &c), 0);
    assert_null(c);
    assert_int_equal(http_bulkhead_acquire(bulkhead, "admin", &c), 0);
    assert_null(c);
    assert_int_equal(http_bulkhead_acquire(bulkhead, NULL, &c), 0);
    assert_null(c);
    http_bulkhead_release(a);
    assert_int_equal(http_bulkhead_acquire(bulkhead, "write", &c), 0);
    http_bulkhead_release(b);
    http_bulkhead_release(c);
    http_bulkhead_release(NULL);
    assert_int_equal(http_bulkhead_in_flight(bulkhead, "write"), 0);
    http_bulkhead_destroy(bulkhead);
}

static void test_refuses_bad_config(void **state)
{
    (void)state;
    struct http_bulkhead *bulkhead = NULL;
    const struct http_bulkhead_class twice[] = {{.name = "read", .limit = 1},
                                                {.name = "read", .limit = 2}};
    struct http_bulkhead_config config = {.classes = twice, .class_count = 2};
    assert_int_equal(http_bulkhead_create(&config, &bulkhead), -EINVAL);
    const struct http_bulkhead_class unnamed[] = {{.name = "", .limit = 1}};
    config = (struct http_bulkhead_config){.classes = unnamed, .class_count = 1};
    assert_int_equal(http_bulkhead_create(&config, &bulkhead), -EINVAL);
    config.class_count = HTTP_BULKHEAD_MAX_CLASSES + 1;
    assert_int_equal(http_bulkhead_create(&config, &bulkhead), -EINVAL);
    assert_null(bulkhead);
}

/* ---- several threads at once (what several workers do) ------------------- */

#define THREADS 4
#define ROUNDS 20000
#define SHARED_LIMIT 3

struct hammer {
    struct http_bulkhead *bulkhead;
    atomic_uint held;     /* slots held right now, counted by the holders */
    atomic_uint most;     /* the most ever held at once */
    atomic_uint admitted; /* acquisitions that succeeded */
};

static void *hammer_thread(void *arg)
{
    struct hammer *hammer = arg;
    for (int i = 0; i < ROUNDS; i++) {
        struct http_bulkhead_lane *lane = NULL;
        if (http_bulkhead_acquire(hammer->bulkhead, "write", &lane) != 0) {
            continue;
        }
        unsigned now = atomic_fetch_add(&hammer->held, 1) + 1;
        unsigned most = atomic_load(&hammer->most);
        while (now > most && !atomic_compare_exchange_weak(&hammer->most, &most, now)) {
        }
        atomic_fetch_add(&hammer->admitted, 1);
        atomic_fetch_sub(&hammer->held, 1);
        http_bulkhead_release(lane);
    }
    return NULL;
}

static void test_limit_holds_across_threads(void **state)
{
    (void)state;
    struct hammer hammer = {.bulkhead = make_bulkhead(0, SHARED_LIMIT)};
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_create(&threads[i], NULL, hammer_thread, &hammer), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    }
    assert_true(atomic_load(&hammer.most) <= SHARED_LIMIT);
    assert_true(atomic_load(&hammer.admitted) > 0);
    assert_int_equal(http_bulkhead_in_flight(hammer.bulkhead, "write"), 0);
    http_bulkhead_destroy(hammer.bulkhead);
}

/* ---- the middleware on the runtime ---------------------------------------- */

struct exchange {
    struct http_request request;
    struct http_response response;
    int rc;
};

struct scene {
    struct http_bulkhead *bulkhead;
    struct http_middleware chain[1];
    struct channel *release;  /* the parked handler waits for a token here */
    struct channel *entered;  /* it says it is in flight here */
    struct exchange held;     /* the write that stays in flight */
    int rejections;
    bool failed;
};

static void count_rejection(void *arg)
{
    ((struct scene *)arg)->rejections++;
}

/* The route's handler: answers 201 once told to. */
static int parked_endpoint(void *arg, struct http_request *request, struct http_response *response)
{
    struct scene *scene = arg;
    (void)request;
    int token = 1;
    struct ctx deadline;
    ctx_with_timeout(&deadline, NULL, WAIT_MS);
    int rc = channel_send(scene->entered, &deadline, &token);
    if (rc == 0) {
        rc = channel_recv(scene->release, &deadline, &token);
    }
    ctx_release(&deadline);
    if (rc != 0) {
        scene->failed = true;
        return rc;
    }
    return http_response_json(response, 201, "{}", 2);
}

static int quick_endpoint(void *arg, struct http_request *request, struct http_response *response)
{
    (void)arg;
    (void)request;
    return http_response_json(response, 200, "{}", 2);
}

/* Fails without answering, as a handler with a bug does. */
static int failing_endpoint(void *arg, struct http_request *request, struct http_response *response)
{
    (void)arg;
    (void)request;
    (void)response;
    return -EIO;
}

static void exchange_init(struct exchange *exchange, const char *method, const char *route_class)
{
    memset(exchange, 0, sizeof(*exchange));
    http_request_reset(&exchange->request);
    exchange->request.method = method;
    exchange->request.route = "/things";
    exchange->request.route_class = route_class;
    http_response_init(&exchange->response);
}

static int run(struct scene *scene, struct exchange *exchange, http_endpoint_fn endpoint)
{
    exchange->rc = http_middleware_run(scene->chain, 1, endpoint, scene, &exchange->request,
                                       &exchange->response);
    return exchange->response.status;
}

static void hold_write(void *arg)
{
    struct scene *scene = arg;
    exchange_init(&scene->held, "POST", "write");
    run(scene, &scene->held, parked_endpoint);
}

static bool contains(const char *data, size_t len, const char *needle)
{
    size_t needle_len = strlen(needle);
    for (size_t i = 0; data != NULL && i + needle_len <= len; i++) {
        if (memcmp(data + i, needle, needle_len) == 0) {
            return true;
        }
    }
    return false;
}

static bool has_header(const struct http_response *response, const char *line)
{
    return contains(response->headers.data, response->headers.len, line);
}

static bool body_is(const struct http_response *response, const char *needle)
{
    return contains(response->body.data, response->body.len, needle);
}

static void scene_main(void *arg)
{
    struct scene *scene = arg;
    /* Channels belong to a worker: made here, on it. */
    scene->release = channel_create(1, sizeof(int));
    scene->entered = channel_create(1, sizeof(int));
    if (scene->release == NULL || scene->entered == NULL) {
        scene->failed = true;
        return;
    }
    struct fiber *holder = fiber_spawn("held-write", hold_write, scene);
    int token = 0;
    struct ctx deadline;
    ctx_with_timeout(&deadline, NULL, WAIT_MS);
    int rc = holder != NULL ? channel_recv(scene->entered, &deadline, &token) : -ENOMEM;
    ctx_release(&deadline);
    if (rc != 0) {
        scene->failed = true;
        if (holder != NULL) {
            fiber_detach(holder); /* it gives up after WAIT_MS */
        }
        return;
    }
    struct exchange other;
    /* A second write while one is in flight: refused at once. */
    exchange_init(&other, "POST", "write");
    if (run(scene, &other, quick_endpoint) != 503 || other.rc != 0 ||
        !has_header(&other.response, "Retry-After: 1\r\n") ||
        !body_is(&other.response, "\"code\":\"overloaded\"") ||
        !body_is(&other.response, "too many 'write' requests") ||
        http_bulkhead_in_flight(scene->bulkhead, "write") != 1) {
        scene->failed = true;
    }
    http_response_free(&other.response);
    /* Reads have their own compartment. */
    exchange_init(&other, "GET", "read");
    if (run(scene, &other, quick_endpoint) != 200) {
        scene->failed = true;
    }
    http_response_free(&other.response);
    /* Let the held write finish: its slot comes back. */
    token = 1;
    if (channel_try_send(scene->release, &token) != 0 || fiber_join(holder) != 0 ||
        scene->held.response.status != 201 ||
        http_bulkhead_in_flight(scene->bulkhead, "write") != 0) {
        scene->failed = true;
    }
    /* A handler that fails gives its slot back too (and the chain answers 500). */
    exchange_init(&other, "POST", "write");
    if (run(scene, &other, failing_endpoint) != 500 || other.rc != -EIO ||
        http_bulkhead_in_flight(scene->bulkhead, "write") != 0) {
        scene->failed = true;
    }
    http_response_free(&other.response);
    exchange_init(&other, "POST", "write");
    if (run(scene, &other, quick_endpoint) != 200) {
        scene->failed = true;
    }
    http_response_free(&other.response);
    channel_destroy(scene->release);
    channel_destroy(scene->entered);
}

static void test_middleware_on_the_runtime(void **state)
{
    (void)state;
    static struct scene scene;
    memset(&scene, 0, sizeof(scene));
    const struct http_bulkhead_class classes[] = {{.name = "read", .limit = 0},
                                                  {.name = "write", .limit = 1}};
    struct http_bulkhead_config config = {.classes = classes,
                                          .class_count = 2,
                                          .on_reject = count_rejection,
                                          .on_reject_arg = &scene};
    assert_int_equal(http_bulkhead_create(&config, &scene.bulkhead), 0);
    scene.chain[0] = http_bulkhead_middleware(scene.bulkhead);
    struct runtime_config runtime = {.worker_count = 1};
    assert_int_equal(runtime_run(&runtime, scene_main, &scene), 0);
    assert_false(scene.failed);
    assert_int_equal(scene.rejections, 1);
    http_response_free(&scene.held.response);
    http_bulkhead_destroy(scene.bulkhead);
}

/* ---- the rate limiter's answer -------------------------------------------- */

static void count_int(void *arg)
{
    (*(int *)arg)++;
}

static uint64_t frozen_clock(void *arg)
{
    (void)arg;
    return 42000000000ull;
}

static void test_rate_limit_answer(void **state)
{
    (void)state;
    struct http_trusted_proxies trusted;
    assert_int_equal(http_trusted_proxies_parse("127.0.0.1", &trusted, NULL, 0), 0);
    int rejections = 0;
    struct http_rate_limit_config config = {.rate = 1,
                                            .burst = 2,
                                            .max_clients = 64,
                                            .trusted = &trusted,
                                            .now_ns = frozen_clock,
                                            .on_reject = count_int,
                                            .on_reject_arg = &rejections};
    struct http_rate_limit *limiter = NULL;
    assert_int_equal(http_rate_limit_create(&config, &limiter), 0);
    struct http_middleware chain[1] = {http_rate_limit_middleware(limiter)};
    struct exchange exchange;
    for (int i = 0; i < 3; i++) {
        exchange_init(&exchange, "GET", "read");
        snprintf(exchange.request.peer_address, sizeof(exchange.request.peer_address), "127.0.0.1");
        exchange.request.headers[0] = (struct http_header){
            .name = "X-Forwarded-For", .name_len = 15, .value = "203.0.113.7", .value_len = 11};
        exchange.request.header_count = 1;
        int status = http_middleware_run(chain, 1, quick_endpoint, NULL, &exchange.request,
                                         &exchange.response);
        if (i < 2) {
            assert_int_equal(status, 0);
            assert_int_equal(exchange.response.status, 200);
        } else {
            assert_int_equal(exchange.response.status, 429);
            /* Both tokens spent at one instant: the next is a second away. */
            assert_true(has_header(&exchange.response, "Retry-After: 1\r\n"));
            assert_true(body_is(&exchange.response, "{\"error\":{\"code\":\"rate_limited\""));
        }
        http_response_free(&exchange.response);
    }
    /* No peer address (no socket): not limited. */
    exchange_init(&exchange, "GET", "read");
    http_middleware_run(chain, 1, quick_endpoint, NULL, &exchange.request, &exchange.response);
    assert_int_equal(exchange.response.status, 200);
    http_response_free(&exchange.response);
    assert_int_equal(rejections, 1);
    http_rate_limit_destroy(limiter);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_per_class),
        cmocka_unit_test(test_refuses_bad_config),
        cmocka_unit_test(test_limit_holds_across_threads),
        cmocka_unit_test(test_middleware_on_the_runtime),
        cmocka_unit_test(test_rate_limit_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
