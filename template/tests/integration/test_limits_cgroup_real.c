/*
 * test_limits_cgroup_real.c: the real binary in a real cgroup with a 64 MiB
 * memory limit, driven past it by hundreds of connections each sending a
 * large valid request. Shown: it is never OOM-killed, it answers 503 with
 * Retry-After while shedding, and it serves normally afterwards.
 *
 * Needs root and a writable memory controller (cgroup v1 here, v2 where a
 * child can get memory.max); otherwise it skips and says why. The test
 * process moves itself into the child cgroup so that the service starts
 * there, and moves back at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "platform/limits/limits_cgroup.h"
#include "service_process.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HEXSVC_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HEXSVC_TEST_SANITIZED 1
#endif
#endif
#ifndef HEXSVC_TEST_SANITIZED
#define HEXSVC_TEST_SANITIZED 0
#endif

#define LIMIT_BYTES (64u << 20)
#define CONNECTIONS 300
#define BODY_BYTES ((size_t)192 * 1024)

struct cgroup_env {
    char parent[LIMITS_PATH_MAX];
    char child[LIMITS_PATH_MAX + 64];
    int version;
    bool moved;
};

static struct cgroup_env env;
/* Static, not on the test's stack: the teardown releases it if a failed
 * assertion left it running in the cgroup it is about to remove. */
static struct test_service service;

static bool write_file(const char *dir, const char *name, const char *text)
{
    char path[LIMITS_PATH_MAX + 128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    bool ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    close(fd);
    return ok;
}

static bool read_field(const char *dir, const char *name, const char *field, uint64_t *out)
{
    char path[LIMITS_PATH_MAX + 128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        return false;
    }
    char line[256];
    size_t field_len = strlen(field);
    bool found = false;
    while (fgets(line, sizeof(line), file) != NULL) {
        if (strncmp(line, field, field_len) == 0 && line[field_len] == ' ') {
            *out = strtoull(line + field_len + 1, NULL, 10);
            found = true;
        }
    }
    fclose(file);
    return found;
}

/* Creates the child cgroup and moves this process into it; false with the
 * reason printed when the machine does not allow it. */
static bool enter_limited_cgroup(void)
{
#if HEXSVC_TEST_SANITIZED
    /* A sanitizer's shadow memory and quarantine are charged to the cgroup
     * too: 64 MiB measures the sanitizer, not the service. */
    printf("SKIP: sanitizer build; the memory limit test runs in the dev build\n");
    return false;
#endif
    if (geteuid() != 0) {
        printf("SKIP: not root, cannot create a cgroup\n");
        return false;
    }
    struct limits_cgroup cgroup;
    if (limits_cgroup_read("", &cgroup) != 0 || cgroup.memory_version == 0) {
        printf("SKIP: no memory cgroup controller found\n");
        return false;
    }
    env.version = cgroup.memory_version;
    snprintf(env.parent, sizeof(env.parent), "%s", cgroup.memory_dir);
    snprintf(env.child, sizeof(env.child), "%s/hexsvc-limits-test-%d", env.parent, (int)getpid());
    if (mkdir(env.child, 0755) != 0) {
        printf("SKIP: cannot create %s: %s\n", env.child, strerror(errno));
        env.child[0] = '\0';
        return false;
    }
    char limit[32];
    snprintf(limit, sizeof(limit), "%u", LIMIT_BYTES);
    const char *limit_file = env.version == 2 ? "memory.max" : "memory.limit_in_bytes";
    if (!write_file(env.child, limit_file, limit)) {
        printf("SKIP: cannot set %s in %s: %s\n", limit_file, env.child, strerror(errno));
        return false;
    }
    /* No swap: the limit must bind on memory alone. */
    (void)write_file(env.child, env.version == 2 ? "memory.swap.max" : "memory.swappiness", "0");
    char pid[32];
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    if (!write_file(env.child, "cgroup.procs", pid)) {
        printf("SKIP: cannot move into %s: %s\n", env.child, strerror(errno));
        return false;
    }
    env.moved = true;
    return true;
}

static int leave_cgroup(void **state)
{
    (void)state;
    test_service_release(&service);
    if (env.moved) {
        char pid[32];
        snprintf(pid, sizeof(pid), "%d", (int)getpid());
        (void)write_file(env.parent, "cgroup.procs", pid);
        env.moved = false;
    }
    if (env.child[0] != '\0') {
        (void)rmdir(env.child);
        env.child[0] = '\0';
    }
    return 0;
}

static uint64_t oom_kills(void)
{
    uint64_t kills = 0;
    if (env.version == 2) {
        (void)read_field(env.child, "memory.events", "oom_kill", &kills);
    } else {
        (void)read_field(env.child, "memory.oom_control", "oom_kill", &kills);
    }
    return kills;
}

/* Reads one response if it arrives within wait_ms; its status or 0. */
static int poll_status(int fd, int wait_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, wait_ms) != 1) {
        return 0;
    }
    struct test_http_response *response = calloc(1, sizeof(*response));
    int status = 0;
    if (response != NULL && test_http_read_response(fd, response)) {
        status = response->status;
        char retry[16];
        if (status == 503 && !test_http_header(response, "Retry-After", retry, sizeof(retry))) {
            status = -503; /* a 503 without Retry-After fails the test */
        }
    }
    free(response);
    return status;
}

