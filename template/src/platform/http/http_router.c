/*
 * http_router.c: a flat list of routes, matched segment by segment.
 *
 * A service has tens of routes, so a linear scan over pre-split patterns is
 * as fast as a trie here and far simpler. Each route keeps a bit mask of its
 * literal segments with segment 0 in the highest bit: among routes matching
 * a path, the larger mask is the one whose first differing segment is
 * literal, which is the precedence rule the header promises.
 *
 * Matching is on every request, so each route also keeps its method as two
 * words (compared without a strcmp call), and the router keeps the routes
 * sorted by that mask, most specific first: the first route that matches is
 * the best one. Two routes with the same method, segment count and mask that
 * match the same path would have the same literals, which registration
 * refuses (-EEXIST), so the first match is unique. The Allow list still
 * follows the order of registration.
 */
#include "platform/http/http_router.h"

#include "platform/compiler/compiler.h"
#include "platform/http/http_middleware.h"
#include "platform/http/http_response.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_METHOD_MAX 16

struct http_segment {
    const char *text; /* literal text, or the parameter name */
    size_t len;
    bool is_param;
};

/* A method of 1 to 15 bytes, NUL-padded to HTTP_METHOD_MAX bytes. */
struct http_method_key {
    uint64_t word[HTTP_METHOD_MAX / sizeof(uint64_t)];
};

struct http_route {
    char method[HTTP_METHOD_MAX];
    struct http_method_key method_key;
    char *pattern;
    struct http_segment segments[HTTP_ROUTER_MAX_SEGMENTS];
    size_t segment_count;
    uint32_t literal_mask;
    char route_class[HTTP_ROUTE_CLASS_LEN];
    http_handler_fn handler;
    void *user_data;
};

struct http_router {
    struct http_route *routes; /* in the order of registration */
    const struct http_route **by_precedence; /* literal_mask descending */
    size_t count;
    size_t capacity;
};

struct http_path_segments {
    const char *text[HTTP_ROUTER_MAX_SEGMENTS];
    size_t len[HTTP_ROUTER_MAX_SEGMENTS];
    size_t count;
};

int http_router_create(struct http_router **out)
{
    struct http_router *router = calloc(1, sizeof(*router));
    if (router == NULL) {
        return -ENOMEM;
    }
    *out = router;
    return 0;
}

void http_router_destroy(struct http_router *router)
{
    if (router == NULL) {
        return;
    }
    for (size_t i = 0; i < router->count; i++) {
        free(router->routes[i].pattern);
    }
    free(router->routes);
    free(router->by_precedence);
    free(router);
}

/* Splits "/a/b" into "a", "b"; "/" has no segment and "/a/" ends with an
 * empty one. false when the path does not start with '/' or has too many. */
static bool http_split_path(const char *path, size_t path_len, struct http_path_segments *out)
{
    out->count = 0;
    if (path_len == 0 || path[0] != '/') {
        return false;
    }
    if (path_len == 1) {
        return true;
    }
    /* memchr, not a byte loop: this runs on every request. */
    const char *end = path + path_len;
    const char *start = path + 1;
    for (;;) {
        const char *slash = memchr(start, '/', (size_t)(end - start));
        const char *stop = slash != NULL ? slash : end;
        if (out->count == HTTP_ROUTER_MAX_SEGMENTS) {
            return false;
        }
        out->text[out->count] = start;
        out->len[out->count] = (size_t)(stop - start);
        out->count++;
        if (slash == NULL) {
            return true;
        }
        start = slash + 1;
    }
}

static bool http_segment_is_param(const char *text, size_t len)
{
    return len >= 2 && text[0] == '{' && text[len - 1] == '}';
}

