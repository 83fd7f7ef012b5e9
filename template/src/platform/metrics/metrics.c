/*
 * metrics.c: families, series lookup, sharded values and the text format.
 *
 * A family's series live in an open-addressing table of atomic pointers
 * that only grows (series are never removed), so readers probe it without
 * a lock: a slot goes from NULL to a fully built series exactly once, with
 * release/acquire ordering. Writers (new series) serialise on the family's
 * mutex, which the hot path never takes once its series exist.
 *
 * Each series has METRICS_SHARDS slots, each on its own cache lines:
 *   word 0: counter or gauge value (histograms: unused)
 *   word 1: histogram sum, as the bits of a double
 *   word 2..: histogram bucket counts, not cumulative, the last for +Inf
 */
#include "platform/metrics/metrics.h"

#include "platform/metrics/metrics_internal.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_OVERFLOW_VALUE "other"

const double metrics_latency_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                          0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
const size_t metrics_latency_bucket_count =
    sizeof(metrics_latency_buckets) / sizeof(metrics_latency_buckets[0]);

/* ---- registry ---------------------------------------------------------- */

int metrics_registry_create(struct metrics_registry **out)
{
    struct metrics_registry *registry = calloc(1, sizeof(*registry));
    if (registry == NULL) {
        return -ENOMEM;
    }
    *out = registry;
    return 0;
}

static void metrics_series_free(struct metrics_series *series)
{
    for (size_t i = 0; i < METRICS_MAX_LABELS; i++) {
        free(series->label_values[i]);
    }
    free(series->shards);
    free(series);
}

static void metrics_family_free(struct metrics_family *family)
{
    if (family->table != NULL) {
        for (size_t i = 0; i <= family->table_mask; i++) {
            struct metrics_series *series = atomic_load(&family->table[i]);
            if (series != NULL) {
                metrics_series_free(series);
            }
        }
    }
    for (size_t i = 0; i < family->label_count; i++) {
        free(family->label_names[i]);
    }
    free((void *)family->table);
    free(family->name);
    free(family->help);
    pthread_mutex_destroy(&family->lock);
    free(family);
}

void metrics_registry_destroy(struct metrics_registry *registry)
{
    if (registry == NULL) {
        return;
    }
    for (size_t i = 0; i < registry->count; i++) {
        metrics_family_free(registry->families[i]);
    }
    free(registry->families);
    free(registry);
}

static bool metrics_name_is_valid(const char *name, bool label)
{
    if (name == NULL || name[0] == '\0' || (name[0] >= '0' && name[0] <= '9')) {
        return false;
    }
    for (const char *p = name; *p != '\0'; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || (c == ':' && !label);
        if (!ok) {
            return false;
        }
    }
    return !label || strncmp(name, "__", 2) != 0;
}

static bool metrics_config_is_valid(const struct metrics_registry *registry,
                                    const struct metrics_family_config *config)
{
    if (!metrics_name_is_valid(config->name, false) || config->help == NULL ||
        config->label_count > METRICS_MAX_LABELS ||
        (config->label_count > 0 && config->label_names == NULL)) {
        return false;
    }
    for (size_t i = 0; i < config->label_count; i++) {
        if (!metrics_name_is_valid(config->label_names[i], true) ||
            (config->type == METRICS_HISTOGRAM && strcmp(config->label_names[i], "le") == 0)) {
            return false;
        }
    }
    if (config->type == METRICS_HISTOGRAM) {
        if (config->bucket_count == 0 || config->bucket_count > METRICS_MAX_BUCKETS ||
            config->buckets == NULL) {
            return false;
        }
        for (size_t i = 1; i < config->bucket_count; i++) {
            if (!(config->buckets[i] > config->buckets[i - 1])) {
                return false;
            }
        }
    }
    (void)registry;
    return true;
}

static int metrics_registry_append(struct metrics_registry *registry, struct metrics_family *family)
{
    for (size_t i = 0; i < registry->count; i++) {
        if (strcmp(registry->families[i]->name, family->name) == 0) {
            return -EEXIST;
        }
    }
    if (registry->count == registry->capacity) {
        size_t capacity = registry->capacity == 0 ? 16 : registry->capacity * 2;
        size_t bytes = capacity * sizeof(struct metrics_family *);
        struct metrics_family **families = realloc(registry->families, bytes);
        if (families == NULL) {
            return -ENOMEM;
        }
        registry->families = families;
        registry->capacity = capacity;
    }
    registry->families[registry->count++] = family;
    return 0;
}

static size_t metrics_round_up(size_t value, size_t to)
{
    return (value + to - 1) / to * to;
}

