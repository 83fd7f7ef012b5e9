/*
 * test_memory_store.c: the in-memory link store's contract, growth, slab
 * allocation and behaviour under several threads.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adapters/storage/memory/memory_store.h"

struct fixture {
    struct memory_store *memory;
    struct link_store port;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (f == NULL || memory_store_create(42, &f->memory) != 0) {
        free(f);
        return -1;
    }
    f->port = memory_store_port(f->memory);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    memory_store_destroy(f->memory);
    free(f);
    return 0;
}

static struct link make_link(const char *code, const char *url, int64_t created_at_ms)
{
    struct link link;
    assert_int_equal(link_init(&link, code, strlen(code), url, strlen(url), created_at_ms),
                     DOMAIN_OK);
    return link;
}

static enum domain_error create(struct fixture *f, const char *code, const char *url)
{
    struct link link = make_link(code, url, 1000);
    return f->port.create(f->port.self, NULL, &link);
}

static void test_create_get_and_hits(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(create(f, "abc1234", "https://example.com/a"), DOMAIN_OK);
    struct link out;
    memset(&out, 0, sizeof out);
    assert_int_equal(f->port.get(f->port.self, NULL, "abc1234", 7, &out), DOMAIN_OK);
    assert_string_equal(out.code, "abc1234");
    assert_int_equal(out.code_len, 7);
    assert_string_equal(out.url, "https://example.com/a");
    assert_int_equal(out.url_len, strlen("https://example.com/a"));
    assert_int_equal(out.created_at_ms, 1000);
    assert_int_equal(out.hit_count, 0);

    assert_int_equal(f->port.record_hit(f->port.self, NULL, "abc1234", 7, &out), DOMAIN_OK);
    assert_int_equal(out.hit_count, 1);
    assert_int_equal(f->port.record_hit(f->port.self, NULL, "abc1234", 7, NULL), DOMAIN_OK);
    assert_int_equal(f->port.get(f->port.self, NULL, "abc1234", 7, &out), DOMAIN_OK);
    assert_int_equal(out.hit_count, 2);
    assert_int_equal(memory_store_count(f->memory), 1);
}

static void test_code_taken_and_not_found(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(create(f, "taken", "https://first.example/"), DOMAIN_OK);
    assert_int_equal(create(f, "taken", "https://second.example/"), DOMAIN_ERROR_CODE_TAKEN);
    struct link out;
    assert_int_equal(f->port.get(f->port.self, NULL, "taken", 5, &out), DOMAIN_OK);
    assert_string_equal(out.url, "https://first.example/");
    /* Codes are compared in full and case-sensitively. */
    assert_int_equal(f->port.get(f->port.self, NULL, "TAKEN", 5, &out), DOMAIN_ERROR_NOT_FOUND);
    assert_int_equal(f->port.get(f->port.self, NULL, "take", 4, &out), DOMAIN_ERROR_NOT_FOUND);
    assert_int_equal(f->port.get(f->port.self, NULL, "takenX", 6, &out), DOMAIN_ERROR_NOT_FOUND);
    assert_int_equal(f->port.record_hit(f->port.self, NULL, "absent", 6, &out),
                     DOMAIN_ERROR_NOT_FOUND);
    assert_int_equal(f->port.get(f->port.self, NULL, "x", 0, &out), DOMAIN_ERROR_NOT_FOUND);
    assert_int_equal(memory_store_count(f->memory), 1);
}

