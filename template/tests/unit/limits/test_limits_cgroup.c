/* The cgroup reader on fixture trees: v1, v2, hybrid, a container's
 * translated path, unlimited and missing files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "platform/limits/limits_cgroup.h"

#define MIB (UINT64_C(1) << 20)

static void read_fixture(const char *name, struct limits_cgroup *cgroup)
{
    char root[512];
    snprintf(root, sizeof(root), "%s/%s", HEXSVC_CGROUP_FIXTURES, name);
    assert_int_equal(limits_cgroup_read(root, cgroup), 0);
}

static void test_v1_nested_takes_the_hierarchical_limit(void **state)
{
    (void)state;
    struct limits_cgroup cgroup;
    read_fixture("v1", &cgroup);
    assert_int_equal(cgroup.memory_version, 1);
    /* The leaf is unlimited; its parent's 256 MiB binds it. */
    assert_int_equal(cgroup.memory_max, 256 * MIB);
    assert_int_equal(cgroup.cpu_version, 1);
    assert_int_equal(cgroup.cpu_quota_us, 150000);
    assert_int_equal(cgroup.cpu_period_us, 100000);
    assert_int_equal(limits_cgroup_cpu_ceiling(&cgroup), 2);
    uint64_t usage = 0;
    assert_int_equal(limits_cgroup_memory_usage(&cgroup, &usage), 0);
    assert_int_equal(usage, 4 * MIB); /* 5 MiB used, 1 MiB inactive file */
}

static void test_v2_walks_up_to_the_tightest_ancestor(void **state)
{
    (void)state;
    struct limits_cgroup cgroup;
    read_fixture("v2", &cgroup);
    assert_int_equal(cgroup.memory_version, 2);
    assert_int_equal(cgroup.memory_max, 512 * MIB);
    assert_int_equal(cgroup.memory_high, 192 * MIB);
    assert_int_equal(cgroup.cpu_version, 2);
    assert_int_equal(limits_cgroup_cpu_ceiling(&cgroup), 3); /* 2.5 CPUs up the tree */
    uint64_t usage = 0;
    assert_int_equal(limits_cgroup_memory_usage(&cgroup, &usage), 0);
    assert_int_equal(usage, 8 * MIB);
}

static void test_hybrid_uses_the_v1_memory_controller(void **state)
{
    (void)state;
    struct limits_cgroup cgroup;
    read_fixture("hybrid", &cgroup);
    assert_int_equal(cgroup.memory_version, 1);
    assert_int_equal(cgroup.memory_max, 64 * MIB);
    assert_int_equal(cgroup.cpu_version, 1);
    assert_int_equal(limits_cgroup_cpu_ceiling(&cgroup), 0); /* quota -1 */
}

static void test_container_path_is_resolved_against_the_mount_root(void **state)
{
    (void)state;
    struct limits_cgroup cgroup;
    read_fixture("container", &cgroup);
    assert_int_equal(cgroup.memory_version, 2);
    assert_int_equal(cgroup.memory_max, 128 * MIB);
    assert_int_equal(limits_cgroup_cpu_ceiling(&cgroup), 1); /* half a CPU rounds up */
    uint64_t usage = 0;
    assert_int_equal(limits_cgroup_memory_usage(&cgroup, &usage), 0);
    assert_int_equal(usage, 4 * MIB);
}

static void test_unlimited_is_zero(void **state)
{
    (void)state;
    struct limits_cgroup cgroup;
    read_fixture("unlimited", &cgroup);
    assert_int_equal(cgroup.memory_version, 1);
    assert_int_equal(cgroup.memory_max, 0);
    assert_int_equal(limits_cgroup_cpu_ceiling(&cgroup), 0);
}

static void test_missing_files_mean_no_limit(void **state)
{
    (void)state;
    struct limits_cgroup cgroup;
    read_fixture("missing", &cgroup);
    assert_int_equal(cgroup.memory_version, 0);
    assert_int_equal(cgroup.memory_max, 0);
    assert_int_equal(cgroup.cpu_version, 0);
    uint64_t usage = 0;
    assert_int_equal(limits_cgroup_memory_usage(&cgroup, &usage), -ENOENT);
    read_fixture("no-such-fixture", &cgroup);
    assert_int_equal(cgroup.memory_max, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_nested_takes_the_hierarchical_limit),
        cmocka_unit_test(test_v2_walks_up_to_the_tightest_ancestor),
        cmocka_unit_test(test_hybrid_uses_the_v1_memory_controller),
        cmocka_unit_test(test_container_path_is_resolved_against_the_mount_root),
        cmocka_unit_test(test_unlimited_is_zero),
        cmocka_unit_test(test_missing_files_mean_no_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
