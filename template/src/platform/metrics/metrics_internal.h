/*
 * metrics_internal.h: the registry's layout, shared by metrics.c (values)
 * and metrics_text.c (the exposition format). Not part of the API.
 */
#ifndef HEXSVC_PLATFORM_METRICS_METRICS_INTERNAL_H
#define HEXSVC_PLATFORM_METRICS_METRICS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/metrics/metrics.h"

#define METRICS_CACHE_LINE 64

struct metrics_series {
    struct metrics_family *family;
    uint64_t hash;
    char *label_values[METRICS_MAX_LABELS];
    unsigned char *shards; /* METRICS_SHARDS * family->shard_stride bytes */
};

struct metrics_family {
    char *name;
    char *help;
    enum metrics_type type;
    char *label_names[METRICS_MAX_LABELS];
    size_t label_count;
    double buckets[METRICS_MAX_BUCKETS];
    size_t bucket_count;
    size_t shard_stride;
    size_t max_series;
    metrics_value_fn fn;   /* function families only */
    void *fn_arg;
    pthread_mutex_t lock;  /* creating series */
    _Atomic(struct metrics_series *) *table;
    size_t table_mask;
    atomic_size_t series_count;
    struct metrics_series *overflow;
};

struct metrics_registry {
    struct metrics_family **families;
    size_t count;
    size_t capacity;
};

/* Sum over shards of one word of a series (see metrics.c for the layout). */
uint64_t metrics_sum_word(const struct metrics_series *series, size_t word);
double metrics_histogram_sum(const struct metrics_series *series);

#endif
