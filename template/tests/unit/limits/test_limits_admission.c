/* The plan (workers, soft limit, budgets) and admission under a budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "platform/limits/limits.h"

#define MIB (UINT64_C(1) << 20)

static void init_fixture(struct limits *limits, const char *name, unsigned workers,
                         uint64_t memory_limit)
{
    char root[512];
    snprintf(root, sizeof(root), "%s/%s", HEXSVC_CGROUP_FIXTURES, name);
    struct limits_config config = {
        .root = root,
        .workers = workers,
        .memory_limit = memory_limit,
        .connection_bytes = (size_t)64 * 1024,
        .max_connections = 10000,
    };
    assert_int_equal(limits_init(limits, &config), 0);
}

static void test_soft_limit_is_90_percent_of_the_cgroup(void **state)
{
    (void)state;
    struct limits limits;
    init_fixture(&limits, "hybrid", 1, 0);
    assert_int_equal(limits.plan.soft_limit, 64 * MIB / 100 * 90);
    assert_string_equal(limits.plan.soft_source, "90% of cgroup v1 memory limit");
    assert_int_equal(limits.plan.body_budget, limits.plan.soft_limit / 100 * 50);
    /* 57.6 MiB over 64 KiB connections on one worker. */
    assert_int_equal(limits.plan.max_connections, limits.plan.soft_limit / (UINT64_C(64) * 1024));
}

static void test_memory_high_is_respected(void **state)
{
    (void)state;
    struct limits limits;
    init_fixture(&limits, "v2", 1, 0);
    assert_int_equal(limits.plan.soft_limit, 192 * MIB / 100 * 90);
    assert_string_equal(limits.plan.soft_source, "90% of cgroup v2 memory.high");
}

static void test_setting_overrides_the_cgroup(void **state)
{
    (void)state;
    struct limits limits;
    init_fixture(&limits, "hybrid", 3, 16 * MIB);
    assert_int_equal(limits.plan.soft_limit, 16 * MIB);
    assert_string_equal(limits.plan.soft_source, "the MEMORY_LIMIT setting");
    assert_int_equal(limits.plan.workers, 3);
    assert_string_equal(limits.plan.workers_source, "the WORKERS setting");
}

static void test_workers_follow_the_cpu_quota(void **state)
{
    (void)state;
    struct limits limits;
    init_fixture(&limits, "container", 0, 0);
    /* ceil(0.5) = 1, never more than the affinity mask allows. */
    assert_int_equal(limits.plan.workers, 1);
    assert_true(limits.plan.workers <= limits.plan.affinity_cpus);
    init_fixture(&limits, "unlimited", 0, 0);
    assert_int_equal(limits.plan.workers, limits.plan.affinity_cpus);
    assert_int_equal(limits.plan.soft_limit, 0);
    assert_int_equal(limits.plan.body_budget, 0);
    assert_int_equal(limits.plan.max_connections, 10000);
}

static void test_admission_keeps_bodies_within_the_budget(void **state)
{
    (void)state;
    struct limits limits;
    init_fixture(&limits, "hybrid", 1, 4 * MIB); /* budget 2 MiB */
    assert_true(limits_admit(&limits, 0));
    assert_true(limits_admit(&limits, UINT64_C(1000) * 1000)); /* costs 1 MiB once doubled */
    assert_false(limits_admit(&limits, UINT64_C(1100) * 1000)); /* would cost 2 MiB more */
    assert_true(limits_admit(&limits, UINT64_C(500) * 1000));   /* 512 KiB: 1.5 MiB in flight */
    assert_false(limits_admit(&limits, UINT64_C(600) * 1000));  /* 1 MiB more: over 2 MiB */
    limits_release(&limits, UINT64_C(1000) * 1000);
    assert_true(limits_admit(&limits, 10));
    struct limits_stats stats;
    limits_stats(&limits, &stats);
    assert_int_equal(stats.shed_total, 2);
    assert_false(stats.shedding);
}

static void test_shedding_refuses_everything_until_usage_falls(void **state)
{
    (void)state;
    struct limits limits;
    /* A soft limit of 1 byte: this process is always above it. */
    init_fixture(&limits, "unlimited", 1, 1);
    uint64_t usage = limits_sample(&limits);
    assert_true(usage > 1);
    assert_true(limits_is_shedding(&limits));
    assert_false(limits_admit(&limits, 0));
    struct limits_stats stats;
    limits_stats(&limits, &stats);
    assert_int_equal(stats.pressure_episodes, 1);
    assert_true(stats.trims_total >= 1);
    /* Raise the limit far above usage: the next sample recovers. */
    limits.plan.soft_limit = UINT64_C(1) << 50;
    (void)limits_sample(&limits);
    assert_false(limits_is_shedding(&limits));
    assert_true(limits_admit(&limits, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_soft_limit_is_90_percent_of_the_cgroup),
        cmocka_unit_test(test_memory_high_is_respected),
        cmocka_unit_test(test_setting_overrides_the_cgroup),
        cmocka_unit_test(test_workers_follow_the_cpu_quota),
        cmocka_unit_test(test_admission_keeps_bodies_within_the_budget),
        cmocka_unit_test(test_shedding_refuses_everything_until_usage_falls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
