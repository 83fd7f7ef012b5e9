/*
 * test_admin.c: the admin listener of the real binary: the settings it
 * refuses, the bearer token on /debug/ (from a token file), and /readyz
 * turning 503 as soon as a SIGTERM starts the drain. Plus the address and
 * token helpers of platform/admin.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "platform/admin/admin_address.h"
#include "service_process.h"

static void test_address_parsing_and_loopback(void **state)
{
    (void)state;
    char host[ADMIN_HOST_LEN];
    int port = -1;
    assert_int_equal(admin_parse_address("127.0.0.1:9090", host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 9090);
    assert_int_equal(admin_parse_address("[::1]:0", host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 0);
    static const char *const bad[] = {"localhost:9090",  "127.0.0.1", "127.0.0.1:", ":9090",
                                      "127.0.0.1:65536", "::1:9090",  "[::1:9090",  "1.2.3.4:x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(admin_parse_address(bad[i], host, &port), -EINVAL);
    }
    assert_true(admin_host_is_loopback("127.0.0.1"));
    assert_true(admin_host_is_loopback("127.8.9.10"));
    assert_true(admin_host_is_loopback("::1"));
    assert_false(admin_host_is_loopback("0.0.0.0"));
    assert_false(admin_host_is_loopback("::"));
    assert_false(admin_host_is_loopback("10.0.0.1"));
}

static void test_token_helpers(void **state)
{
    (void)state;
    assert_true(admin_token_equals("secret", 6, "secret", 6));
    assert_false(admin_token_equals("secreT", 6, "secret", 6));
    assert_false(admin_token_equals("secret-longer", 13, "secret", 6));
    assert_false(admin_token_equals("sec", 3, "secret", 6));
    assert_false(admin_token_equals("", 0, "secret", 6));

    char path[] = "/tmp/hexsvc-admin-token-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "s3cret\nignored\n", 15), 15);
    close(fd);
    char token[64];
    assert_int_equal(admin_read_token_file(path, token, sizeof(token)), 0);
    assert_string_equal(token, "s3cret");
    assert_int_equal(admin_read_token_file(path, token, 4), -EINVAL); /* too long */
    unlink(path);
    assert_int_equal(admin_read_token_file(path, token, sizeof(token)), -ENOENT);
}

/* Runs the binary on a loopback port until it exits; its exit status and output. */
static int run_to_exit(const char *const *env, char *output, size_t len)
{
    static const char *const args[] = {"--host", "127.0.0.1", "--port", "0", NULL};
    return test_service_run_to_exit(HEXSVC_BINARY, args, env, output, len);
}

static void test_refuses_a_public_admin_listener_without_token(void **state)
{
    (void)state;
    static char output[8192];
    const char *env[] = {"HEXSVC_ADMIN_ADDRESS=0.0.0.0:0", NULL};
    assert_int_equal(run_to_exit(env, output, sizeof(output)), 2);
    assert_non_null(strstr(output, "refusing to serve the admin listener on 0.0.0.0:0"));
    assert_non_null(strstr(output, "HEXSVC_ADMIN_TOKEN"));

    const char *bad[] = {"HEXSVC_ADMIN_ADDRESS=localhost:9090", NULL};
    assert_int_equal(run_to_exit(bad, output, sizeof(output)), 2);
    assert_non_null(strstr(output, "ADMIN_ADDRESS"));
    assert_non_null(strstr(output, "localhost:9090"));

    const char *missing[] = {"HEXSVC_ADMIN_TOKEN_FILE=/nonexistent/token", NULL};
    assert_int_equal(run_to_exit(missing, output, sizeof(output)), 2);
    assert_non_null(strstr(output, "HEXSVC_ADMIN_TOKEN_FILE '/nonexistent/token'"));
}