static void test_refuses_oversized_links(void **state)
{
    struct fixture *f = *state;
    struct link link = make_link("fine", "https://example.com/", 0);
    link.code_len = 0;
    assert_int_equal(f->port.create(f->port.self, NULL, &link), DOMAIN_ERROR_INTERNAL);
    link.code_len = LINK_CODE_MAX + 1;
    assert_int_equal(f->port.create(f->port.self, NULL, &link), DOMAIN_ERROR_INTERNAL);
    link.code_len = 4;
    link.url_len = LINK_URL_MAX + 1;
    assert_int_equal(f->port.create(f->port.self, NULL, &link), DOMAIN_ERROR_INTERNAL);
    assert_int_equal(memory_store_count(f->memory), 0);
    char long_code[LINK_CODE_MAX + 1];
    memset(long_code, 'a', sizeof long_code);
    struct link out;
    assert_int_equal(f->port.get(f->port.self, NULL, long_code, sizeof long_code, &out),
                     DOMAIN_ERROR_NOT_FOUND);
}

static void test_max_size_links_round_trip(void **state)
{
    struct fixture *f = *state;
    static char url[LINK_URL_MAX + 1];
    char code[LINK_CODE_MAX + 1];
    /* Enough 2 KiB URLs to fill several slabs in every stripe. */
    enum {
        LINKS = 1200
    };
    for (int i = 0; i < LINKS; i++) {
        snprintf(code, sizeof code, "%0*d", LINK_CODE_MAX, i);
        memset(url, 'a' + i % 26, LINK_URL_MAX);
        url[LINK_URL_MAX] = '\0';
        assert_int_equal(create(f, code, url), DOMAIN_OK);
    }
    struct link out;
    for (int i = 0; i < LINKS; i++) {
        snprintf(code, sizeof code, "%0*d", LINK_CODE_MAX, i);
        assert_int_equal(f->port.get(f->port.self, NULL, code, LINK_CODE_MAX, &out), DOMAIN_OK);
        assert_int_equal(out.url_len, LINK_URL_MAX);
        assert_int_equal(out.url[0], 'a' + i % 26);
        assert_int_equal(out.url[LINK_URL_MAX - 1], 'a' + i % 26);
        assert_int_equal(out.url[LINK_URL_MAX], '\0');
    }
    assert_true(memory_store_allocated_bytes(f->memory) >= (size_t)LINKS * LINK_URL_MAX);
}

/* Thousands of links: the tables double many times and every link stays
 * reachable; malloc runs in steps (slabs, tables), not once per link. */
static void test_growth_keeps_every_link_and_allocates_in_steps(void **state)
{
    struct fixture *f = *state;
    enum {
        LINKS = 250000
    };
    char code[16];
    char url[64];
    size_t allocation_steps = 0;
    size_t last_allocated = memory_store_allocated_bytes(f->memory);
    for (int i = 0; i < LINKS; i++) {
        snprintf(code, sizeof code, "k%d", i);
        snprintf(url, sizeof url, "https://example.com/%d", i);
        assert_int_equal(create(f, code, url), DOMAIN_OK);
        size_t allocated = memory_store_allocated_bytes(f->memory);
        if (allocated != last_allocated) {
            allocation_steps++;
            last_allocated = allocated;
        }
    }
    assert_int_equal(memory_store_count(f->memory), LINKS);
    /* ~1000 links a stripe over 256 stripes: ~100-byte entries fill two
     * 64 KiB slabs, and a table of 64 slots doubles five times, so ~1800
     * steps against 250000 creates. */
    assert_true(allocation_steps < LINKS / 100);
    struct link out;
    for (int i = 0; i < LINKS; i++) {
        snprintf(code, sizeof code, "k%d", i);
        snprintf(url, sizeof url, "https://example.com/%d", i);
        assert_int_equal(f->port.get(f->port.self, NULL, code, strlen(code), &out), DOMAIN_OK);
        assert_string_equal(out.url, url);
    }
    snprintf(code, sizeof code, "k%d", (int)LINKS);
    assert_int_equal(f->port.get(f->port.self, NULL, code, strlen(code), &out),
                     DOMAIN_ERROR_NOT_FOUND);
}

/* ---- concurrency -------------------------------------------------------- */

enum {
    THREADS = 4,
    HITS_PER_THREAD = 10000,
    CODES_PER_THREAD = 2000
};

