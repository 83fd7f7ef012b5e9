/*
 * The middleware chain (http_middleware.h), route classes, error mapping
 * (http_errors.h) and the request-id middleware, with real requests and
 * responses; the last tests run the chain inside the real server over a
 * real socket.
 */
#define _GNU_SOURCE /* usleep */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/http/http_errors.h"
#include "platform/http/http_middleware.h"
#include "platform/http/http_request_id.h"
#include "platform/http/http_router.h"
#include "platform/http/http_server.h"
#include "platform/log/log.h"
#include "platform/runtime/runtime.h"

#include "http_client.h"
#include "http_test_support.h"

/* ---- a request, a response and a trace of what ran ----------------------- */

#define TRACE_MAX 16

struct trace {
    const char *steps[TRACE_MAX];
    size_t count;
};

static void trace_add(struct trace *trace, const char *step)
{
    assert_true(trace->count < TRACE_MAX);
    trace->steps[trace->count++] = step;
}

static void trace_expect(const struct trace *trace, const char *const *expected, size_t count)
{
    assert_int_equal(trace->count, count);
    for (size_t i = 0; i < count; i++) {
        assert_string_equal(trace->steps[i], expected[i]);
    }
}

struct exchange_fixture {
    struct http_request request;
    struct http_response response;
};

static struct exchange_fixture *exchange_new(const char *method, const char *path)
{
    struct exchange_fixture *fixture = calloc(1, sizeof(*fixture));
    assert_non_null(fixture);
    http_request_reset(&fixture->request);
    fixture->request.method = method;
    fixture->request.path = path;
    fixture->request.path_len = strlen(path);
    http_response_init(&fixture->response);
    return fixture;
}

static void exchange_add_header(struct exchange_fixture *fixture, const char *name,
                                const char *value)
{
    struct http_request *request = &fixture->request;
    request->headers[request->header_count++] = (struct http_header){
        .name = name, .name_len = strlen(name), .value = value, .value_len = strlen(value)};
}

static void exchange_free(struct exchange_fixture *fixture)
{
    http_response_free(&fixture->response);
    free(fixture);
}

/* The response's extra header lines, NUL-terminated, for strstr. */
static const char *response_headers(struct http_response *response)
{
    static char text[1024];
    size_t len =
        response->headers.len < sizeof(text) - 1 ? response->headers.len : sizeof(text) - 1;
    memcpy(text, response->headers.data != NULL ? response->headers.data : "", len);
    text[len] = '\0';
    return text;
}

static const char *response_body(struct http_response *response)
{
    static char text[1024];
    size_t len = response->body.len < sizeof(text) - 1 ? response->body.len : sizeof(text) - 1;
    memcpy(text, response->body.data != NULL ? response->body.data : "", len);
    text[len] = '\0';
    return text;
}

/* ---- recording middleware ------------------------------------------------- */

struct recorder {
    const char *before;
    const char *after;
    const char *finished;
    struct trace *trace;
    bool short_circuit; /* answer 401 instead of calling next */
};

static void recorder_finish(void *arg, const struct http_exchange *exchange)
{
    struct recorder *recorder = arg;
    assert_int_equal(exchange->status, 201);
    assert_int_equal(exchange->body_bytes, 2);
    trace_add(recorder->trace, recorder->finished);
}

static int recorder_handle(void *arg, struct http_request *request, struct http_response *response,
                           const struct http_next *next)
{
    struct recorder *recorder = arg;
    trace_add(recorder->trace, recorder->before);
    if (recorder->short_circuit) {
        return http_response_error(response, 401, "unauthorized", "no");
    }
    assert_int_equal(http_response_on_finish(response, recorder_finish, recorder), 0);
    int rc = http_next(next, request, response);
    trace_add(recorder->trace, recorder->after);
    return rc;
}

struct endpoint {
    struct trace *trace;
    int rc;        /* what the endpoint returns */
    bool answers;  /* whether it answers 201 first */
};

static int endpoint_run(void *arg, struct http_request *request, struct http_response *response)
{
    (void)request;
    struct endpoint *endpoint = arg;
    if (endpoint->trace != NULL) {
        trace_add(endpoint->trace, "endpoint");
    }
    (void)http_response_set_header(response, "X-Half", "built");
    if (endpoint->answers) {
        assert_int_equal(http_response_json(response, 201, "{}", 2), 0);
    }
    return endpoint->rc;
}

