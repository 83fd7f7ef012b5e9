/*
 * test_idempotency_memory.c: the idempotency-store contract against the
 * memory adapter, plus its own promise: the table drains as keys expire.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "adapters/storage/memory/memory_idempotency.h"
#include "idempotency_contract.h"

static int memory_open(size_t capacity, void **handle, struct idempotency_store *port, char *why,
                       size_t why_size)
{
    struct memory_idempotency *store = NULL;
    (void)why;
    (void)why_size;
    if (memory_idempotency_create(capacity, 42, &store) != 0) {
        return -1;
    }
    *handle = store;
    *port = memory_idempotency_port(store);
    return 0;
}

static void memory_close(void *handle)
{
    memory_idempotency_destroy(handle);
}

static void test_expired_keys_are_forgotten_as_time_passes(void **state)
{
    (void)state;
    struct memory_idempotency *store = NULL;
    assert_int_equal(memory_idempotency_create(100, 7, &store), 0);
    struct idempotency_store port = memory_idempotency_port(store);
    struct idempotency_request request = {.url = "https://example.com/", .url_len = 20};
    enum idempotency_verdict verdict;
    struct idempotency_outcome outcome;
    char key[16];
    for (int i = 0; i < 10; i++) {
        struct idempotency_times times = {.now_ms = i, .expires_at_ms = i + 100, .lease_ms = 5};
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(
            port.claim(port.self, NULL, key, strlen(key), &request, &times, &verdict, &outcome),
            DOMAIN_OK);
    }
    assert_int_equal(memory_idempotency_count(store), 10);
    /* Each claim after the TTL forgets up to two expired keys. */
    for (int i = 0; i < 5; i++) {
        struct idempotency_times times = {.now_ms = 1000, .expires_at_ms = 1100 + i, .lease_ms = 5};
        snprintf(key, sizeof(key), "late%d", i);
        assert_int_equal(
            port.claim(port.self, NULL, key, strlen(key), &request, &times, &verdict, &outcome),
            DOMAIN_OK);
    }
    assert_int_equal(memory_idempotency_count(store), 5);
    struct memory_idempotency *none = NULL;
    assert_int_equal(memory_idempotency_create(0, 7, &none), -EINVAL);
    memory_idempotency_destroy(store);
}

int main(void)
{
    const struct idempotency_target target = {
        .name = "idempotency_contract_memory",
        .open = memory_open,
        .close = memory_close,
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expired_keys_are_forgotten_as_time_passes),
    };
    int failures = cmocka_run_group_tests(tests, NULL, NULL);
    return failures + idempotency_contract_run(&target);
}
