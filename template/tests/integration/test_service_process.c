/*
 * test_service_process.c: the real binary, started as a user would start it:
 * settings and their errors, the routes every service has, and stopping on
 * SIGINT and SIGTERM with exit status 0.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "service_process.h"

/* Runs the binary to completion with args and at most one environment entry. */
static int run_to_exit(const char *const *args, const char *env, char *output, size_t len)
{
    const char *environment[] = {env, NULL};
    return test_service_run_to_exit(HEXSVC_BINARY, args, environment, output, len);
}

static void test_version_and_help(void **state)
{
    (void)state;
    char output[8192];
    const char *version[] = {"--version", NULL};
    assert_int_equal(run_to_exit(version, NULL, output, sizeof(output)), 0);
    assert_non_null(strstr(output, "hexsvc "));

    const char *help[] = {"--help", NULL};
    assert_int_equal(run_to_exit(help, NULL, output, sizeof(output)), 0);
    assert_non_null(strstr(output, "HEXSVC_PORT"));
    assert_non_null(strstr(output, "HEXSVC_WORKERS"));
}

/* --check-config shows that the admin token is set, never the token. */
static void test_check_config_redacts_secrets(void **state)
{
    (void)state;
    char output[16384];
    const char *check[] = {"--check-config", NULL};
    assert_int_equal(
        run_to_exit(check, "HEXSVC_ADMIN_TOKEN=tok-3f9a1c-secret", output, sizeof(output)), 0);
    assert_non_null(strstr(output, "configuration OK"));
    assert_non_null(strstr(output, "HEXSVC_ADMIN_TOKEN = (set, redacted) (environment)"));
    assert_null(strstr(output, "tok-3f9a1c"));
}

static void test_bad_settings_are_refused_by_name(void **state)
{
    (void)state;
    char output[8192];
    const char *none[] = {NULL};
    assert_int_equal(run_to_exit(none, "HEXSVC_PORT=70000", output, sizeof(output)), 2);
    assert_non_null(strstr(output, "HEXSVC_PORT"));
    assert_non_null(strstr(output, "70000"));
    assert_non_null(strstr(output, "65535"));

    const char *workers[] = {"--workers", "-3", NULL};
    assert_int_equal(run_to_exit(workers, NULL, output, sizeof(output)), 2);
    assert_non_null(strstr(output, "HEXSVC_WORKERS"));

    assert_int_equal(run_to_exit(none, "HEXSVC_IDLE_TIMEOUT=soon", output, sizeof(output)), 2);
    assert_non_null(strstr(output, "HEXSVC_IDLE_TIMEOUT"));
    assert_non_null(strstr(output, "'soon'"));
    assert_non_null(strstr(output, "from 1ms to 1h"));

    const char *unknown[] = {"--prot", "80", NULL};
    assert_int_equal(run_to_exit(unknown, NULL, output, sizeof(output)), 2);
    assert_non_null(strstr(output, "unknown argument '--prot'"));

    const char *missing[] = {"--port", NULL};
    assert_int_equal(run_to_exit(missing, NULL, output, sizeof(output)), 2);
    assert_non_null(strstr(output, "--port needs a value"));
}

static void test_serves_health_and_sample_route(void **state)
{
    struct test_service *service = *state;
    static struct test_http_response response;
    assert_true(test_service_start(service, HEXSVC_BINARY, NULL, NULL));

    assert_true(test_http_request(service->port, "GET", "/healthz", NULL, &response));
    assert_int_equal(response.status, 200);
    assert_string_equal(response.body, "{\"status\":\"ok\"}");

    assert_true(test_http_request(service->port, "GET", "/api/v1/time", NULL, &response));
    assert_int_equal(response.status, 200);
    assert_non_null(strstr(response.body, "\"time\":\"20"));
    assert_non_null(strstr(response.body, "Z\"}"));

    assert_true(test_http_request(service->port, "GET", "/no/such/route", NULL, &response));
    assert_int_equal(response.status, 404);
    assert_non_null(strstr(response.body, "\"error\":{\"code\":"));

    assert_true(test_service_stop_clean(service, SIGTERM, 15000));
}

/* The public server's limits are settings: both are far below the
 * defaults (1 MiB body, 8 KiB headers), so only the settings refuse these. */
static void test_server_limits_are_settings(void **state)
{
    struct test_service *service = *state;
    static struct test_http_response response;
    static char request[4096];
    const char *env[] = {"HEXSVC_MAX_BODY_BYTES=64", "HEXSVC_MAX_HEADER_BYTES=1024", NULL};
    assert_true(test_service_start(service, HEXSVC_BINARY, NULL, env));

    char body[101];
    memset(body, 'a', 100);
    body[100] = '\0';
    int len = snprintf(request, sizeof(request),
                       "POST /api/v1/time HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
                       "Content-Length: 100\r\nConnection: close\r\n\r\n%s",
                       body);
    assert_true(len > 0 && (size_t)len < sizeof(request));
    assert_true(test_http_exchange(service->port, request, (size_t)len, &response));
    assert_int_equal(response.status, 413);
    assert_non_null(strstr(response.body, "\"error\":{\"code\":"));

    char pad[2049];
    memset(pad, 'p', 2048);
    pad[2048] = '\0';
    len =
        snprintf(request, sizeof(request),
                 "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: %s\r\nConnection: close\r\n\r\n", pad);
    assert_true(len > 0 && (size_t)len < sizeof(request));
    assert_true(test_http_exchange(service->port, request, (size_t)len, &response));
    assert_int_equal(response.status, 431);
    assert_non_null(strstr(response.body, "\"error\":{\"code\":"));

    /* Under both limits the same server still answers. */
    assert_true(test_http_request(service->port, "GET", "/healthz", NULL, &response));
    assert_int_equal(response.status, 200);

    assert_true(test_service_stop_clean(service, SIGTERM, 15000));
}

