/* Tests for platform/metrics: families, series bounds, shards merged at
 * scrape, concurrent updates, and the text exposition format. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "platform/metrics/metrics.h"
#include "platform/metrics/metrics_http.h"
#include "platform/metrics/metrics_process.h"

#include "metrics_scrape.h"

static void test_counter_and_gauge_text(void **state)
{
    (void)state;
    struct metrics_registry *registry = NULL;
    assert_int_equal(metrics_registry_create(&registry), 0);
    static const char *const labels[] = {"route", "code"};
    struct metrics_family_config counter = {.name = "requests_total",
                                            .help = "Requests.\nSecond \\ line.",
                                            .type = METRICS_COUNTER,
                                            .label_names = labels,
                                            .label_count = 2};
    struct metrics_family_config gauge = {
        .name = "in_flight", .help = "In flight.", .type = METRICS_GAUGE};
    struct metrics_family *requests = NULL;
    struct metrics_family *in_flight = NULL;
    assert_int_equal(metrics_register(registry, &counter, &requests), 0);
    assert_int_equal(metrics_register(registry, &gauge, &in_flight), 0);
    assert_int_equal(metrics_register(registry, &gauge, NULL), -EEXIST);

    const char *values[] = {"/a\"b\\c\nd", "2xx"};
    metrics_counter_add(metrics_series(requests, values), 0, 2);
    metrics_counter_add(metrics_series(requests, values), 5, 3); /* another shard */
    metrics_gauge_add(metrics_single(in_flight), 1, 4);
    metrics_gauge_add(metrics_single(in_flight), 2, -5);
    char *text = metrics_scrape(registry);
    assert_non_null(strstr(text, "# HELP requests_total Requests.\\nSecond \\\\ line.\n"
                                 "# TYPE requests_total counter\n"
                                 "requests_total{route=\"/a\\\"b\\\\c\\nd\",code=\"2xx\"} 5\n"));
    assert_non_null(strstr(text, "# TYPE in_flight gauge\nin_flight -1\n"));
    free(text);
    metrics_registry_destroy(registry);
}

static void test_histogram_is_cumulative(void **state)
{
    (void)state;
    struct metrics_registry *registry = NULL;
    assert_int_equal(metrics_registry_create(&registry), 0);
    static const double buckets[] = {0.1, 1};
    struct metrics_family_config config = {.name = "latency_seconds",
                                           .help = "Latency.",
                                           .type = METRICS_HISTOGRAM,
                                           .buckets = buckets,
                                           .bucket_count = 2};
    struct metrics_family *latency = NULL;
    assert_int_equal(metrics_register(registry, &config, &latency), 0);
    struct metrics_series *series = metrics_single(latency);
    metrics_histogram_observe(series, 0, 0.05);
    metrics_histogram_observe(series, 1, 0.1); /* upper bounds are inclusive */
    metrics_histogram_observe(series, 2, 0.5);
    metrics_histogram_observe(series, 3, 7);
    char *text = metrics_scrape(registry);
    assert_non_null(strstr(text, "latency_seconds_bucket{le=\"0.1\"} 2\n"
                                 "latency_seconds_bucket{le=\"1\"} 3\n"
                                 "latency_seconds_bucket{le=\"+Inf\"} 4\n"
                                 "latency_seconds_sum 7.6"));
    assert_non_null(strstr(text, "latency_seconds_count 4\n"));
    assert_true(metrics_series_value(series) == 4.0);
    free(text);
    metrics_registry_destroy(registry);
}

static void test_registration_refuses_bad_names_and_buckets(void **state)
{
    (void)state;
    struct metrics_registry *registry = NULL;
    assert_int_equal(metrics_registry_create(&registry), 0);
    static const double unsorted[] = {1, 0.5};
    static const char *const bad_label[] = {"le"};
    struct metrics_family_config configs[] = {
        {.name = "9starts_with_digit", .help = "x", .type = METRICS_COUNTER},
        {.name = "has-dash", .help = "x", .type = METRICS_COUNTER},
        {.name = "no_help", .type = METRICS_COUNTER},
        {.name = "unsorted",
         .help = "x",
         .type = METRICS_HISTOGRAM,
         .buckets = unsorted,
         .bucket_count = 2},
        {.name = "le_label",
         .help = "x",
         .type = METRICS_HISTOGRAM,
         .buckets = unsorted,
         .bucket_count = 1,
         .label_names = bad_label,
         .label_count = 1},
    };
    for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
        assert_int_equal(metrics_register(registry, &configs[i], NULL), -EINVAL);
    }
    metrics_registry_destroy(registry);
}