static void test_chain_runs_in_order(void **state)
{
    (void)state;
    struct trace trace = {0};
    struct recorder recorders[3] = {
        {"a>", "<a", "finish a", &trace, false},
        {"b>", "<b", "finish b", &trace, false},
        {"c>", "<c", "finish c", &trace, false},
    };
    struct http_middleware chain[3];
    for (size_t i = 0; i < 3; i++) {
        chain[i] = (struct http_middleware){
            .name = recorders[i].before, .handle = recorder_handle, .arg = &recorders[i]};
    }
    struct endpoint endpoint = {.trace = &trace, .rc = 7, .answers = true};
    struct exchange_fixture *x = exchange_new("POST", "/things");

    assert_int_equal(
        http_middleware_run(chain, 3, endpoint_run, &endpoint, &x->request, &x->response), 7);
    static const char *const order[] = {"a>", "b>", "c>", "endpoint", "<c", "<b", "<a"};
    trace_expect(&trace, order, 7);
    assert_int_equal(x->response.status, 201);

    /* The server runs the finish callbacks after the write: newest first,
     * each with the exchange, then forgets them. */
    trace.count = 0;
    struct http_exchange exchange = {.request = &x->request, .status = 201, .body_bytes = 2};
    http_response_finish(&x->response, &exchange);
    static const char *const finished[] = {"finish c", "finish b", "finish a"};
    trace_expect(&trace, finished, 3);
    assert_int_equal(x->response.finish_count, 0);
    exchange_free(x);
}

static void test_short_circuit_stops_the_rest(void **state)
{
    (void)state;
    struct trace trace = {0};
    struct recorder recorders[3] = {
        {"a>", "<a", "finish a", &trace, false},
        {"b>", "<b", "finish b", &trace, true},
        {"c>", "<c", "finish c", &trace, false},
    };
    struct http_middleware chain[3];
    for (size_t i = 0; i < 3; i++) {
        chain[i] = (struct http_middleware){.handle = recorder_handle, .arg = &recorders[i]};
    }
    struct endpoint endpoint = {.trace = &trace, .answers = true};
    struct exchange_fixture *x = exchange_new("GET", "/x");
    assert_int_equal(
        http_middleware_run(chain, 3, endpoint_run, &endpoint, &x->request, &x->response), 0);
    static const char *const order[] = {"a>", "b>", "<a"};
    trace_expect(&trace, order, 3);
    assert_int_equal(x->response.status, 401);
    assert_int_equal(x->response.finish_count, 1); /* only a's */
    exchange_free(x);
}

static void test_finish_slots_are_bounded(void **state)
{
    (void)state;
    struct trace trace = {0};
    struct recorder recorder = {"r>", "<r", "finish", &trace, false};
    struct exchange_fixture *x = exchange_new("GET", "/x");
    for (size_t i = 0; i < HTTP_RESPONSE_MAX_FINISH; i++) {
        assert_int_equal(http_response_on_finish(&x->response, recorder_finish, &recorder), 0);
    }
    assert_int_equal(http_response_on_finish(&x->response, recorder_finish, &recorder), -ENOSPC);
    /* A new request starts with none. */
    http_response_reset(&x->response);
    assert_int_equal(x->response.finish_count, 0);
    exchange_free(x);
}

static void test_unanswered_request_gets_500(void **state)
{
    (void)state;
    struct trace trace = {0};
    struct recorder recorder = {"a>", "<a", "finish a", &trace, false};
    struct http_middleware chain[1] = {{.handle = recorder_handle, .arg = &recorder}};
    struct endpoint endpoint = {.rc = 0, .answers = false};
    struct exchange_fixture *x = exchange_new("GET", "/x");
    (void)http_middleware_run(chain, 1, endpoint_run, &endpoint, &x->request, &x->response);
    assert_int_equal(x->response.status, 500);
    assert_non_null(strstr(response_body(&x->response), "\"code\":\"internal\""));
    assert_null(strstr(response_headers(&x->response), "X-Half")); /* half-built: dropped */
    assert_int_equal(x->response.finish_count, 1);                  /* still logged */
    exchange_free(x);
}

