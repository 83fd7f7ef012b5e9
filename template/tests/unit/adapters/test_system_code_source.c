/*
 * test_system_code_source.c: the getrandom code source.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <cmocka.h>

#include "adapters/system/system_code_source.h"
#include "domain/short_code.h"

static bool all_zero(const unsigned char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != 0) {
            return false;
        }
    }
    return true;
}

static void test_fill_writes_every_byte(void **state)
{
    (void)state;
    struct code_source source = system_code_source();
    unsigned char first[64] = {0};
    unsigned char second[64] = {0};
    assert_int_equal(source.fill(source.self, first, sizeof first), 0);
    assert_int_equal(source.fill(source.self, second, sizeof second), 0);
    /* 64 random bytes are all zero, or equal twice, with probability 2^-512. */
    assert_false(all_zero(first, sizeof first));
    assert_memory_not_equal(first, second, sizeof first);
    assert_int_equal(source.fill(source.self, first, 0), 0);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int signal_number)
{
    (void)signal_number;
    alarms++;
}

/* Large requests while a timer interrupts the thread: getrandom returns
 * short counts or EINTR, and fill() must still deliver the whole buffer. */
static void test_fill_survives_signals_and_short_reads(void **state)
{
    (void)state;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_alarm; /* no SA_RESTART: interrupted calls fail */
    sigemptyset(&action.sa_mask);
    struct sigaction previous;
    assert_int_equal(sigaction(SIGALRM, &action, &previous), 0);
    struct itimerval timer = {{0, 200}, {0, 200}};
    assert_int_equal(setitimer(ITIMER_REAL, &timer, NULL), 0);

    size_t len = (size_t)8 * 1024 * 1024;
    unsigned char *buf = calloc(1, len);
    assert_non_null(buf);
    for (int round = 0; round < 4; round++) {
        memset(buf, 0, len);
        assert_int_equal(system_random_fill(NULL, buf, len), 0);
        /* The tail is written too, not only a first short read. */
        assert_false(all_zero(buf + len - 4096, 4096));
    }
    free(buf);

    struct itimerval stop = {{0, 0}, {0, 0}};
    assert_int_equal(setitimer(ITIMER_REAL, &stop, NULL), 0);
    assert_int_equal(sigaction(SIGALRM, &previous, NULL), 0);
}

static void test_source_drives_short_codes(void **state)
{
    (void)state;
    struct code_source source = system_code_source();
    char code[SHORT_CODE_DEFAULT_LENGTH + 1];
    assert_int_equal(short_code_generate(&source, SHORT_CODE_DEFAULT_LENGTH, code), DOMAIN_OK);
    assert_true(short_code_is_well_formed(code, SHORT_CODE_DEFAULT_LENGTH));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill_writes_every_byte),
        cmocka_unit_test(test_fill_survives_signals_and_short_reads),
        cmocka_unit_test(test_source_drives_short_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