/* The admin port from "admin on http://HOST:PORT", waiting for the line. */
static int admin_port(struct test_service *service)
{
    for (int tries = 0; tries < 100; tries++) {
        test_service_drain_output(service);
        const char *line = strstr(service->output, "admin on http://");
        const char *colon = line != NULL ? strchr(line + strlen("admin on http://"), ':') : NULL;
        if (colon != NULL && strchr(colon, '\n') != NULL) {
            return (int)strtol(colon + 1, NULL, 10);
        }
        struct timespec pause = {.tv_nsec = 50L * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    fail_msg("no 'admin on' line in: %s", service->output);
    return -1;
}

/* GET path with an optional Authorization header. */
static void admin_get(int port, const char *path, const char *authorization,
                      struct test_http_response *response)
{
    char request[512];
    int len =
        snprintf(request, sizeof(request),
                 "GET %s HTTP/1.1\r\nHost: admin\r\n%s%s%sConnection: close\r\n\r\n", path,
                 authorization != NULL ? "Authorization: " : "",
                 authorization != NULL ? authorization : "", authorization != NULL ? "\r\n" : "");
    int fd = test_http_connect(port);
    assert_true(fd >= 0);
    assert_true(test_http_send(fd, request, (size_t)len));
    assert_true(test_http_read_response(fd, response));
    close(fd);
}

static void test_token_guards_debug_endpoints_only(void **state)
{
    struct test_service *service = *state;
    char path[] = "/tmp/hexsvc-admin-token-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "tok-42\n", 7), 7);
    close(fd);
    char token_file[128];
    snprintf(token_file, sizeof(token_file), "HEXSVC_ADMIN_TOKEN_FILE=%s", path);
    const char *env[] = {"HEXSVC_ADMIN_ADDRESS=0.0.0.0:0", token_file, NULL};
    assert_true(test_service_start(service, HEXSVC_BINARY, NULL, env));
    int port = admin_port(service);
    static struct test_http_response response;

    admin_get(port, "/debug/fibers", NULL, &response);
    assert_int_equal(response.status, 401);
    assert_non_null(strstr(response.body, "\"code\":\"unauthorized\""));
    admin_get(port, "/debug/pprof/goroutine?debug=1", "Bearer tok-4", &response);
    assert_int_equal(response.status, 401);
    assert_non_null(strstr(response.body, "\"code\":\"unauthorized\""));
    admin_get(port, "/debug/pprof/goroutine?debug=1", "Basic tok-42", &response);
    assert_int_equal(response.status, 401);
    admin_get(port, "/debug/pprof/goroutine?debug=1", "Bearer tok-42", &response);
    assert_int_equal(response.status, 200);
    assert_non_null(strstr(response.body, "goroutine profile: total"));
    assert_non_null(strstr(response.body, "http_worker_accept_loop"));
    admin_get(port, "/debug/fibers", "Bearer tok-42", &response);
    assert_int_equal(response.status, 200);
    assert_non_null(strstr(response.body, "\"name\":\"http-accept\""));
    admin_get(port, "/debug/pprof/profile?seconds=0", "Bearer tok-42", &response);
    assert_int_equal(response.status, 400);
    /* Health, readiness and metrics stay open. */
    admin_get(port, "/healthz", NULL, &response);
    assert_int_equal(response.status, 200);
    admin_get(port, "/readyz", NULL, &response);
    assert_int_equal(response.status, 200);
    admin_get(port, "/metrics", NULL, &response);
    assert_int_equal(response.status, 200);
    assert_non_null(strstr(response.body, "# TYPE runtime_fibers_alive gauge"));
    assert_int_equal(test_service_stop(service, SIGTERM, 10000), 0);
    unlink(path);
}

static void test_readyz_fails_as_soon_as_draining_starts(void **state)
{
    struct test_service *service = *state;
    const char *env[] = {"HEXSVC_ADMIN_ADDRESS=127.0.0.1:0", "HEXSVC_DRAIN_DELAY=2s", NULL};
    assert_true(test_service_start(service, HEXSVC_BINARY, NULL, env));
    int port = admin_port(service);
    static struct test_http_response response;
    admin_get(port, "/readyz", NULL, &response);
    assert_int_equal(response.status, 200);
    assert_int_equal(kill(service->pid, SIGTERM), 0);
    /* The drain delay keeps the listener open while readiness fails. */
    int status = 0;
    for (int tries = 0; tries < 40 && status != 503; tries++) {
        admin_get(port, "/readyz", NULL, &response);
        status = response.status;
        struct timespec pause = {.tv_nsec = 25L * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    assert_int_equal(status, 503);
    assert_non_null(strstr(response.body, "\"code\":\"shutting_down\""));
    assert_int_equal(test_service_stop(service, 0, 10000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_parsing_and_loopback),
        cmocka_unit_test(test_token_helpers),
        cmocka_unit_test(test_refuses_a_public_admin_listener_without_token),
        test_service_unit_test(test_token_guards_debug_endpoints_only),
        test_service_unit_test(test_readyz_fails_as_soon_as_draining_starts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
