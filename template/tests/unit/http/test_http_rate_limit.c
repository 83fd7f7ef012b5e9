/* Tests for http_rate_limit's bucket table with a fake clock: burst,
 * refill, Retry-After rounding, independent clients, LRU eviction and the
 * table's bound under a flood of distinct clients. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "platform/http/http_client_address.h"
#include "platform/http/http_rate_limit.h"

#define MS 1000000ull
#define SECOND 1000000000ull

struct fake_clock {
    uint64_t now_ns;
};

static uint64_t fake_now(void *arg)
{
    return ((struct fake_clock *)arg)->now_ns;
}

static struct http_rate_limit *make_limiter(struct fake_clock *clock, uint32_t rate, uint32_t burst,
                                            uint32_t max_clients, uint32_t shards)
{
    struct http_rate_limit_config config = {
        .rate = rate,
        .burst = burst,
        .max_clients = max_clients,
        .shards = shards,
        .now_ns = fake_now,
        .clock_arg = clock,
    };
    struct http_rate_limit *limiter = NULL;
    assert_int_equal(http_rate_limit_create(&config, &limiter), 0);
    return limiter;
}

static struct http_ip ip(const char *text)
{
    struct http_ip out;
    assert_true(http_ip_parse(text, strlen(text), &out));
    return out;
}

/* 10.x.y.z for n, so that every n is a distinct client. */
static struct http_ip nth_client(uint32_t n)
{
    char text[32];
    snprintf(text, sizeof(text), "10.%u.%u.%u", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
    return ip(text);
}

static bool take(struct http_rate_limit *limiter, const char *client, uint64_t *wait_ns)
{
    struct http_ip address = ip(client);
    uint64_t ignored = 0;
    return http_rate_limit_take(limiter, &address, wait_ns != NULL ? wait_ns : &ignored);
}

static void test_burst_then_refused(void **state)
{
    (void)state;
    struct fake_clock clock = {.now_ns = 1000 * SECOND};
    struct http_rate_limit *limiter = make_limiter(&clock, 2, 3, 16, 1);
    for (int i = 0; i < 3; i++) {
        assert_true(take(limiter, "203.0.113.7", NULL));
    }
    uint64_t wait_ns = 0;
    assert_false(take(limiter, "203.0.113.7", &wait_ns));
    /* Two tokens a second: the next one is half a second away. */
    assert_int_equal(wait_ns, 500 * MS);
    assert_int_equal(http_rate_limit_retry_after_seconds(wait_ns), 1);
    /* Refusals take nothing: the wait does not grow. */
    assert_false(take(limiter, "203.0.113.7", &wait_ns));
    assert_int_equal(wait_ns, 500 * MS);
    http_rate_limit_destroy(limiter);
}

static void test_refills_at_the_rate(void **state)
{
    (void)state;
    struct fake_clock clock = {.now_ns = 5 * SECOND};
    struct http_rate_limit *limiter = make_limiter(&clock, 2, 3, 16, 1);
    for (int i = 0; i < 3; i++) {
        assert_true(take(limiter, "203.0.113.7", NULL));
    }
    uint64_t wait_ns = 0;
    clock.now_ns += 499 * MS;
    assert_false(take(limiter, "203.0.113.7", &wait_ns));
    assert_int_equal(wait_ns, 1 * MS);
    clock.now_ns += 1 * MS;
    assert_true(take(limiter, "203.0.113.7", NULL)); /* one token back */
    assert_false(take(limiter, "203.0.113.7", &wait_ns));
    assert_int_equal(wait_ns, 500 * MS);
    /* Idle long enough and the bucket is full again, never fuller. */
    clock.now_ns += 60 * SECOND;
    for (int i = 0; i < 3; i++) {
        assert_true(take(limiter, "203.0.113.7", NULL));
    }
    assert_false(take(limiter, "203.0.113.7", NULL));
    /* A steady pace at the rate is never refused. */
    for (int i = 0; i < 100; i++) {
        clock.now_ns += 500 * MS;
        assert_true(take(limiter, "203.0.113.7", NULL));
    }
    http_rate_limit_destroy(limiter);
}

static void test_retry_after_rounds_up(void **state)
{
    (void)state;
    assert_int_equal(http_rate_limit_retry_after_seconds(0), 1);
    assert_int_equal(http_rate_limit_retry_after_seconds(1), 1);
    assert_int_equal(http_rate_limit_retry_after_seconds(SECOND), 1);
    assert_int_equal(http_rate_limit_retry_after_seconds(SECOND + 1), 2);
    /* One request every 10 s: after the burst the wait is 10 s. */
    struct fake_clock clock = {.now_ns = SECOND};
    struct http_rate_limit_config config = {.rate = 1,
                                            .burst = 1,
                                            .max_clients = 4,
                                            .shards = 1,
                                            .now_ns = fake_now,
                                            .clock_arg = &clock};
    struct http_rate_limit *limiter = NULL;
    assert_int_equal(http_rate_limit_create(&config, &limiter), 0);
    uint64_t wait_ns = 0;
    assert_true(take(limiter, "::1", NULL));
    clock.now_ns += 250 * MS;
    assert_false(take(limiter, "::1", &wait_ns));
    assert_int_equal(wait_ns, 750 * MS);
    assert_int_equal(http_rate_limit_retry_after_seconds(wait_ns), 1);
    http_rate_limit_destroy(limiter);
}

static void test_clients_are_independent(void **state)
{
    (void)state;
    struct fake_clock clock = {.now_ns = SECOND};
    struct http_rate_limit *limiter = make_limiter(&clock, 2, 3, 1024, 0);
    for (int i = 0; i < 3; i++) {
        assert_true(take(limiter, "203.0.113.7", NULL));
    }
    assert_false(take(limiter, "203.0.113.7", NULL));
    for (int i = 0; i < 3; i++) {
        assert_true(take(limiter, "203.0.113.8", NULL));
        assert_true(take(limiter, "2001:db8::7", NULL));
    }
    /* An IPv4 client and its mapped IPv6 form share a bucket. */
    assert_false(take(limiter, "::ffff:203.0.113.7", NULL));
    assert_int_equal(http_rate_limit_clients(limiter), 3);
    http_rate_limit_destroy(limiter);
}

/* One host with a /64 cannot get a bucket per address: by default an IPv6
 * client is its /64, and a flood from inside it takes one bucket. */
static void test_ipv6_clients_keyed_by_network(void **state)
{
    (void)state;
    struct fake_clock clock = {.now_ns = SECOND};
    struct http_rate_limit *limiter = make_limiter(&clock, 1, 2, 64, 1);
    assert_true(take(limiter, "2001:db8:1:2::1", NULL));
    assert_true(take(limiter, "2001:db8:1:2:ffff:ffff:ffff:ffff", NULL));
    assert_false(take(limiter, "2001:db8:1:2:dead:beef::7", NULL));
    for (uint32_t n = 0; n < 1000; n++) {
        char text[64];
        snprintf(text, sizeof(text), "2001:db8:1:2:%x:%x::1", n >> 8, n & 0xff);
        assert_false(take(limiter, text, NULL));
    }
    assert_int_equal(http_rate_limit_clients(limiter), 1);
    /* The neighbouring /64 is someone else; IPv4 stays whole. */
    assert_true(take(limiter, "2001:db8:1:3::1", NULL));
    assert_true(take(limiter, "10.0.0.1", NULL));
    assert_true(take(limiter, "10.0.0.2", NULL));
    assert_true(take(limiter, "::ffff:10.0.0.3", NULL));
    assert_int_equal(http_rate_limit_clients(limiter), 5);
    http_rate_limit_destroy(limiter);

    /* A /128 setting: every address its own client again. */
    struct http_rate_limit_config config = {.rate = 1,
                                            .burst = 1,
                                            .max_clients = 64,
                                            .ipv6_prefix = 128,
                                            .now_ns = fake_now,
                                            .clock_arg = &clock};
    assert_int_equal(http_rate_limit_create(&config, &limiter), 0);
    assert_true(take(limiter, "2001:db8:1:2::1", NULL));
    assert_true(take(limiter, "2001:db8:1:2::2", NULL));
    assert_false(take(limiter, "2001:db8:1:2::1", NULL));
    http_rate_limit_destroy(limiter);
    /* A /48 setting: a site is one client. */
    config.ipv6_prefix = 48;
    assert_int_equal(http_rate_limit_create(&config, &limiter), 0);
    assert_true(take(limiter, "2001:db8:1:2::1", NULL));
    assert_false(take(limiter, "2001:db8:1:ffff::1", NULL));
    assert_true(take(limiter, "2001:db8:2::1", NULL));
    http_rate_limit_destroy(limiter);
}

static void test_evicts_least_recently_seen(void **state)
{
    (void)state;
    struct fake_clock clock = {.now_ns = SECOND};
    struct http_rate_limit *limiter = make_limiter(&clock, 1, 2, 3, 1);
    /* A and B empty their buckets; C takes one token. */
    assert_true(take(limiter, "10.0.0.1", NULL));
    assert_true(take(limiter, "10.0.0.1", NULL));
    assert_true(take(limiter, "10.0.0.2", NULL));
    assert_true(take(limiter, "10.0.0.2", NULL));
    assert_true(take(limiter, "10.0.0.3", NULL));
    /* A is seen again (refused), so B is now the least recently seen. */
    assert_false(take(limiter, "10.0.0.1", NULL));
    /* D needs a bucket: B's is taken, so B starts over with a full one... */
    assert_true(take(limiter, "10.0.0.4", NULL));
    assert_int_equal(http_rate_limit_clients(limiter), 3);
    /* ...and A, still remembered, is still refused. C comes next in line. */
    assert_false(take(limiter, "10.0.0.1", NULL));
    assert_true(take(limiter, "10.0.0.2", NULL)); /* evicts C */
    assert_true(take(limiter, "10.0.0.2", NULL));
    assert_false(take(limiter, "10.0.0.2", NULL));
    assert_false(take(limiter, "10.0.0.1", NULL));
    assert_int_equal(http_rate_limit_clients(limiter), 3);
    http_rate_limit_destroy(limiter);
}

static void test_flood_stays_bounded(void **state)
{
    (void)state;
    struct fake_clock clock = {.now_ns = SECOND};
    struct http_rate_limit *limiter = make_limiter(&clock, 1, 1, 4096, 0);
    /* A client over its limit, then 20 000 distinct addresses. */
    assert_true(take(limiter, "198.51.100.1", NULL));
    assert_false(take(limiter, "198.51.100.1", NULL));
    for (uint32_t n = 0; n < 20000; n++) {
        struct http_ip client = nth_client(n);
        uint64_t wait_ns = 0;
        assert_true(http_rate_limit_take(limiter, &client, &wait_ns));
    }
    assert_int_equal(http_rate_limit_clients(limiter), 4096);
    /* The most recent ones are still remembered (and limited). */
    struct http_ip last = nth_client(19999);
    uint64_t wait_ns = 0;
    assert_false(http_rate_limit_take(limiter, &last, &wait_ns));
    assert_int_equal(wait_ns, SECOND);
    http_rate_limit_destroy(limiter);
}

static void test_refuses_bad_config(void **state)
{
    (void)state;
    struct http_rate_limit *limiter = NULL;
    struct http_rate_limit_config config = {.rate = 0};
    assert_int_equal(http_rate_limit_create(&config, &limiter), -EINVAL);
    config.rate = HTTP_RATE_LIMIT_MAX_RATE + 1;
    assert_int_equal(http_rate_limit_create(&config, &limiter), -EINVAL);
    config.rate = 10;
    config.shards = 3;
    assert_int_equal(http_rate_limit_create(&config, &limiter), -EINVAL);
    config.shards = 0;
    config.ipv6_prefix = 129;
    assert_int_equal(http_rate_limit_create(&config, &limiter), -EINVAL);
    config.ipv6_prefix = 0;
    /* A table so large its chain heads would overflow 32 bits (one shard):
     * refused, not wrapped round to a tiny table. */
    config.max_clients = UINT32_MAX;
    config.shards = 1;
    assert_int_equal(http_rate_limit_create(&config, &limiter), -EINVAL);
    config.max_clients = HTTP_RATE_LIMIT_MAX_CLIENTS + 1;
    config.shards = 0;
    assert_int_equal(http_rate_limit_create(&config, &limiter), -EINVAL);
    config.max_clients = 0;
    assert_null(limiter);
    /* Defaults: a burst of one second's worth, 65536 clients. */
    config.shards = 0;
    struct fake_clock clock = {.now_ns = SECOND};
    config.now_ns = fake_now;
    config.clock_arg = &clock;
    assert_int_equal(http_rate_limit_create(&config, &limiter), 0);
    for (int i = 0; i < 10; i++) {
        assert_true(take(limiter, "192.0.2.1", NULL));
    }
    assert_false(take(limiter, "192.0.2.1", NULL));
    http_rate_limit_destroy(limiter);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refused),
        cmocka_unit_test(test_refills_at_the_rate),
        cmocka_unit_test(test_retry_after_rounds_up),
        cmocka_unit_test(test_clients_are_independent),
        cmocka_unit_test(test_ipv6_clients_keyed_by_network),
        cmocka_unit_test(test_evicts_least_recently_seen),
        cmocka_unit_test(test_flood_stays_bounded),
        cmocka_unit_test(test_refuses_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