static struct metrics_family *metrics_family_new(const struct metrics_family_config *config)
{
    struct metrics_family *family = calloc(1, sizeof(*family));
    if (family == NULL) {
        return NULL;
    }
    pthread_mutex_init(&family->lock, NULL);
    family->name = strdup(config->name);
    family->help = strdup(config->help);
    family->type = config->type;
    family->label_count = config->label_count;
    bool ok = family->name != NULL && family->help != NULL;
    for (size_t i = 0; i < config->label_count && ok; i++) {
        family->label_names[i] = strdup(config->label_names[i]);
        ok = family->label_names[i] != NULL;
    }
    if (config->type == METRICS_HISTOGRAM) {
        family->bucket_count = config->bucket_count;
        memcpy(family->buckets, config->buckets, config->bucket_count * sizeof(double));
    }
    size_t words = 2 + family->bucket_count + 1;
    family->shard_stride = metrics_round_up(words * sizeof(uint64_t), METRICS_CACHE_LINE);
    family->max_series = config->max_series != 0 ? config->max_series : METRICS_DEFAULT_MAX_SERIES;
    size_t table_size = 4;
    while (table_size < family->max_series * 2) {
        table_size *= 2;
    }
    family->table = ok ? calloc(table_size, sizeof(*family->table)) : NULL;
    family->table_mask = table_size - 1;
    if (family->table == NULL) {
        metrics_family_free(family);
        return NULL;
    }
    return family;
}

int metrics_register(struct metrics_registry *registry, const struct metrics_family_config *config,
                     struct metrics_family **out)
{
    if (registry == NULL || config == NULL || !metrics_config_is_valid(registry, config)) {
        return -EINVAL;
    }
    struct metrics_family *family = metrics_family_new(config);
    if (family == NULL) {
        return -ENOMEM;
    }
    int rc = metrics_registry_append(registry, family);
    if (rc != 0) {
        metrics_family_free(family);
        return rc;
    }
    if (out != NULL) {
        *out = family;
    }
    return 0;
}

int metrics_register_fn(struct metrics_registry *registry, const char *name, const char *help,
                        enum metrics_type type, metrics_value_fn fn, void *arg)
{
    if (fn == NULL || type == METRICS_HISTOGRAM) {
        return -EINVAL;
    }
    struct metrics_family_config config = {.name = name, .help = help, .type = type};
    struct metrics_family *family = NULL;
    int rc = metrics_register(registry, &config, &family);
    if (rc == 0) {
        family->fn = fn;
        family->fn_arg = arg;
    }
    return rc;
}

/* ---- series ------------------------------------------------------------ */

static uint64_t metrics_hash(const struct metrics_family *family, const char *const *values)
{
    uint64_t hash = 14695981039346656037ULL;
    for (size_t i = 0; i < family->label_count; i++) {
        for (const char *p = values[i]; *p != '\0'; p++) {
            hash = (hash ^ (unsigned char)*p) * 1099511628211ULL;
        }
        hash = (hash ^ 0xFF) * 1099511628211ULL;
    }
    return hash;
}

static bool metrics_series_matches(const struct metrics_series *series, uint64_t hash,
                                   const char *const *values)
{
    if (series->hash != hash) {
        return false;
    }
    for (size_t i = 0; i < series->family->label_count; i++) {
        if (strcmp(series->label_values[i], values[i]) != 0) {
            return false;
        }
    }
    return true;
}

/* The series or NULL; *free_slot is the first empty slot probed. */
static struct metrics_series *metrics_probe(struct metrics_family *family, uint64_t hash,
                                            const char *const *values, size_t *free_slot)
{
    for (size_t i = 0; i <= family->table_mask; i++) {
        size_t slot = (hash + i) & family->table_mask;
        struct metrics_series *series =
            atomic_load_explicit(&family->table[slot], memory_order_acquire);
        if (series == NULL) {
            *free_slot = slot;
            return NULL;
        }
        if (metrics_series_matches(series, hash, values)) {
            return series;
        }
    }
    return NULL; /* unreachable: the table is never more than half full */
}

static struct metrics_series *metrics_series_new(struct metrics_family *family, uint64_t hash,
                                                 const char *const *values)
{
    struct metrics_series *series = calloc(1, sizeof(*series));
    if (series == NULL) {
        return NULL;
    }
    series->family = family;
    series->hash = hash;
    bool ok = true;
    for (size_t i = 0; i < family->label_count && ok; i++) {
        series->label_values[i] = strdup(values[i]);
        ok = series->label_values[i] != NULL;
    }
    size_t bytes = METRICS_SHARDS * family->shard_stride;
    series->shards = ok ? aligned_alloc(METRICS_CACHE_LINE, bytes) : NULL;
    if (series->shards == NULL) {
        metrics_series_free(series);
        return NULL;
    }
    memset(series->shards, 0, bytes);
    return series;
}

/* The series every label value set past max_series goes to (one slot is
 * kept for it). Under the family's lock. */
static struct metrics_series *metrics_overflow(struct metrics_family *family)
{
    if (family->overflow != NULL) {
        return family->overflow;
    }
    const char *other[METRICS_MAX_LABELS] = {METRICS_OVERFLOW_VALUE, METRICS_OVERFLOW_VALUE,
                                             METRICS_OVERFLOW_VALUE, METRICS_OVERFLOW_VALUE};
    uint64_t hash = metrics_hash(family, other);
    size_t slot = 0;
    family->overflow = metrics_probe(family, hash, other, &slot);
    if (family->overflow == NULL) {
        family->overflow = metrics_series_new(family, hash, other);
        if (family->overflow != NULL) {
            atomic_fetch_add(&family->series_count, 1);
            atomic_store_explicit(&family->table[slot], family->overflow, memory_order_release);
        }
    }
    return family->overflow;
}

