/*
 * test_metrics_table.c: a module's families registered from one table, as
 * the scrape then shows them; the first error stops the table.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "platform/metrics/metrics_table.h"

#include "metrics_scrape.h"

static void test_table_registers_every_family_in_order(void **state)
{
    (void)state;
    static const char *const labels[] = {"kind"};
    static const struct metrics_family_config configs[] = {
        {.name = "things_total",
         .help = "Things.",
         .type = METRICS_COUNTER,
         .label_names = labels,
         .label_count = 1},
        {.name = "things_open", .help = "Open things.", .type = METRICS_GAUGE},
    };
    struct metrics_registry *registry = NULL;
    assert_int_equal(metrics_registry_create(&registry), 0);
    struct metrics_family *families[2] = {NULL, NULL};
    assert_int_equal(metrics_register_table(registry, configs, 2, families), 0);
    metrics_counter_add(metrics_series(families[0], (const char *const[]){"a"}), 0, 3);
    metrics_gauge_set_shard(metrics_single(families[1]), 0, 2);
    char *text = metrics_scrape(registry);
    assert_non_null(strstr(text, "# TYPE things_total counter\n"));
    assert_non_null(strstr(text, "\nthings_total{kind=\"a\"} 3\n"));
    assert_non_null(strstr(text, "\nthings_open 2\n"));
    free(text);
    metrics_registry_destroy(registry);
}

static void test_table_stops_at_the_first_error(void **state)
{
    (void)state;
    static const struct metrics_family_config configs[] = {
        {.name = "first", .help = "Kept.", .type = METRICS_GAUGE},
        {.name = "first", .help = "A second of the same name.", .type = METRICS_GAUGE},
        {.name = "third", .help = "Never reached.", .type = METRICS_GAUGE},
    };
    struct metrics_registry *registry = NULL;
    assert_int_equal(metrics_registry_create(&registry), 0);
    struct metrics_family *families[3] = {NULL, NULL, NULL};
    assert_int_equal(metrics_register_table(registry, configs, 3, families), -EEXIST);
    assert_non_null(families[0]);
    assert_null(families[2]);
    char *text = metrics_scrape(registry);
    assert_non_null(strstr(text, "# HELP first Kept.\n"));
    assert_null(strstr(text, "third"));
    free(text);
    metrics_registry_destroy(registry);
}

static double seven(void *arg)
{
    return *(const double *)arg;
}

static void test_fn_table_passes_its_argument(void **state)
{
    (void)state;
    static const struct metrics_fn_config configs[] = {
        {"seven_total", "Seven, counted.", METRICS_COUNTER, seven},
        {"seven", "Seven, now.", METRICS_GAUGE, seven},
    };
    static double value = 7;
    struct metrics_registry *registry = NULL;
    assert_int_equal(metrics_registry_create(&registry), 0);
    assert_int_equal(metrics_register_fn_table(registry, configs, 2, &value), 0);
    char *text = metrics_scrape(registry);
    assert_non_null(strstr(text, "\nseven_total 7\n"));
    assert_non_null(strstr(text, "\nseven 7\n"));
    free(text);
    assert_int_equal(metrics_register_fn_table(registry, configs, 2, &value), -EEXIST);
    metrics_registry_destroy(registry);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_registers_every_family_in_order),
        cmocka_unit_test(test_table_stops_at_the_first_error),
        cmocka_unit_test(test_fn_table_passes_its_argument),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
