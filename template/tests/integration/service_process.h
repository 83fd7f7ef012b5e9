/*
 * service_process.h: run the real service binary as a child process for
 * tests over real sockets and real signals.
 *
 * The child listens on 127.0.0.1 with port 0; its start-up line
 * ("serving on http://127.0.0.1:PORT") tells the test which port it got.
 * Every wait is bounded, and a child still running at the end is killed.
 *
 * A failed cmocka assertion longjmps out of the test, past the test's own
 * stop: a test that starts the service owns it through a fixture
 * (test_service_setup / test_service_teardown, or its own teardown calling
 * test_service_release), so the child never outlives the test, holding its
 * ports and hanging CI.
 */
#ifndef HEXSVC_TESTS_SERVICE_PROCESS_H
#define HEXSVC_TESTS_SERVICE_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct test_service {
    pid_t pid;     /* <= 0 when no child is running */
    int output_fd; /* the child's stdout and stderr; open while pid > 0 */
    int port;
    char output[65536];
    size_t output_len;
};

/* Starts `binary` with `--host 127.0.0.1 --port 0` plus extra_args
 * (NULL-terminated, may be NULL) and extra environment entries "NAME=value"
 * (NULL-terminated, may be NULL). True once it announced its port. False
 * leaves no child behind: one that is still running (no port announced in
 * time, or a bad one) is killed and reaped; service->output keeps all it
 * printed. */
bool test_service_start(struct test_service *service, const char *binary,
                        const char *const *extra_args, const char *const *extra_env);

/* Sends `signal_number`, waits up to timeout_ms for the exit. Returns the
 * exit status (0..255), 128 + signal if it was killed by one, or -1 on
 * timeout (then the child is killed with SIGKILL). */
int test_service_stop(struct test_service *service, int signal_number, int timeout_ms);

/* test_service_stop(), true when the service exited 0. Otherwise prints the
 * status and all the service printed to stderr, so the failed test shows
 * why it ended badly. */
bool test_service_stop_clean(struct test_service *service, int signal_number, int timeout_ms);

/* Runs `binary` with exactly `args` (NULL-terminated, may be NULL) and the
 * extra environment `env` until it exits; its output goes to output
 * (NUL-terminated, at most len - 1 bytes). Returns the exit status, or -1
 * when it could not run, did not exit normally, or was still running after
 * 30 s (then it is killed and reaped). For settings and refusals that end
 * the process at start-up. */
int test_service_run_to_exit(const char *binary, const char *const *args, const char *const *env,
                             char *output, size_t len);

/* Reads whatever the child printed so far into service->output. */
void test_service_drain_output(struct test_service *service);

/* Stops a child that is still running (SIGTERM, then SIGKILL after a
 * bounded wait), reaps it and closes its output; nothing to do when the
 * test already stopped it. For a teardown: it says on stderr that it had
 * to stop the service, since only a failed test leaves one running. */
void test_service_release(struct test_service *service);

/* cmocka fixture: the setup puts a struct test_service with no child in
 * *state (for test_service_start); the teardown releases it as above and
 * frees it. Use with cmocka_unit_test_setup_teardown. */
int test_service_setup(void **state);
int test_service_teardown(void **state);

/* The cmocka test entry for a test that owns a service this way. */
#define test_service_unit_test(test) \
    cmocka_unit_test_setup_teardown(test, test_service_setup, test_service_teardown)

#endif
