/*
 * test_rate_limit.c: the real binary with HEXSVC_RATE_LIMIT_RPS=2,
 * HEXSVC_RATE_LIMIT_BURST=3 and HEXSVC_TRUSTED_PROXIES=127.0.0.1, over real
 * sockets. Connections from 127.0.0.1 play a trusted proxy forwarding for
 * two clients; connections from 127.0.0.2 play a client that is not a
 * proxy and sends the header anyway. No assertion depends on timing: at
 * two tokens a second, a slow machine can only make a 429 come later, so
 * the tests drive until the first one (bounded) and check what a bucket of
 * three must give.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "service_process.h"

#define BURST 3
#define MAX_TRIES 200 /* a 429 comes at the 4th request unless the machine crawls */

static const char *const limited_env[] = {"HEXSVC_RATE_LIMIT_RPS=2", "HEXSVC_RATE_LIMIT_BURST=3",
                                          "HEXSVC_TRUSTED_PROXIES=127.0.0.1", NULL};

static struct test_service service;

static int start(void **state)
{
    (void)state;
    if (!test_service_start(&service, HEXSVC_BINARY, NULL, limited_env)) {
        fprintf(stderr, "service did not start: %s\n", service.output);
        return -1;
    }
    return 0;
}

static int stop(void **state)
{
    (void)state;
    return test_service_stop(&service, SIGTERM, 30000) == 0 ? 0 : -1;
}

/* A keep-alive connection from `source` (127.0.0.1 or 127.0.0.2). */
static int connect_from(const char *source)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval timeout = {.tv_sec = 10, .tv_usec = 0};
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = 0};
    assert_int_equal(inet_pton(AF_INET, source, &local.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&local, sizeof(local)), 0);
    struct sockaddr_in remote = {.sin_family = AF_INET, .sin_port = htons((uint16_t)service.port)};
    remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&remote, sizeof(remote)), 0);
    return fd;
}

/* GET /healthz on fd with X-Forwarded-For: forwarded; the status. */
static int get(int fd, const char *forwarded, struct test_http_response *response)
{
    char request[256];
    int len =
        snprintf(request, sizeof(request),
                 "GET /healthz HTTP/1.1\r\nHost: test\r\nX-Forwarded-For: %s\r\n\r\n", forwarded);
    assert_true(test_http_send(fd, request, (size_t)len));
    assert_true(test_http_read_response(fd, response));
    return response->status;
}

/* Requests until the first 429 (bounded); the number of 200s before it. */
static int drive_to_429(int fd, const char *forwarded, struct test_http_response *response)
{
    for (int sent = 0; sent < MAX_TRIES; sent++) {
        int status = get(fd, forwarded, response);
        if (status == 429) {
            return sent;
        }
        assert_int_equal(status, 200);
    }
    fail_msg("no 429 after %d requests at 2 per second", MAX_TRIES);
    return -1;
}

static void assert_rate_limited_answer(const struct test_http_response *response)
{
    char value[64];
    assert_int_equal(response->status, 429);
    /* Two tokens a second: the next one is at most half a second away,
     * which rounds up to 1 whole second. */
    assert_true(test_http_header(response, "Retry-After", value, sizeof(value)));
    assert_string_equal(value, "1");
    assert_true(test_http_header(response, "Content-Type", value, sizeof(value)));
    assert_string_equal(value, "application/json");
    assert_non_null(strstr(response->body, "{\"error\":{\"code\":\"rate_limited\",\"message\":"));
}

static void test_client_past_its_burst_gets_429(void **state)
{
    (void)state;
    static struct test_http_response response;
    int proxy = connect_from("127.0.0.1");
    int allowed = drive_to_429(proxy, "203.0.113.7", &response);
    assert_true(allowed >= BURST);
    assert_rate_limited_answer(&response);

    /* Another client behind the same proxy has a bucket of its own. */
    for (int i = 0; i < BURST; i++) {
        assert_int_equal(get(proxy, "198.51.100.1, 203.0.113.8", &response), 200);
    }

    /* Retry-After is enough: after it, A gets through again. */
    struct timespec pause = {.tv_sec = 1, .tv_nsec = 0};
    nanosleep(&pause, NULL);
    assert_int_equal(get(proxy, "203.0.113.7", &response), 200);
    close(proxy);
}

/* The entries left of the first untrusted hop are the client's own claims:
 * a new one each time must not buy a new bucket. */