/* Fills route->segments from route->pattern; false when malformed. */
static bool http_route_compile(struct http_route *route)
{
    struct http_path_segments split;
    if (!http_split_path(route->pattern, strlen(route->pattern), &split)) {
        return false;
    }
    size_t params = 0;
    route->segment_count = split.count;
    route->literal_mask = 0;
    for (size_t i = 0; i < split.count; i++) {
        const char *text = split.text[i];
        size_t len = split.len[i];
        bool is_param = http_segment_is_param(text, len);
        if (is_param) {
            text++;
            len -= 2;
            if (len == 0 || memchr(text, '{', len) != NULL || memchr(text, '}', len) != NULL ||
                ++params > HTTP_MAX_PARAMS) {
                return false;
            }
        } else if (memchr(text, '{', len) != NULL || memchr(text, '}', len) != NULL) {
            return false; /* "{" inside a literal is almost surely a typo */
        } else {
            route->literal_mask |= (uint32_t)1 << (31 - i);
        }
        route->segments[i] = (struct http_segment){.text = text, .len = len, .is_param = is_param};
    }
    return true;
}

static bool http_routes_conflict(const struct http_route *a, const struct http_route *b)
{
    if (strcmp(a->method, b->method) != 0 || a->segment_count != b->segment_count ||
        a->literal_mask != b->literal_mask) {
        return false;
    }
    for (size_t i = 0; i < a->segment_count; i++) {
        if (!a->segments[i].is_param &&
            (a->segments[i].len != b->segments[i].len ||
             memcmp(a->segments[i].text, b->segments[i].text, a->segments[i].len) != 0)) {
            return false;
        }
    }
    return true;
}

/* false when `method` is longer than any route's method can be. */
static bool http_method_key_of(const char *method, struct http_method_key *key)
{
    char padded[HTTP_METHOD_MAX] = {0};
    // cppcheck-suppress arrayIndexOutOfBoundsCond ; "GET" ends at its NUL, before index 15
    for (size_t i = 0; method[i] != '\0'; i++) {
        if (i == HTTP_METHOD_MAX - 1) {
            return false;
        }
        padded[i] = method[i];
    }
    memcpy(key->word, padded, sizeof(padded));
    return true;
}

static bool http_method_key_equal(const struct http_method_key *a, const struct http_method_key *b)
{
    return a->word[0] == b->word[0] && a->word[1] == b->word[1];
}

static bool http_method_is_valid(const char *method)
{
    size_t len = strlen(method);
    if (len == 0 || len >= HTTP_METHOD_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (method[i] < 'A' || method[i] > 'Z') {
            return false;
        }
    }
    return true;
}

static int http_router_grow(struct http_router *router)
{
    if (router->count < router->capacity) {
        return 0;
    }
    size_t capacity = router->capacity == 0 ? 8 : router->capacity * 2;
    const struct http_route **by_precedence =
        realloc(router->by_precedence, capacity * sizeof(const struct http_route *));
    if (by_precedence == NULL) {
        return -ENOMEM;
    }
    router->by_precedence = by_precedence;
    struct http_route *routes = realloc(router->routes, capacity * sizeof(*routes));
    if (routes == NULL) {
        return -ENOMEM;
    }
    /* Segments point into each route's own pattern copy, not into the
     * array, so moving the array is safe; by_precedence is rebuilt after
     * every registration. */
    router->routes = routes;
    router->capacity = capacity;
    return 0;
}

/* An insertion sort of pointers into routes: a handful of routes, sorted
 * once each at start-up. */
static void http_router_sort(struct http_router *router)
{
    for (size_t i = 0; i < router->count; i++) {
        const struct http_route *route = &router->routes[i];
        size_t at = i;
        while (at > 0 && router->by_precedence[at - 1]->literal_mask < route->literal_mask) {
            router->by_precedence[at] = router->by_precedence[at - 1];
            at--;
        }
        router->by_precedence[at] = route;
    }
}