/* A connection whose reads give up after 3 s: far above the 300 ms the
 * test configures, far below the defaults (10 s, 60 s) it must not get. */
static int connect_impatient(int port)
{
    int fd = test_http_connect(port);
    struct timeval patience = {.tv_sec = 3, .tv_usec = 0};
    if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The timeout settings reach the server: a header that never ends gets 408
 * at HEXSVC_HEADER_TIMEOUT, a quiet keep-alive connection is closed at
 * HEXSVC_IDLE_TIMEOUT. */
static void test_timeout_settings_reach_the_server(void **state)
{
    struct test_service *service = *state;
    static struct test_http_response response;
    const char *env[] = {"HEXSVC_HEADER_TIMEOUT=300ms", "HEXSVC_IDLE_TIMEOUT=300ms", NULL};
    assert_true(test_service_start(service, HEXSVC_BINARY, NULL, env));

    int fd = connect_impatient(service->port);
    assert_true(fd >= 0);
    const char partial[] = "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ";
    assert_true(test_http_send(fd, partial, sizeof(partial) - 1));
    assert_true(test_http_read_response(fd, &response));
    assert_int_equal(response.status, 408);
    assert_non_null(strstr(response.body, "\"error\":{\"code\":"));
    assert_true(test_http_peer_closed(fd));
    close(fd);

    fd = connect_impatient(service->port);
    assert_true(fd >= 0);
    const char request[] = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_true(test_http_send(fd, request, sizeof(request) - 1));
    assert_true(test_http_read_response(fd, &response));
    assert_int_equal(response.status, 200);
    assert_true(test_http_peer_closed(fd)); /* idle past 300 ms: closed */
    close(fd);

    assert_true(test_service_stop_clean(service, SIGTERM, 15000));
}

static void test_sigint_stops_cleanly(void **state)
{
    struct test_service *service = *state;
    assert_true(test_service_start(service, HEXSVC_BINARY, NULL, NULL));
    assert_true(test_service_stop_clean(service, SIGINT, 15000));
    assert_non_null(strstr(service->output, "SIGINT"));
}

/* Polls the child's output for `text` for up to five seconds. */
static bool output_shows(struct test_service *service, const char *text)
{
    for (int i = 0; i < 500; i++) {
        test_service_drain_output(service);
        if (strstr(service->output, text) != NULL) {
            return true;
        }
        struct timespec pause = {.tv_sec = 0, .tv_nsec = 10L * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    return false;
}

static void write_config(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    assert_true(fputs(text, file) >= 0);
    assert_int_equal(fclose(file), 0);
}

/* SIGHUP reads the config file again and applies the log level; a file
 * that no longer parses changes nothing. */
static void test_sighup_reloads_the_log_level(void **state)
{
    struct test_service *service = *state;
    static struct test_http_response response;
    char path[] = "/tmp/hexsvc-reload-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_config(path, "log_level = warn\n");
    const char *args[] = {"--config", path, NULL};
    assert_true(test_service_start(service, HEXSVC_BINARY, args, NULL));

    assert_true(test_http_request(service->port, "GET", "/healthz", NULL, &response));
    assert_int_equal(response.status, 200);
    write_config(path, "log_level = info\n");
    kill(service->pid, SIGHUP);
    assert_true(output_shows(service, "\"msg\":\"settings reloaded\",\"log_level\":\"info\""));
    /* Only the request after the reload is logged. */
    assert_null(strstr(service->output, "\"msg\":\"request\""));
    assert_true(test_http_request(service->port, "GET", "/healthz", NULL, &response));
    assert_true(output_shows(service, "\"msg\":\"request\""));

    write_config(path, "log_level = loud\n");
    kill(service->pid, SIGHUP);
    assert_true(output_shows(service, "nothing changed"));
    assert_non_null(strstr(service->output, "'loud'"));

    int status = test_service_stop(service, SIGTERM, 15000);
    unlink(path);
    assert_int_equal(status, 0);
}

/* The fixture behind every test here that starts the service: its
 * teardown stops and reaps a child the test left running, as a failed
 * assertion does, so no process is left (not even a zombie). */
static void test_teardown_releases_a_running_service(void **state)
{
    (void)state;
    void *fixture = NULL;
    assert_int_equal(test_service_setup(&fixture), 0);
    struct test_service *service = fixture;
    assert_true(test_service_start(service, HEXSVC_BINARY, NULL, NULL));
    pid_t pid = service->pid;
    assert_int_equal(test_service_teardown(&fixture), 0);
    assert_null(fixture);
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_and_help),
        cmocka_unit_test(test_check_config_redacts_secrets),
        cmocka_unit_test(test_bad_settings_are_refused_by_name),
        test_service_unit_test(test_serves_health_and_sample_route),
        test_service_unit_test(test_server_limits_are_settings),
        test_service_unit_test(test_timeout_settings_reach_the_server),
        test_service_unit_test(test_sigint_stops_cleanly),
        test_service_unit_test(test_sighup_reloads_the_log_level),
        cmocka_unit_test(test_teardown_releases_a_running_service),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
