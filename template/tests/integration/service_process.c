#include "service_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_TIMEOUT_MS 20000
/* How long a teardown lets a left-over service stop on SIGTERM (an ASan
 * build writes its report on the way out) before SIGKILL. */
#define RELEASE_TIMEOUT_MS 5000
#define MAX_ARGS 32
/* test_service_run_to_exit: start-up refusals end in well under a second. */
#define RUN_TO_EXIT_TIMEOUT_MS 30000

extern char **environ;

static long long now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* The port after the "serving on http://127.0.0.1:" prefix, which ends at a
 * space or the end of the line; -1 when it is not a TCP port number. */
static int parse_port(const char *text)
{
    if (text[0] < '0' || text[0] > '9') {
        return -1; /* strtol would skip spaces and take a sign */
    }
    char *end = NULL;
    errno = 0;
    long port = strtol(text, &end, 10);
    if (errno != 0 || (*end != ' ' && *end != '\n') || port < 1 || port > 65535) {
        return -1;
    }
    return (int)port;
}

void test_service_drain_output(struct test_service *service)
{
    if (service->output_fd < 0) {
        return;
    }
    for (;;) {
        size_t room = sizeof(service->output) - 1 - service->output_len;
        if (room == 0) {
            return;
        }
        ssize_t got = read(service->output_fd, service->output + service->output_len, room);
        if (got <= 0) {
            return;
        }
        service->output_len += (size_t)got;
        service->output[service->output_len] = '\0';
    }
}

/* Exports each "NAME=value" of env (NULL-terminated, may be NULL). */
static void set_environment(const char *const *env)
{
    for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
        char name[128];
        const char *equals = strchr(env[i], '=');
        if (equals != NULL && (size_t)(equals - env[i]) < sizeof(name)) {
            memcpy(name, env[i], (size_t)(equals - env[i]));
            name[equals - env[i]] = '\0';
            setenv(name, equals + 1, 1);
        }
    }
}

static void exec_child(int output_fd, const char *binary, const char *const *extra_args,
                       const char *const *extra_env)
{
    const char *argv[MAX_ARGS];
    size_t argc = 0;
    argv[argc++] = binary;
    argv[argc++] = "--host";
    argv[argc++] = "127.0.0.1";
    argv[argc++] = "--port";
    argv[argc++] = "0";
    for (size_t i = 0; extra_args != NULL && extra_args[i] != NULL && argc < MAX_ARGS - 1; i++) {
        argv[argc++] = extra_args[i];
    }
    argv[argc] = NULL;
    /* Tests stop the service with SIGTERM all the time: no 5 s drain delay
     * for load balancers that are not there (extra_env may set one). */
    setenv("HEXSVC_DRAIN_DELAY", "0", 0);
    set_environment(extra_env);
    dup2(output_fd, STDOUT_FILENO);
    dup2(output_fd, STDERR_FILENO);
    execve(binary, (char *const *)argv, environ);
    fprintf(stderr, "cannot exec %s: %s\n", binary, strerror(errno));
    _exit(127);
}

/* After a failed start: no caller would stop a child it was never given,
 * so one still running is killed here; what it printed is kept. */
static void discard_child(struct test_service *service)
{
    if (service->pid > 0) {
        kill(service->pid, SIGKILL);
        waitpid(service->pid, NULL, 0);
        service->pid = -1;
    }
    test_service_drain_output(service);
    close(service->output_fd);
    service->output_fd = -1;
}

bool test_service_start(struct test_service *service, const char *binary,
                        const char *const *extra_args, const char *const *extra_env)
{
    int pipe_fds[2];
    memset(service, 0, sizeof(*service));
    service->pid = -1;
    service->output_fd = -1;
    if (pipe(pipe_fds) != 0) {
        return false;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        return false;
    }
    if (pid == 0) {
        close(pipe_fds[0]);
        exec_child(pipe_fds[1], binary, extra_args, extra_env);
    }
    close(pipe_fds[1]);
    service->pid = pid;
    service->output_fd = pipe_fds[0];
    fcntl(service->output_fd, F_SETFL, fcntl(service->output_fd, F_GETFL) | O_NONBLOCK);

    long long deadline = now_ms() + START_TIMEOUT_MS;
    while (now_ms() < deadline) {
        struct pollfd ready = {.fd = service->output_fd, .events = POLLIN};
        poll(&ready, 1, 100);
        test_service_drain_output(service);
        static const char prefix[] = "serving on http://127.0.0.1:";
        const char *line = strstr(service->output, prefix);
        if (line != NULL && strchr(line, '\n') != NULL) {
            service->port = parse_port(line + strlen(prefix));
            if (service->port > 0) {
                return true;
            }
            break;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            service->pid = -1;
            break;
        }
    }
    discard_child(service);
    return false;
}