static void test_overlong_chain_runs_nothing(void **state)
{
    (void)state;
    struct trace trace = {0};
    static struct http_middleware chain[HTTP_MIDDLEWARE_MAX + 1];
    struct recorder recorder = {"a>", "<a", "finish a", &trace, false};
    for (size_t i = 0; i < HTTP_MIDDLEWARE_MAX + 1; i++) {
        chain[i] = (struct http_middleware){.handle = recorder_handle, .arg = &recorder};
    }
    struct endpoint endpoint = {.trace = &trace, .answers = true};
    struct exchange_fixture *x = exchange_new("GET", "/x");
    assert_int_equal(http_middleware_run(chain, HTTP_MIDDLEWARE_MAX + 1, endpoint_run, &endpoint,
                                         &x->request, &x->response),
                     -E2BIG);
    assert_int_equal(trace.count, 0);
    assert_int_equal(x->response.status, 500);
    exchange_free(x);
}

/* ---- error mapping ------------------------------------------------------- */

static int stamp_handle(void *arg, struct http_request *request, struct http_response *response,
                        const struct http_next *next)
{
    (void)arg;
    assert_int_equal(http_response_set_header(response, "X-Request-Id", "req-1"), 0);
    return http_next(next, request, response);
}

/* Runs [stamp, errors] around an endpoint that returns rc (answering 201
 * first when `answers`); returns the fixture for the caller to inspect. */
static struct exchange_fixture *run_errors(struct logger *logger, int rc, bool answers)
{
    struct http_middleware chain[2] = {
        {.name = "stamp", .handle = stamp_handle},
        http_errors_middleware(logger),
    };
    struct endpoint endpoint = {.rc = rc, .answers = answers};
    struct exchange_fixture *x = exchange_new("GET", "/x");
    x->request.route = "/x";
    assert_int_equal(
        http_middleware_run(chain, 2, endpoint_run, &endpoint, &x->request, &x->response), 0);
    return x;
}

static void expect_mapped(int rc, int status, const char *code, bool retry_after)
{
    struct exchange_fixture *x = run_errors(NULL, rc, false);
    assert_int_equal(x->response.status, status);
    char expected[64];
    snprintf(expected, sizeof(expected), "\"code\":\"%s\"", code);
    assert_non_null(strstr(response_body(&x->response), expected));
    const char *headers = response_headers(&x->response);
    assert_non_null(strstr(headers, "X-Request-Id: req-1\r\n")); /* set outside: kept */
    assert_null(strstr(headers, "X-Half"));                      /* half-built: dropped */
    assert_int_equal(strstr(headers, "Retry-After: 1\r\n") != NULL, retry_after);
    exchange_free(x);
}

static void test_errors_map_errno_to_status(void **state)
{
    (void)state;
    assert_int_equal(http_errors_status(-ETIMEDOUT), 504);
    assert_int_equal(http_errors_status(-ECANCELED), 503);
    assert_int_equal(http_errors_status(-ENOMEM), 503);
    assert_int_equal(http_errors_status(-EAGAIN), 503);
    assert_int_equal(http_errors_status(-EIO), 500);
    expect_mapped(-ETIMEDOUT, 504, "timeout", false);
    expect_mapped(-ECANCELED, 503, "unavailable", true);
    expect_mapped(-ENOMEM, 503, "unavailable", true);
    expect_mapped(-EAGAIN, 503, "unavailable", true);
    expect_mapped(-EIO, 500, "internal", false);
    expect_mapped(-EINVAL, 500, "internal", false);
    expect_mapped(0, 500, "internal", false); /* returned without answering */
}

static void test_errors_keep_an_answer_already_made(void **state)
{
    (void)state;
    struct exchange_fixture *x = run_errors(NULL, -EIO, true);
    assert_int_equal(x->response.status, 201);
    assert_string_equal(response_body(&x->response), "{}");
    exchange_free(x);
    x = run_errors(NULL, 0, true);
    assert_int_equal(x->response.status, 201);
    exchange_free(x);
}

/* Reads what the logger wrote into the pipe until EOF. */
static size_t read_all(int fd, char *buf, size_t size)
{
    size_t len = 0;
    for (;;) {
        ssize_t got = read(fd, buf + len, size - 1 - len);
        if (got <= 0) {
            break;
        }
        len += (size_t)got;
    }
    buf[len] = '\0';
    return len;
}

static size_t count_of(const char *text, const char *needle)
{
    size_t count = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        count++;
    }
    return count;
}

