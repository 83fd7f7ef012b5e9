/* Tests for http_router: params, precedence, 404 vs 405 and Allow. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "platform/http/http_request.h"
#include "platform/http/http_router.h"

/* Handlers are only compared by identity here; user_data tells them apart. */
static int handler(struct http_request *request, struct http_response *response, void *user_data)
{
    (void)request;
    (void)response;
    (void)user_data;
    return 0;
}

static int route_ids[8];

static struct http_router *make_router(void)
{
    struct http_router *router = NULL;
    assert_int_equal(http_router_create(&router), 0);
    assert_int_equal(http_router_add(router, "GET", "/{code}", handler, &route_ids[0]), 0);
    assert_int_equal(http_router_add(router, "GET", "/healthz", handler, &route_ids[1]), 0);
    assert_int_equal(http_router_add(router, "POST", "/api/v1/links", handler, &route_ids[2]), 0);
    assert_int_equal(http_router_add(router, "GET", "/api/v1/links/{code}", handler, &route_ids[3]),
                     0);
    assert_int_equal(
        http_router_add(router, "DELETE", "/api/v1/links/{code}", handler, &route_ids[4]), 0);
    assert_int_equal(
        http_router_add(router, "GET", "/api/v1/links/{code}/stats", handler, &route_ids[5]), 0);
    assert_int_equal(
        http_router_add(router, "GET", "/api/{version}/links/special", handler, &route_ids[6]), 0);
    assert_int_equal(http_router_add(router, "GET", "/", handler, &route_ids[7]), 0);
    return router;
}

static enum http_route_result match(const struct http_router *router, const char *method,
                                    const char *path, struct http_route_match *out)
{
    return http_router_match(router, method, path, strlen(path), out);
}

static void test_extracts_parameters(void **state)
{
    (void)state;
    struct http_router *router = make_router();
    struct http_route_match m;
    assert_int_equal(match(router, "GET", "/api/v1/links/abc123/stats", &m), HTTP_ROUTE_FOUND);
    assert_ptr_equal(m.user_data, &route_ids[5]);
    assert_string_equal(m.pattern, "/api/v1/links/{code}/stats");
    assert_int_equal(m.param_count, 1);
    assert_int_equal(m.params[0].name_len, 4);
    assert_memory_equal(m.params[0].name, "code", 4);
    assert_int_equal(m.params[0].value_len, 6);
    assert_memory_equal(m.params[0].value, "abc123", 6);

    /* Copied into the request, values become C strings readable by name. */
    struct http_request request;
    http_request_reset(&request);
    assert_int_equal(http_request_set_params(&request, &m), 0);
    assert_string_equal(http_request_param(&request, "code"), "abc123");
    assert_null(http_request_param(&request, "cod"));
    assert_string_equal(request.route, "/api/v1/links/{code}/stats");
    http_router_destroy(router);
}

static void test_literal_beats_parameter(void **state)
{
    (void)state;
    struct http_router *router = make_router();
    struct http_route_match m;
    /* "/healthz" was registered after "/{code}" and still wins. */
    assert_int_equal(match(router, "GET", "/healthz", &m), HTTP_ROUTE_FOUND);
    assert_ptr_equal(m.user_data, &route_ids[1]);
    assert_int_equal(m.param_count, 0);
    assert_int_equal(match(router, "GET", "/healthy", &m), HTTP_ROUTE_FOUND);
    assert_ptr_equal(m.user_data, &route_ids[0]);
    /* The first differing segment decides: "/api/v1/links/{code}" has a
     * literal where "/api/{version}/links/special" has a parameter. */
    assert_int_equal(match(router, "GET", "/api/v1/links/special", &m), HTTP_ROUTE_FOUND);
    assert_ptr_equal(m.user_data, &route_ids[3]);
    assert_int_equal(match(router, "GET", "/api/v2/links/special", &m), HTTP_ROUTE_FOUND);
    assert_ptr_equal(m.user_data, &route_ids[6]);
    assert_int_equal(match(router, "GET", "/", &m), HTTP_ROUTE_FOUND);
    assert_ptr_equal(m.user_data, &route_ids[7]);
    http_router_destroy(router);
}

