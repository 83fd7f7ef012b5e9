/*
 * test_system_code_source.c: the getrandom code source, direct and buffered.
 */
#include <errno.h>
#include <pthread.h>
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

/* ---- buffered (system_random) -------------------------------------------- */

static void test_buffered_fill_writes_every_byte(void **state)
{
    (void)state;
    static struct system_random random;
    assert_int_equal(system_random_init(&random), 0);
    struct code_source source = system_random_source(&random);
    unsigned char first[64] = {0};
    unsigned char second[64] = {0};
    assert_int_equal(source.fill(source.self, first, sizeof first), 0);
    assert_int_equal(source.fill(source.self, second, sizeof second), 0);
    assert_false(all_zero(first, sizeof first));
    assert_memory_not_equal(first, second, sizeof first);
    assert_int_equal(source.fill(source.self, first, 0), 0);
    /* Larger than a buffer: straight from the kernel, still whole. */
    unsigned char large[SYSTEM_RANDOM_BUFFER * 2] = {0};
    assert_int_equal(source.fill(source.self, large, sizeof large), 0);
    assert_false(all_zero(large + sizeof large - 64, 64));
    char code[SHORT_CODE_DEFAULT_LENGTH + 1];
    assert_int_equal(short_code_generate(&source, SHORT_CODE_DEFAULT_LENGTH, code), DOMAIN_OK);
    assert_true(short_code_is_well_formed(code, SHORT_CODE_DEFAULT_LENGTH));
    system_random_destroy(&random);
    system_random_destroy(&random); /* a second destroy is harmless */
}

static bool contains(const unsigned char *haystack, size_t len, const unsigned char *needle,
                     size_t needle_len)
{
    for (size_t i = 0; i + needle_len <= len; i++) {
        if (memcmp(haystack + i, needle, needle_len) == 0) {
            return true;
        }
    }
    return false;
}

/* Issued bytes are wiped: no buffer still holds what a fill returned. */
static void test_buffered_fill_wipes_what_it_hands_out(void **state)
{
    (void)state;
    static struct system_random random;
    assert_int_equal(system_random_init(&random), 0);
    for (int round = 0; round < 40; round++) { /* crosses a refill */
        unsigned char got[32];
        assert_int_equal(system_random_buffered_fill(&random, got, sizeof got), 0);
        for (size_t i = 0; i < SYSTEM_RANDOM_SLOTS; i++) {
            assert_false(contains(random.slots[i].bytes, SYSTEM_RANDOM_BUFFER, got, sizeof got));
        }
    }
    system_random_destroy(&random);
}

#define THREADS 4
#define FILLS_PER_THREAD 2000
#define FILLS_TOTAL ((size_t)THREADS * FILLS_PER_THREAD)

struct filler {
    struct system_random *random;
    uint64_t values[FILLS_PER_THREAD];
    int failures;
};

static void *fill_many(void *arg)
{
    struct filler *filler = arg;
    for (int i = 0; i < FILLS_PER_THREAD; i++) {
        if (system_random_buffered_fill(filler->random, &filler->values[i],
                                        sizeof(filler->values[i])) != 0) {
            filler->failures++;
        }
    }
    return NULL;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Threads filling at once never get the same bytes (64-bit values repeat
 * by chance with probability ~2^-38 here) and never fail. */
static void test_buffered_fill_from_many_threads(void **state)
{
    (void)state;
    static struct system_random random;
    static struct filler fillers[THREADS];
    assert_int_equal(system_random_init(&random), 0);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        fillers[i].random = &random;
        fillers[i].failures = 0;
        assert_int_equal(pthread_create(&threads[i], NULL, fill_many, &fillers[i]), 0);
    }
    static uint64_t all[FILLS_TOTAL];
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(fillers[i].failures, 0);
        memcpy(all + (size_t)i * FILLS_PER_THREAD, fillers[i].values, sizeof(fillers[i].values));
    }
    qsort(all, FILLS_TOTAL, sizeof(all[0]), compare_u64);
    for (size_t i = 1; i < FILLS_TOTAL; i++) {
        assert_true(all[i] != all[i - 1]);
    }
    system_random_destroy(&random);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill_writes_every_byte),
        cmocka_unit_test(test_fill_survives_signals_and_short_reads),
        cmocka_unit_test(test_source_drives_short_codes),
        cmocka_unit_test(test_buffered_fill_writes_every_byte),
        cmocka_unit_test(test_buffered_fill_wipes_what_it_hands_out),
        cmocka_unit_test(test_buffered_fill_from_many_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
