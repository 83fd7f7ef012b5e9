/*
 * test_link_cache_flight.c: singleflight on the real runtime. Many fibers
 * miss on one code at once against a store whose read is held at a gate:
 * the store is read once, every fiber gets the link and every hit is
 * counted; waiters honour their own deadline; a leader's timeout is not
 * the waiters'. Order comes from the gate and fiber_yield(), never sleeps.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../runtime/runtime_test.h"
#include "adapters/cache/link_cache.h"
#include "fake_store.h"

#define FLIGHT_FIBERS 32
#define FLIGHT_DEADLINE_MS 20000

struct flight_env {
    struct fake_store store;
    struct link_cache *cache;
    struct link_store port;
    int ok;
    uint64_t seen[FLIGHT_FIBERS + 1]; /* how often each hit count was handed out */
    int timeouts;
};

static struct flight_env env;
static uint64_t flight_patient = FLIGHT_DEADLINE_MS;
static uint64_t flight_hasty = 1; /* ms */

static void flight_env_init(void)
{
    memset(&env, 0, sizeof(env));
    struct link_store inner = fake_store_port(&env.store);
    struct link_cache_options options = {.max_entries = 100, .max_bytes = 1 << 20};
    assert_int_equal(link_cache_create(&inner, &options, &env.cache), 0);
    env.port = link_cache_port(env.cache);
    fake_store_add(&env.store, "hot", "https://hot.example/");
}

static void flight_resolve(void *arg)
{
    uint64_t timeout_ms = *(const uint64_t *)arg;
    struct ctx ctx;
    ctx_with_timeout(&ctx, NULL, timeout_ms);
    struct link got;
    enum domain_error err = env.port.record_hit(env.port.self, &ctx, "hot", 3, &got);
    if (err == DOMAIN_OK) {
        CHECK(strcmp(got.url, "https://hot.example/") == 0);
        CHECK(got.hit_count >= 1 && got.hit_count <= FLIGHT_FIBERS);
        if (got.hit_count <= FLIGHT_FIBERS) {
            env.seen[got.hit_count]++;
        }
        env.ok++;
    } else {
        CHECK_EQ(err, DOMAIN_ERROR_STORE_TIMEOUT);
        env.timeouts++;
    }
    ctx_release(&ctx);
}

/* Spawns fibers resolving "hot", lets each run until it parks, and returns. */
static void flight_spawn(struct fiber **fibers, int count, uint64_t *timeout_ms)
{
    for (int i = 0; i < count; i++) {
        fibers[i] = fiber_spawn("resolve", flight_resolve, timeout_ms);
        CHECK(fibers[i] != NULL);
    }
    fiber_yield(); /* each runs once: the first parks in the read, the rest in the flight */
}

static void flight_join(struct fiber **fibers, int count)
{
    for (int i = 0; i < count; i++) {
        if (fibers[i] != NULL) {
            CHECK_EQ(fiber_join(fibers[i]), 0);
        }
    }
}

static void body_many_misses_one_read(void *arg)
{
    (void)arg;
    struct fiber *fibers[FLIGHT_FIBERS];
    env.store.gated = true;
    waitgroup_init(&env.store.gate);
    waitgroup_add(&env.store.gate, 1);
    flight_spawn(fibers, FLIGHT_FIBERS, &flight_patient);
    CHECK_EQ(env.store.parked, 1);
    CHECK_EQ(env.store.gets, 1);
    waitgroup_done(&env.store.gate); /* the read finishes */
    flight_join(fibers, FLIGHT_FIBERS);
}

static void test_concurrent_misses_read_the_store_once(void **state)
{
    (void)state;
    flight_env_init();
    struct runtime_config config = {.worker_count = 1};
    run_in_runtime_config(&config, body_many_misses_one_read, NULL);
    assert_int_equal(env.store.gets, 1);
    assert_int_equal(env.store.read_hits, 0);
    assert_int_equal(env.ok, FLIGHT_FIBERS);
    /* Every resolve was counted and got a count of its own. */
    assert_int_equal(env.store.blind_hits, FLIGHT_FIBERS);
    assert_int_equal(env.store.links[0].hit_count, FLIGHT_FIBERS);
    for (int i = 1; i <= FLIGHT_FIBERS; i++) {
        assert_int_equal(env.seen[i], 1);
    }
    struct link_cache_stats stats;
    link_cache_stats(env.cache, &stats);
    assert_int_equal(stats.misses, FLIGHT_FIBERS);
    assert_int_equal(stats.entries, 1);
    link_cache_destroy(env.cache);
}

/* A waiter with a short deadline gives up alone; the read goes on. */
static void body_waiter_deadline(void *arg)
{
    (void)arg;
    struct fiber *leader[1];
    struct fiber *hasty[2];
    struct fiber *patient[2];
    env.store.gated = true;
    waitgroup_init(&env.store.gate);
    waitgroup_add(&env.store.gate, 1);
    flight_spawn(leader, 1, &flight_patient);
    flight_spawn(hasty, 2, &flight_hasty);
    flight_spawn(patient, 2, &flight_patient);
    flight_join(hasty, 2); /* they time out while the read is held */
    CHECK_EQ(env.timeouts, 2);
    CHECK_EQ(env.store.parked, 1);
    waitgroup_done(&env.store.gate);
    flight_join(leader, 1);
    flight_join(patient, 2);
}

static void test_a_waiter_honours_its_deadline(void **state)
{
    (void)state;
    flight_env_init();
    struct runtime_config config = {.worker_count = 1};
    run_in_runtime_config(&config, body_waiter_deadline, NULL);
    assert_int_equal(env.timeouts, 2);
    assert_int_equal(env.ok, 3);
    assert_int_equal(env.store.gets, 1);
    assert_int_equal(env.store.links[0].hit_count, 3);
    link_cache_destroy(env.cache);
}

/* The leader's read times out (its deadline); a waiter with time left
 * leads the next read instead of failing with it. */
static void body_leader_deadline(void *arg)
{
    (void)arg;
    struct fiber *leader[1];
    struct fiber *waiter[1];
    env.store.gated = true;
    waitgroup_init(&env.store.gate);
    waitgroup_add(&env.store.gate, 1);
    flight_spawn(leader, 1, &flight_hasty);
    flight_spawn(waiter, 1, &flight_patient);
    flight_join(leader, 1);
    CHECK_EQ(env.timeouts, 1);
    /* The waiter now holds the second read at the gate. */
    fiber_yield();
    CHECK_EQ(env.store.gets, 2);
    waitgroup_done(&env.store.gate);
    flight_join(waiter, 1);
}

static void test_a_leader_timeout_is_not_the_waiters(void **state)
{
    (void)state;
    flight_env_init();
    struct runtime_config config = {.worker_count = 1};
    run_in_runtime_config(&config, body_leader_deadline, NULL);
    assert_int_equal(env.timeouts, 1);
    assert_int_equal(env.ok, 1);
    assert_int_equal(env.store.gets, 2);
    assert_int_equal(env.seen[1], 1);
    link_cache_destroy(env.cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_misses_read_the_store_once),
        cmocka_unit_test(test_a_waiter_honours_its_deadline),
        cmocka_unit_test(test_a_leader_timeout_is_not_the_waiters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