static void test_errors_log_each_failure_once(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    struct log_config config;
    log_config_defaults(&config);
    config.fd = fds[1];
    config.format = LOG_FORMAT_JSON;
    struct logger *logger = NULL;
    assert_int_equal(log_create(&config, &logger), 0);
    exchange_free(run_errors(logger, -ETIMEDOUT, false));
    exchange_free(run_errors(logger, -EIO, false));
    exchange_free(run_errors(logger, 0, true)); /* fine: no line */
    log_destroy(logger);
    close(fds[1]);
    static char text[8192];
    read_all(fds[0], text, sizeof(text));
    close(fds[0]);
    assert_int_equal(count_of(text, "\"msg\":\"request failed\""), 2);
    assert_int_equal(count_of(text, "\"status\":504"), 1);
    assert_int_equal(count_of(text, "\"status\":500"), 1);
    assert_non_null(strstr(text, "\"errno\":110")); /* ETIMEDOUT */
    assert_non_null(strstr(text, "\"route\":\"/x\""));
}

/* ---- route classes ------------------------------------------------------- */

static int ok_handler(struct http_request *request, struct http_response *response, void *arg)
{
    (void)request;
    (void)arg;
    return http_response_json(response, 200, "{}", 2);
}

static void expect_class(const struct http_router *router, const char *method, const char *path,
                         const char *route_class)
{
    struct exchange_fixture *x = exchange_new(method, path);
    struct http_route_match match;
    enum http_route_result result = http_router_route(router, &x->request, &match);
    if (route_class == NULL) {
        assert_int_not_equal(result, HTTP_ROUTE_FOUND);
        assert_null(x->request.route);
        assert_null(x->request.route_class);
    } else {
        assert_int_equal(result, HTTP_ROUTE_FOUND);
        assert_string_equal(x->request.route_class, route_class);
    }
    exchange_free(x);
}

static void test_routes_have_classes(void **state)
{
    (void)state;
    struct http_router *router = NULL;
    assert_int_equal(http_router_create(&router), 0);
    assert_int_equal(http_router_add(router, "GET", "/items/{id}", ok_handler, NULL), 0);
    assert_int_equal(http_router_add(router, "POST", "/items", ok_handler, NULL), 0);
    assert_int_equal(http_router_add_class(router, "GET", "/debug/x", "admin", ok_handler, NULL),
                     0);
    assert_int_equal(http_router_add_class(router, "GET", "/a", "", ok_handler, NULL), -EINVAL);
    assert_int_equal(http_router_add_class(router, "GET", "/a", "Upper", ok_handler, NULL),
                     -EINVAL);
    assert_int_equal(
        http_router_add_class(router, "GET", "/a", "sixteen-chars-xx", ok_handler, NULL), -EINVAL);
    assert_int_equal(http_router_add_class(router, "GET", "/a", NULL, ok_handler, NULL), -EINVAL);
    expect_class(router, "GET", "/items/7", "read");
    expect_class(router, "HEAD", "/items/7", "read");
    expect_class(router, "POST", "/items", "write");
    expect_class(router, "GET", "/debug/x", "admin");
    expect_class(router, "GET", "/nowhere", NULL);
    expect_class(router, "DELETE", "/items", NULL); /* 405 */
    http_router_destroy(router);
}

/* ---- request id ------------------------------------------------------------ */

static int id_endpoint(void *arg, struct http_request *request, struct http_response *response)
{
    (void)arg;
    (void)request;
    return http_response_json(response, 200, "{}", 2);
}

