/* Death test: overflowing a fiber stack hits the guard page, and the report
 * names the fiber before the process dies. Runs in a forked child. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime_test.h"

#include "platform/runtime/fiber.h"

/* Deep recursion with 1 KiB frames: touches every page on its way down, so
 * the guard page is hit even without -fstack-clash-protection. Recursion is
 * the point here: nothing else grows the stack until it overflows. */
// NOLINTNEXTLINE(misc-no-recursion)
__attribute__((noinline)) static int recurse(volatile int depth)
{
    volatile char frame[1024];
    frame[0] = (char)depth;
    frame[sizeof(frame) - 1] = (char)depth;
    if (depth > 1000000) {
        return frame[0];
    }
    return recurse(depth + 1) + frame[sizeof(frame) - 1];
}

static void overflow(void *arg)
{
    (void)arg;
    recurse(0);
}

static void child_main(void *arg)
{
    (void)arg;
    struct fiber *fiber = fiber_spawn("deep-recursion", overflow, NULL);
    fiber_join(fiber);
}

static void test_overflow_is_reported_with_the_fiber_name(void **state)
{
    (void)state;
    int pipe_fds[2];
    assert_int_equal(pipe(pipe_fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pipe_fds[0]);
        dup2(pipe_fds[1], STDERR_FILENO);
        alarm(20); /* the child can never hang the test */
        struct runtime_config config = {.worker_count = 1, .stack_size = (size_t)64 * 1024};
        runtime_run(&config, child_main, NULL);
        _exit(0); /* reaching this means no overflow happened */
    }
    close(pipe_fds[1]);
    char output[8192];
    size_t len = 0;
    for (;;) {
        ssize_t count = read(pipe_fds[0], output + len, sizeof(output) - 1 - len);
        if (count < 0 && errno == EINTR) {
            continue;
        }
        if (count <= 0) {
            break;
        }
        len += (size_t)count;
    }
    output[len] = '\0';
    close(pipe_fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    print_message("child stderr:\n%s\n", output);
    assert_true(WIFSIGNALED(status));
    assert_int_not_equal(WTERMSIG(status), SIGALRM);
    assert_non_null(strstr(output, "' overflowed its 64 KiB stack"));
    assert_non_null(strstr(output, "'deep-recursion'"));
    assert_non_null(strstr(output, "fiber "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overflow_is_reported_with_the_fiber_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