static void test_memory_limit_sheds_instead_of_oom(void **state)
{
    (void)state;
    if (!enter_limited_cgroup()) {
        skip();
    }
    static const char *const args[] = {
        "--store",     "memory",      "--drain-delay", "0", "--admin-address",
        "127.0.0.1:0", "--log-level", "warn",          NULL};
    assert_true(test_service_start(&service, HEXSVC_BINARY, args, NULL));
    test_service_drain_output(&service);
    assert_non_null(strstr(service.output, "90% of cgroup v"));

    /* A valid link request padded with JSON whitespace to BODY_BYTES. */
    char *body = malloc(BODY_BYTES);
    assert_non_null(body);
    memset(body, ' ', BODY_BYTES);
    static const char json[] = "{\"url\":\"https://example.com/a/long/path\"}";
    memcpy(body, json, sizeof(json) - 1);
    char head[256];
    int head_len = snprintf(head, sizeof(head),
                            "POST /api/v1/links HTTP/1.1\r\nHost: t\r\nContent-Type: "
                            "application/json\r\nContent-Length: %zu\r\n\r\n",
                            BODY_BYTES);

    /* Every connection sends all but the last byte, so the server holds
     * every admitted body at once: 300 x 256 KiB of buffers would be far
     * past 64 MiB. */
    static int fds[CONNECTIONS];
    static int statuses[CONNECTIONS];
    for (size_t i = 0; i < CONNECTIONS; i++) {
        fds[i] = test_http_connect(service.port);
        statuses[i] = 0;
        if (fds[i] < 0) {
            continue;
        }
        if (!test_http_send(fds[i], head, (size_t)head_len) ||
            !test_http_send(fds[i], body, BODY_BYTES - 1)) {
            statuses[i] = poll_status(fds[i], 1000);
            close(fds[i]);
            fds[i] = -1;
        }
    }
    unsigned shed = 0;
    unsigned created = 0;
    unsigned other = 0;
    for (size_t i = 0; i < CONNECTIONS; i++) {
        if (fds[i] >= 0) {
            /* Refused ones were answered at their headers. */
            statuses[i] = poll_status(fds[i], 0);
            if (statuses[i] == 0) {
                (void)test_http_send(fds[i], body + BODY_BYTES - 1, 1);
                statuses[i] = poll_status(fds[i], 10000);
            }
            close(fds[i]);
        }
        shed += statuses[i] == 503;
        created += statuses[i] == 201;
        other += statuses[i] != 503 && statuses[i] != 201;
    }
    free(body);
    printf("201 created %u, 503 shed %u, other %u (of %d)\n", created, shed, other, CONNECTIONS);
    assert_int_equal(kill(service.pid, 0), 0); /* alive */
    assert_int_equal(oom_kills(), 0);
    assert_true(shed > 0);
    assert_true(created > 0);

    /* Afterwards: normal service (bounded retries while usage falls). */
    bool normal = false;
    struct test_http_response *response = calloc(1, sizeof(*response));
    assert_non_null(response);
    for (int i = 0; i < 100 && !normal; i++) {
        normal = test_http_request(service.port, "POST", "/api/v1/links",
                                   "{\"url\":\"https://example.com/after\"}", response) &&
                 response->status == 201;
        if (!normal) {
            struct timespec pause = {.tv_sec = 0, .tv_nsec = 50L * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    free(response);
    assert_true(normal);
    assert_int_equal(test_service_stop(&service, SIGTERM, 20000), 0);
    assert_int_equal(oom_kills(), 0);
    uint64_t peak = 0;
    char peak_path[LIMITS_PATH_MAX + 160];
    snprintf(peak_path, sizeof(peak_path), "%s/%s", env.child,
             env.version == 2 ? "memory.peak" : "memory.max_usage_in_bytes");
    FILE *peak_file = fopen(peak_path, "r");
    if (peak_file != NULL) {
        char text[32] = {0};
        if (fgets(text, sizeof(text), peak_file) != NULL) {
            peak = strtoull(text, NULL, 10);
        }
        fclose(peak_file);
    }
    printf("peak cgroup usage %llu KiB of a %u KiB limit\n", (unsigned long long)(peak / 1024),
           LIMIT_BYTES / 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_memory_limit_sheds_instead_of_oom, leave_cgroup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