static void test_not_found(void **state)
{
    (void)state;
    struct http_router *router = make_router();
    struct http_route_match m;
    assert_int_equal(match(router, "GET", "/api/v1/links/abc/stats/x", &m), HTTP_ROUTE_NOT_FOUND);
    assert_int_equal(match(router, "GET", "/a/b", &m), HTTP_ROUTE_NOT_FOUND);
    /* A parameter never matches an empty segment; the trailing slash counts. */
    assert_int_equal(match(router, "GET", "/api/v1/links/", &m), HTTP_ROUTE_NOT_FOUND);
    assert_int_equal(match(router, "GET", "/healthz/", &m), HTTP_ROUTE_NOT_FOUND);
    assert_int_equal(match(router, "GET", "relative", &m), HTTP_ROUTE_NOT_FOUND);
    http_router_destroy(router);
}

static void test_method_not_allowed_lists_allow(void **state)
{
    (void)state;
    struct http_router *router = make_router();
    struct http_route_match m;
    assert_int_equal(match(router, "PUT", "/api/v1/links/abc", &m), HTTP_ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(m.allow, "GET, HEAD, DELETE");
    assert_int_equal(match(router, "GET", "/api/v1/links", &m), HTTP_ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(m.allow, "POST");
    /* A method that a less specific pattern serves is not a 405. */
    assert_int_equal(match(router, "DELETE", "/api/v1/links/x", &m), HTTP_ROUTE_FOUND);
    assert_ptr_equal(m.user_data, &route_ids[4]);
    http_router_destroy(router);
}

static void test_head_uses_get(void **state)
{
    (void)state;
    struct http_router *router = make_router();
    struct http_route_match m;
    assert_int_equal(match(router, "HEAD", "/api/v1/links/x", &m), HTTP_ROUTE_FOUND);
    assert_ptr_equal(m.user_data, &route_ids[3]);
    assert_int_equal(match(router, "HEAD", "/api/v1/links", &m), HTTP_ROUTE_METHOD_NOT_ALLOWED);
    http_router_destroy(router);
}

static void test_rejects_bad_patterns(void **state)
{
    (void)state;
    struct http_router *router = NULL;
    assert_int_equal(http_router_create(&router), 0);
    assert_int_equal(http_router_add(router, "GET", "nope", handler, NULL), -EINVAL);
    assert_int_equal(http_router_add(router, "GET", "/{}", handler, NULL), -EINVAL);
    assert_int_equal(http_router_add(router, "GET", "/{a", handler, NULL), -EINVAL);
    assert_int_equal(http_router_add(router, "GET", "/x{a}", handler, NULL), -EINVAL);
    assert_int_equal(http_router_add(router, "get", "/a", handler, NULL), -EINVAL);
    assert_int_equal(http_router_add(router, "GET", "/a", NULL, NULL), -EINVAL);
    assert_int_equal(
        http_router_add(router, "GET", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", handler, NULL),
        -EINVAL);
    assert_int_equal(http_router_add(router, "GET", "/items/{id}", handler, NULL), 0);
    assert_int_equal(http_router_add(router, "GET", "/items/{name}", handler, NULL), -EEXIST);
    assert_int_equal(http_router_add(router, "POST", "/items/{name}", handler, NULL), 0);
    http_router_destroy(router);
}

static void test_param_storage_bound(void **state)
{
    (void)state;
    struct http_router *router = NULL;
    assert_int_equal(http_router_create(&router), 0);
    assert_int_equal(http_router_add(router, "GET", "/{a}/{b}", handler, NULL), 0);
    static char path[3 * HTTP_PARAM_STORAGE];
    memset(path, 'x', sizeof(path) - 1);
    path[0] = '/';
    path[HTTP_PARAM_STORAGE] = '/';
    struct http_route_match m;
    assert_int_equal(match(router, "GET", path, &m), HTTP_ROUTE_FOUND);
    struct http_request request;
    http_request_reset(&request);
    assert_int_equal(http_request_set_params(&request, &m), -ENAMETOOLONG);
    assert_int_equal(request.param_count, 0);
    http_router_destroy(router);
}

/*
 * The reference for the router's fast path (precedence order, method
 * words): the rules of http_router.h spelled out the slow way, compared with
 * http_router_match on random routers and paths.
 */
#define REF_ROUTES 14
#define REF_SEGMENTS 6

struct ref_route {
    const char *method;
    const char *segments[REF_SEGMENTS]; /* "{...}" for a parameter */
    size_t count;
    int *id;
};

static const char *const ref_words[] = {"a", "b", "ab", "api", "v1", ""};
static const char *const ref_params[] = {"{x}", "{y}"};
/* The last two differ only past the first eight bytes. */
static const char *const ref_methods[] = {"GET", "POST",    "HEAD",       "DELETE",
                                          "PUT", "OPTIONS", "MKCALENDAR", "MKCALENDAZ"};

static uint32_t ref_random(uint32_t *state)
{
    *state = *state * 1103515245u + 12345u;
    return *state >> 8;
}

static bool ref_is_param(const char *segment)
{
    return segment[0] == '{';
}

/* Splits "/a/b" like the router ("/" has no segment); false past max. */
static bool ref_split(const char *path, char segments[][64], size_t max, size_t *count)
{
    *count = 0;
    if (path[0] != '/') {
        return false;
    }
    if (path[1] == '\0') {
        return true;
    }
    const char *start = path + 1;
    for (;;) {
        const char *slash = strchr(start, '/');
        size_t len = slash != NULL ? (size_t)(slash - start) : strlen(start);
        if (*count == max) {
            return false;
        }
        memcpy(segments[*count], start, len);
        segments[*count][len] = '\0';
        (*count)++;
        if (slash == NULL) {
            return true;
        }
        start = slash + 1;
    }
}

static bool ref_matches(const struct ref_route *route, char segments[][64], size_t count)
{
    if (route->count != count) {
        return false;
    }
    for (size_t i = 0; i < count; i++) {
        if (ref_is_param(route->segments[i]) ? segments[i][0] == '\0'
                                             : strcmp(route->segments[i], segments[i]) != 0) {
            return false;
        }
    }
    return true;
}

/* Literal before parameter at the first difference. */
static bool ref_more_specific(const struct ref_route *a, const struct ref_route *b)
{
    for (size_t i = 0; i < a->count; i++) {
        bool a_literal = !ref_is_param(a->segments[i]);
        bool b_literal = !ref_is_param(b->segments[i]);
        if (a_literal != b_literal) {
            return a_literal;
        }
    }
    return false;
}

static const struct ref_route *ref_best(const struct ref_route *routes, size_t route_count,
                                        const char *method, char segments[][64], size_t count)
{
    const struct ref_route *best = NULL;
    for (size_t i = 0; i < route_count; i++) {
        if (strcmp(routes[i].method, method) == 0 && ref_matches(&routes[i], segments, count) &&
            (best == NULL || ref_more_specific(&routes[i], best))) {
            best = &routes[i];
        }
    }
    return best;
}

static void ref_allow_add(char *allow, const char *method)
{
    char padded[HTTP_ALLOW_LEN + 4];
    snprintf(padded, sizeof(padded), ", %s, ", allow);
    char needle[32];
    snprintf(needle, sizeof(needle), ", %s, ", method);
    if (strstr(padded, needle) != NULL) {
        return;
    }
    size_t used = strlen(allow);
    snprintf(allow + used, HTTP_ALLOW_LEN - used, "%s%s", used > 0 ? ", " : "", method);
}

static void ref_check(const struct http_router *router, const struct ref_route *routes,
                      size_t route_count, const char *method, const char *path)
{
    char segments[40][64];
    size_t count = 0;
    struct http_route_match m;
    enum http_route_result got = match(router, method, path, &m);
    if (!ref_split(path, segments, 40, &count) || count > HTTP_ROUTER_MAX_SEGMENTS) {
        assert_int_equal(got, HTTP_ROUTE_NOT_FOUND);
        return;
    }
    const struct ref_route *best = ref_best(routes, route_count, method, segments, count);
    if (best == NULL && strcmp(method, "HEAD") == 0) {
        best = ref_best(routes, route_count, "GET", segments, count);
    }
    if (best != NULL) {
        assert_int_equal(got, HTTP_ROUTE_FOUND);
        assert_ptr_equal(m.user_data, best->id);
        size_t params = 0;
        for (size_t i = 0; i < count; i++) {
            if (!ref_is_param(best->segments[i])) {
                continue;
            }
            assert_true(params < m.param_count);
            assert_int_equal(m.params[params].name_len, 1);
            assert_memory_equal(m.params[params].name, best->segments[i] + 1, 1);
            assert_int_equal(m.params[params].value_len, strlen(segments[i]));
            assert_memory_equal(m.params[params].value, segments[i], strlen(segments[i]));
            params++;
        }
        assert_int_equal(m.param_count, params);
        return;
    }
    char allow[HTTP_ALLOW_LEN] = "";
    for (size_t i = 0; i < route_count; i++) {
        if (ref_matches(&routes[i], segments, count)) {
            ref_allow_add(allow, routes[i].method);
            if (strcmp(routes[i].method, "GET") == 0) {
                ref_allow_add(allow, "HEAD");
            }
        }
    }
    if (allow[0] != '\0') {
        assert_int_equal(got, HTTP_ROUTE_METHOD_NOT_ALLOWED);
        assert_string_equal(m.allow, allow);
    } else {
        assert_int_equal(got, HTTP_ROUTE_NOT_FOUND);
    }
}

static void ref_random_path(uint32_t *seed, char *path, size_t cap)
{
    size_t segments = ref_random(seed) % (REF_SEGMENTS + 1);
    size_t len = 0;
    path[len++] = '/';
    for (size_t i = 0; i < segments; i++) {
        const char *word =
            ref_random(seed) % 4 == 0
                ? "zz"
                : ref_words[ref_random(seed) % (sizeof(ref_words) / sizeof(*ref_words))];
        len += (size_t)snprintf(path + len, cap - len, "%s%s", i > 0 ? "/" : "", word);
    }
    path[len] = '\0';
}

static void test_matches_reference_on_random_routers(void **state)
{
    (void)state;
    static int ids[REF_ROUTES];
    uint32_t seed = 12345;
    for (int round = 0; round < 300; round++) {
        struct http_router *router = NULL;
        assert_int_equal(http_router_create(&router), 0);
        struct ref_route routes[REF_ROUTES];
        char patterns[REF_ROUTES][128];
        size_t route_count = 0;
        size_t wanted = 1 + ref_random(&seed) % REF_ROUTES;
        for (size_t r = 0; r < wanted; r++) {
            struct ref_route *route = &routes[route_count];
            route->method =
                ref_methods[ref_random(&seed) % (sizeof(ref_methods) / sizeof(*ref_methods))];
            route->count = ref_random(&seed) % 5;
            route->id = &ids[route_count];
            size_t len = 0;
            patterns[route_count][len++] = '/';
            for (size_t i = 0; i < route->count; i++) {
                bool param = ref_random(&seed) % 3 == 0;
                route->segments[i] = param ? ref_params[ref_random(&seed) % 2]
                                           : ref_words[ref_random(&seed) % 5]; /* no "" */
                len += (size_t)snprintf(patterns[route_count] + len,
                                        sizeof(patterns[route_count]) - len, "%s%s",
                                        i > 0 ? "/" : "", route->segments[i]);
            }
            patterns[route_count][len] = '\0';
            int rc =
                http_router_add(router, route->method, patterns[route_count], handler, route->id);
            assert_true(rc == 0 || rc == -EEXIST);
            if (rc == 0) {
                route_count++;
            }
        }
        for (int probe = 0; probe < 60; probe++) {
            char path[128];
            ref_random_path(&seed, path, sizeof(path));
            const char *method =
                probe % 7 == 6
                    ? "VERYLONGMETHODNAME"
                    : ref_methods[ref_random(&seed) % (sizeof(ref_methods) / sizeof(*ref_methods))];
            ref_check(router, routes, route_count, method, path);
        }
        ref_check(router, routes, route_count, "GET", "/");
        ref_check(router, routes, route_count, "GET", "relative");
        ref_check(router, routes, route_count, "GET", "/a/");
        ref_check(router, routes, route_count, "GET", "//");
        ref_check(router, routes, route_count, "", "/a");
        ref_check(router, routes, route_count, "GE", "/a");
        ref_check(router, routes, route_count, "GETS", "/a");
        http_router_destroy(router);
    }
}

/* Past HTTP_ROUTER_MAX_SEGMENTS segments a path matches nothing. */
static void test_too_many_segments(void **state)
{
    (void)state;
    struct http_router *router = NULL;
    assert_int_equal(http_router_create(&router), 0);
    assert_int_equal(http_router_add(router, "GET", "/{a}", handler, NULL), 0);
    char path[2 * (HTTP_ROUTER_MAX_SEGMENTS + 1) + 1];
    for (size_t segments = HTTP_ROUTER_MAX_SEGMENTS; segments <= HTTP_ROUTER_MAX_SEGMENTS + 1;
         segments++) {
        for (size_t i = 0; i < segments; i++) {
            memcpy(path + 2 * i, "/x", 2);
        }
        path[2 * segments] = '\0';
        struct http_route_match m;
        assert_int_equal(match(router, "GET", path, &m), HTTP_ROUTE_NOT_FOUND);
    }
    http_router_destroy(router);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extracts_parameters),
        cmocka_unit_test(test_literal_beats_parameter),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_method_not_allowed_lists_allow),
        cmocka_unit_test(test_head_uses_get),
        cmocka_unit_test(test_rejects_bad_patterns),
        cmocka_unit_test(test_param_storage_bound),
        cmocka_unit_test(test_matches_reference_on_random_routers),
        cmocka_unit_test(test_too_many_segments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