static void test_leftmost_claims_not_believed(void **state)
{
    (void)state;
    static struct test_http_response response;
    int proxy = connect_from("127.0.0.1");
    char forwarded[64];
    int sent = 0;
    for (; sent < MAX_TRIES; sent++) {
        snprintf(forwarded, sizeof(forwarded), "192.0.2.%d, 203.0.113.9", 1 + sent % 200);
        if (get(proxy, forwarded, &response) == 429) {
            break;
        }
        assert_int_equal(response.status, 200);
    }
    assert_true(sent >= BURST && sent < MAX_TRIES);
    assert_rate_limited_answer(&response);
    close(proxy);
}

static void test_untrusted_peer_cannot_pick_its_key(void **state)
{
    (void)state;
    static struct test_http_response response;
    int client = connect_from("127.0.0.2");
    /* A different X-Forwarded-For each time: ignored, the peer is the key. */
    char forwarded[32];
    int sent = 0;
    for (; sent < MAX_TRIES; sent++) {
        snprintf(forwarded, sizeof(forwarded), "203.0.113.%d", 100 + sent % 100);
        if (get(client, forwarded, &response) == 429) {
            break;
        }
        assert_int_equal(response.status, 200);
    }
    assert_true(sent >= BURST && sent < MAX_TRIES);
    assert_rate_limited_answer(&response);
    close(client);
}

/* The admin port from "admin on http://127.0.0.1:PORT", waiting for the line. */
static int admin_port(void)
{
    static const char prefix[] = "admin on http://127.0.0.1:";
    for (int tries = 0; tries < 100; tries++) {
        test_service_drain_output(&service);
        const char *line = strstr(service.output, prefix);
        if (line != NULL && strchr(line, '\n') != NULL) {
            return (int)strtol(line + strlen(prefix), NULL, 10);
        }
        struct timespec pause = {.tv_nsec = 50L * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    fail_msg("no 'admin on' line in: %s", service.output);
    return -1;
}

static void test_rejections_are_counted(void **state)
{
    (void)state;
    /* The admin listener's /metrics has the counter by reason: at least
     * the three 429s of the tests before. */
    static const char series[] = "http_requests_rejected_total{reason=\"rate_limited\"} ";
    static struct test_http_response response;
    assert_true(test_http_request(admin_port(), "GET", "/metrics", NULL, &response));
    assert_int_equal(response.status, 200);
    const char *counter = strstr(response.body, series);
    assert_non_null(counter);
    assert_true(strtol(counter + strlen(series), NULL, 10) >= 3);
}

static void test_bad_trusted_proxy_is_named(void **state)
{
    (void)state;
    char output[4096];
    const char *args[] = {"--check-config", NULL};
    const char *env[] = {"HEXSVC_TRUSTED_PROXIES=10.0.0.0/8, 10.1.2.3/40", NULL};
    assert_int_equal(test_service_run_to_exit(HEXSVC_BINARY, args, env, output, sizeof(output)), 2);
    assert_non_null(strstr(output, "entry '10.1.2.3/40'"));
    assert_non_null(strstr(output, "HEXSVC_TRUSTED_PROXIES"));
    assert_non_null(strstr(output, "expected a comma-separated list of IPv4 or IPv6"));
    /* One line says it all: not a specific one and then a generic one. */
    size_t lines = 0;
    for (const char *c = output; *c != '\0'; c++) {
        lines += *c == '\n';
    }
    assert_int_equal(lines, 1);
}

static void test_bad_ipv6_prefix_is_named(void **state)
{
    (void)state;
    char output[4096];
    const char *args[] = {"--check-config", NULL};
    const char *env[] = {"HEXSVC_RATE_LIMIT_IPV6_PREFIX=129", NULL};
    assert_int_equal(test_service_run_to_exit(HEXSVC_BINARY, args, env, output, sizeof(output)), 2);
    assert_non_null(strstr(output, "HEXSVC_RATE_LIMIT_IPV6_PREFIX '129'"));
    assert_non_null(strstr(output, "from 1 to 128"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_past_its_burst_gets_429),
        cmocka_unit_test(test_leftmost_claims_not_believed),
        cmocka_unit_test(test_untrusted_peer_cannot_pick_its_key),
        cmocka_unit_test(test_rejections_are_counted),
        cmocka_unit_test(test_bad_trusted_proxy_is_named),
        cmocka_unit_test(test_bad_ipv6_prefix_is_named),
    };
    return cmocka_run_group_tests(tests, start, stop);
}
