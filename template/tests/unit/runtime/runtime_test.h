/*
 * runtime_test.h: helpers shared by the runtime tests.
 *
 * cmocka's assertions longjmp out of the failing function, which must never
 * happen on a fiber stack. Checks inside fibers therefore record the first
 * failure (CHECK, CHECK_EQ) and carry on; run_in_runtime() turns a recorded
 * failure into a cmocka failure once the runtime has returned.
 */
#ifndef HEXSVC_TESTS_UNIT_RUNTIME_RUNTIME_TEST_H
#define HEXSVC_TESTS_UNIT_RUNTIME_RUNTIME_TEST_H

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "platform/runtime/runtime.h"

struct check_failure {
    int count;
    const char *file;
    int line;
    const char *expression;
    long long actual;
    long long expected;
};

static struct check_failure check_first_failure;
static pthread_mutex_t check_mutex = PTHREAD_MUTEX_INITIALIZER;

static inline void check_record(const char *file, int line, const char *expression,
                                long long actual, long long expected)
{
    pthread_mutex_lock(&check_mutex);
    if (check_first_failure.count++ == 0) {
        check_first_failure.file = file;
        check_first_failure.line = line;
        check_first_failure.expression = expression;
        check_first_failure.actual = actual;
        check_first_failure.expected = expected;
    }
    pthread_mutex_unlock(&check_mutex);
}

#define CHECK(condition)                                        \
    do {                                                        \
        if (!(condition)) {                                     \
            check_record(__FILE__, __LINE__, #condition, 0, 0); \
        }                                                       \
    } while (0)

#define CHECK_EQ(actual, expected)                                                    \
    do {                                                                              \
        long long check_actual_ = (long long)(actual);                                \
        long long check_expected_ = (long long)(expected);                            \
        if (check_actual_ != check_expected_) {                                       \
            check_record(__FILE__, __LINE__, #actual " == " #expected, check_actual_, \
                         check_expected_);                                            \
        }                                                                             \
    } while (0)

static inline void run_in_runtime_config(const struct runtime_config *config,
                                         runtime_worker_fn body, void *arg)
{
    memset(&check_first_failure, 0, sizeof(check_first_failure));
    int rc = runtime_run(config, body, arg);
    assert_int_equal(rc, 0);
    if (check_first_failure.count > 0) {
        fail_msg("%s:%d: CHECK(%s) failed (actual %lld, expected %lld); %d failure(s)",
                 check_first_failure.file, check_first_failure.line, check_first_failure.expression,
                 check_first_failure.actual, check_first_failure.expected,
                 check_first_failure.count);
    }
}

/* One worker: deterministic scheduling on the test's own thread. */
static inline void run_in_runtime(runtime_worker_fn body, void *arg)
{
    struct runtime_config config = {.worker_count = 1};
    run_in_runtime_config(&config, body, arg);
}

#endif