static void test_series_are_bounded(void **state)
{
    (void)state;
    struct metrics_registry *registry = NULL;
    assert_int_equal(metrics_registry_create(&registry), 0);
    static const char *const labels[] = {"path"};
    struct metrics_family_config config = {.name = "hits_total",
                                           .help = "Hits.",
                                           .type = METRICS_COUNTER,
                                           .label_names = labels,
                                           .label_count = 1,
                                           .max_series = 16};
    struct metrics_family *hits = NULL;
    assert_int_equal(metrics_register(registry, &config, &hits), 0);
    for (int i = 0; i < 10000; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/p/%d", i);
        const char *values[] = {path};
        metrics_counter_add(metrics_series(hits, values), 0, 1);
    }
    assert_true(metrics_series_count(hits) <= 16);
    const char *other[] = {"other"};
    assert_true(metrics_series_value(metrics_series(hits, other)) > 9000.0);
    metrics_registry_destroy(registry);
}

struct hammer {
    struct metrics_family *family;
    unsigned shard;
};

static void *hammer_main(void *arg)
{
    const struct hammer *hammer = arg;
    for (int i = 0; i < 100000; i++) {
        const char *values[] = {(i % 2) != 0 ? "odd" : "even"};
        metrics_counter_add(metrics_series(hammer->family, values), hammer->shard, 1);
    }
    return NULL;
}

static void test_concurrent_updates_add_up(void **state)
{
    (void)state;
    struct metrics_registry *registry = NULL;
    assert_int_equal(metrics_registry_create(&registry), 0);
    static const char *const labels[] = {"parity"};
    struct metrics_family_config config = {.name = "ops_total",
                                           .help = "Ops.",
                                           .type = METRICS_COUNTER,
                                           .label_names = labels,
                                           .label_count = 1};
    struct metrics_family *ops = NULL;
    assert_int_equal(metrics_register(registry, &config, &ops), 0);
    pthread_t threads[4];
    struct hammer hammers[4];
    for (unsigned i = 0; i < 4; i++) {
        hammers[i] = (struct hammer){.family = ops, .shard = i % 2}; /* shards shared too */
        assert_int_equal(pthread_create(&threads[i], NULL, hammer_main, &hammers[i]), 0);
    }
    for (unsigned i = 0; i < 4; i++) {
        char *text = metrics_scrape(registry); /* scrapes race with the updates */
        free(text);
    }
    for (unsigned i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
    }
    const char *odd[] = {"odd"};
    const char *even[] = {"even"};
    assert_true(metrics_series_value(metrics_series(ops, odd)) == 200000.0);
    assert_true(metrics_series_value(metrics_series(ops, even)) == 200000.0);
    metrics_registry_destroy(registry);
}

static double answer(void *arg)
{
    return *(const double *)arg;
}

static void test_function_families_and_process_metrics(void **state)
{
    (void)state;
    struct metrics_registry *registry = NULL;
    assert_int_equal(metrics_registry_create(&registry), 0);
    double value = 42;
    assert_int_equal(metrics_register_fn(registry, "answer_total", "The answer.", METRICS_COUNTER,
                                         answer, &value),
                     0);
    assert_int_equal(metrics_register_fn(registry, "bad", "x", METRICS_HISTOGRAM, answer, NULL),
                     -EINVAL);
    struct metrics_process process;
    assert_int_equal(metrics_process_init(&process, registry, "1.2.3", "abc"), 0);
    struct metrics_http http;
    assert_int_equal(metrics_http_init(&http, registry), 0);
    char *text = metrics_scrape(registry);
    assert_non_null(strstr(text, "# TYPE answer_total counter\nanswer_total 42\n"));
    assert_non_null(strstr(text, "build_info{version=\"1.2.3\",commit=\"abc\"} 1\n"));
    assert_non_null(strstr(text, "process_start_time_seconds 1"));
    assert_non_null(strstr(text, "# TYPE process_memory_limit_bytes gauge\n"));
    assert_true(metrics_process_rss_bytes() > 0);
    assert_string_equal(metrics_http_method_label("GET"), "GET");
    assert_string_equal(metrics_http_method_label("BREW"), "OTHER");
    free(text);
    metrics_registry_destroy(registry);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_and_gauge_text),
        cmocka_unit_test(test_histogram_is_cumulative),
        cmocka_unit_test(test_registration_refuses_bad_names_and_buckets),
        cmocka_unit_test(test_series_are_bounded),
        cmocka_unit_test(test_concurrent_updates_add_up),
        cmocka_unit_test(test_function_families_and_process_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