static bool http_route_class_is_valid(const char *route_class)
{
    size_t len = strlen(route_class);
    if (len == 0 || len >= HTTP_ROUTE_CLASS_LEN) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = route_class[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

int http_router_add(struct http_router *router, const char *method, const char *pattern,
                    http_handler_fn handler, void *user_data)
{
    bool reads = method != NULL && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0);
    return http_router_add_class(router, method, pattern,
                                 reads ? HTTP_ROUTE_CLASS_READ : HTTP_ROUTE_CLASS_WRITE, handler,
                                 user_data);
}

int http_router_add_class(struct http_router *router, const char *method, const char *pattern,
                          const char *route_class, http_handler_fn handler, void *user_data)
{
    if (handler == NULL || method == NULL || !http_method_is_valid(method) || pattern == NULL ||
        route_class == NULL || !http_route_class_is_valid(route_class)) {
        return -EINVAL;
    }
    struct http_route route = {.handler = handler, .user_data = user_data};
    memcpy(route.method, method, strlen(method) + 1);
    (void)http_method_key_of(route.method, &route.method_key);
    memcpy(route.route_class, route_class, strlen(route_class) + 1);
    route.pattern = strdup(pattern);
    if (route.pattern == NULL) {
        return -ENOMEM;
    }
    int rc = -EINVAL;
    if (!http_route_compile(&route)) {
        goto fail;
    }
    rc = -EEXIST;
    for (size_t i = 0; i < router->count; i++) {
        if (http_routes_conflict(&router->routes[i], &route)) {
            goto fail;
        }
    }
    rc = http_router_grow(router);
    if (rc < 0) {
        goto fail;
    }
    router->routes[router->count++] = route;
    http_router_sort(router);
    return 0;
fail:
    free(route.pattern);
    return rc;
}

static bool http_route_matches_path(const struct http_route *route,
                                    const struct http_path_segments *path)
{
    if (route->segment_count != path->count) {
        return false;
    }
    for (size_t i = 0; i < path->count; i++) {
        const struct http_segment *segment = &route->segments[i];
        if (segment->is_param) {
            if (path->len[i] == 0) {
                return false;
            }
        } else if (segment->len != path->len[i] ||
                   memcmp(segment->text, path->text[i], segment->len) != 0) {
            return false;
        }
    }
    return true;
}

/* The most specific route for `method` among those matching the path: the
 * first in precedence order (see the top of the file). */
static const struct http_route *http_router_best(const struct http_router *router,
                                                 const struct http_method_key *method,
                                                 const struct http_path_segments *path)
{
    for (size_t i = 0; i < router->count; i++) {
        const struct http_route *route = router->by_precedence[i];
        /* The cheap tests first, so most routes cost no call. */
        if (http_method_key_equal(&route->method_key, method) &&
            route->segment_count == path->count && http_route_matches_path(route, path)) {
            return route;
        }
    }
    return NULL;
}

static void http_allow_add(char *allow, const char *method)
{
    size_t method_len = strlen(method);
    /* Skip duplicates: the same method may serve several patterns. */
    for (const char *p = allow; (p = strstr(p, method)) != NULL; p += method_len) {
        bool starts = p == allow || p[-1] == ' ';
        bool ends = p[method_len] == ',' || p[method_len] == '\0';
        if (starts && ends) {
            return;
        }
    }
    size_t used = strlen(allow);
    size_t separator_len = used > 0 ? 2 : 0;
    /* A method that does not fit is left out whole, never cut in half. */
    if (used + separator_len + method_len >= HTTP_ALLOW_LEN) {
        return;
    }
    /* memcpy, not snprintf: gcc -O2 (the release preset) cannot see the
     * length check above and fails the build with -Wformat-truncation. */
    memcpy(allow + used, ", ", separator_len);
    memcpy(allow + used + separator_len, method, method_len + 1);
}

/* Lists the methods of every route matching the path; false when none. */
static bool http_router_allow(const struct http_router *router,
                              const struct http_path_segments *path, char *allow)
{
    allow[0] = '\0';
    for (size_t i = 0; i < router->count; i++) {
        const struct http_route *route = &router->routes[i];
        if (!http_route_matches_path(route, path)) {
            continue;
        }
        http_allow_add(allow, route->method);
        if (strcmp(route->method, "GET") == 0) {
            http_allow_add(allow, "HEAD");
        }
    }
    return allow[0] != '\0';
}

static void http_match_fill(const struct http_route *route, const struct http_path_segments *path,
                            struct http_route_match *match)
{
    match->handler = route->handler;
    match->user_data = route->user_data;
    match->pattern = route->pattern;
    match->route_class = route->route_class;
    match->param_count = 0;
    for (size_t i = 0; i < route->segment_count; i++) {
        if (!route->segments[i].is_param) {
            continue;
        }
        match->params[match->param_count++] = (struct http_param){
            .name = route->segments[i].text,
            .name_len = route->segments[i].len,
            .value = path->text[i],
            .value_len = path->len[i],
        };
    }
}

enum http_route_result http_router_match(const struct http_router *router, const char *method,
                                         const char *path, size_t path_len,
                                         struct http_route_match *match)
{
    /* Field by field, not a memset of the whole match: the parameters and
     * Allow are only read up to param_count and the NUL. */
    match->result = HTTP_ROUTE_NOT_FOUND;
    match->handler = NULL;
    match->user_data = NULL;
    match->pattern = NULL;
    match->route_class = NULL;
    match->param_count = 0;
    match->allow[0] = '\0';
    /* Exempt from the hardened build's zeroing (compiler.h): a quarter
     * kilobyte per request, and only the first `count` entries are read,
     * each written first. */
    struct http_path_segments segments COMPILER_UNINITIALIZED;
    if (!http_split_path(path, path_len, &segments)) {
        return HTTP_ROUTE_NOT_FOUND;
    }
    struct http_method_key key;
    const struct http_route *best = NULL;
    if (http_method_key_of(method, &key)) {
        best = http_router_best(router, &key, &segments);
    }
    if (best == NULL && strcmp(method, "HEAD") == 0) {
        (void)http_method_key_of("GET", &key);
        best = http_router_best(router, &key, &segments);
    }
    if (best != NULL) {
        http_match_fill(best, &segments, match);
        match->result = HTTP_ROUTE_FOUND;
    } else if (http_router_allow(router, &segments, match->allow)) {
        match->result = HTTP_ROUTE_METHOD_NOT_ALLOWED;
    } else {
        match->result = HTTP_ROUTE_NOT_FOUND;
    }
    return match->result;
}

enum http_route_result http_router_route(const struct http_router *router,
                                         struct http_request *request,
                                         struct http_route_match *match)
{
    enum http_route_result result =
        http_router_match(router, request->method, request->path, request->path_len, match);
    if (result == HTTP_ROUTE_FOUND && http_request_set_params(request, match) < 0) {
        match->result = HTTP_ROUTE_URI_TOO_LONG;
    }
    return match->result;
}

int http_route_answer(const struct http_route_match *match, struct http_request *request,
                      struct http_response *response)
{
    switch (match->result) {
    case HTTP_ROUTE_FOUND:
        return match->handler(request, response, match->user_data);
    case HTTP_ROUTE_METHOD_NOT_ALLOWED:
        (void)http_response_set_header(response, "Allow", match->allow);
        return http_response_error(response, 405, "method_not_allowed", "method not allowed here");
    case HTTP_ROUTE_URI_TOO_LONG:
        return http_response_error(response, 414, "uri_too_long", "path parameters too long");
    case HTTP_ROUTE_NOT_FOUND:
    default:
        return http_response_error(response, 404, "not_found", "no route for this path");
    }
}

static int http_route_endpoint(void *match, struct http_request *request,
                               struct http_response *response)
{
    return http_route_answer(match, request, response);
}

void http_router_dispatch(const struct http_router *router, struct http_request *request,
                          struct http_response *response)
{
    /* Every field read is written by http_router_match first. */
    struct http_route_match match COMPILER_UNINITIALIZED;
    (void)http_router_route(router, request, &match);
    /* An empty chain: only the safety net (500 for an unanswered request). */
    (void)http_middleware_run(NULL, 0, http_route_endpoint, &match, request, response);
}