struct worker {
    struct fixture *fixture;
    int index;
    size_t successes;
    size_t failures;
};

static void *hit_worker(void *arg)
{
    struct worker *worker = arg;
    struct link_store *port = &worker->fixture->port;
    for (int i = 0; i < HITS_PER_THREAD; i++) {
        if (port->record_hit(port->self, NULL, "hot", 3, NULL) == DOMAIN_OK) {
            worker->successes++;
        } else {
            worker->failures++;
        }
    }
    return NULL;
}

static void run_workers(struct fixture *f, void *(*body)(void *), struct worker *workers)
{
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (struct worker){.fixture = f, .index = i};
        assert_int_equal(pthread_create(&threads[i], NULL, body, &workers[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    }
}

static void test_concurrent_hits_are_never_lost(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(create(f, "hot", "https://example.com/hot"), DOMAIN_OK);
    struct worker workers[THREADS];
    run_workers(f, hit_worker, workers);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(workers[i].successes, HITS_PER_THREAD);
    }
    struct link out;
    assert_int_equal(f->port.get(f->port.self, NULL, "hot", 3, &out), DOMAIN_OK);
    assert_int_equal(out.hit_count, (uint64_t)THREADS * HITS_PER_THREAD);
}

/* Every thread tries to create the same codes: exactly one create of each
 * code wins, and links are readable while the tables grow underneath. */
static void *racing_create_worker(void *arg)
{
    struct worker *worker = arg;
    struct link_store *port = &worker->fixture->port;
    char code[16];
    char url[64];
    struct link link;
    struct link out;
    for (int i = 0; i < CODES_PER_THREAD; i++) {
        snprintf(code, sizeof code, "r%d", i);
        snprintf(url, sizeof url, "https://example.com/%d", i);
        if (link_init(&link, code, strlen(code), url, strlen(url), worker->index) != DOMAIN_OK) {
            worker->failures++;
            continue;
        }
        enum domain_error err = port->create(port->self, NULL, &link);
        if (err == DOMAIN_OK) {
            worker->successes++;
        } else if (err != DOMAIN_ERROR_CODE_TAKEN) {
            worker->failures++;
        }
        if (port->record_hit(port->self, NULL, code, strlen(code), &out) != DOMAIN_OK ||
            strcmp(out.url, url) != 0) {
            worker->failures++;
        }
    }
    return NULL;
}

static void test_concurrent_creates_of_one_code_have_one_winner(void **state)
{
    struct fixture *f = *state;
    struct worker workers[THREADS];
    run_workers(f, racing_create_worker, workers);
    size_t successes = 0;
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(workers[i].failures, 0);
        successes += workers[i].successes;
    }
    assert_int_equal(successes, CODES_PER_THREAD);
    assert_int_equal(memory_store_count(f->memory), CODES_PER_THREAD);
    struct link out;
    assert_int_equal(f->port.get(f->port.self, NULL, "r0", 2, &out), DOMAIN_OK);
    assert_int_equal(out.hit_count, THREADS);
}

static void test_destroy_null_is_a_no_op(void **state)
{
    (void)state;
    memory_store_destroy(NULL);
    /* Different seeds place codes differently but behave the same. */
    struct memory_store *other = NULL;
    assert_int_equal(memory_store_create(0xdeadbeef, &other), 0);
    struct link_store port = memory_store_port(other);
    struct link link = make_link("seeded", "https://example.com/", 5);
    assert_int_equal(port.create(port.self, NULL, &link), DOMAIN_OK);
    assert_int_equal(port.get(port.self, NULL, "seeded", 6, &link), DOMAIN_OK);
    memory_store_destroy(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_get_and_hits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_code_taken_and_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_oversized_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_size_links_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_growth_keeps_every_link_and_allocates_in_steps, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_hits_are_never_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_creates_of_one_code_have_one_winner, setup,
                                        teardown),
        cmocka_unit_test(test_destroy_null_is_a_no_op),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