static void test_request_id_is_taken_or_made(void **state)
{
    (void)state;
    static struct http_request_ids ids;
    assert_int_equal(http_request_ids_init(&ids), 0);
    struct http_middleware chain[1] = {http_request_id_middleware(&ids)};
    assert_string_equal(chain[0].name, "request_id");

    struct exchange_fixture *x = exchange_new("GET", "/x");
    exchange_add_header(x, "x-request-id", "abc-123");
    exchange_add_header(x, "traceparent",
                        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    (void)http_middleware_run(chain, 1, id_endpoint, NULL, &x->request, &x->response);
    assert_string_equal(x->request.request_id, "abc-123");
    assert_string_equal(x->request.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_non_null(strstr(response_headers(&x->response), "X-Request-Id: abc-123\r\n"));
    exchange_free(x);

    x = exchange_new("GET", "/x");
    exchange_add_header(x, "X-Request-Id", "bad id with spaces");
    exchange_add_header(x, "traceparent", "garbage");
    (void)http_middleware_run(chain, 1, id_endpoint, NULL, &x->request, &x->response);
    assert_int_equal(strncmp(x->request.request_id, ids.prefix, 16), 0);
    assert_int_equal(x->request.request_id[16], '-');
    assert_string_equal(x->request.trace_id, "");
    exchange_free(x);
}

/* The made id for the counter at `base`: "<prefix>-<number>" as printf
 * writes the number, for the shard this thread counts in. */
static void expect_made_id(struct http_request_ids *ids, const struct http_middleware *chain,
                           uint64_t base)
{
    unsigned shard = runtime_worker_index() % HTTP_REQUEST_ID_SHARDS;
    atomic_store(&ids->shards[shard].next, base);
    struct exchange_fixture *x = exchange_new("GET", "/x");
    (void)http_middleware_run(chain, 1, id_endpoint, NULL, &x->request, &x->response);
    uint64_t number = base + shard + 1;
    char expected[HTTP_REQUEST_ID_LEN];
    snprintf(expected, sizeof(expected), "%s-%" PRIu64, ids->prefix, number);
    assert_string_equal(x->request.request_id, expected);
    exchange_free(x);
}

/* The number in a made id, written two digits at a time, against printf:
 * every number up to 20,000, each power of ten and its neighbours, and the
 * largest the counter can reach. */
static void test_request_id_numbers_match_printf(void **state)
{
    (void)state;
    static struct http_request_ids ids;
    assert_int_equal(http_request_ids_init(&ids), 0);
    struct http_middleware chain[1] = {http_request_id_middleware(&ids)};
    for (uint64_t base = 0; base <= 20000; base++) {
        expect_made_id(&ids, chain, base);
    }
    for (uint64_t power = 10; power <= UINT64_MAX / 10; power *= 10) {
        for (uint64_t delta = 0; delta < 40; delta++) {
            expect_made_id(&ids, chain, power - 20 + delta);
        }
    }
    for (uint64_t delta = 0; delta < 20; delta++) {
        expect_made_id(&ids, chain, UINT64_MAX - HTTP_REQUEST_ID_SHARDS - delta);
    }
}

/* The first X-Request-Id and the first traceparent count, in any case,
 * whatever comes before, between and after them (names of the same
 * length, the other header, later copies): as http_request_header(). */
static void test_request_id_headers_first_one_wins(void **state)
{
    (void)state;
    static struct http_request_ids ids;
    assert_int_equal(http_request_ids_init(&ids), 0);
    struct http_middleware chain[1] = {http_request_id_middleware(&ids)};
    static const char valid_trace[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    static const char other_trace[] = "00-11111111111111111111111111111111-00f067aa0ba902b7-01";

    struct exchange_fixture *x = exchange_new("GET", "/x");
    exchange_add_header(x, "X-Request-Ix", "not-this");
    exchange_add_header(x, "traceparenx", other_trace);
    exchange_add_header(x, "TraceParent", valid_trace);
    exchange_add_header(x, "Host", "b");
    exchange_add_header(x, "x-REQUEST-id", "first");
    exchange_add_header(x, "X-Request-Id", "second");
    exchange_add_header(x, "traceparent", other_trace);
    (void)http_middleware_run(chain, 1, id_endpoint, NULL, &x->request, &x->response);
    assert_string_equal(x->request.request_id, "first");
    assert_string_equal(x->request.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    exchange_free(x);

    /* The first copy is the one judged: invalid ones are not skipped. */
    x = exchange_new("GET", "/x");
    exchange_add_header(x, "traceparent", "garbage");
    exchange_add_header(x, "X-Request-Id", "bad id");
    exchange_add_header(x, "traceparent", valid_trace);
    exchange_add_header(x, "X-Request-Id", "good-id");
    (void)http_middleware_run(chain, 1, id_endpoint, NULL, &x->request, &x->response);
    assert_int_equal(strncmp(x->request.request_id, ids.prefix, 16), 0);
    assert_string_equal(x->request.trace_id, "");
    exchange_free(x);
}

/* ---- in the real server ------------------------------------------------------ */

struct server_seen {
    atomic_int finished;     /* finish callbacks run */
    atomic_int last_status;  /* status the last exchange reported */
    char route[64];          /* what the middleware saw (server thread only) */
    char route_class[16];
    atomic_bool routed;      /* route was non-NULL */
};

static void seen_finish(void *arg, const struct http_exchange *exchange)
{
    struct server_seen *seen = arg;
    atomic_store(&seen->last_status, exchange->status);
    atomic_fetch_add(&seen->finished, 1);
}

static int seen_handle(void *arg, struct http_request *request, struct http_response *response,
                       const struct http_next *next)
{
    struct server_seen *seen = arg;
    atomic_store(&seen->routed, request->route != NULL);
    if (request->route != NULL) {
        snprintf(seen->route, sizeof(seen->route), "%s", request->route);
        snprintf(seen->route_class, sizeof(seen->route_class), "%s", request->route_class);
    }
    (void)http_response_on_finish(response, seen_finish, seen);
    return http_next(next, request, response);
}

static int slow_failure(struct http_request *request, struct http_response *response, void *arg)
{
    (void)request;
    (void)response;
    (void)arg;
    return -ETIMEDOUT;
}

/* GET path on a fresh connection; returns the status, fills response. */
static int http_get(int port, const char *path, struct test_http_response *response)
{
    assert_true(test_http_request(port, "GET", path, NULL, response));
    return response->status;
}

/* The finish callbacks run after the write, so after the client read the
 * answer: wait for them, bounded (10 s). */
static void wait_finished(struct server_seen *seen, int count)
{
    for (int i = 0; i < 10000 && atomic_load(&seen->finished) < count; i++) {
        usleep(1000);
    }
    assert_int_equal(atomic_load(&seen->finished), count);
}

static void test_server_runs_the_chain_after_routing(void **state)
{
    (void)state;
    static struct server_seen seen;
    static struct http_test_server test_server;
    struct http_router *router = NULL;
    assert_int_equal(http_router_create(&router), 0);
    assert_int_equal(http_router_add(router, "GET", "/items/{id}", ok_handler, NULL), 0);
    assert_int_equal(http_router_add(router, "GET", "/slow", slow_failure, NULL), 0);
    const struct http_middleware chain[] = {
        {.name = "seen", .handle = seen_handle, .arg = &seen},
        http_errors_middleware(NULL),
    };
    struct http_server_config config;
    http_server_config_defaults(&config);
    config.middleware = chain;
    config.middleware_count = 2;
    http_test_server_start(&test_server, &config, router);
    int port = http_test_server_port(&test_server);

    static struct test_http_response reply;
    assert_int_equal(http_get(port, "/items/42", &reply), 200);
    wait_finished(&seen, 1);
    assert_true(atomic_load(&seen.routed));
    assert_string_equal(seen.route, "/items/{id}");
    assert_string_equal(seen.route_class, "read");
    assert_int_equal(atomic_load(&seen.last_status), 200);

    /* Unmatched requests pass through the chain too, unrouted. */
    assert_int_equal(http_get(port, "/nowhere", &reply), 404);
    wait_finished(&seen, 2);
    assert_false(atomic_load(&seen.routed));
    assert_int_equal(atomic_load(&seen.last_status), 404);

    /* A handler's -ETIMEDOUT becomes a 504 JSON answer, not a dropped
     * connection. */
    assert_int_equal(http_get(port, "/slow", &reply), 504);
    assert_non_null(strstr(reply.body, "\"code\":\"timeout\""));
    wait_finished(&seen, 3);
    assert_int_equal(atomic_load(&seen.last_status), 504);

    http_test_server_stop(&test_server);
    http_router_destroy(router);
}

static void test_server_refuses_a_bad_chain(void **state)
{
    (void)state;
    struct http_router *router = NULL;
    assert_int_equal(http_router_create(&router), 0);
    struct http_server_config config;
    http_server_config_defaults(&config);
    struct http_server *server = NULL;
    config.middleware_count = 1; /* and no array */
    assert_int_equal(http_server_create(&config, router, &server), -EINVAL);
    const struct http_middleware empty[1] = {{.name = "no handle"}};
    config.middleware = empty;
    assert_int_equal(http_server_create(&config, router, &server), -EINVAL);
    http_router_destroy(router);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_runs_in_order),
        cmocka_unit_test(test_short_circuit_stops_the_rest),
        cmocka_unit_test(test_finish_slots_are_bounded),
        cmocka_unit_test(test_unanswered_request_gets_500),
        cmocka_unit_test(test_overlong_chain_runs_nothing),
        cmocka_unit_test(test_errors_map_errno_to_status),
        cmocka_unit_test(test_errors_keep_an_answer_already_made),
        cmocka_unit_test(test_errors_log_each_failure_once),
        cmocka_unit_test(test_routes_have_classes),
        cmocka_unit_test(test_request_id_is_taken_or_made),
        cmocka_unit_test(test_request_id_numbers_match_printf),
        cmocka_unit_test(test_request_id_headers_first_one_wins),
        cmocka_unit_test(test_server_runs_the_chain_after_routing),
        cmocka_unit_test(test_server_refuses_a_bad_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
