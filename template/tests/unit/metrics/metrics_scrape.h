/*
 * metrics_scrape.h: what a scrape of a registry shows, for the metrics
 * tests (test_metrics, test_metrics_table) to compare with the expected
 * exposition text.
 */
#ifndef HEXSVC_TESTS_METRICS_SCRAPE_H
#define HEXSVC_TESTS_METRICS_SCRAPE_H

#include "platform/metrics/metrics.h"

/* The exposition text of the whole registry, NUL-terminated and malloc'd:
 * the caller frees it. A failed write is a cmocka assertion, so call it
 * from the test's own thread. */
char *metrics_scrape(const struct metrics_registry *registry);

#endif