int test_service_stop(struct test_service *service, int signal_number, int timeout_ms)
{
    if (service->pid <= 0) {
        return -1;
    }
    kill(service->pid, signal_number);
    long long deadline = now_ms() + timeout_ms;
    int status = 0;
    for (;;) {
        pid_t done = waitpid(service->pid, &status, WNOHANG);
        if (done == service->pid) {
            break;
        }
        if (now_ms() >= deadline) {
            kill(service->pid, SIGKILL);
            waitpid(service->pid, &status, 0);
            service->pid = -1;
            test_service_drain_output(service);
            close(service->output_fd);
            service->output_fd = -1;
            return -1;
        }
        struct timespec pause = {.tv_sec = 0, .tv_nsec = 10L * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    service->pid = -1;
    test_service_drain_output(service);
    close(service->output_fd);
    service->output_fd = -1;
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    return 128 + WTERMSIG(status);
}

bool test_service_stop_clean(struct test_service *service, int signal_number, int timeout_ms)
{
    int status = test_service_stop(service, signal_number, timeout_ms);
    if (status != 0) {
        fprintf(stderr, "the service exited with %d; it printed:\n%s\n", status, service->output);
    }
    return status == 0;
}

void test_service_release(struct test_service *service)
{
    if (service->pid <= 0) {
        return;
    }
    pid_t pid = service->pid;
    int status = test_service_stop(service, SIGTERM, RELEASE_TIMEOUT_MS);
    if (status < 0) {
        fprintf(stderr, "the test left the service (pid %d) running; killed it\n", (int)pid);
    } else {
        fprintf(stderr, "the test left the service (pid %d) running; it exited with %d\n", (int)pid,
                status);
    }
}

int test_service_setup(void **state)
{
    struct test_service *service = calloc(1, sizeof(*service));
    if (service == NULL) {
        return -1;
    }
    service->pid = -1;
    service->output_fd = -1;
    *state = service;
    return 0;
}

int test_service_teardown(void **state)
{
    struct test_service *service = *state;
    if (service != NULL) {
        test_service_release(service);
        free(service);
        *state = NULL;
    }
    return 0;
}

/* Reads fd into output (NUL-terminated, at most len - 1 bytes kept) until
 * EOF or deadline_ms; bytes past the buffer are read and dropped, so a
 * talkative child never blocks on a full pipe. Returns the bytes kept. */
static size_t read_until_eof(int fd, char *output, size_t len, long long deadline_ms,
                             bool *timed_out)
{
    size_t used = 0;
    *timed_out = false;
    for (;;) {
        long long left = deadline_ms - now_ms();
        if (left <= 0) {
            *timed_out = true;
            break;
        }
        struct pollfd ready = {.fd = fd, .events = POLLIN};
        int rc = poll(&ready, 1, (int)left);
        if (rc < 0 && errno == EINTR) {
            continue;
        }
        if (rc <= 0) {
            *timed_out = rc == 0;
            break;
        }
        char dropped[512];
        bool keep = used < len - 1;
        ssize_t got =
            keep ? read(fd, output + used, len - 1 - used) : read(fd, dropped, sizeof(dropped));
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break;
        }
        used += keep ? (size_t)got : 0;
    }
    output[used] = '\0';
    return used;
}

int test_service_run_to_exit(const char *binary, const char *const *args, const char *const *env,
                             char *output, size_t len)
{
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) {
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        return -1;
    }
    if (pid == 0) {
        const char *argv[MAX_ARGS];
        size_t argc = 0;
        argv[argc++] = binary;
        for (size_t i = 0; args != NULL && args[i] != NULL && argc < MAX_ARGS - 1; i++) {
            argv[argc++] = args[i];
        }
        argv[argc] = NULL;
        set_environment(env);
        dup2(pipe_fds[1], STDOUT_FILENO);
        dup2(pipe_fds[1], STDERR_FILENO);
        close(pipe_fds[0]);
        execve(binary, (char *const *)argv, environ);
        _exit(127);
    }
    close(pipe_fds[1]);
    bool timed_out = false;
    (void)read_until_eof(pipe_fds[0], output, len, now_ms() + RUN_TO_EXIT_TIMEOUT_MS, &timed_out);
    close(pipe_fds[0]);
    if (timed_out) {
        /* A process that should have refused to start and did not would
         * otherwise hang the test until ctest's own timeout, and stay. */
        fprintf(stderr, "%s did not exit within %d ms; killed it\n", binary,
                RUN_TO_EXIT_TIMEOUT_MS);
        kill(pid, SIGKILL);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || timed_out || !WIFEXITED(status)) {
        return -1;
    }
    return WEXITSTATUS(status);
}