static struct metrics_series *metrics_insert(struct metrics_family *family, uint64_t hash,
                                             const char *const *values)
{
    size_t slot = 0;
    struct metrics_series *series = metrics_probe(family, hash, values, &slot);
    if (series != NULL) {
        return series; /* another thread created it meanwhile */
    }
    if (atomic_load(&family->series_count) + 1 >= family->max_series) {
        return metrics_overflow(family);
    }
    series = metrics_series_new(family, hash, values);
    if (series != NULL) {
        atomic_fetch_add(&family->series_count, 1);
        atomic_store_explicit(&family->table[slot], series, memory_order_release);
    }
    return series;
}

struct metrics_series *metrics_series(struct metrics_family *family,
                                      const char *const *label_values)
{
    uint64_t hash = metrics_hash(family, label_values);
    size_t slot = 0;
    struct metrics_series *series = metrics_probe(family, hash, label_values, &slot);
    if (series != NULL) {
        return series;
    }
    pthread_mutex_lock(&family->lock);
    series = metrics_insert(family, hash, label_values);
    pthread_mutex_unlock(&family->lock);
    return series;
}

struct metrics_series *metrics_single(struct metrics_family *family)
{
    static const char *const no_values[METRICS_MAX_LABELS] = {"", "", "", ""};
    return metrics_series(family, no_values);
}

size_t metrics_series_count(const struct metrics_family *family)
{
    return atomic_load(&((struct metrics_family *)family)->series_count);
}

/* ---- values ------------------------------------------------------------ */

static _Atomic uint64_t *metrics_word(const struct metrics_series *series, unsigned shard,
                                      size_t word)
{
    unsigned char *base =
        series->shards + (size_t)(shard % METRICS_SHARDS) * series->family->shard_stride;
    return (_Atomic uint64_t *)(void *)base + word;
}

void metrics_counter_add(struct metrics_series *series, unsigned shard, uint64_t value)
{
    if (series != NULL) {
        atomic_fetch_add_explicit(metrics_word(series, shard, 0), value, memory_order_relaxed);
    }
}

void metrics_gauge_add(struct metrics_series *series, unsigned shard, int64_t delta)
{
    if (series != NULL) {
        atomic_fetch_add_explicit(metrics_word(series, shard, 0), (uint64_t)delta,
                                  memory_order_relaxed);
    }
}

void metrics_gauge_set_shard(struct metrics_series *series, unsigned shard, int64_t value)
{
    if (series != NULL) {
        atomic_store_explicit(metrics_word(series, shard, 0), (uint64_t)value,
                              memory_order_relaxed);
    }
}

static double metrics_bits_to_double(uint64_t bits)
{
    double value = 0;
    memcpy(&value, &bits, sizeof(value));
    return value;
}

static uint64_t metrics_double_to_bits(double value)
{
    uint64_t bits = 0;
    memcpy(&bits, &value, sizeof(bits));
    return bits;
}

void metrics_histogram_observe(struct metrics_series *series, unsigned shard, double value)
{
    if (series == NULL) {
        return;
    }
    const struct metrics_family *family = series->family;
    size_t bucket = 0;
    while (bucket < family->bucket_count && value > family->buckets[bucket]) {
        bucket++;
    }
    atomic_fetch_add_explicit(metrics_word(series, shard, 2 + bucket), 1, memory_order_relaxed);
    _Atomic uint64_t *sum = metrics_word(series, shard, 1);
    uint64_t old = atomic_load_explicit(sum, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(
        sum, &old, metrics_double_to_bits(metrics_bits_to_double(old) + value),
        memory_order_relaxed, memory_order_relaxed)) {
    }
}

uint64_t metrics_sum_word(const struct metrics_series *series, size_t word)
{
    uint64_t total = 0;
    for (unsigned shard = 0; shard < METRICS_SHARDS; shard++) {
        total += atomic_load_explicit(metrics_word(series, shard, word), memory_order_relaxed);
    }
    return total;
}

double metrics_histogram_sum(const struct metrics_series *series)
{
    double total = 0;
    for (unsigned shard = 0; shard < METRICS_SHARDS; shard++) {
        total += metrics_bits_to_double(
            atomic_load_explicit(metrics_word(series, shard, 1), memory_order_relaxed));
    }
    return total;
}

double metrics_series_value(const struct metrics_series *series)
{
    switch (series->family->type) {
    case METRICS_COUNTER:
        return (double)metrics_sum_word(series, 0);
    case METRICS_GAUGE:
        return (double)(int64_t)metrics_sum_word(series, 0);
    case METRICS_HISTOGRAM:
        break;
    }
    uint64_t count = 0;
    for (size_t b = 0; b <= series->family->bucket_count; b++) {
        count += metrics_sum_word(series, 2 + b);
    }
    return (double)count;
}
