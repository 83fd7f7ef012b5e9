/* Tests for http_router: params, precedence, 404 vs 405 and Allow. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
