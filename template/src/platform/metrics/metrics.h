/*
 * metrics.h: counters, gauges and histograms in Prometheus text format 0.0.4.
 *
 * Model
 * - A registry holds families (one metric name, HELP, TYPE, label names).
 *   Families are registered before serving; registration is not
 *   thread-safe, everything else is.
 * - A series is one combination of label values, looked up (and created on
 *   first use) with metrics_series(). A family holds at most `max_series`
 *   series, so a label fed with unbounded values cannot grow memory or the
 *   scrape without bound: past the limit metrics_series() returns the
 *   family's overflow series, whose label values are all "other".
 * - Values are sharded by worker index: each worker adds to its own
 *   cache-line-aligned slot with a relaxed atomic, so the hot path takes no
 *   lock and shares no cache line; a scrape sums the shards. Looking up an
 *   existing series is lock-free too; only creating one takes a mutex.
 * - Function families (gauge or counter) call a callback at scrape time, for
 *   values that live elsewhere (RSS, logs dropped, start time).
 *
 * Names must match [a-zA-Z_:][a-zA-Z0-9_:]*; counters should end in _total
 * and use base units (seconds, bytes), as `promtool check metrics` wants.
 */
#ifndef HEXSVC_PLATFORM_METRICS_METRICS_H
#define HEXSVC_PLATFORM_METRICS_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define METRICS_MAX_LABELS 4
#define METRICS_MAX_BUCKETS 24
#define METRICS_SHARDS 16
#define METRICS_DEFAULT_MAX_SERIES 256

struct metrics_registry;
struct metrics_family;
struct metrics_series;

enum metrics_type {
    METRICS_COUNTER,
    METRICS_GAUGE,
    METRICS_HISTOGRAM,
};

struct metrics_family_config {
    const char *name;
    const char *help;
    enum metrics_type type;
    const char *const *label_names; /* label_count names, may be NULL when 0 */
    size_t label_count;
    const double *buckets;          /* histograms: increasing upper bounds, no +Inf */
    size_t bucket_count;
    size_t max_series;              /* 0: METRICS_DEFAULT_MAX_SERIES */
};

/* Latency buckets in seconds, from 1 ms to 10 s. */
extern const double metrics_latency_buckets[];
extern const size_t metrics_latency_bucket_count;

int metrics_registry_create(struct metrics_registry **out);
void metrics_registry_destroy(struct metrics_registry *registry);

/* 0 and *out; -EINVAL for a bad name, label or bucket list; -EEXIST for a
 * name already registered; -ENOMEM. */
int metrics_register(struct metrics_registry *registry, const struct metrics_family_config *config,
                     struct metrics_family **out);

/* A function family without labels, read at scrape time: type is
 * METRICS_GAUGE or METRICS_COUNTER. Same errors as metrics_register(). */
typedef double (*metrics_value_fn)(void *arg);
int metrics_register_fn(struct metrics_registry *registry, const char *name, const char *help,
                        enum metrics_type type, metrics_value_fn fn, void *arg);

/* The series for label_values (label_count strings, copied on creation),
 * or the overflow series. NULL only when out of memory. */
struct metrics_series *metrics_series(struct metrics_family *family,
                                      const char *const *label_values);
/* The series of a family without labels. */
struct metrics_series *metrics_single(struct metrics_family *family);

/* The calling thread's shard: pass runtime_worker_index() from a worker.
 * Every update below accepts a NULL series and then does nothing. */
void metrics_counter_add(struct metrics_series *series, unsigned shard, uint64_t value);
void metrics_gauge_add(struct metrics_series *series, unsigned shard, int64_t delta);
/* Sets this shard's part of the gauge; the gauge is the sum of the parts. */
void metrics_gauge_set_shard(struct metrics_series *series, unsigned shard, int64_t value);
void metrics_histogram_observe(struct metrics_series *series, unsigned shard, double value);

/* Writes every family in registration order. 0, or -EIO when writing
 * failed. Safe while other threads update. */
int metrics_write(const struct metrics_registry *registry, FILE *out);

/* Number of series of a family (for tests and bounds). */
size_t metrics_series_count(const struct metrics_family *family);
/* Sum over shards; for histograms, the observation count. For tests. */
double metrics_series_value(const struct metrics_series *series);

#endif
