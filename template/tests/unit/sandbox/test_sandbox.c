/* test_sandbox: the seccomp allowlist really filters. Each case installs the
 * filter in a forked child (a filter cannot be removed, and the test runner
 * must stay unfiltered) and reports through the exit status. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "platform/sandbox/sandbox.h"

/* execve of a path that does not exist: outside the allowlist, and harmless
 * if it ran (ENOENT, not EPERM, tells the two apart). */
#define MISSING_PROGRAM "/nonexistent/hexsvc-sandbox-test"

enum {
    CHILD_OK = 0,
    CHILD_APPLY_FAILED = 10,
    CHILD_WRONG_RESULT = 11
};

/* Waits at most ~10 s for the child; kills it after that. */
static int wait_child(pid_t pid)
{
    int status = 0;
    for (int i = 0; i < 1000; i++) {
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            return status;
        }
        struct timespec pause = {.tv_sec = 0, .tv_nsec = 10L * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    fail_msg("the sandboxed child did not finish within 10 s");
    return status;
}

/* Runs body() in a child under `mode`; returns the child's wait status.
 * _exit, never exit: atexit handlers (LSan's leak check) are not ours to
 * run under the filter. */
static int run_sandboxed(enum sandbox_mode mode, int (*body)(void))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (sandbox_apply(mode) != 0) {
            _exit(CHILD_APPLY_FAILED);
        }
        _exit(body());
    }
    return wait_child(pid);
}

static int call_forbidden(void)
{
    static char program[] = MISSING_PROGRAM;
    char *const argv[] = {program, NULL};
    char *const envp[] = {NULL};
    long rc = syscall(SYS_execve, program, argv, envp);
    return rc == -1 && errno == EPERM ? CHILD_OK : CHILD_WRONG_RESULT;
}

static void *thread_main(void *arg)
{
    return arg;
}

static void on_timer(uv_timer_t *timer)
{
    *(int *)timer->data = 1;
}

/* What the service does while serving: a thread, an event loop with a
 * timer, a TCP listener on loopback, the clock, memory. */
static int serve_like(void)
{
    pthread_t thread;
    if (pthread_create(&thread, NULL, thread_main, NULL) != 0 || pthread_join(thread, NULL) != 0) {
        return CHILD_WRONG_RESULT;
    }
    uv_loop_t loop;
    uv_timer_t timer;
    uv_tcp_t server;
    struct sockaddr_in address;
    int fired = 0;
    if (uv_loop_init(&loop) != 0 || uv_timer_init(&loop, &timer) != 0 ||
        uv_tcp_init(&loop, &server) != 0 || uv_ip4_addr("127.0.0.1", 0, &address) != 0 ||
        uv_tcp_bind(&server, (const struct sockaddr *)&address, 0) != 0) {
        return CHILD_WRONG_RESULT;
    }
    timer.data = &fired;
    uv_timer_start(&timer, on_timer, 1, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&server, NULL);
    uv_close((uv_handle_t *)&timer, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    return fired == 1 && uv_loop_close(&loop) == 0 ? CHILD_OK : CHILD_WRONG_RESULT;
}

static void test_modes_parse(void **state)
{
    (void)state;
    enum sandbox_mode mode = SANDBOX_OFF;
    assert_true(sandbox_parse_mode("kill", &mode));
    assert_int_equal(mode, SANDBOX_KILL);
    assert_true(sandbox_parse_mode("errno", &mode));
    assert_int_equal(mode, SANDBOX_ERRNO);
    assert_true(sandbox_parse_mode("log", &mode));
    assert_int_equal(mode, SANDBOX_LOG);
    assert_true(sandbox_parse_mode("off", &mode));
    assert_int_equal(mode, SANDBOX_OFF);
    assert_false(sandbox_parse_mode("on", &mode));
    assert_false(sandbox_parse_mode("", &mode));
    assert_false(sandbox_parse_mode("KILL", &mode));
    assert_string_equal(sandbox_mode_name(SANDBOX_ERRNO), "errno");
}

static void test_off_installs_nothing(void **state)
{
    (void)state;
    int status = run_sandboxed(SANDBOX_OFF, serve_like);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), CHILD_OK);
}

static void test_errno_mode_fails_a_forbidden_call(void **state)
{
    (void)state;
    if (!sandbox_available()) {
        assert_int_equal(sandbox_apply(SANDBOX_ERRNO), -ENOSYS);
        skip();
    }
    int status = run_sandboxed(SANDBOX_ERRNO, call_forbidden);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), CHILD_OK);
}

static void test_kill_mode_kills_on_a_forbidden_call(void **state)
{
    (void)state;
    if (!sandbox_available()) {
        assert_int_equal(sandbox_apply(SANDBOX_KILL), -ENOSYS);
        skip();
    }
    int status = run_sandboxed(SANDBOX_KILL, call_forbidden);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGSYS);
}

static void test_kill_mode_lets_a_server_run(void **state)
{
    (void)state;
    if (!sandbox_available()) {
        skip();
    }
    int status = run_sandboxed(SANDBOX_KILL, serve_like);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), CHILD_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes_parse),
        cmocka_unit_test(test_off_installs_nothing),
        cmocka_unit_test(test_errno_mode_fails_a_forbidden_call),
        cmocka_unit_test(test_kill_mode_kills_on_a_forbidden_call),
        cmocka_unit_test(test_kill_mode_lets_a_server_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
